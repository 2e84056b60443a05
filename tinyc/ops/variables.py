"""READ_VARIABLE and ASSIGN_VARIABLE on TFLite's resource variables, as TFLM's kernels: byte copies out of and
into the variable's buffer (TFLM's MicroResourceVariables::Read / Assign are memcpy).

Every node of one variable (attrs["variable"], its shared_name) names the same State, so the steps share one
persistent buffer, kept between invocations and holding the variable's initial value (attrs["init"], see
tinyc/frontends/tflite_variables.py) at start and after a reset. Steps run in the model's operator order, so a
read sees the last assignment before it.
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register


def variable_state(node: Node) -> State:
    a = node.attrs
    return State(f"variable:{a['variable']}", a["dtype"], tuple(a["shape"]), np.asarray(a["init"]))


def _check_value(node: Node, graph: Graph, name: str) -> None:
    a = node.attrs
    t = graph.tensor(name)
    expect(isinstance(a.get("init"), np.ndarray) and a["init"].shape == tuple(a["shape"])
           and a["init"].dtype == np.dtype(a["dtype"]), node, "the variable's initial value does not fit it")
    expect(t.dtype == a["dtype"] and t.size == math.prod(a["shape"]), node,
           f"tensor '{t.name}' is {t.dtype}{list(t.shape)}, the variable {a['dtype']}{list(a['shape'])}")


def run_read(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (state,) = inputs
    return [state.reshape((len(state), *step.params["out_shape"])).copy(), state]


def run_assign(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    if "value" in step.consts:  # a constant assigned
        (state,) = inputs
        return [np.broadcast_to(step.consts["value"].reshape(state.shape[1:]), state.shape).copy()]
    x, state = inputs
    return [x.reshape(state.shape).copy()]


@register
class ReadVariable(OpDef):
    name = "read_variable"
    tflite = ("READ_VARIABLE", "VAR_HANDLE")  # the handle resolved by the frontend
    arity = (0, 0)
    kernels = {"read_variable": run_read}
    dtypes = None  # any dtype: bytes are copied

    def check(self, node: Node, graph: Graph) -> None:
        _check_value(node, graph, node.outputs[0])

    def lower(self, node: Node, graph: Graph) -> Step:
        y = graph.tensor(node.outputs[0])
        return Step("read_variable", node.name, [], [y.name], {"nbytes": y.nbytes, "out_shape": y.shape},
                    state=[variable_state(node)])


@register
class AssignVariable(OpDef):
    name = "assign_variable"
    tflite = ("ASSIGN_VARIABLE", "CALL_ONCE", "VAR_HANDLE")  # CALL_ONCE's assignments are the variables' initial state
    outputs = (0, 0)  # it writes the variable only: kept by dead-code removal, never constant-folded
    kernels = {"assign_variable": run_assign}
    dtypes = None

    def check_dtypes(self, node: Node, graph: Graph) -> None:
        """Any dtype, the variable's (see check)."""

    def check(self, node: Node, graph: Graph) -> None:
        _check_value(node, graph, node.inputs[0])

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        step = Step("assign_variable", node.name, [x.name], [], {"nbytes": x.nbytes}, state=[variable_state(node)])
        if x.is_const:
            step.inputs, step.consts = [], {"value": np.ascontiguousarray(x.data)}
        return step
