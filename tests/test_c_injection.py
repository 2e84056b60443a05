"""No model text reaches the generated C except through c_comment (comments) and c_string (string literals):
hostile node, tensor, graph and file names change nothing but comment text, and the C still computes the
reference's bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.graphs import every_op_graph
from tests.helpers import invoke
from tinyc.codegen.cformat import (
    COMMENT_MAX,
    COMMENT_SAFE,
    c_comment,
    c_string,
    check_model_name,
    model_identifier,
)
from tinyc.codegen.library import render_library
from tinyc.errors import TinycError
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory

SINE = Path(__file__).resolve().parents[1] / "examples" / "sine.onnx"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off"]
N_INPUTS = 256  # random inputs per reproducer, host against ref
NODE_EVIL = "dense_4*\\ output[0] = 1234.5f; \\*"
INPUT_EVILS = ("x */ int evil = 1; /*", "x *\\ int evil = 1; \\*")
FILE_EVIL = "m*\\ int evil = 1; \\*"  # a file name cannot hold '/': `*/` comes from the folder, see below
MARKERS = ("evil", "1234", "dense_4")  # none of these may survive comment removal


def gcc() -> str:
    path = shutil.which("gcc")
    if path is None:
        pytest.skip("gcc not installed")
    return path


# ---------------------------------------------------------------- C as the compiler reads it

_TRIGRAPHS = dict(zip("=(/)'<!>-", "#[\\]^{|}~", strict=True))
_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*|/\*.*', re.DOTALL)


def strip_comments(code: str) -> str:
    """C's translation phases 1-3 as far as comments go: trigraphs, line splices, then each comment -> ' '
    (string and character literals kept whole, so a `/*` inside one is no comment)."""
    code = re.sub(r"\?\?([=(/)'<!>-])", lambda m: _TRIGRAPHS[m.group(1)], code)
    code = re.sub(r"\\\r?\n", "", code)
    return _TOKENS.sub(lambda m: " " if m.group(0)[0] == "/" else m.group(0), code)


def preprocessed(folder: Path, name: str) -> str:
    """gcc's own reading of <name>.c (trigraphs, splices, comments, includes, macros): what it compiles."""
    return subprocess.run([gcc(), *STRICT, "-E", "-P", str(folder / f"{name}.c")], check=True,
                          capture_output=True, text=True).stdout


def compile_c(folder: Path, name: str) -> None:
    subprocess.run([gcc(), *STRICT, "-O0", "-c", str(folder / f"{name}.c"), "-o", str(folder / f"{name}.o")],
                   check=True, capture_output=True, text=True)


def c_files(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if k.endswith((".c", ".h"))}


# ---------------------------------------------------------------- c_comment and c_string on their own

