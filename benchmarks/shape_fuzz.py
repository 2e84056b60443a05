"""Random int8 graphs on every kernel path: each graph is a chain of convolutions, depthwise convolutions, pools,
residual adds and fully connected layers with shapes, strides, padding, dilation, depth multipliers, zero points,
per-channel or per-layer scales and activations drawn at random, run on the host and on each emulated core for
each optimization goal, every output compared byte for byte with the reference runtime.

    .venv/bin/python benchmarks/shape_fuzz.py --graphs 40 --inputs 24 --jobs 2   # writes benchmarks/shape_fuzz.md

Where the hand-written kernel tests (tests/test_depthwise_dsp.py, tests/test_fc_add_paths.py, ...) aim at each
variant's known edges, this draws the shapes nobody thought of, and runs each graph's first layers in row
bands (`--patch`) too. A graph the lowering refuses counts as refused
(a clean error); any other difference fails the run.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_codegen_kernels import Builder, q, random_batch  # noqa: E402
from tinyc.errors import TinycError  # noqa: E402
from tinyc.ir import Graph  # noqa: E402
from tinyc.lower import Plan, lower  # noqa: E402
from tinyc.memory import plan_memory  # noqa: E402
from tinyc.memory.patch import patched_graph, stage_chain  # noqa: E402
from tinyc.pipeline import run_model  # noqa: E402
from tinyc.runtime import run_plan  # noqa: E402

BOARDS = ("nucleo-l4r5zi", "nucleo-h743zi", "corstone-300", "rpi-pico", "nucleo-f207zg", "esp32-c3")
GOALS = ("size", "balanced", "speed")
ACTS = ("none", "relu", "relu6")
Q_STD = 40.0  # the output spread in quantized units the drawn output scale aims at


def out_scale(rng: np.random.Generator, in_scale: float, w_scale: float, taps: int) -> float:
    """An output scale that puts the accumulator's typical spread near Q_STD quantized units, times 1/4..4."""
    spread = in_scale * w_scale * np.sqrt(taps) * 60.0 * 73.0
    return float(spread / Q_STD * np.exp(rng.uniform(np.log(0.25), np.log(4.0))))


def w_scales(rng: np.random.Generator, n: int) -> np.ndarray:
    base = float(np.exp(rng.uniform(np.log(0.001), np.log(0.02))))
    return np.full(n, base) if rng.random() < 0.3 else base * rng.uniform(0.5, 2.0, n)


def pads_for(rng: np.random.Generator, k: tuple[int, int], dil: int) -> tuple[int, int, int, int]:
    if rng.random() < 0.3:
        return (0, 0, 0, 0)
    span_h, span_w = dil * (k[0] - 1), dil * (k[1] - 1)
    return (int(rng.integers(0, span_h + 1)), int(rng.integers(0, span_w + 1)),
            int(rng.integers(0, span_h + 1)), int(rng.integers(0, span_w + 1)))


