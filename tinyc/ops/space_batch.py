"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND (NHWC, or NWC with one spatial dimension; TFLM's batch order: the
block offset outermost): one strided block copy per block offset, after a fill of the padding.

TF writes a dilated convolution as SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND; both ops move bytes as
they are. float32 pads with 0, int8 with the output's zero point (real 0), as full TFLite does: TFLM's int8
kernel pads with a field it never sets (tests/test_misc_ops.py saw 0 and 9 in one process), so padded int8 cases
are tested against LiteRT."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import FILL, KERNELS, Block, block, lower_copy

INT8_OR_FLOAT32 = frozenset({("int8", "int8"), ("float32", "float32")})


def _geometry(node: Node, graph: Graph, key: str) -> tuple[tuple[int, ...], tuple[int, int], tuple]:
    """The input as (n, h, w, c), the block (bh, bw) and the pads/crops ((top, bottom), (left, right))."""
    x = graph.tensor(node.inputs[0])
    blk = tuple(int(v) for v in node.attrs["block_shape"])
    pads = tuple((int(a), int(b)) for a, b in node.attrs[key])
    expect(len(x.shape) in (3, 4) and len(blk) == len(x.shape) - 2 == len(pads), node,
           f"needs a 3-D or 4-D input with one block size and {key} pair per spatial dimension")
    expect(all(b >= 1 for b in blk) and all(a >= 0 and b >= 0 for a, b in pads), node,
           f"block sizes must be >= 1 and {key} >= 0")
    if len(x.shape) == 3:
        return (x.shape[0], 1, x.shape[1], x.shape[2]), (1, blk[0]), ((0, 0), pads[0])
    return x.shape, (blk[0], blk[1]), pads


def _valid(count: int, offset: int, step: int, size: int) -> tuple[int, int]:
    """The range [lo, hi) of k in 0..count-1 with 0 <= k * step + offset < size."""
    lo = max(0, -(offset // step))
    hi = min(count, (size - 1 - offset) // step + 1)
    return lo, max(lo, hi)


@register
class SpaceToBatchNd(OpDef):
    name = "space_to_batch_nd"
    tflite = ("SPACE_TO_BATCH_ND",)
    kernels = KERNELS
    dtypes = INT8_OR_FLOAT32  # TFLM's kernels

    def out_shape(self, node: Node, graph: Graph) -> tuple[int, ...]:
        (n, h, w, c), (bh, bw), ((pt, pb), (pl, pr)) = _geometry(node, graph, "pads")
        expect((h + pt + pb) % bh == 0 and (w + pl + pr) % bw == 0, node, "padded size is not a multiple of the block")
        return (n * bh * bw, (h + pt + pb) // bh, (w + pl + pr) // bw, c)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        n, oh, ow, c = self.out_shape(node, graph)
        want = (n, ow, c) if len(x.shape) == 3 else (n, oh, ow, c)
        expect(y.shape == want and y.dtype == x.dtype, node, f"output {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        (n, h, w, c), (bh, bw), ((pt, pb), (pl, pr)) = _geometry(node, graph, "pads")
        _, oh, ow, _ = self.out_shape(node, graph)
        y = graph.tensor(node.outputs[0])
        blocks: list[Block] = []
        if pt or pb or pl or pr:
            blocks.append(block(0, FILL, (y.size,), (1,), (0,)))
        for sh in range(bh):
            for sw in range(bw):
                h0, h1 = _valid(oh, sh - pt, bh, h)
                w0, w1 = _valid(ow, sw - pl, bw, w)
                if h1 > h0 and w1 > w0:
                    blocks.append(block(0, "in0", (n, h1 - h0, w1 - w0, c), (oh * ow * c, ow * c, c, 1),
                                        (h * w * c, bh * w * c, bw * c, 1),
                                        out_offset=((sh * bw + sw) * n * oh * ow + h0 * ow + w0) * c,
                                        src_offset=((h0 * bh + sh - pt) * w + w0 * bw + sw - pl) * c))
        q = y.quant
        return lower_copy(node, graph, blocks, fill=q.zp if q is not None and y.dtype != "float32" else 0)


@register
class BatchToSpaceNd(OpDef):
    name = "batch_to_space_nd"
    tflite = ("BATCH_TO_SPACE_ND",)
    kernels = KERNELS
    dtypes = INT8_OR_FLOAT32

    def out_shape(self, node: Node, graph: Graph) -> tuple[int, ...]:
        (n, h, w, c), (bh, bw), ((ct, cb), (cl, cr)) = _geometry(node, graph, "crops")
        expect(n % (bh * bw) == 0 and h * bh > ct + cb and w * bw > cl + cr, node,
               "batch is not a multiple of the block, or the crops take everything")
        return (n // (bh * bw), h * bh - ct - cb, w * bw - cl - cr, c)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        n, oh, ow, c = self.out_shape(node, graph)
        want = (n, ow, c) if len(x.shape) == 3 else (n, oh, ow, c)
        expect(y.shape == want and y.dtype == x.dtype, node, f"output {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        (n, h, w, c), (bh, bw), ((ct, _), (cl, _)) = _geometry(node, graph, "crops")
        on, oh, ow, _ = self.out_shape(node, graph)
        blocks: list[Block] = []
        for sh in range(bh):
            for sw in range(bw):
                h0, h1 = _valid(h, sh - ct, bh, oh)
                w0, w1 = _valid(w, sw - cl, bw, ow)
                if h1 > h0 and w1 > w0:
                    blocks.append(block(0, "in0", (on, h1 - h0, w1 - w0, c), (oh * ow * c, bh * ow * c, bw * c, 1),
                                        (h * w * c, w * c, c, 1),
                                        out_offset=((h0 * bh + sh - ct) * ow + w0 * bw + sw - cl) * c,
                                        src_offset=((sh * bw + sw) * on * h * w + h0 * w + w0) * c))
        return lower_copy(node, graph, blocks)
