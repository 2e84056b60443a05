"""The serial protocol of `tinyc validate --port` (tinyc/serial_protocol.py) and the validation firmware
(firmware/validate/serial_main.c), on nucleo-l4r5zi emulated by QEMU with its UART on a pseudo-terminal:
the host opens the pty with pyserial exactly as a real board's /dev/ttyACM0 (same code, another port name).
NUCLEO-F207ZG's own USART3 port runs on QEMU's netduino2 (an STM32F205: the same USART).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import serial
from click.testing import CliRunner

from tinyc import serial_protocol as sp
from tinyc.cli import main
from tinyc.pipeline import build_plan, run_model
from tinyc.targets.library import pack_records
from tinyc.validate.firmware import build_emulated, qemu_serial

BOARD = "nucleo-l4r5zi"
KWS = "mlperf_tiny/kws/kws_ref_model.tflite"
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="qemu-system-arm / arm-none-eabi-gcc not installed")


class Loopback(io.BytesIO):
    """A port whose reads return what was queued (write is a no-op recorder)."""

    def __init__(self, incoming: bytes) -> None:
        super().__init__(incoming)
        self.sent = b""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sent += bytes(data)
        return len(data)


def test_frames_round_trip_and_reject_corruption() -> None:
    frame = sp.encode(sp.OUTPUT, bytes(range(200)))
    assert frame[:2] == sp.SYNC and struct.unpack("<BI", frame[2:7]) == (sp.OUTPUT, 200)
    assert struct.unpack("<I", frame[-4:])[0] == zlib.crc32(frame[2:-4])
    assert sp.read_frame(Loopback(b"boot noise\r\n\xa5" + frame)) == (sp.OUTPUT, bytes(range(200)))
    for at in (2, 10, len(frame) - 1):  # type byte, payload, checksum
        bad = bytearray(frame)
        bad[at] ^= 0x10
        with pytest.raises(sp.SerialProtocolError, match="checksum mismatch"):
            sp.read_frame(Loopback(bytes(bad)))
    with pytest.raises(sp.SerialProtocolError, match="no answer from the board"):
        sp.read_frame(Loopback(frame[:-2]))
    with pytest.raises(sp.SerialProtocolError, match="error 4 .the model returned an error.: boom"):
        sp.request(Loopback(sp.encode(sp.ERROR, b"\x04boom")), sp.RUN, b"", sp.OUTPUT)


@pytest.fixture(scope="module")
def kws_board(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    plan = build_plan(models_dir / KWS)
    image = build_emulated(plan, BOARD, tmp_path_factory.mktemp("fw"))
    with qemu_serial(image) as pty:
        yield plan, pty, image.model_id


@needs_qemu
def test_board_answers_hello_runs_and_errors(kws_board) -> None:
    plan, pty, model_id = kws_board
    t = plan.graph.tensor(plan.graph.inputs[0])
    with serial.serial_for_url(pty, baudrate=115200, timeout=10) as port:
        hello = sp.hello(port)
        assert (hello.model_id, hello.input_bytes, hello.output_bytes) == (model_id, 490, 12)
        assert (hello.num_inputs, hello.num_outputs, hello.version) == (1, 1, sp.VERSION)
        x = np.random.default_rng(7).integers(-128, 128, (40, *t.shape), dtype=np.int8)
        got = sp.run_records(port, [r.tobytes() for r in pack_records([x])], 12)
        want = run_model(plan, [x], "ref")[0][0]
        assert np.frombuffer(b"".join(got), dtype=np.int8).tobytes() == want.tobytes()  # 40 inferences
        bad = bytearray(sp.encode(sp.RUN, x[0].tobytes()))
        bad[-1] ^= 1
        port.write(bytes(bad))
        assert sp.read_frame(port) == (sp.ERROR, b"\x01checksum mismatch")
        with pytest.raises(sp.SerialProtocolError, match="error 2 .bad length."):
            sp.request(port, sp.RUN, b"\x00" * 100, sp.OUTPUT)
        with pytest.raises(sp.SerialProtocolError, match="error 3 .unknown frame type."):
            sp.request(port, 0x33, b"", sp.OUTPUT)
        assert sp.run_records(port, [x[0].tobytes()], 12) == got[:1]  # the board recovered
        assert sp.hello(port) == hello


@needs_qemu
def test_real_board_uart_port(models_dir: Path, tmp_path: Path) -> None:
    """NUCLEO-F207ZG's register-level USART3 driver (serial_port_stm32f2.c), not QEMU's CMSDK UART: HELLO is
    repeated until the USART is enabled (bytes before that are dropped by the STM32 USART), then 20 inferences."""
    plan = build_plan(models_dir / KWS)
    image = build_emulated(plan, "nucleo-f207zg", tmp_path, board_port=True)
    assert image.machine == "netduino2"
    x = np.random.default_rng(9).integers(-128, 128, (20, 1, 49, 10, 1), dtype=np.int8)
    with qemu_serial(image) as pty, serial.serial_for_url(pty, baudrate=115200, timeout=10) as port:
        assert sp.hello(port).model_id == image.model_id
        got = sp.run_records(port, [r.tobytes() for r in pack_records([x])], 12)
    assert b"".join(got) == run_model(plan, [x], "ref")[0][0].tobytes()


@needs_qemu
def test_validate_on_port_equals_emulated_target(kws_board, models_dir: Path, tmp_path: Path) -> None:
    _, pty, _ = kws_board
    x = np.random.default_rng(1).normal(0, 20, (12, 1, 49, 10, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    original = models_dir / KWS.replace(".tflite", "_float32.tflite")
    args = ["validate", str(models_dir / KWS), "--original", str(original), "--data", str(tmp_path / "x.npy"),
            "--target", BOARD, "--json"]
    emulated = CliRunner().invoke(main, args)
    on_port = CliRunner().invoke(main, [*args, "--port", pty])
    assert emulated.exit_code == 0 and on_port.exit_code == 0, emulated.output + on_port.output
    a, b = json.loads(emulated.output), json.loads(on_port.output)
    assert b["target"] == f"{BOARD} on {pty}" and a["outputs"] == b["outputs"]
    # another model against this firmware: refused by the HELLO check, nothing run
    np.save(tmp_path / "one.npy", np.zeros((1, 1), np.float32))
    other = CliRunner().invoke(main, ["validate", str(models_dir / "zoo/tflm_hello_world_int8.tflite"), "--original",
                                      str(models_dir / "zoo/tflm_hello_world_float.tflite"), "--data",
                                      str(tmp_path / "one.npy"), "--target", BOARD, "--port", pty])
    assert other.exit_code == 2 and "the board runs another model" in other.output


def test_firmware_sources_carry_the_id_the_host_checks(kws_board, models_dir: Path, tmp_path: Path) -> None:
    """`validate --firmware DIR` (a real board's sources) holds the library the emulated firmware was built from."""
    _, _, model_id = kws_board
    r = CliRunner().invoke(main, ["validate", str(models_dir / KWS), "--target", BOARD, "--firmware",
                                  str(tmp_path / "fw")])
    assert r.exit_code == 0, r.output
    header = (tmp_path / "fw" / "serial_model_id.h").read_text()
    assert ", ".join(f"0x{b:02x}u" for b in model_id) in header
    assert sp.library_id(tmp_path / "fw" / "lib") == model_id
    assert {"serial_main.c", "serial_port.h", "model_glue.h"} <= {p.name for p in (tmp_path / "fw").iterdir()}
