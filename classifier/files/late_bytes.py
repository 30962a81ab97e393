"""A UTF-8 file whose later rows are not UTF-8: a tracker export with rows a Windows program
appended, or a file ASCII-only in the part its encoding is guessed from (the first 256 KB).
Read strictly, it would stop; read with "replace", every accent after that point became "�"
with no word said. Here each byte that is not UTF-8 is read as cp1252 (what such rows are in
Western Europe and the Americas), and the line where that first happened is kept for a warning.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

CHUNK = 1 << 16
FALLBACK = "tactics-cp1252"


def _as_cp1252(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start:error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error(FALLBACK, _as_cp1252)


class Utf8Bytes(io.RawIOBase):
    """A binary file's bytes as valid UTF-8: what is UTF-8 as it is, any other byte read as
    cp1252; `first_line` is the line of the first such byte (None while there is none)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._pending = b""
        self._lines = 0  # line breaks passed, until the first byte that is not UTF-8
        self._done = False
        self.first_line: int | None = None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            chunk = self._raw.read(CHUNK)
            self._done = not chunk
            try:
                text = self._decoder.decode(chunk, final=self._done)
            except UnicodeDecodeError as error:  # the decoder kept its state: decode again
                before = bytes(error.object[:error.start])
                self.first_line = self._lines + before.count(b"\n") + 1
                self._decoder.errors = FALLBACK
                text = self._decoder.decode(chunk, final=self._done)
            if self.first_line is None:
                self._lines += text.count("\n")
            self._pending = text.encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def open_text(path: str, encoding: str, newline: str | None) -> tuple[io.TextIOWrapper,
                                                                      Utf8Bytes | None]:
    """A text file opened in its (guessed) encoding; for UTF-8, the byte stream that reads
    stray non-UTF-8 bytes as cp1252 and says where (else None)."""
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        return open(path, encoding=encoding, errors="replace", newline=newline), None
    raw = Utf8Bytes(open(path, "rb"))  # noqa: SIM115 (closed with the text stream)
    return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, newline=newline), raw
