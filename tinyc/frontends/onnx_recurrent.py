"""ONNX recurrent layers (LSTM, GRU) -> ir.Graph nodes, unrolled over the time steps.

An ONNX LSTM / GRU starts every run from its initial state (zeros, or the constant initial_h / initial_c), so
it is not TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM, whose state persists between invocations. It is unrolled
instead onto nodes tinyc already has: one fully_connected over all time steps for the input-to-gate products
(bias Wb + Rb folded in), then per step a fully_connected of the hidden state (skipped while the state is the
zero constant: products of constants are computed here in numpy), split, logistic / tanh / relu and
element-wise add, sub and mul, exactly the equations of the ONNX operator documents:

    LSTM (gates i, o, f, c):  i, o, f = f(x W + h R + b);  g = g(x Wc + h Rc + bc)
                              C = f * C + i * g;  H = o * h(C)
    GRU (gates z, r, h):      z, r = f(x W + h R + b)
                              h~ = g(x Wh + (r * H) Rh + Rbh + Wbh)       linear_before_reset = 0
                              h~ = g(x Wh + r * (H Rh + Rbh) + Wbh)       linear_before_reset = 1
                              H = (1 - z) * h~ + z * H

Directions forward, reverse and bidirectional, layout 0 and 1, any number of stacked layers (one node each).
Peepholes (P) as in the ONNX document. Refused with an error naming the node: sequence_lens shorter than the
sequence, initial states or weights that are not constants, clip, input_forget and activations other than
Sigmoid / Tanh / Relu.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyc.errors import shown
from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail, _unsupported
from tinyc.ir import Tensor

ACTIVATIONS = {"Sigmoid": "logistic", "Tanh": "tanh", "Relu": "relu"}
NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0.0)}

Value = str | np.ndarray  # an IR tensor (activation) or a float constant, of shape [B, n]


class _Builder:
    """Emits the unrolled cell's nodes; operands are IR tensor names or numpy constants (folded here)."""

    def __init__(self, c: _Converter, x: _Ctx, shape: tuple[int, int]):
        self.c, self.x, self.shape, self.count = c, x, shape, 0
        self.direction = 0
        self.shared: dict[str, str] = {}  # every step's products read one copy of the weights

    def weights(self, key: str, value: np.ndarray) -> str:
        key = f"{key}{self.direction}"
        if key not in self.shared:
            self.shared[key] = self.c.const(f"{self.x.name}_{key}", value)
        return self.shared[key]

    def out(self, what: str, shape: tuple[int, ...] | None = None) -> tuple[str, str]:
        """A new float32 IR tensor (default shape [B, H]) and a node name for the node that writes it."""
        self.count += 1
        name = self.c.fresh(f"{self.x.name}_{what}")
        self.c.g.add_tensor(Tensor(name, shape or self.shape, "float32"))
        return name, f"{self.x.name}_{what}_{self.count}"

    def shape_of(self, v: Value) -> tuple[int, ...]:
        return self.c.g.tensor(v).shape if isinstance(v, str) else v.shape

    def _operand(self, v: Value, what: str, shape: tuple[int, ...]) -> str:
        """An activation as it is; a constant (the same one at every step: ones, peepholes) stored once."""
        if isinstance(v, str):
            return v
        full = np.ascontiguousarray(np.broadcast_to(v, shape), np.float32)
        key = f"{what}:{shape}:{full.tobytes().hex()}"
        if key not in self.shared:
            self.shared[key] = self.c.const(f"{self.x.name}_{what}", full)
        return self.shared[key]

    def binary(self, op: str, a: Value, b: Value) -> Value:
        if not isinstance(a, str) and not isinstance(b, str):
            return {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](a, b).astype(np.float32)
        for const, other in ((a, b), (b, a)):
            if not isinstance(const, str) and not np.any(const) and op == "mul":
                return np.zeros(self.shape_of(other), np.float32)
            if not isinstance(const, str) and not np.any(const) and (op == "add" or const is b):
                return other
        shape = self.shape_of(a if isinstance(a, str) else b)
        out, node = self.out(op, shape)
        self.c._add_node(op, node, [self._operand(a, f"{op}_a", shape), self._operand(b, f"{op}_b", shape)],
                         [out], {"activation": "none"})
        return out

    def activation(self, kind: str, v: Value) -> Value:
        if not isinstance(v, str):
            return NUMPY_ACTIVATIONS[kind](v.astype(np.float64)).astype(np.float32)
        op = ACTIVATIONS[kind]
        out, node = self.out(op, self.shape_of(v))
        self.c._add_node(op, node, [v], [out], {"activation": "relu"} if op == "relu" else {})
        return out

    def fc(self, v: Value, key: str, w: np.ndarray, bias: np.ndarray | None = None) -> Value:
        """v [B, K] times w [S, K]^T (+ bias): [B, S]; `key` names the weights (one constant per direction)."""
        if not isinstance(v, str):
            out = v.astype(np.float32) @ w.T.astype(np.float32)
            return out + bias if bias is not None else out
        out, node = self.out("fc", (self.shape[0], w.shape[0]))
        inputs = [v, self.weights(key, w)]
        if bias is not None:
            inputs.append(self.weights(f"{key}_bias", bias))
        self.c._add_node("fully_connected", node, inputs, [out], {"activation": "none"})
        return out

    def split(self, v: Value, sizes: list[int]) -> list[Value]:
        if not isinstance(v, str):
            return np.split(v, np.cumsum(sizes)[:-1], axis=1)
        outs = [self.out("gate", (self.shape[0], s))[0] for s in sizes]
        op = "split" if len(set(sizes)) == 1 else "split_v"
        attrs = {"axis": 1} if op == "split" else {"axis": 1, "size_splits": sizes}
        self.c._add_node(op, f"{self.x.name}_split_{self.count}", [v], outs, attrs)
        return outs

    def reshape(self, v: Value, shape: tuple[int, ...], what: str) -> str:
        out, node = self.out(what, shape)
        self.c._add_node("reshape", node, [self._operand(v, what, self.shape_of(v))], [out])
        return out