class Chain:
    """A 4-D int8 chain being drawn: the current tensor, its shape and its scale."""

    def __init__(self, seed: int) -> None:
        self.b = Builder(f"fuzz{seed}", seed)
        self.rng = self.b.rng
        h, w = int(self.rng.integers(1, 20)), int(self.rng.integers(1, 20))
        c = int(self.rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 17, 24, 32, 40, 64]))
        self.scale = float(np.exp(self.rng.uniform(np.log(0.01), np.log(0.1))))
        self.src = self.b.act("x", (1, h, w, c), self.scale, int(self.rng.integers(-128, 128)))
        self.b.g.inputs = [self.src]
        self.shape = (h, w, c)
        self.n = 0

    def output(self, shape: tuple, scale: float) -> str:
        self.n += 1
        zp = -128 if self.rng.random() < 0.2 else int(self.rng.integers(-100, 100))
        return self.b.act(f"t{self.n}", (1, *shape), scale, zp)

    def window(self, k: tuple[int, int], stride: int, dil: int, pads: tuple) -> tuple[int, int] | None:
        h, w, _ = self.shape
        oh = (h + pads[0] + pads[2] - dil * (k[0] - 1) - 1) // stride + 1
        ow = (w + pads[1] + pads[3] - dil * (k[1] - 1) - 1) // stride + 1
        return (oh, ow) if oh >= 1 and ow >= 1 else None

    def conv(self) -> bool:
        r = self.rng
        k = (int(r.choice([1, 1, 2, 3, 3, 5])), int(r.choice([1, 1, 2, 3, 3, 5])))
        stride, dil = int(r.choice([1, 1, 2])), int(r.choice([1, 1, 1, 2]))
        pads = pads_for(r, k, dil)
        hw = self.window(k, stride, dil, pads)
        if hw is None:
            return False
        ic, oc = self.shape[2], int(r.choice([1, 3, 4, 7, 8, 12, 16, 20, 32]))
        ws = w_scales(r, oc)
        y = self.output((*hw, oc), out_scale(r, self.scale, float(ws.mean()), k[0] * k[1] * ic))
        ins = [self.src, self.b.weights(f"w{self.n}", (oc, *k, ic), 0, ws), self.b.bias(f"b{self.n}", oc)]
        self.b.node("conv2d", f"conv{self.n}", ins, y, stride=(stride, stride), dilation=(dil, dil), pads=pads,
                    activation=str(r.choice(ACTS)))
        return self.advance(y, (*hw, oc))

    def depthwise(self) -> bool:
        r = self.rng
        k = (3, 3) if r.random() < 0.6 else (int(r.choice([1, 2, 3, 5])), int(r.choice([1, 2, 3, 5])))
        stride, dil = int(r.choice([1, 1, 2])), int(r.choice([1, 1, 1, 1, 2]))
        dm = 2 if r.random() < 0.15 else 1
        pads = pads_for(r, k, dil)
        hw = self.window(k, stride, dil, pads)
        if hw is None:
            return False
        n = self.shape[2] * dm
        ws = w_scales(r, n)
        y = self.output((*hw, n), out_scale(r, self.scale, float(ws.mean()), k[0] * k[1]))
        ins = [self.src, self.b.weights(f"w{self.n}", (1, *k, n), 3, ws), self.b.bias(f"b{self.n}", n)]
        self.b.node("depthwise_conv2d", f"dw{self.n}", ins, y, stride=(stride, stride), dilation=(dil, dil),
                    pads=pads, depth_multiplier=dm, activation=str(r.choice(ACTS)))
        return self.advance(y, (*hw, n))

    def pool(self) -> bool:
        r = self.rng
        k = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        stride = int(r.choice([1, 2]))
        pads = pads_for(r, k, 1)
        hw = self.window(k, stride, 1, pads)
        if hw is None:
            return False
        op = str(r.choice(["avg_pool2d", "max_pool2d"]))
        t = self.b.g.tensor(self.src)
        y = self.b.act(f"t{self.n + 1}", (1, *hw, self.shape[2]), self.scale, int(t.quant.zero_point[0]))
        self.n += 1
        self.b.node(op, f"pool{self.n}", [self.src], y, kernel=k, stride=(stride, stride), pads=pads,
                    activation="none")
        return self.advance(y, (*hw, self.shape[2]))

    def residual(self) -> bool:
        """A shape-keeping depthwise 3x3 and its input added back."""
        before, scale = self.src, self.scale
        saved = self.shape
        r = self.rng
        n = saved[2]
        ws = w_scales(r, n)
        y = self.output(saved, out_scale(r, scale, float(ws.mean()), 9))
        ins = [before, self.b.weights(f"w{self.n}", (1, 3, 3, n), 3, ws), self.b.bias(f"b{self.n}", n)]
        self.b.node("depthwise_conv2d", f"dw{self.n}", ins, y, stride=(1, 1), dilation=(1, 1), pads=(1, 1, 1, 1),
                    depth_multiplier=1, activation="none")
        s = self.output(saved, max(scale, self.b.g.tensor(y).quant.scale[0]) * r.uniform(1.0, 2.0))
        self.b.node("add", f"add{self.n}", [y, before], s, activation=str(r.choice(ACTS)))
        return self.advance(s, saved)

    def advance(self, y: str, shape: tuple) -> bool:
        self.src, self.shape = y, shape
        self.scale = float(self.b.g.tensor(y).quant.scale[0])
        return True

    def fully_connected(self) -> None:
        r = self.rng
        depth = int(np.prod(self.shape))
        self.n += 1
        flat = self.b.act(f"t{self.n}", (1, depth), self.scale, int(self.b.g.tensor(self.src).quant.zero_point[0]))
        self.b.node("reshape", "flatten", [self.src], flat)
        units = int(r.choice([1, 2, 5, 8, 10, 12, 20, 21, 33, 41, 64]))
        ws = w_scales(r, units)
        y = self.output((units,), out_scale(r, self.scale, float(ws.mean()), depth))
        ins = [flat, self.b.weights(f"w{self.n}", (units, depth), 0, ws), self.b.bias(f"b{self.n}", units)]
        self.b.node("fully_connected", f"fc{self.n}", ins, y, activation=str(r.choice(ACTS)))
        self.src = y


