"""The three checks every kernel-path test file runs on its `case` fixture ((plan, inputs, reference outputs)):
on each emulated board, through the DSP and Helium C emulations under ASan/UBSan, and as plain C with gcc and
clang. A module takes them with ``test_on_board, test_emulated_on_host, test_plain_c_on_host = path_tests(BOARDS)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.test_codegen import HOST, build, generate_into, run_exe
from tests.test_codegen_kernels import EMULATIONS, SANITIZE, assert_equal_bytes
from tinyc.codegen.kernels import compact_table
from tinyc.lower import Plan
from tinyc.pipeline import run_on_target


def path_tests(boards: list[str]) -> tuple[Callable, Callable, Callable]:
    @pytest.mark.parametrize("board", boards)
    def test_on_board(case, board: str) -> None:
        plan, x, ref = case
        got, _ = run_on_target(plan, x, board)
        assert_equal_bytes(got, ref, f"{plan.graph.name} on {board}")

    @pytest.mark.parametrize("path", sorted(EMULATIONS))
    def test_emulated_on_host(case, path: str, tmp_path) -> None:
        """The Helium and DSP code paths on the host (their instructions as C), under ASan/UBSan."""
        plan, x, ref = case
        gen = generate_into(plan, tmp_path, plan.graph.name)
        exe = build(gen, "gcc", SANITIZE + [EMULATIONS[path]], path)
        assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{plan.graph.name}, {path} path emulated")

    @pytest.mark.parametrize("cc", sorted(HOST))
    def test_plain_c_on_host(case, cc: str, tmp_path) -> None:
        plan, x, ref = case
        gen = generate_into(plan, tmp_path, plan.graph.name)
        exe = build(gen, cc, HOST[cc], cc)
        assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{plan.graph.name}, {cc}")

    return test_on_board, test_emulated_on_host, test_plain_c_on_host


def compact(plan: Plan) -> Plan:
    """`plan` with every step that has a compact form in it (kernels.compact_table), as a DSP board's size goal
    makes it."""
    return replace(plan, steps=[replace(s, params=s.params | {"compact": True}) if compact_table(s) else s
                                for s in plan.steps])
