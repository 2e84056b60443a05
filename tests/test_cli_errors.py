"""Bad input gets one line on stderr naming the problem, exit code 2, and no traceback."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tests.helpers import assert_one_line_error, invoke


@pytest.fixture
def kws(models_dir):
    return models_dir / MLPERF_INT8["kws"]


def test_missing_model(tmp_path) -> None:
    code, err, _ = invoke("inspect", str(tmp_path / "nope.tflite"))
    assert_one_line_error(code, err, "nope.tflite", "no such model file")


def test_unknown_format(tmp_path) -> None:
    bad = tmp_path / "junk.dat"
    bad.write_bytes(b"\x00" * 64)
    code, err, _ = invoke("inspect", str(bad))
    assert_one_line_error(code, err, "junk.dat", "unknown model format")


def test_junk_checkpoint(tmp_path) -> None:
    """A .bin is read as a llama2.c checkpoint (it has no magic number): zeros fail its header check."""
    bad = tmp_path / "junk.bin"
    bad.write_bytes(b"\x00" * 64)
    code, err, _ = invoke("inspect", str(bad))
    assert_one_line_error(code, err, "junk.bin", "header field dim is 0")


def test_truncated_tflite(kws, tmp_path) -> None:
    bad = tmp_path / "truncated.tflite"
    bad.write_bytes(kws.read_bytes()[:5000])
    code, err, _ = invoke("inspect", str(bad))
    assert_one_line_error(code, err, "truncated.tflite", "malformed TFLite file")


def test_unsupported_op_names_op_node_and_file(models_dir, tmp_path) -> None:
    """Rewrite the opcode of the model's SOFTMAX to WHILE (control flow, which tinyc does not compile): the error
    names the op, the node and the file."""
    import tflite

    data = bytearray((models_dir / MLPERF_INT8["kws"]).read_bytes())
    model = tflite.Model.GetRootAsModel(data, 0)
    for k in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(k)
        if code.BuiltinCode() == tflite.BuiltinOperator.SOFTMAX:
            tab = code._tab
            for slot in (4, 10):  # deprecated_builtin_code (int8) and builtin_code (int32)
                off = tab.Offset(slot)
                if off:
                    pos = tab.Pos + off
                    data[pos] = tflite.BuiltinOperator.WHILE
    bad = tmp_path / "while.tflite"
    bad.write_bytes(bytes(data))
    code, err, _ = invoke("inspect", str(bad))
    assert_one_line_error(code, err, "unsupported op WHILE", "while_12", "while.tflite")


def test_wrong_input_shape(kws, tmp_path) -> None:
    x = tmp_path / "in.npy"
    np.save(x, np.zeros((1, 49, 11, 1), np.int8))
    code, err, _ = invoke("run", str(kws), "-i", str(x), "-o", str(tmp_path / "out.npy"))
    assert_one_line_error(code, err, "input shape [1, 49, 11, 1]", "[1, 49, 10, 1]")


def test_wrong_input_dtype(kws, tmp_path) -> None:
    x = tmp_path / "in.npy"
    np.save(x, np.zeros((1, 49, 10, 1), np.float32))
    code, err, _ = invoke("run", str(kws), "-i", str(x), "-o", str(tmp_path / "out.npy"))
    assert_one_line_error(code, err, "dtype float32", "int8")


def test_pickled_input_is_refused(kws, tmp_path) -> None:
    x = tmp_path / "in.npy"
    np.save(x, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, err, _ = invoke("run", str(kws), "-i", str(x), "-o", str(tmp_path / "out.npy"))
    assert_one_line_error(code, err, "cannot read as .npy")


def test_unknown_target(kws, tmp_path) -> None:
    x = tmp_path / "in.npy"
    np.save(x, np.zeros((1, 49, 10, 1), np.int8))
    code, err, _ = invoke("run", str(kws), "-i", str(x), "-o", str(tmp_path / "o.npy"), "--target", "vax-11")
    assert_one_line_error(code, err, "vax-11")


def test_run_single_and_batch(kws, tmp_path) -> None:
    rng = np.random.default_rng(0)
    batch = rng.integers(-128, 128, size=(5, 1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "b.npy", batch)
    np.save(tmp_path / "s.npy", batch[2])
    assert invoke("run", str(kws), "-i", str(tmp_path / "b.npy"), "-o", str(tmp_path / "bo.npy"))[0] == 0
    assert invoke("run", str(kws), "-i", str(tmp_path / "s.npy"), "-o", str(tmp_path / "so.npy"))[0] == 0
    bo, so = np.load(tmp_path / "bo.npy"), np.load(tmp_path / "so.npy")
    assert bo.shape == (5, 1, 12) and bo.dtype == np.int8
    assert so.shape == (1, 12) and so.tobytes() == bo[2].tobytes()


def test_inspect_totals(models_dir) -> None:
    import json

    macs = {"kws": 2_664_768, "ic": 12_505_728, "ad": 264_192}
    for key, expected in macs.items():
        code, _, out = invoke("inspect", str(models_dir / MLPERF_INT8[key]), "--json")
        assert code == 0
        totals = json.loads(out)["totals"]
        assert totals["macs"] == expected
        assert totals["param_bytes"] > 0


def test_compile_unsupported_op_leaves_no_folder(models_dir, tmp_path) -> None:
    import tflite

    data = bytearray((models_dir / MLPERF_INT8["kws"]).read_bytes())
    model = tflite.Model.GetRootAsModel(data, 0)
    for k in range(model.OperatorCodesLength()):
        tab = model.OperatorCodes(k)._tab
        if model.OperatorCodes(k).BuiltinCode() == tflite.BuiltinOperator.SOFTMAX:
            for slot in (4, 10):
                if tab.Offset(slot):
                    data[tab.Pos + tab.Offset(slot)] = tflite.BuiltinOperator.WHILE
    bad = tmp_path / "while.tflite"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    code, err, _ = invoke("compile", str(bad), "-o", str(out))
    assert_one_line_error(code, err, "unsupported op WHILE", "while_12", "while.tflite")
    assert not out.exists()


def test_compile_into_unwritable_place_leaves_nothing(kws, tmp_path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "lib"
    code, err, _ = invoke("compile", str(kws), "-o", str(out))
    assert_one_line_error(code, err, "cannot write to folder", "a_file")
    assert blocker.read_text() == "not a folder" and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_compile_too_big_for_board_names_region_and_sizes(models_dir, tmp_path) -> None:
    out = tmp_path / "ic"
    code, err, _ = invoke("compile", str(models_dir / MLPERF_INT8["ic"]), "--board", "nucleo-f103rb", "-o", str(out))
    assert_one_line_error(code, err, "RAM", "KiB", "nucleo-f103rb has 20 KiB")
    assert not out.exists()