def calibrate(g: Graph, x: np.ndarray) -> None:
    """Rescale each layer's output, in order, until its values on `x` spread over 15..50 quantized units with
    under 5% at the top of the range (a drawn scale alone lets deep chains collapse to a few values)."""
    for i, node in enumerate(g.nodes):
        out = g.tensor(node.outputs[0])
        if node.op in ("reshape", "avg_pool2d", "max_pool2d"):
            out.quant = g.tensor(node.inputs[0]).quant
            continue
        for _ in range(8):
            part = Graph(g.name, dict(g.tensors), g.nodes[:i + 1], list(g.inputs), [out.name])
            o = run_plan(plan_memory(lower(part)), [x])[out.name].astype(np.int32)
            spread, top = float(o.std()), float(np.mean(o == 127))
            factor = 2.0 if spread > 50 or top > 0.05 else 0.5 if spread < 15 else 1.0
            if factor == 1.0:
                break
            out.quant = q(float(out.quant.scale[0]) * factor, int(out.quant.zero_point[0]))


def random_graph(seed: int) -> Graph:
    chain = Chain(seed)
    steps = {"conv": chain.conv, "depthwise": chain.depthwise, "pool": chain.pool, "residual": chain.residual}
    kinds = list(steps)
    layers = 0
    while layers < int(chain.rng.integers(2, 6)):
        layers += steps[kinds[int(chain.rng.choice(4, p=[0.3, 0.45, 0.1, 0.15]))]]()
    if chain.rng.random() < 0.4 and np.prod(chain.shape) <= 4096:
        chain.fully_connected()
    chain.b.g.outputs = [chain.src]
    calibrate(chain.b.g, random_batch(plan_memory(lower(chain.b.g)), 24, seed))
    return chain.b.g


def banded_variants(g: Graph) -> list[tuple[int, int]]:
    """(stage length, bands) for every stage of the graph's chain (tinyc.memory.patch) and 2, 3 and as many
    bands as the stage's last output has rows."""
    chain = stage_chain(g)
    out = []
    for end in range(2, len(chain) + 1):
        rows = g.tensor(chain[end - 1].outputs[0]).shape[1]
        out += [(end, b) for b in sorted({2, 3, rows}) if b <= rows]
    return out


