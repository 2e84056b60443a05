"""The framed serial protocol between `tinyc validate --port` and tinyc's validation firmware
(``firmware/validate/serial_main.c`` is the board's side; keep the two in step).

Every frame, either way:

    0xA5 0x5A | type (1 byte) | length (4 bytes, little endian) | payload (length bytes) | CRC-32 (4 bytes, LE)

the CRC-32 (IEEE 802.3, as zlib.crc32) taken over type, length and payload. The host sends, the board answers
each frame with exactly one frame:

    HELLO (0x01, a 4-byte nonce) -> HELLO_REPLY (0x81): "TNYC", version, number of inputs, of outputs, 0,
                                    input record bytes (u32), output record bytes (u32), model id (8 bytes),
                                    the nonce
    RUN (0x02, one input record) -> OUTPUT (0x82, one output record)
    anything wrong               -> ERROR (0x7F): code (1 byte), then ASCII text

The host repeats HELLO (a new nonce each time) until the board answers it: bytes sent before the board's UART
is enabled are lost (a board just reset, QEMU's STM32 USART), and a late answer to an earlier HELLO is told
apart by its nonce. Records are the harness's (tinyc.targets.library.record_layout): all inputs (outputs) of one
inference, each starting at a multiple of 8 bytes. The model id is the first 8 bytes of the SHA-256 of the generated
library's .c and .h files (:func:`library_id`), so a board flashed with another model, another board's
build or another tinyc version answers HELLO with an id that does not match: a clear error, not wrong figures.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tinyc.errors import TinycError

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<BI")  # type, payload length
CRC = struct.Struct("<I")
VERSION = 1
MAGIC = b"TNYC"
HELLO_REPLY = struct.Struct("<4sBBBBII8s4s")

HELLO, RUN = 0x01, 0x02
HELLO_OK, OUTPUT, ERROR = 0x81, 0x82, 0x7F
ERROR_CODES = {1: "bad checksum", 2: "bad length", 3: "unknown frame type", 4: "the model returned an error"}
MAX_PAYLOAD = 1 << 24  # a bound on what the host accepts from a corrupt length field


class SerialProtocolError(TinycError):
    """The board's answer is not what the protocol says (timeout, bad frame, wrong model, board error)."""


class Port(Protocol):
    """What the protocol needs of a port: pyserial's Serial (a device, pty or socket:// URL) has it."""

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...


def encode(kind: int, payload: bytes = b"") -> bytes:
    head = HEADER.pack(kind, len(payload))
    return SYNC + head + payload + CRC.pack(zlib.crc32(head + payload))


def _read_exact(port: Port, n: int, what: str) -> bytes:
    data = b""
    while len(data) < n:
        chunk = port.read(n - len(data))
        if not chunk:
            raise SerialProtocolError(f"no answer from the board ({what}: {len(data)} of {n} bytes before the "
                                      "timeout); is tinyc's validation firmware running on that port?")
        data += chunk
    return data


def read_frame(port: Port) -> tuple[int, bytes]:
    """The next frame (type, payload); bytes before the sync pair are skipped (a board's boot noise)."""
    window = b""
    skipped = 0
    while window != SYNC:
        window = (window + _read_exact(port, 1, "waiting for a frame"))[-2:]
        skipped += 1
        if skipped > 4096:
            raise SerialProtocolError("4096 bytes from the board without a frame start; is it running tinyc's "
                                      "validation firmware at this baud rate?")
    head = _read_exact(port, HEADER.size, "frame header")
    kind, length = HEADER.unpack(head)
    if length > MAX_PAYLOAD:
        raise SerialProtocolError(f"the board sent a frame of {length} bytes (corrupt length)")
    payload = _read_exact(port, length, "frame payload")
    (crc,) = CRC.unpack(_read_exact(port, CRC.size, "frame checksum"))
    if crc != zlib.crc32(head + payload):
        raise SerialProtocolError(f"checksum mismatch in a frame of type {kind:#04x} from the board")
    return kind, payload


@dataclass(frozen=True)
class Hello:
    version: int
    num_inputs: int
    num_outputs: int
    input_bytes: int
    output_bytes: int
    model_id: bytes


