"""Compressed input (gzip, xz, bzip2, zstd), recognised by its first bytes, never by its name.

decoded(raw) gives the decompressed bytes of a binary stream and never raises because of the
data: reading ends where the data stops, and `.damage` says why it stopped early:

  None                      the compressed data ended where its format says it ends
  Damage("truncated", ...)  it stops before its end (copied while being written, a cut download)
  Damage("corrupt", ...)    from some point on it cannot be decoded (a bad block, a bad checksum,
                            a zstd frame that needs a dictionary)

Everything decoded before the break is delivered first.  Reads return at most the size asked
for, whatever the compression ratio (decompression bombs stay bounded by the caller's reads).
"""
from __future__ import annotations

import bz2
import io
import lzma
import zlib
from dataclasses import dataclass

import zstandard

MAGIC = ((b"\x1f\x8b", "gz"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zst"))
NAMES = {"gz": "gzip", "xz": "xz", "bz2": "bzip2", "zst": "zstd"}
SUFFIXES = {".gz": "gz", ".tgz": "gz", ".xz": "xz", ".txz": "xz", ".bz2": "bz2", ".tbz2": "bz2",
            ".zst": "zst", ".zstd": "zst", ".tzst": "zst"}
# compressed bytes read at a time
CHUNK = 1 << 16


def compression_of(head: bytes) -> str | None:
    """gz, xz, bz2 or zst by the first bytes of a file, else None."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50:
        return "zst"      # a skippable frame first (pzstd writes one)
    return None


def compression_by_name(name: str) -> str | None:
    """What the file's name claims (only used to warn when the content says otherwise)."""
    low = name.lower()
    return next((k for s, k in SUFFIXES.items() if low.endswith(s)), None)


@dataclass
class Damage:
    kind: str        # truncated | corrupt | trailing
    codec: str       # gz | xz | bz2 | zst
    detail: str = ""

    def describe(self) -> str:
        name = NAMES.get(self.codec, self.codec)
        if self.kind == "truncated":
            return f"the {name} data is cut short"
        if self.kind == "trailing":
            return f"data that is not {name} follows the end of the {name} data: ignored"
        return f"corrupt {name} data ({self.detail})" if self.detail else f"corrupt {name} data"


class Decoded(io.RawIOBase):
    """The decompressed bytes of raw (kind None: raw as it is).  See the module documentation."""

    def __init__(self, raw, kind: str | None, closefd: bool = True):
        self._raw = raw
        self.kind = kind
        self._closefd = closefd
        self.damage: Damage | None = None
        self.notes: list[str] = []      # what the reader should warn about (set by sources)
        self._in = b""            # compressed bytes read and not given to the decoder yet
        self._dec = None          # the decoder of the current gzip member / xz or bz2 stream
        self._started = False
        self._eof = False
        if kind == "zst":
            self._frames = ZstdFrames()
            self._tee = _Tee(raw, self._frames.feed)
            self._zreader = zstandard.ZstdDecompressor().stream_reader(
                self._tee, read_across_frames=True, closefd=False)

    def readable(self):
        return True

    def readinto(self, b):
        if self.kind is None and not self._eof:
            # (plain: straight into b, no copy)
            n = self._raw.readinto(b)
            self._eof = not n and len(b) > 0
            return n
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read(self, n=-1):
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if n == 0 or self._eof:
            return b""
        parts, got = [], 0
        while got < n:
            if self.kind is None:
                data = self._raw.read(n - got)
            else:
                data = self._zst(n - got) if self.kind == "zst" else self._inflate(n - got)
            if not data:
                self._eof = True
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    # -- gzip, xz, bzip2: one decoder per member / stream, as many members as there are
    def _new_decoder(self):
        if self.kind == "gz":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "xz":
            return lzma.LZMADecompressor()
        return bz2.BZ2Decompressor()

    def _fill(self) -> bool:
        more = self._raw.read(CHUNK)
        self._in += more
        return bool(more)

    def _inflate(self, n: int) -> bytes:
        while True:
            if self._dec is None:
                # between members: the end, zero padding, another member, or something else
                while True:
                    self._in = self._in.lstrip(b"\x00")
                    if self._in or not self._fill():
                        break
                if not self._in:
                    return b""
                while len(self._in) < 6 and self._fill():
                    pass
                if compression_of(self._in) != self.kind:
                    self.damage = Damage("trailing" if self._started else "corrupt", self.kind,
                                         "not a compressed stream")
                    return b""
                self._dec = self._new_decoder()
                self._started = True
            dec = self._dec
            try:
                if self.kind == "gz":
                    out = dec.decompress(self._in, n)
                    self._in = dec.unconsumed_tail
                else:
                    data, self._in = (self._in, b"") if dec.needs_input else (b"", self._in)
                    out = dec.decompress(data, n)
            except (zlib.error, lzma.LZMAError, OSError, EOFError) as e:
                self.damage = Damage("corrupt", self.kind, _detail(e))
                return b""
            if dec.eof:
                self._in = dec.unused_data + self._in
                self._dec = None
            if out:
                return out
            if self._dec is not None:
                hungry = not self._in if self.kind == "gz" else dec.needs_input and not self._in
                if hungry and not self._fill():
                    self.damage = Damage("truncated", self.kind)
                    return b""

    # -- zstd: the library decodes (bounded reads); ZstdFrames tells a complete end from a cut one
    def _zst(self, n: int) -> bytes:
        tee = self._tee
        while True:
            seen = tee.nbytes
            try:
                out = self._zreader.read(min(n, CHUNK * 4))
            except zstandard.ZstdError as e:
                self.damage = Damage("corrupt", "zst", _detail(e))
                return b""
            # an empty read only ends the data at its end (a skippable frame reads as empty)
            if out or tee.ended or tee.nbytes == seen:
                break
        if not out:
            fr = self._frames
            if fr.junk:
                self.damage = Damage("trailing" if fr.frames else "corrupt", "zst", "not a zstd frame")
            elif not fr.complete():
                self.damage = Damage("truncated" if fr.known else "corrupt", "zst",
                                     "" if fr.known else "reserved block type")
        return out

    def close(self):
        if not self.closed:
            try:
                if self.kind == "zst":
                    self._zreader.close()
                if self._closefd:
                    self._raw.close()
            finally:
                super().close()


def _detail(e: Exception) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:120]


class _Tee(io.RawIOBase):
    """raw, showing every byte read to see(bytes) -> how many of them to pass on (the rest,
    and everything after, is held back: data after the last frame is not zstd's to decode)."""

    def __init__(self, raw, see):
        self._raw = raw
        self._see = see
        self._stopped = False
        self.nbytes = 0
        self.ended = False

    def readable(self):
        return True

    def read(self, n=-1):
        if self._stopped:
            return b""
        data = self._raw.read(n)
        self.nbytes += len(data)
        self.ended = self.ended or not data
        if data:
            k = self._see(data)
            if k < len(data):
                self._stopped = True
                data = data[:k]
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class ZstdFrames:
    """Follows the frame and block headers of a zstd stream without decoding it, to tell
    whether the stream ends at the end of a frame (zstandard's reader does not say).

    Frame: magic, header (descriptor byte, window, dictionary id, content size), blocks of
    3-byte headers (last flag, type, size), optional 4-byte checksum.  Skippable frames:
    magic 0x184D2A5?, 4-byte size, content."""

    def __init__(self):
        self._need = 4          # header bytes wanted for the current state
        self._buf = b""
        self._skip = 0          # content bytes to pass over
        self._state = "magic"
        self._checksum = 0
        self.known = True       # False once the data is not a zstd frame sequence
        self.junk = False       # other data where a frame should start (after the last frame)
        self.frames = 0         # complete frames seen

    def complete(self) -> bool:
        return self.known and self._state == "magic" and not self._buf and not self._skip

    def feed(self, data: bytes) -> int:
        """Follow data; returns how many of its bytes belong to frames (all, unless other
        data starts where a frame should)."""
        pos, end = 0, len(data)
        while self.known and pos < end:
            if self._skip:
                k = min(self._skip, end - pos)
                pos += k
                self._skip -= k
                continue
            k = min(self._need - len(self._buf), end - pos)
            self._buf += data[pos:pos + k]
            pos += k
            if len(self._buf) < self._need:
                return end
            head, self._buf = self._buf, b""
            state = self._state
            self._step(head)
            if not self.known and state == "magic":
                self.junk = True
                return max(0, pos - len(head))
        return end

    def _step(self, head: bytes) -> None:
        st = self._state
        if st == "magic":
            m = int.from_bytes(head, "little")
            if m == 0xFD2FB528:
                self._state, self._need = "descriptor", 1
            elif m & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skippable", 4
            else:
                self.known = False
        elif st == "skippable":
            self._skip = int.from_bytes(head, "little")
            self._state, self._need = "magic", 4
        elif st == "descriptor":
            fhd = head[0]
            single = fhd >> 5 & 1
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            self._checksum = 4 if fhd & 4 else 0
            self._state, self._need = "block", 3
        elif st == "block":
            h = int.from_bytes(head, "little")
            btype = h >> 1 & 3
            if btype == 3:
                self.known = False
                return
            self._skip = 1 if btype == 1 else h >> 3
            if h & 1:                       # the frame's last block
                self._skip += self._checksum
                self._state, self._need = "magic", 4
                self.frames += 1
