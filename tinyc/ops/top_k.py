"""TOP_K (float32; ONNX TopK with a constant k): the k largest (or smallest) values along one axis and their int64
indices, sorted best first; equal values keep the lower index first, as ONNX specifies. NaN ranks after every
number and NaNs by index, as NumPy's stable argsort (the reference kernel) orders them; the C template selects
the k best in that same total order by k passes over the axis, so no scratch array is needed."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import strides_of
from tinyc.ops.reduce import gathered, loops, resolve_axes


def run_top_k(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    v = gathered(step, inputs[0])  # (N, outer, axis)
    key = -v if p["largest"] else v  # negation is exact; NaN stays NaN and sorts last either way
    idx = np.argsort(key, axis=2, kind="stable")[:, :, :p["k"]]
    vals = np.take_along_axis(v, idx, axis=2)
    n, shape = inputs[0].shape[0], p["out_shape"]
    order = p["out_order"]  # output dims as (outer..., axis) -> their place in the output
    values = vals.reshape((n, *p["gathered_shape"])).transpose((0, *(1 + d for d in order)))
    indices = idx.reshape((n, *p["gathered_shape"])).transpose((0, *(1 + d for d in order)))
    return [values.reshape((n, *shape)).astype(np.float32), indices.reshape((n, *shape)).astype(np.int64)]


@register
class TopK(OpDef):
    name = "top_k"
    outputs = (2, 2)
    dtypes = frozenset({("float32", "float32"), ("float32", "int64")})
    kernels = {"top_k": run_top_k}

    def _axis(self, node: Node, graph: Graph) -> int:
        return resolve_axes((int(node.attrs["axis"]),), len(graph.tensor(node.inputs[0]).shape), node)[0]

    def check(self, node: Node, graph: Graph) -> None:
        x, y, i = (graph.tensor(n) for n in (node.inputs[0], *node.outputs))
        axis, k = self._axis(node, graph), int(node.attrs["k"])
        expect(1 <= k <= x.shape[axis], node, f"k={k} is not within 1..{x.shape[axis]} (the axis length)")
        want = x.shape[:axis] + (k,) + x.shape[axis + 1:]
        expect(y.shape == want and i.shape == want, node, f"outputs {list(y.shape)} / {list(i.shape)} are not "
               f"{list(want)}")
        expect(y.dtype == "float32" and i.dtype == "int64", node, "outputs must be float32 values and int64 indices")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axis, k = self._axis(node, graph), int(node.attrs["k"])
        lp = loops(x.shape, (axis,))
        # The reference gathers (outer dims with size > 1..., axis); the output is x's shape with k on the axis.
        kept = [d for d in range(len(x.shape)) if d != axis and x.shape[d] > 1]
        dims = kept + [axis]
        gathered_shape = tuple(x.shape[d] for d in kept) + (k,)
        place = sorted(range(len(dims)), key=lambda j: dims[j])  # output order of the gathered dims
        ost = strides_of(y.shape)
        params = {"k": k, "largest": bool(node.attrs.get("largest", True)), "out_shape": y.shape,
                  "gathered_shape": gathered_shape, "out_order": tuple(place),
                  "out_outer_strides": tuple(ost[d] for d in kept), "out_axis_stride": ost[axis]} | lp
        return Step("top_k", node.name, [x.name], [y.name, graph.tensor(node.outputs[1]).name], params)