def check_graph(seed: int, inputs: int, boards: tuple[str, ...], goals: tuple[str, ...]) -> dict:
    """{seed, ops, refused, runs, banded, differ: [(target, goal, first bad input)]}: the graph on each target
    and goal; each banded variant on the reference runtime, the whole chain in 3 bands (or fewer) also on the
    host and each board (balanced)."""
    g = random_graph(seed)
    ops = sorted({n.op for n in g.nodes})
    try:
        plan = plan_memory(lower(g))
    except TinycError as e:
        return {"seed": seed, "ops": ops, "refused": str(e), "runs": 0, "banded": 0, "differ": []}
    x = random_batch(plan, inputs, seed)
    ref = run_model(plan, [x], "ref")[0][0]
    runs, differ = 0, []

    def compare(p: Plan, target: str, goal: str | None, what: str) -> None:
        nonlocal runs
        got = run_model(p, [x], target, goal)[0][0]
        runs += 1
        bad = np.flatnonzero(np.any(got.reshape(len(got), -1) != ref.reshape(len(ref), -1), axis=1))
        if bad.size:
            differ.append((f"{target}{what}", goal, int(bad[0])))

    for target, goal in [("host", None)] + [(b, goal) for b in boards for goal in goals]:
        compare(plan, target, goal, "")
    variants = banded_variants(g)
    for end, bands in variants:
        compare(plan_memory(lower(patched_graph(g, stage_chain(g)[:end], bands))), "ref", None,
                f" ({end} layers in {bands} bands)")
    if variants:
        end = max(e for e, _ in variants)
        bands = max(b for e, b in variants if e == end and b <= 3)
        banded = plan_memory(lower(patched_graph(g, stage_chain(g)[:end], bands)))
        for target in ("host", *boards):
            compare(banded, target, "balanced" if target != "host" else None, f" ({end} layers in {bands} bands)")
    return {"seed": seed, "ops": ops, "refused": None, "runs": runs, "banded": len(variants), "differ": differ}


@click.command()
@click.option("--graphs", default=40, show_default=True)
@click.option("--first-seed", default=1000, show_default=True)
@click.option("--inputs", default=24, show_default=True, help="inputs per graph: zeros, -128, 127, then random")
@click.option("--jobs", default=2, show_default=True)
@click.option("--board", "boards", multiple=True, default=BOARDS, show_default=True)
@click.option("--goal", "goals", multiple=True, default=GOALS, show_default=True)
@click.option("--markdown", type=click.Path(path_type=Path), default=Path(__file__).with_name("shape_fuzz.md"))
def main(graphs: int, first_seed: int, inputs: int, jobs: int, boards: tuple[str, ...], goals: tuple[str, ...],
         markdown: Path) -> None:
    start = time.monotonic()
    results = []
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(check_graph, s, inputs, boards, goals)
                   for s in range(first_seed, first_seed + graphs)]
        for k, f in enumerate(as_completed(futures), 1):
            r = f.result()
            results.append(r)
            status = "refused" if r["refused"] else ("DIFFERS " + str(r["differ"]) if r["differ"] else "equal")
            click.echo(f"[{k}/{graphs}] seed {r['seed']} ({', '.join(r['ops'])}): {status}", err=True)
    results.sort(key=lambda r: r["seed"])
    minutes = (time.monotonic() - start) / 60
    accepted = [r for r in results if not r["refused"]]
    bad = [r for r in accepted if r["differ"]]
    lines = ["# Random graphs on every kernel path", "",
             f"`benchmarks/shape_fuzz.py --graphs {graphs} --first-seed {first_seed} --inputs {inputs}`: "
             f"{len(accepted)} of {graphs} random graphs accepted, each run on the host and on "
             f"{', '.join(boards)} for the goals {', '.join(goals)} ({sum(r['runs'] for r in accepted):,} runs of "
             f"{inputs} inputs, {minutes:.1f} min on {jobs} workers); **{len(bad)} differ** from the reference "
             f"runtime. Row bands (tinyc/memory/patch.py): {sum(r['banded'] for r in accepted):,} banded variants "
             f"of the {sum(1 for r in accepted if r['banded'])} graphs whose first layers form a chain, each on the "
             "reference runtime, and per graph its whole chain in 3 bands (or fewer) on the host and each board "
             "(balanced), compared with the unbanded reference.", "",
             "| seed | ops | result |", "|---:|---|---|"]
    for r in results:
        res = (f"refused: {r['refused']}" if r["refused"] else
               "differs: " + "; ".join(f"{t} {g or ''} input {i}" for t, g, i in r["differ"]) if r["differ"]
               else f"equal ({r['runs']} runs)")
        lines.append(f"| {r['seed']} | {', '.join(r['ops'])} | {res} |")
    markdown.write_text("\n".join(lines) + "\n")
    click.echo(f"{len(accepted)} accepted, {len(bad)} differ; wrote {markdown}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
