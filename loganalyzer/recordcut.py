"""A file-format log as blocks of whole records, no record holding more than CAP bytes.

A record is a header line and every line after it up to the next header, so one line of
400 MB that looks like a record, or a record followed by 400 MB of continuation lines,
would be one record held whole (and copied, decoded, matched) by every reader.  Here a
record longer than HEAD + TAIL bytes keeps its first HEAD and its last TAIL bytes; the
bytes between are cut and counted (Cut), and so are the line breaks among them, so that
every later line keeps its number.  Text before the first record is capped the same way.

Both routes through a file-format log read it through record_blocks (the prefilter's byte
blocks, the reader's text blocks), so they cut the same records at the same bytes.  Memory
stays at one block (about `blocksize`) plus one record's head and tail, whatever the input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .header import RECORD_START_PATTERN
from .sources import STREAM_ERRORS, Block

# (real records reach a few hundred KiB: QEMU's query-qmp-schema reply is about 200 KiB)
HEAD = 1 << 20           # bytes kept from the start of an over-long record
TAIL = 64 << 10          # and from its end
CAP = HEAD + TAIL        # a record longer than this is cut
_READ = 256 << 10        # bytes per read: a record that starts and ends inside one read
_LOOK = 4 << 10          # (plus an unfinished line of at most _LOOK) is shorter than CAP

_START = re.compile(RECORD_START_PATTERN.encode())                       # at a line start
# the same after a line break (a literal first byte: `re` skips ahead to each one fast)
_NEXT_START = re.compile(b"\n(?:" + RECORD_START_PATTERN.encode() + b")")


@dataclass
class Cut:
    """One over-long record (or the text before the first record) that was cut.  It is the
    last record of the block that carries it; the reader of the block, which numbers the
    lines, sets `line`."""
    nbytes: int          # bytes cut from its middle
    nlines: int          # line breaks among them (the lines after it keep their numbers)
    foreign: bool        # text before the first record, not a record
    line: int = 0        # its first line


def _char_start(buf, k: int, step: int) -> int:
    """k moved (by step: -1 back, +1 forward) off UTF-8 continuation bytes, at most 3."""
    for _ in range(3):
        if 0 < k < len(buf) and 0x80 <= buf[k] < 0xC0:
            k += step
    return k


class _Record:
    """The current record: what is kept of it, what was cut."""

    __slots__ = ("foreign", "head", "tail", "cut", "cut_lines")

    def __init__(self, foreign: bool, data=b""):
        self.foreign = foreign
        self.head = bytearray(data)     # all of it while it is short, else its first HEAD bytes
        self.tail = None                # once cut: its latest bytes
        self.cut = self.cut_lines = 0
        if len(self.head) > CAP:
            self._start_cut()

    def grow(self, data) -> None:
        if self.tail is None:
            self.head += data
            if len(self.head) > CAP:
                self._start_cut()
        else:
            self.tail += data
            if len(self.tail) > 2 * TAIL:
                self._drop(len(self.tail) - TAIL)

    def _start_cut(self):
        k = _char_start(self.head, HEAD, -1)
        self.tail = self.head[k:]
        del self.head[k:]
        self._drop(len(self.tail) - TAIL)

    def _drop(self, n: int):
        if n <= 0:
            return
        n = _char_start(self.tail, n, 1)
        self.cut += n
        self.cut_lines += _newlines(memoryview(self.tail)[:n])
        del self.tail[:n]

    def close(self):
        """(its kept bytes, its Cut or None)."""
        if self.tail is None:
            return self.head, None
        self._drop(len(self.tail) - TAIL)
        return self.head + self.tail, Cut(self.cut, self.cut_lines, self.foreign)


def _newlines(data) -> int:
    import numpy as np    # (cut records and the event table's blocks: analyze of a small file imports no NumPy)
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))   # (bytes.count is slower)


def record_blocks(stream, blocksize: int):
    """(block, cut) pairs: byte blocks of about blocksize that each begin at a record start
    (the first may begin with other text) and end where a record ends.  A block whose last
    record was cut ends right after it and carries its Cut (else None).  A read error ends
    the blocks after everything read before it, and is raised."""
    done = []            # complete records of the block being built
    size = 0
    rec = _Record(True)  # text before the first record start, then the current record
    pend = b""           # an unfinished last line too short to tell whether it starts a record
    at_line_start = True
    error = None

    def close(rec):
        kept, cut = rec.close()
        done.append(kept)
        return cut

    for data in _pieces(stream, blocksize):
        if isinstance(data, Exception):
            data, error = b"", data
        eof = not data
        text = pend + data if pend else bytes(data)
        end = len(text)
        if not eof:
            k = text.rfind(b"\n") + 1
            if end - k < _LOOK and k < end and (k or at_line_start):
                end = k                          # decide that line with the next read
        pend = text[end:]
        # the first record start ends the current record; the last one begins the next
        first = _first_start(text, end, at_line_start)
        if first is None:
            rec.grow(memoryview(text)[:end])
        else:
            rec.grow(memoryview(text)[:first])
            cut = close(rec)
            size += len(done[-1])
            if cut is not None:
                # the block ends with the cut record: its lost line breaks come after it
                yield b"".join(done), cut
                done, size = [], 0
            last = _last_start(text, first, end)
            done.append(memoryview(text)[first:last])
            size += last - first
            rec = _Record(False, memoryview(text)[last:end])
        at_line_start = end == 0 and at_line_start or end > 0 and text[end - 1] == 10
        if eof:
            cut = close(rec)
            block = b"".join(done)
            if block:
                yield block, cut
            if error is not None:
                raise error
            return
        if size >= blocksize:
            yield b"".join(done), None
            done, size = [], 0


def _pieces(stream, size: int):
    """The stream's bytes in pieces of _READ bytes, read `size` at a time (the reads of a
    decompressing stream are as large as before: where a damaged one stops depends on them),
    then b"" at the end, or the read's exception instead."""
    while True:
        try:
            chunk = stream.read(max(size, _READ))
        except Exception as e:   # (the caller knows which errors are the input's)
            yield e
            return
        if not chunk:
            yield b""
            return
        view = memoryview(chunk)        # (the pieces are views: the caller copies each once)
        for k in range(0, len(chunk), _READ):
            yield view[k:k + _READ]