def request(port: Port, kind: int, payload: bytes, expect: int) -> bytes:
    """Send one frame and return the payload of the board's answer of type ``expect``."""
    port.write(encode(kind, payload))
    got, answer = read_frame(port)
    if got == ERROR:
        code = answer[0] if answer else 0
        text = answer[1:].decode("ascii", "replace")
        raise SerialProtocolError(f"the board answered error {code} ({ERROR_CODES.get(code, 'unknown')}): {text}")
    if got != expect:
        raise SerialProtocolError(f"the board answered a frame of type {got:#04x}, expected {expect:#04x}")
    return answer


def hello(port: Port, tries: int = 20, wait: float = 0.5) -> Hello:
    """The board's HELLO reply; HELLO is sent up to ``tries`` times, ``wait`` seconds apart at most (pyserial
    ports: the read timeout is lowered to ``wait`` meanwhile)."""
    saved = getattr(port, "timeout", None)
    if saved is not None:
        port.timeout = min(saved, wait)
    try:
        for attempt in range(tries):
            nonce = struct.pack("<I", 0x7C000000 + attempt)
            port.write(encode(HELLO, nonce))
            try:
                while True:  # skip answers to earlier HELLOs (and their errors) until this one's
                    kind, answer = read_frame(port)
                    if kind == HELLO_OK and answer[-4:] == nonce:
                        return _parse_hello(answer)
                    if kind not in (HELLO_OK, ERROR):
                        raise SerialProtocolError(f"the board answered HELLO with a frame of type {kind:#04x}")
            except SerialProtocolError as exc:
                if "no answer" not in str(exc):
                    raise
        raise SerialProtocolError(f"no answer from the board to {tries} HELLOs; is tinyc's validation firmware "
                                  "running on that port?")
    finally:
        if saved is not None:
            port.timeout = saved


def _parse_hello(answer: bytes) -> Hello:
    if len(answer) != HELLO_REPLY.size:
        raise SerialProtocolError(f"HELLO reply of {len(answer)} bytes, expected {HELLO_REPLY.size}")
    magic, version, n_in, n_out, _, in_bytes, out_bytes, model_id, _ = HELLO_REPLY.unpack(answer)
    if magic != MAGIC:
        raise SerialProtocolError(f"the board is not tinyc's validation firmware (magic {magic!r})")
    if version != VERSION:
        raise SerialProtocolError(f"the board speaks protocol version {version}, this tinyc {VERSION}")
    return Hello(version, n_in, n_out, in_bytes, out_bytes, model_id)


def library_id(lib_dir: Path) -> bytes:
    """The model id of a generated library: SHA-256 of its .c and .h files (names and contents), 8 bytes."""
    h = hashlib.sha256()
    for path in sorted([*Path(lib_dir).glob("*.c"), *Path(lib_dir).glob("*.h")]):
        data = path.read_bytes()
        h.update(path.name.encode() + b"\0" + struct.pack("<Q", len(data)) + data)
    return h.digest()[:8]


def check_hello(got: Hello, model_id: bytes, input_bytes: int, output_bytes: int, what: str) -> None:
    """A clear error when the board runs another model (or another build of it) than ``what``."""
    if got.model_id != model_id or (got.input_bytes, got.output_bytes) != (input_bytes, output_bytes):
        raise SerialProtocolError(
            f"the board runs another model: id {got.model_id.hex()}, {got.input_bytes}-byte inputs, "
            f"{got.output_bytes}-byte outputs; {what} is {model_id.hex()}, {input_bytes} and {output_bytes} "
            "bytes (flash the validation firmware built for this model and board)")


def run_records(port: Port, records: list[bytes], output_bytes: int) -> list[bytes]:
    """One RUN per input record; the output records in order."""
    outputs = []
    for k, record in enumerate(records):
        answer = request(port, RUN, record, OUTPUT)
        if len(answer) != output_bytes:
            raise SerialProtocolError(f"input {k}: the board sent {len(answer)} output bytes, expected "
                                      f"{output_bytes}")
        outputs.append(answer)
    return outputs