def _attrs(c: _Converter, x: _Ctx, gates: int, defaults: list[str]) -> tuple[int, list[str], list[str], int]:
    """(hidden size, directions, activations per direction, layout) after refusing what is not supported."""
    a = x.attrs
    hidden = int(a.get("hidden_size", 0))
    direction = a.get("direction", "forward")
    dirs = {"forward": ["forward"], "reverse": ["reverse"], "bidirectional": ["forward", "reverse"]}.get(direction)
    if dirs is None:
        raise _fail(c, x, f"unknown direction '{shown(str(direction))}'")
    if "clip" in a:
        raise _unsupported(c, x, "clip")
    if a.get("input_forget", 0):
        raise _unsupported(c, x, "input_forget=1")
    acts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
            for v in a.get("activations", defaults * len(dirs))]
    if len(acts) != len(defaults) * len(dirs):
        raise _fail(c, x, f"activations {shown(str(acts))} should name {len(defaults) * len(dirs)} functions")
    for name in acts:
        if name not in ACTIVATIONS:
            raise _unsupported(c, x, f"activation {shown(name)}; only Sigmoid, Tanh and Relu")
    layout = int(a.get("layout", 0))
    if layout not in (0, 1):
        raise _fail(c, x, f"layout {layout} must be 0 or 1")
    w = _const_input(c, x, 1, "W")
    if w is None or w.ndim != 3 or w.shape[0] != len(dirs) or (hidden and w.shape[1] != gates * hidden):
        raise _fail(c, x, f"W of shape {None if w is None else list(w.shape)} does not match hidden_size {hidden} "
                          f"and direction {direction}")
    return w.shape[1] // gates, dirs, acts, layout


def _state(c: _Converter, x: _Ctx, i: int, dirs: int, batch: int, hidden: int, what: str) -> np.ndarray:
    v = _const_input(c, x, i, f"{what} (only constant initial states are supported)")
    if v is None:
        return np.zeros((dirs, batch, hidden), np.float32)
    if v.shape != (dirs, batch, hidden):
        raise _fail(c, x, f"{what} has shape {list(v.shape)}, expected {[dirs, batch, hidden]}")
    return v.astype(np.float32)


