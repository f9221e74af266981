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
from dataclasses import dataclass
from pathlib import Path


class InputError(Exception):
    """Unusable input: the message is one line that names the file."""


COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2", ".zst", ".zstd")


def _open_zstd(path):
    import zstandard
    fh = open(path, "rb")
    return zstandard.ZstdDecompressor().stream_reader(fh, closefd=True, read_across_frames=True)


def open_binary(path: str):
    """A binary stream of the (decompressed) content of path ('-' = stdin)."""
    if path == "-":
        return sys.stdin.buffer
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
        name = p.name.lower()
        if name.endswith(".gz"):
            return gzip.open(p, "rb")
        if name.endswith(".xz"):
            return lzma.open(p, "rb")
        if name.endswith(".bz2"):
            return bz2.open(p, "rb")
        if name.endswith((".zst", ".zstd")):
            return _open_zstd(p)
        return open(p, "rb")
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


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


def expand_paths(paths) -> list[str]:
    """Files named directly stay as given (in order); a directory gives its
    libvirt logs (recursively), each rotated set oldest first."""
    out: list[str] = []
    for path in paths:
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
                raise InputError(f"{path}: directory holds no libvirt logs (*.log, *.log.N, *.log-DATE[.gz])")
            found.sort(key=lambda f: (os.path.dirname(f),) + rotation_key(os.path.basename(f)))
            out.extend(found)
        else:
            out.append(path)
    return out


@dataclass
class Block:
    text: str
    nbytes: int


def read_blocks(stream, path: str, blocksize: int = 1 << 22, on_error=None):
    """Decoded text blocks that end at a newline (the last may not).

    Invalid UTF-8 is replaced (U+FFFD) and counted; a broken compressed
    stream ends the blocks and is reported through on_error(message)."""
    carry = b""
    while True:
        try:
            chunk = stream.read(blocksize)
        except (EOFError, OSError, lzma.LZMAError, zlib_error()) as e:
            if on_error:
                on_error(f"compressed stream is truncated or corrupt ({_short(e)}); records before the break are kept")
            chunk = b""
        except Exception as e:  # zstandard raises its own error type
            if on_error:
                on_error(f"stream is truncated or corrupt ({_short(e)}); records before the break are kept")
            chunk = b""
        if not chunk:
            if carry:
                yield Block(carry.decode("utf-8", "replace"), len(carry))
            return
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1:]
        head = data[:cut + 1]
        yield Block(head.decode("utf-8", "replace"), len(head))


def zlib_error():
    import zlib
    return zlib.error


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
            if len(out) < n:
                more = self._stream.read(n - len(out))
                out += more or b""
            return out
        return self._stream.read(n)

    def close(self):
        try:
            if self._stream is not sys.stdin.buffer:
                self._stream.close()
        finally:
            super().close()
