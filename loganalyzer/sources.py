"""Open anything a user has: plain or compressed files, stdin, directories
with rotated log sets.  Bytes only; formats.py decides what the bytes are."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import zstandard


class InputError(Exception):
    """Unusable input: the message is one line that names the file."""


# what reading a stream raises when the file cannot be read or its compression is truncated
# or corrupt (gzip's and bz2's errors are OSErrors)
STREAM_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, zstandard.ZstdError)


COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2", ".zst", ".zstd")


def _open_zstd(path):
    import zstandard
    fh = open(path, "rb")
    return zstandard.ZstdDecompressor().stream_reader(fh, closefd=True, read_across_frames=True)


def open_binary(path: str):
    """A binary stream of the (decompressed) content of path ('-' = stdin)."""
    if path == "-":
        return open_stdin()
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(6)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        # the content decides (a rotated `libvirtd.log.1` may be compressed), else the name
        kind = compression_of(magic) or _suffix_kind(p.name.lower())
        if kind == "gz":
            return gzip.open(p, "rb")
        if kind == "xz":
            return lzma.open(p, "rb")
        if kind == "bz2":
            return bz2.open(p, "rb")
        if kind == "zst":
            return _open_zstd(p)
        return open(p, "rb")
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


_MAGIC = ((b"\x1f\x8b", "gz"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zst"))


def compression_of(head: bytes) -> str | None:
    """gz, xz, bz2 or zst by the first bytes of a file, else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _suffix_kind(name: str) -> str | None:
    for suf, kind in ((".gz", "gz"), (".xz", "xz"), (".bz2", "bz2"), (".zst", "zst"), (".zstd", "zst")):
        if name.endswith(suf):
            return kind
    return None