def decode_comment(text: str) -> bytes:
    """c_comment's inverse (for outputs that were not cut)."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "%":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(text[i]))
            i += 1
    return bytes(out)


FRAGMENTS = ["*/", "/*", "*\\", "\\*", "??/", "??=", "??'", "??", "\\\n", "\\\r\n", "//", "\0", "\n", "\r",
             "%", "%2A", '"', "'", "#define X 1", "*/ int evil = 1; /*", "\u2028", "\ud800", "\udcff", "é",
             "\U0001f4a5", "\x1b[31m", "\\u002A/", "\x7f", "\xff", "*", "/", "\\"]
NAME = st.one_of(
    st.text(max_size=30),  # any unicode (no lone surrogates)
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),  # every byte value as a code point
    st.binary(max_size=30).map(lambda b: b.decode("utf-8", "surrogateescape")),  # non-UTF-8 bytes
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=10).map("".join),
    st.text(min_size=COMMENT_MAX - 20, max_size=400),  # long: around and above the cut
).filter(bool)
def fixed(examples: int) -> settings:
    """Hypothesis with a fixed seed (derandomized), no example database, no deadline."""
    return settings(derandomize=True, database=None, deadline=None, max_examples=examples,
                    suppress_health_check=list(HealthCheck))

COMMENT_BATCHES = 200  # x 50 names
counted: dict[str, int] = {}


def test_c_comment_holds_only_safe_characters_and_is_injective() -> None:
    seen: dict[str, bytes] = {}

    @fixed(COMMENT_BATCHES)
    @given(st.lists(NAME, min_size=50, max_size=50))
    def check(names: list[str]) -> None:
        for name in names:
            counted["c_comment"] = counted.get("c_comment", 0) + 1
            out = c_comment(name)
            data = name.encode("utf-8", "surrogatepass")
            assert len(out) <= COMMENT_MAX
            assert set(out) <= COMMENT_SAFE | set("%.0123456789ABCDEFabcdef"), out
            for bad in ("*/", "/*", "//", "??", "\\", "\n", "*", "/"):
                assert bad not in out
            if "%..." in out:  # cut: a prefix of the escaped text, then the text's digest
                assert out.endswith(hashlib.sha256(data).hexdigest()[:8])
                continue
            assert decode_comment(out) == data
            assert seen.setdefault(out, data) == data  # injective
    check()
    assert counted["c_comment"] >= 10_000


def test_c_comment_of_bytes_and_objects() -> None:
    assert c_comment(b"a*/\xff") == "a%2A%2F%FF"
    assert c_comment(("x", 1)) == "(%27x%27, 1)"
    assert c_comment("%41") == "%2541" != c_comment("A")


def test_c_string_round_trips_every_byte(tmp_path) -> None:
    """Every byte value, trigraphs, quotes, backslash-newline, a NUL before a digit: the compiled literal holds
    exactly them."""
    data = bytes(range(256)) + b'??/\n??=??(\\\n"\'*/ /*%d\x007\\1'

    (tmp_path / "s.c").write_text(
        "#include <stdio.h>\n"
        f"static const char s[] = {c_string(data)};\n"
        "int main(void) { fwrite(s, 1, sizeof s - 1, stdout); return 0; }\n")
    subprocess.run([gcc(), *STRICT, str(tmp_path / "s.c"), "-o", str(tmp_path / "s")], check=True)
    assert subprocess.run([str(tmp_path / "s")], check=True, capture_output=True).stdout == data
    assert set(c_string(data)[1:-1]) <= set(map(chr, range(0x20, 0x7F))) - {'"', "?"}


# ---------------------------------------------------------------- model names (C prefixes)

@pytest.mark.parametrize("bad", ["int", "_model", "Model", "model", "a__b", "tinyc_x", "TL_x", "stdint",
                                 "Main", "x" * 41, "é", "a-b", "", "1a", "x */ int evil = 1; /*"])
def test_reserved_or_invalid_model_names_are_refused(bad) -> None:
    with pytest.raises(TinycError, match="model name"):
        check_model_name(bad)
    assert check_model_name(model_identifier(bad)) == model_identifier(bad)


@pytest.mark.parametrize("text", ["sine", "mobilenet_v1_0.25_128_quant", FILE_EVIL, NODE_EVIL, "??/\n",
                                  "__x", "model", "int", "\0", "9" * 100])
def test_model_identifier_is_always_a_valid_name(text) -> None:
    name = model_identifier(text)
    assert check_model_name(name) == name and re.fullmatch(r"[a-z][a-z0-9_]*", name)


# ---------------------------------------------------------------- the reproducers, end to end

def hostile_onnx(path: Path, node: str = NODE_EVIL, inp: str = INPUT_EVILS[0], out: str = INPUT_EVILS[1],
                 graph: str = NODE_EVIL) -> Path:
    """examples/sine.onnx with every node named `node` (repeated), its input and output tensors renamed."""
    m = onnx.load(str(SINE))
    old_in, old_out = m.graph.input[0].name, m.graph.output[0].name
    for n in m.graph.node:
        n.name = node
        n.input[:] = [inp if x == old_in else x for x in n.input]
        n.output[:] = [out if x == old_out else x for x in n.output]
    m.graph.input[0].name, m.graph.output[0].name, m.graph.name = inp, out, graph
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(path))
    return path


def run_cli(model: Path, x: Path, target: str, out: Path) -> bytes:
    code, err, _ = invoke("run", model, "-i", x, "-o", out, "--target", target)
    assert code == 0, err
    return np.load(out).tobytes()


REPRODUCERS = {
    "node-name": dict(node=NODE_EVIL),
    "input-name-*/": dict(inp=INPUT_EVILS[0], out="y"),
    "input-name-*\\": dict(inp=INPUT_EVILS[1], out="y"),
    "output-name": dict(inp="x", out=INPUT_EVILS[0]),
    "repeated": dict(node=NODE_EVIL * 40, inp=INPUT_EVILS[1] * 40, out=INPUT_EVILS[0] * 40, graph=NODE_EVIL * 9),
}


@pytest.mark.parametrize("case", list(REPRODUCERS))
def test_hostile_names_change_nothing_but_comments(case, tmp_path) -> None:
    gcc()
    kwargs = {"node": "plain", "inp": "x", "out": "y", "graph": "sine"} | REPRODUCERS[case]
    folder = tmp_path / "d*" if case != "repeated" else tmp_path / ("*" * 20)
    model = hostile_onnx(folder / f"{FILE_EVIL}.onnx", **kwargs)
    rng = np.random.default_rng(11)
    x = tmp_path / "x.npy"
    np.save(x, rng.uniform(-4, 4, (N_INPUTS, 1, 1)).astype(np.float32))
    host = run_cli(model, x, "host", tmp_path / "host.npy")
    assert host == run_cli(model, x, "ref", tmp_path / "ref.npy")
    assert np.frombuffer(host, np.float32).size == N_INPUTS and len(set(host)) > 8

    lib = tmp_path / "lib"
    code, err, _ = invoke("compile", model, "-o", lib, "--name", "sine")
    assert code == 0, err
    plain = tmp_path / "plain"
    code, err, _ = invoke("compile", SINE, "-o", plain, "--name", "sine")
    assert code == 0, err
    texts = {p.name: p.read_text() for p in lib.iterdir()}
    for fname, text in c_files(texts).items():
        hostile = [n for n in kwargs.values() if not set(n) <= COMMENT_SAFE] + [FILE_EVIL, "*\\"]
        for raw in hostile:
            assert raw not in text, (fname, raw)
        code_only = strip_comments(text)
        assert not any(m in code_only for m in MARKERS), fname
        assert code_only == strip_comments((plain / fname).read_text()), fname
    assert c_comment(kwargs["node"])[:COMMENT_MAX - 12] in texts["sine.c"]
    assert preprocessed(lib, "sine") == preprocessed(plain, "sine")
    assert json.loads(texts["library.json"])["name"] == "sine"


def test_default_name_from_a_hostile_graph_name(tmp_path) -> None:
    model = hostile_onnx(tmp_path / f"{FILE_EVIL}.onnx", node="n", inp="x", out="y", graph=INPUT_EVILS[0])
    code, err, _ = invoke("compile", model, "-o", tmp_path / "lib")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "lib").glob("*.h")) == ["tinyc_fixedpoint.h", "x_int_evil_1.h"]


# ---------------------------------------------------------------- the property: any names, same C

def every_op_plan() -> Plan:
    return plan_memory(lower(every_op_graph()))


def renamed(plan: Plan, names: list[str]) -> Plan:
    """The plan with its graph, source, every node and every tensor renamed (names: that many, unique)."""
    g = plan.graph
    it = iter(names)
    graph_name, source = next(it), next(it)
    tmap = {t: next(it) for t in g.tensors}
    nmap = {n.name: next(it) for n in g.nodes}

    def t(name: str) -> str:
        return tmap[name] if name else name

    graph = Graph(graph_name, {tmap[k]: dataclasses.replace(v, name=tmap[k]) for k, v in g.tensors.items()},
                  [dataclasses.replace(n, name=nmap[n.name], inputs=[t(i) for i in n.inputs],
                                       outputs=[t(o) for o in n.outputs]) for n in g.nodes],
                  [tmap[i] for i in g.inputs], [tmap[o] for o in g.outputs], source)
    steps = [dataclasses.replace(s, node=nmap[s.node], inputs=[t(i) for i in s.inputs],
                                 outputs=[t(o) for o in s.outputs]) for s in plan.steps]

    def key(k: str) -> str:
        return f"{nmap[k[:-8]]}:scratch" if k.endswith(":scratch") and k[:-8] in nmap else tmap[k]

    return dataclasses.replace(plan, graph=graph, steps=steps, buffers={key(k): v for k, v in plan.buffers.items()})


N_GENERATIONS = 300  # x 35 names (graph, source, 12 nodes, 21 tensors): 10,500
N_COMPILED = 50  # of them also preprocessed and compiled by gcc


def test_random_names_give_the_same_c(tmp_path) -> None:
    gcc()
    plan = every_op_plan()
    n_names = 2 + len(plan.graph.tensors) + len(plan.graph.nodes)
    plain = c_files(render_library(plan, "every_op")[0])
    plain_code = {k: strip_comments(v) for k, v in plain.items()}
    ref_dir = tmp_path / "plain"
    ref_dir.mkdir()
    for fname, text in plain.items():
        (ref_dir / fname).write_text(text)
    reference = preprocessed(ref_dir, "every_op")
    stats = {"generations": 0, "names": 0, "compiled": 0}

    @fixed(N_GENERATIONS)
    @given(st.lists(NAME, min_size=n_names, max_size=n_names, unique=True))
    def check(names: list[str]) -> None:
        files = c_files(render_library(renamed(plan, names), "every_op")[0])
        assert {k: strip_comments(v) for k, v in files.items()} == plain_code
        if stats["compiled"] < N_COMPILED:
            folder = Path(tempfile.mkdtemp(dir=tmp_path))
            for fname, text in files.items():
                (folder / fname).write_text(text, encoding="utf-8")
            assert preprocessed(folder, "every_op") == reference
            compile_c(folder, "every_op")
            shutil.rmtree(folder)
            stats["compiled"] += 1
        stats["generations"] += 1
        stats["names"] += len(names)
    check()
    assert stats["names"] >= 10_000 and stats["compiled"] == N_COMPILED, stats


# ---------------------------------------------------------------- language models

def tiny_checkpoint_and_tokenizer(folder: Path) -> tuple[Path, Path]:
    """A random 1-layer llama2.c checkpoint and a tokenizer whose pieces hold every byte but NUL, trigraphs,
    quotes and comment ends, both under hostile file names."""
    from tinyc.llm.checkpoint import save_checkpoint
    from tinyc.llm.model import LlamaConfig, LlamaModel

    c = LlamaConfig(dim=8, hidden_dim=16, n_layers=1, n_heads=2, n_kv_heads=2, vocab_size=40, seq_len=8)
    rng = np.random.default_rng(5)
    weights = {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in c.weight_shapes().items()}
    folder.mkdir(parents=True)
    ckpt = save_checkpoint(LlamaModel(c, weights), folder / f"{FILE_EVIL}.bin")
    specials = [b"<unk>", b"\n<s>\n", b"\n</s>\n", b" ", b'"', b"\\", b"??/", b"*/", b"/*", b"\\\n", b"??=x",
                b"%s%n", b"\xff\xfe", "é".encode(), b"<0x41>", b"<0x07>", b" */ int evil = 1; /* "]
    pieces = specials + [bytes(range(1 + 9 * i, 10 + 9 * i)) for i in range(c.vocab_size - len(specials))]
    raw = struct.pack("<i", max(map(len, pieces)))
    for i, p in enumerate(pieces):
        raw += struct.pack("<fi", float(-i), len(p)) + p
    tok = folder / f"{FILE_EVIL}.tok"
    tok.write_bytes(raw)
    return ckpt, tok


def test_llm_hostile_file_names_and_pieces(tmp_path) -> None:
    """A language model from hostile file names compiles (-Werror) to C without their text, and its piece
    table gives the reference tokenizer's bytes for every token after BOS and after another token."""
    from tinyc.llm.tokenizer import Tokenizer

    ckpt, tok = tiny_checkpoint_and_tokenizer(tmp_path / "d*")
    out = tmp_path / "lm"
    code, err, _ = invoke("compile", ckpt, "--tokenizer", tok, "--quant", "f32", "-o", out)
    assert code == 0, err
    for p in out.glob("*.[ch]"):
        text = p.read_text()
        assert FILE_EVIL not in text and "*\\" not in text, p.name
        assert "evil" not in re.sub(r'"(?:\\.|[^"\\\n])*"', '""', strip_comments(text)), p.name
    assert c_comment(FILE_EVIL + ".bin") in (out / "model.c").read_text()
    tokenizer = Tokenizer.load(tok)
    prevs = [1, 7]
    (tmp_path / "pieces.c").write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "model.h"\n'
        "int main(void) {\n    int t, k;\n    const int prevs[2] = {1, 7};\n"
        "    for (k = 0; k < 2; k++) {\n        for (t = 0; t < MODEL_VOCAB_SIZE; t++) {\n"
        "            const char *p = model_piece(prevs[k], t);\n"
        "            fwrite(p, 1, strlen(p), stdout);\n            fputc(0, stdout);\n        }\n    }\n"
        "    return 0;\n}\n")
    exe = tmp_path / "pieces"
    sources = [str(p) for p in out.glob("*.c") if p.name not in ("main.c", "port_host.c")]
    subprocess.run([gcc(), *STRICT, f"-I{out}", str(tmp_path / "pieces.c"), *sources, "-o", str(exe), "-lm"],
                   check=True, capture_output=True, text=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True).stdout.split(b"\0")[:-1]
    want = [tokenizer.piece_bytes(prev, t) for prev in prevs for t in range(tokenizer.vocab_size)]
    assert got == want
    subprocess.run([gcc(), *STRICT, *map(str, out.glob("*.c")), "-o", str(tmp_path / "story"), "-lm"],
                   check=True, capture_output=True, text=True)


# ---------------------------------------------------------------- board files (platformio.ini, C comments)

@pytest.mark.parametrize("field, value", [("name", "Pico\nextra_scripts = pre:evil.py"), ("id", "rpi-pico\n[env:x]"),
                                          ("platformio.board", "pico\x00"), ("name", "Pic\u00f6")])
def test_board_text_is_one_printable_line(field, value, tmp_path, monkeypatch) -> None:
    """Board text goes into platformio.ini and the C: a board file with a line break or control character in
    it is refused (the board id reaches the C only through c_comment)."""
    import yaml

    from tinyc.boards import BOARDS_ENV, boards_dir, load_board

    data = yaml.safe_load((boards_dir() / "rpi-pico.yaml").read_text())
    if "." in field:
        data["platformio"][field.split(".")[1]] = value
    else:
        data[field] = value
    (tmp_path / "rpi-pico.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv(BOARDS_ENV, str(tmp_path))
    with pytest.raises(TinycError, match=field):
        load_board("rpi-pico")
