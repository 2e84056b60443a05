"""llama2.c's tokenizer (`tokenizer.bin`): sentencepiece-style BPE over byte strings, with byte fallback.

File: int32 max_token_length, then per token float32 score, int32 length, that many bytes. The file does not
store the vocabulary size; it is counted to the end of the file and must equal the checkpoint's.
`encode` and `decode` follow llama2.c's run.c (dummy-prefix space, UTF-8 code points, byte fallback at id+3,
greedy highest-score merges; the space after BOS stripped, `<0xXX>` pieces as raw bytes).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import InputError, ModelError
from tinyc.llm.model import BOS, EOS

MAX_TOKEN_LENGTH = 1 << 16
_BYTE_PIECE = re.compile(rb"<0x([0-9A-Fa-f]{2})>")


@dataclass
class Tokenizer:
    pieces: list[bytes]
    scores: list[float]  # float32 values
    max_token_length: int
    source: str = ""

    def __post_init__(self) -> None:
        self._lookup: dict[bytes, int] = {}
        for i, piece in enumerate(self.pieces):
            self._lookup.setdefault(piece, i)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such tokenizer file")
        raw = path.read_bytes()
        name = str(path)
        if len(raw) < 4:
            raise ModelError(f"{name}: file is {len(raw)} bytes, too short for a llama2.c tokenizer")
        (max_len,) = struct.unpack_from("<i", raw, 0)
        if not 0 < max_len <= MAX_TOKEN_LENGTH:
            raise ModelError(f"{name}: max_token_length is {max_len}, must be in 1..{MAX_TOKEN_LENGTH}")
        pieces: list[bytes] = []
        scores: list[float] = []
        off = 4
        while off < len(raw):
            i = len(pieces)
            if off + 8 > len(raw):
                raise ModelError(f"{name}: truncated in the header of token {i} (offset {off})")
            score, n = struct.unpack_from("<fi", raw, off)
            if not 0 <= n <= max_len:
                raise ModelError(f"{name}: token {i} has length {n}, outside 0..max_token_length {max_len}")
            if score != score or score in (float("inf"), float("-inf")):
                raise ModelError(f"{name}: token {i} has a non-finite score")
            off += 8
            if off + n > len(raw):
                raise ModelError(f"{name}: truncated in token {i}: needs {n} bytes, {len(raw) - off} left")
            pieces.append(raw[off:off + n])
            scores.append(score)
            off += n
        if len(pieces) <= EOS:
            raise ModelError(f"{name}: holds {len(pieces)} tokens; needs at least <unk>, <s>, </s>")
        return cls(pieces, scores, max_len, name)

    def check_vocab(self, vocab_size: int, model_source: str = "the checkpoint") -> None:
        if self.vocab_size != vocab_size:
            raise ModelError(f"{self.source}: tokenizer has {self.vocab_size} tokens but {model_source} has "
                             f"vocab_size {vocab_size}")

    # -- encoding ---------------------------------------------------------------------------------------
    def encode(self, text: str | bytes, bos: bool = True, eos: bool = False) -> list[int]:
        data = _utf8(text) if isinstance(text, str) else bytes(text)
        tokens: list[int] = [BOS] if bos else []
        if data:
            space = self._lookup.get(b" ", -1)
            if space < 0:
                raise ModelError(f"{self.source}: tokenizer has no ' ' token (needed for the dummy prefix)")
            tokens.append(space)
        for cp in _codepoints(data):
            tid = self._lookup.get(cp)
            if tid is not None:
                tokens.append(tid)
            else:
                for b in cp:  # byte fallback: the first 3 ids are <unk>, <s>, </s>
                    if b + 3 >= self.vocab_size:
                        raise ModelError(f"{self.source}: no byte-fallback token for byte 0x{b:02x}")
                    tokens.append(b + 3)
        start = 1 if bos else 0
        body = tokens[start:]
        while True:
            best_score, best_id, best_idx = -1e10, -1, -1
            for i in range(len(body) - 1):
                tid = self._lookup.get(self.pieces[body[i]] + self.pieces[body[i + 1]], -1)
                if tid != -1 and self.scores[tid] > best_score:
                    best_score, best_id, best_idx = self.scores[tid], tid, i
            if best_idx == -1:
                break
            body[best_idx:best_idx + 2] = [best_id]
        return tokens[:start] + body + ([EOS] if eos else [])

    # -- decoding ---------------------------------------------------------------------------------------
    def piece_bytes(self, prev: int, token: int) -> bytes:
        """The bytes run.c prints for `token` after `prev` (safe_printf: unprintable raw bytes dropped)."""
        piece = self.pieces[token]
        if prev == BOS and piece[:1] == b" ":
            piece = piece[1:]
        m = _BYTE_PIECE.fullmatch(piece)
        if m:
            b = int(m.group(1), 16)
            return bytes([b]) if _printable_or_space(b) else b""
        return piece

    def decode(self, tokens: list[int], prev: int = BOS) -> str:
        out = bytearray()
        for tok in tokens:
            out += self.piece_bytes(prev, tok)
            prev = tok
        return out.decode("utf-8", errors="replace")


def _utf8(text: str) -> bytes:
    """The prompt's UTF-8 bytes; a command-line argument that was not valid UTF-8 (held as surrogate escapes)
    is refused."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        byte = f" (byte 0x{code - 0xDC00:02x})" if 0xDC80 <= code <= 0xDCFF else f" (U+{code:04X})"
        raise InputError(f"the prompt is not valid UTF-8 text: character {exc.start}{byte}") from None


def _printable_or_space(b: int) -> bool:
    return 0x20 <= b < 0x7F or b in (0x09, 0x0A, 0x0B, 0x0C, 0x0D)


def _codepoints(data: bytes) -> list[bytes]:
    """Split like run.c: a lead byte starts a code point (<= 4 bytes); stray continuations stand alone."""
    out: list[bytes] = []
    buf = bytearray()
    for i, b in enumerate(data):
        if (b & 0xC0) != 0x80:
            buf = bytearray()
        buf.append(b)
        nxt = data[i + 1] if i + 1 < len(data) else 0
        if (nxt & 0xC0) == 0x80 and len(buf) < 4:
            continue
        out.append(bytes(buf))
        buf = bytearray()
    return out
