"""The report of a llama2.c checkpoint: the cost of one decoding step, per transformer component (each
layer's QKV, attention, output projection and feed-forward, then the classifier), its weights and the
arena's buffers (all live through the whole step: the step API keeps one static arena and the KV cache)."""

from __future__ import annotations

from pathlib import Path

from tinyc.boards import Board
from tinyc.llm.plan import ITEM_BYTES, LlmPlan
from tinyc.report.data import Layer, Live, Report

CONTEXT_NOTE = ("llama2.c checkpoint: MACs of one step at half the context (attention grows with the position)")
MEASURED = ("instructions per token: exact, from the emulated board ({machine}), the mean of the forward passes at "
            "positions 1..100 of a greedy generation from BOS (as ANCHORS.md averages llama2.c); per component "
            "only MACs (the decoder is one function)")
TOKENS = 101  # positions 0..100


def _bytes(plan: LlmPlan, key: str) -> int:
    """Bytes of one layer's slice of a stacked matrix (its int8 values and group scales, or floats)."""
    arrays = [a for k, a in plan.consts.items() if k in (key, f"{key}_q", f"{key}_s")]
    return sum(int(a.nbytes) for a in arrays) // plan.config.n_layers


def step_layers(plan: LlmPlan) -> list[Layer]:
    c = plan.config
    kv, hidden = c.kv_dim, c.hidden_dim
    positions = max(plan.context // 2, 1)
    kind = "int8 matvec" if plan.int8 else "float32 matvec"
    arena_f = ITEM_BYTES["f"]
    layers = []
    for layer in range(c.n_layers):
        layers += [
            Layer(f"L{layer} qkv", kind, c.dim * (c.dim + 2 * kv),
                  _bytes(plan, "wq") + _bytes(plan, "wk") + _bytes(plan, "wv"), arena_f * (c.dim + 2 * kv)),
            Layer(f"L{layer} attention", "float32 attention", 2 * c.dim * positions, 0, arena_f * positions),
            Layer(f"L{layer} wo", kind, c.dim * c.dim, _bytes(plan, "wo"), arena_f * c.dim),
            Layer(f"L{layer} ffn w1,w3", kind, 2 * c.dim * hidden, _bytes(plan, "w1") + _bytes(plan, "w3"),
                  arena_f * 2 * hidden),
            Layer(f"L{layer} ffn w2", kind, hidden * c.dim, _bytes(plan, "w2"), arena_f * c.dim),
        ]
    emb = "tok_emb" if c.shared_classifier else "wcls"
    cls_bytes = sum(int(a.nbytes) for k, a in plan.consts.items() if k.startswith(emb))
    layers.append(Layer("classifier", kind, c.dim * c.vocab_size, cls_bytes, arena_f * c.vocab_size))
    return layers


def arena_buffers(plan: LlmPlan, steps: int) -> list[Live]:
    """Each arena buffer at its byte offset (regions f, q, w, idx one after another), live for every step."""
    base, start = {}, 0
    for region in ("f", "q", "w", "idx"):
        base[region] = start
        start += ITEM_BYTES[region] * plan.regions.get(region, 0)
    return [Live(name, 0, steps - 1, base[b.region] + ITEM_BYTES[b.region] * b.offset, ITEM_BYTES[b.region] * b.count)
            for name, b in plan.buffers.items()]


def checkpoint_report(model: Path, board: Board, quant: str = "int8", context: int = 256,
                      emulate: bool = False) -> Report:
    """The step's report; ``emulate`` (an emulated board): measured instructions per token, flash and RAM."""
    from tinyc.llm.checkpoint import load_checkpoint
    from tinyc.llm.plan import lower
    from tinyc.llm.quant import QuantScheme

    ckpt = load_checkpoint(model)
    plan = lower(ckpt, QuantScheme.named(quant), context=min(context, ckpt.config.seq_len))
    layers = step_layers(plan)
    report = Report(model=Path(model).name, board=board, layers=layers, timeline=arena_buffers(plan, len(layers)),
                    arena_bytes=plan.arena_bytes, flash={"weights": plan.weight_bytes},
                    ram={"arena": plan.arena_bytes}, measured=False, notes=[CONTEXT_NOTE])
    if emulate and board.emulated:
        _measure(report, plan, board)
    return report


def _measure(report: Report, plan: LlmPlan, board: Board) -> None:
    from tinyc.bench.latency import board_cpi, kernel_class, latency_note
    from tinyc.llm.measure import MEAN_TOKENS, generate_on_board
    from tinyc.llm.model import BOS

    run = generate_on_board(plan, None, [BOS], TOKENS, 0.0, 0.9, 1, board.id)
    window = run.instructions[MEAN_TOKENS]
    report.instructions = round(sum(window) / len(window))
    report.flash = {"code": run.flash_code, "weights": run.flash_weights}
    report.ram = {"static": run.ram_static, "stack": run.stack_peak}
    report.measured = True
    report.notes.append(MEASURED.format(machine=board.qemu.machine))
    cpi = board_cpi(board)
    if cpi:
        macs = sum(layer.macs for layer in report.layers)
        mean_cpi = sum(cpi[kernel_class(layer.kernel)] * layer.macs for layer in report.layers) / macs
        report.ms = report.instructions * mean_cpi / (board.clock_mhz * 1e3)
        report.notes.append(latency_note(board) + " (weighted by the components' MACs)")