def _first_start(text: bytes, end: int, at_line_start: bool) -> int | None:
    """Where the first record start in text[:end] is, or None."""
    if at_line_start and _START.match(text, 0, end):
        return 0
    m = _NEXT_START.search(text, 0, end)
    return None if m is None else m.start() + 1


def _last_start(text: bytes, first: int, end: int) -> int:
    """Where the last record start in text[first:end] is (first: there is one there)."""
    hi = end - 1
    while True:
        k = text.rfind(b"\n", first, hi)
        if k < 0:
            return first
        if _START.match(text, k + 1, end):
            return k + 1
        hi = k


class AsciiBlock:
    """A block of record_blocks that is ASCII alone: its bytes, its line breaks (counted when
    asked for, unless the reader's scan counted them first) and the text decoded only when asked
    for (sources.Block's fields)."""

    __slots__ = ("data", "nbytes", "cut", "_newlines", "_text")
    tail = False

    def __init__(self, data: bytes, cut):
        self.data, self.nbytes, self.cut = data, len(data), cut
        self._newlines = None
        self._text = None

    @property
    def newlines(self) -> int:
        if self._newlines is None:
            self._newlines = _newlines(self.data)
        return self._newlines

    @newlines.setter
    def newlines(self, n: int):
        self._newlines = n

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode("ascii")
        return self._text


def text_blocks(blocks, on_error=None, encoding: str = "utf-8", ascii_bytes: bool = False):
    """record_blocks decoded (invalid UTF-8 replaced): sources.Block with its cut.  A read
    error ends the blocks and goes to on_error(message) (raised without one).  With
    ascii_bytes, a UTF-8 block of ASCII alone stays bytes (AsciiBlock): the event table reads
    the bytes, and the text is not made twice."""
    try:
        for data, cut in blocks:
            if ascii_bytes and encoding == "utf-8" and data.isascii():
                yield AsciiBlock(bytes(data), cut)
                continue
            yield Block(data.decode(encoding, "replace"), len(data), cut=cut)
    except STREAM_ERRORS as e:
        if on_error is None:
            raise
        on_error(f"read error ({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})")