def _recurrent(c: _Converter, x: _Ctx, gates: int, defaults: list[str],
               cell: Callable[..., tuple[Value, Value | None]]) -> None:
    """The part LSTM and GRU share: weights, input products, the loop over directions and steps, the outputs."""
    hidden, dirs, acts, layout = _attrs(c, x, gates, defaults)
    src = x.input(0)
    if not src or src in c.consts:
        raise _unsupported(c, x, "a constant input sequence")
    shape = c.shapes[src]
    if len(shape) != 3:
        raise _fail(c, x, f"input X must be 3-D, got {list(shape)}")
    steps, batch = (shape[0], shape[1]) if layout == 0 else (shape[1], shape[0])
    n_in = shape[2]
    w = _const_input(c, x, 1, "W").astype(np.float32)
    r = _const_input(c, x, 2, "R")
    b = _const_input(c, x, 3, "B")
    if r is None or r.shape != (len(dirs), gates * hidden, hidden) or w.shape[2] != n_in:
        raise _fail(c, x, f"W {list(w.shape)} / R {None if r is None else list(r.shape)} do not fit the input "
                          f"{list(shape)} and hidden size {hidden}")
    b = np.zeros((len(dirs), 2 * gates * hidden), np.float32) if b is None else b.astype(np.float32)
    if b.shape != (len(dirs), 2 * gates * hidden):
        raise _fail(c, x, f"B has shape {list(b.shape)}, expected {[len(dirs), 2 * gates * hidden]}")
    if x.input(4):
        lens = _const_input(c, x, 4, "sequence_lens")
        if not np.all(lens == steps):
            raise _unsupported(c, x, "sequence_lens shorter than the sequence")
    h0 = _state(c, x, 5, len(dirs), batch, hidden, "initial_h")
    c0 = _state(c, x, 6, len(dirs), batch, hidden, "initial_c") if gates == 4 else None
    peep = _const_input(c, x, 7, "P (peepholes)") if gates == 4 else None
    if peep is not None and peep.shape != (len(dirs), 3 * hidden):
        raise _fail(c, x, f"P has shape {list(peep.shape)}, expected {[len(dirs), 3 * hidden]}")
    bld = _Builder(c, x, (batch, hidden))
    per_step: list[list[str]] = [[""] * steps for _ in dirs]
    last_h: list[Value] = []
    last_c: list[Value] = []
    for d, direction in enumerate(dirs):
        bld.direction = d
        # the input-to-gate products of all steps at once: [T, B, G*H] (layout 0) or [B, T, G*H]
        xw = c.fresh(f"{x.name}_xw{d}")
        c.g.add_tensor(Tensor(xw, shape[:2] + (gates * hidden,), "float32"))
        bias = cell_input_bias(b[d], gates, hidden, x.attrs)
        c._add_node("fully_connected", f"{x.name}_xw{d}", [c.get(src, "onnx"), c.const(f"{x.name}_w{d}", w[d]),
                                                            c.const(f"{x.name}_wb{d}", bias)], [xw],
                    {"activation": "none"})
        h, cs = h0[d], (c0[d] if c0 is not None else None)
        order = range(steps) if direction == "forward" else range(steps - 1, -1, -1)
        na = len(defaults)
        for t in order:
            xt = bld.out("xt", (1, batch, gates * hidden) if layout == 0 else (batch, 1, gates * hidden))[0]
            begin = (t, 0, 0) if layout == 0 else (0, t, 0)
            c._add_node("slice", f"{x.name}_step{d}_{t}", [xw], [xt],
                        {"begin": begin, "size": c.g.tensor(xt).shape})
            xt = bld.reshape(xt, (batch, gates * hidden), "xt2d")
            h, cs = cell(bld, xt, h, cs, r[d].astype(np.float32), b[d] if peep is None else peep[d], hidden,
                         acts[d * na:(d + 1) * na])
            per_step[d][t] = bld.reshape(h, (1, 1, batch, hidden) if layout == 0 else (batch, 1, 1, hidden),
                                         "yt")
        last_h.append(h)
        last_c.append(cs)
    _outputs(c, x, bld, per_step, last_h, last_c, layout, (steps, len(dirs), batch, hidden))