def open_stdin():
    """Standard input, decompressed when its first bytes say it is compressed."""
    raw = sys.stdin.buffer
    head = raw.read(6)
    stream = PeekStream(raw, head)
    kind = compression_of(head)
    if kind == "gz":
        return gzip.GzipFile(fileobj=io.BufferedReader(stream), mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(io.BufferedReader(stream), "rb")
    if kind == "bz2":
        return bz2.BZ2File(io.BufferedReader(stream), "rb")
    if kind == "zst":
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(io.BufferedReader(stream), read_across_frames=True)
    return stream


# ------------------------------------------------------------ rotated sets
_ROT_NUM = re.compile(r"^(?P<base>.+?\.log)\.(?P<n>\d+)(?:\.(?:gz|xz|bz2|zst|zstd))?$")
_ROT_DATE = re.compile(r"^(?P<base>.+?\.log)-(?P<d>\d{8}(?:\d+)?)(?:\.(?:gz|xz|bz2|zst|zstd))?$")
_PLAIN = re.compile(r"^(?P<base>.+?\.log)(?:\.(?:gz|xz|bz2|zst|zstd))?$")
_TAILED = re.compile(r"^(?P<base>.+?\.log)\.tailed$")


def rotation_key(name: str):
    """(base name, age order) with the oldest file first inside one set:
    dated copies by date, then numbered copies from the highest number down,
    then the live file (logrotate's copytruncate leaves the newest unnumbered)."""
    m = _ROT_DATE.match(name)
    if m:
        return (m["base"], 0, m["d"], 0)
    m = _ROT_NUM.match(name)
    if m:
        return (m["base"], 1, "", -int(m["n"]))
    m = _TAILED.match(name)
    if m:
        return (m["base"], 2, "", 0)
    m = _PLAIN.match(name)
    if m:
        return (m["base"], 2, "", 0)
    return (name, 2, "", 0)


def is_log_name(name: str) -> bool:
    return bool(_ROT_DATE.match(name) or _ROT_NUM.match(name) or _PLAIN.match(name)
                or _TAILED.match(name))


def expand_paths(paths, errors: list | None = None) -> list[str]:
    """Files named directly stay as given (in order); a directory gives its
    libvirt logs (recursively), each rotated set oldest first.

    A directory without logs raises InputError, or, when `errors` is a list,
    its message is appended there and the other paths are still expanded."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for path in paths:
        path = os.fspath(path)
        if path == "-":
            out.append(path)
            continue
        p = Path(path)
        if p.is_dir():
            found = []
            for root, _dirs, files in os.walk(p):
                for f in files:
                    if is_log_name(f):
                        found.append(os.path.join(root, f))
            if not found:
                err = InputError(f"{path}: directory holds no libvirt logs (*.log, *.log.N, *.log-DATE[.gz], *.log.tailed)")
                if errors is None:
                    raise err
                errors.append(err)
                continue
            found.sort(key=lambda f: (os.path.dirname(f),) + rotation_key(os.path.basename(f)))
            out.extend(found)
        else:
            out.append(path)
    return out


@dataclass
class Block:
    """Decoded text.  `tail` marks the rest of an over-long physical line
    (beyond max_line bytes): formats keep it as foreign text."""
    text: str
    nbytes: int
    tail: bool = False


def _utf8_cut(data: bytes, n: int) -> int:
    """A cut position <= n that does not split a UTF-8 sequence."""
    k = n
    while k > n - 4 and k > 0 and (data[k] & 0xC0) == 0x80:
        k -= 1
    return k if k > 0 else n


def read_blocks(stream, path: str, blocksize: int = 1 << 22, on_error=None,
                max_line: int = 8 << 20, on_long_line=None):
    """Decoded text blocks that end at a newline (the last may not).

    Invalid UTF-8 is replaced (U+FFFD); a broken compressed stream ends the
    blocks and is reported through on_error(message).  A physical line longer
    than max_line bytes is cut there: its first max_line bytes end a normal
    block, the rest comes as `tail` blocks (memory stays bounded), and
    on_long_line(nbytes_so_far) is called once per such line."""
    carry = b""
    in_tail = False
    broken = False
    # Compressed streams are read in small pieces: a read that hits a break
    # loses what it had decompressed, so the pieces before it must be out already.
    piece = 1 << 16 if _is_decompressor(stream) else blocksize
    while True:
        if broken:
            chunk = b""
        else:
            parts = []
            got = 0
            while got < blocksize:
                try:
                    p = stream.read(piece)
                except STREAM_ERRORS as e:
                    if on_error:
                        on_error(f"compressed stream is truncated or corrupt ({_short(e)})")
                    broken = True
                    break
                if not p:
                    break
                parts.append(p)
                got += len(p)
            chunk = b"".join(parts) if len(parts) != 1 else parts[0]
        if not chunk:
            if carry:
                yield Block(carry.decode("utf-8", "replace"), len(carry), in_tail)
            return
        data = carry + chunk if carry else chunk
        if in_tail:
            nl = data.find(b"\n")
            if nl < 0:
                k = _utf8_cut(data, len(data) - 1) if len(data) > 4 else len(data)
                yield Block(data[:k].decode("utf-8", "replace"), k, True)
                carry = data[k:]
                continue
            yield Block(data[:nl + 1].decode("utf-8", "replace"), nl + 1, True)
            in_tail = False
            data = data[nl + 1:]
            if not data:
                carry = b""
                continue
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > max_line:
                k = _utf8_cut(data, max_line)
                if on_long_line:
                    on_long_line(k)
                yield Block(data[:k].decode("utf-8", "replace"), k)
                carry = data[k:]
                in_tail = True
                continue
            carry = data
            continue
        carry = data[cut + 1:]
        head = data[:cut + 1]
        yield Block(head.decode("utf-8", "replace"), len(head))


def _is_decompressor(stream) -> bool:
    s = getattr(stream, "_stream", stream)     # through PeekStream
    if isinstance(s, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)):
        return True
    return type(s).__module__.startswith("zstandard")


def _short(e: Exception) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:120]


def looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample[:8192]:
        return True
    text_chars = bytes(range(32, 127)) + b"\n\r\t\f\b\x1b"
    nontext = sample[:8192].translate(None, text_chars)
    # UTF-8 multibyte text is fine; only control bytes count against it
    ctrl = sum(1 for b in nontext if b < 32)
    return ctrl > len(sample[:8192]) * 0.05


class PeekStream(io.RawIOBase):
    """Wrap a stream so its first bytes can be inspected and then read again."""

    def __init__(self, stream, head: bytes):
        self._stream = stream
        self._head = head

    def readable(self):
        return True

    def read(self, n=-1):
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._stream.read(n)

    def readinto(self, b):
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self):
        try:
            if self._stream is not sys.stdin.buffer:
                self._stream.close()
        finally:
            super().close()
