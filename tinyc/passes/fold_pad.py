"""A PAD that pads only H and W of an int8 NHWC tensor with its zero point, read only by a CONV_2D or
DEPTHWISE_CONV_2D, becomes those convolutions' explicit `pads`: the convs pad their borders with the input
zero point themselves, so the integers are the same and the copy and its buffer go.

Not for pools (TFLM's max pool skips padded cells, its average pool does not count them) nor float (the
padded taps would change a zero's sign in rare cases): only where it is exact.
"""

from __future__ import annotations

from tinyc.ir import Graph
from tinyc.passes._util import sole_consumer

WINDOW_OPS = ("conv2d", "depthwise_conv2d")


def fold_pad_into_conv(graph: Graph) -> int:
    changes = 0
    for node in list(graph.nodes):
        if node.op != "pad" or node.outputs[0] in graph.outputs:
            continue
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        pads = [tuple(int(v) for v in p) for p in node.attrs["pads"]]
        if x.dtype != "int8" or len(pads) != 4 or pads[0] != (0, 0) or pads[3] != (0, 0):
            continue
        if x.quant is None or y.quant is None or (x.quant.s, x.quant.zp) != (y.quant.s, y.quant.zp):
            continue
        if int(node.attrs.get("value", y.quant.zp)) != y.quant.zp:
            continue
        user = sole_consumer(graph, y.name)
        if user is None or user.op not in WINDOW_OPS or user.inputs[0] != y.name:
            continue
        top, left, bottom, right = user.attrs.get("pads", (0, 0, 0, 0))
        user.attrs["pads"] = (top + pads[1][0], left + pads[2][0], bottom + pads[1][1], right + pads[2][1])
        user.inputs[0] = x.name
        graph.nodes.remove(node)
        del graph.tensors[y.name]
        changes += 1
    return changes