def _outputs(c: _Converter, x: _Ctx, bld: _Builder, per_step: list[list[str]], last_h: list[Value],
             last_c: list[Value], layout: int, sizes: tuple[int, int, int, int]) -> None:
    steps, dirs, batch, hidden = sizes
    outs = x.outputs + [""] * 3
    if outs[0]:
        pieces = []
        for t in range(steps):
            ts = [per_step[d][t] for d in range(dirs)]
            if dirs == 1:
                pieces.append(ts[0])
                continue
            both, node = bld.out("yt2", (1, dirs, batch, hidden) if layout == 0 else (batch, 1, dirs, hidden))
            c._add_node("concatenation", node, ts, [both], {"axis": 1 if layout == 0 else 2, "activation": "none"})
            pieces.append(both)
        y_shape = (steps, dirs, batch, hidden) if layout == 0 else (batch, steps, dirs, hidden)
        y = c.new_value(outs[0], y_shape)
        if len(pieces) == 1:
            c._add_node("reshape", f"{x.name}_y", pieces, [y])
        else:
            c._add_node("concatenation", f"{x.name}_y", pieces, [y], {"axis": 0 if layout == 0 else 1,
                                                                       "activation": "none"})
    for name, last in ((outs[1], last_h), (outs[2], last_c)):
        if not name:
            continue
        if any(v is None for v in last):
            raise _fail(c, x, "has no cell state output")
        state_shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
        one = (1, batch, hidden) if layout == 0 else (batch, 1, hidden)
        pieces = [bld.reshape(v, one, "state") for v in last]
        out = c.new_value(name, state_shape)
        if len(pieces) == 1:
            c._add_node("reshape", f"{x.name}_{name}", pieces, [out])
        else:
            c._add_node("concatenation", f"{x.name}_{name}", pieces, [out], {"axis": 0 if layout == 0 else 1,
                                                                                "activation": "none"})


def cell_input_bias(b: np.ndarray, gates: int, hidden: int, attrs: dict) -> np.ndarray:
    """The bias added to the input-to-gate products: Wb + Rb, except GRU's Rbh under linear_before_reset=1
    (it is added to H Rh before the product with r)."""
    wb, rb = b[:gates * hidden].astype(np.float32), b[gates * hidden:].astype(np.float32)
    if gates == 3 and attrs.get("linear_before_reset", 0):
        rb = rb.copy()
        rb[2 * hidden:] = 0.0
    return wb + rb


def _lstm_cell(bld: _Builder, xt: str, h: Value, cs: Value, r: np.ndarray, peep: np.ndarray, hidden: int,
               acts: list[str]) -> tuple[Value, Value]:
    """`peep` is P of this direction (i, o, f), or its bias (not read: folded into the input products)."""
    g = bld.binary("add", xt, bld.fc(h, "r", r))
    i, o, f, cand = bld.split(g, [hidden] * 4)
    if peep.shape == (3 * hidden,):  # i += Pi * C, f += Pf * C with the previous C; o += Po * C with the new
        p_i, p_o, p_f = (peep[k * hidden:(k + 1) * hidden].astype(np.float32) for k in range(3))
        i = bld.binary("add", i, bld.binary("mul", cs, p_i))
        f = bld.binary("add", f, bld.binary("mul", cs, p_f))
    f_act, g_act, h_act = acts
    i, f, cand = bld.activation(f_act, i), bld.activation(f_act, f), bld.activation(g_act, cand)
    cs = bld.binary("add", bld.binary("mul", f, cs), bld.binary("mul", i, cand))
    if peep.shape == (3 * hidden,):
        o = bld.binary("add", o, bld.binary("mul", cs, p_o))
    return bld.binary("mul", bld.activation(f_act, o), bld.activation(h_act, cs)), cs


def _gru_cell(bld: _Builder, xt: str, h: Value, cs: None, r: np.ndarray, b: np.ndarray, hidden: int,
              acts: list[str]) -> tuple[Value, None]:
    f_act, g_act = acts
    x_zr, x_h = bld.split(xt, [2 * hidden, hidden])
    z, rr = bld.split(bld.binary("add", x_zr, bld.fc(h, "r_zr", r[:2 * hidden])), [hidden, hidden])
    z, rr = bld.activation(f_act, z), bld.activation(f_act, rr)
    if bld.x.attrs.get("linear_before_reset", 0):
        rbh = b[5 * hidden:].astype(np.float32)
        rec = bld.binary("mul", rr, bld.fc(h, "r_h", r[2 * hidden:], rbh))
    else:
        rec = bld.fc(bld.binary("mul", rr, h), "r_h", r[2 * hidden:])
    cand = bld.activation(g_act, bld.binary("add", x_h, rec))
    one_minus_z = bld.binary("sub", np.ones(bld.shape, np.float32), z)
    return bld.binary("add", bld.binary("mul", one_minus_z, cand), bld.binary("mul", z, h)), None


CONVERTERS: dict = {
    "LSTM": lambda c, x: _recurrent(c, x, 4, ["Sigmoid", "Tanh", "Tanh"], _lstm_cell),
    "GRU": lambda c, x: _recurrent(c, x, 3, ["Sigmoid", "Tanh"], _gru_cell),
}
