"""A log found somewhere (a file, a member of a tarball or zip, a spooled copy) and how to
read it again: Member.open() gives its decompressed bytes, cut at the --max-bytes limit."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from dataclasses import dataclass

import zstandard

from ..sources import InputError
from .table import ScanError

DEFAULT_MAX_BYTES = 16 << 30


# what a damaged compressed stream raises, codec by codec
DECODE_ERRORS = (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile,
                 zstandard.ZstdError)


def _decompress(raw, name: str):
    low = name.lower()
    if low.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if low.endswith(".xz"):
        return lzma.LZMAFile(raw, "rb")
    if low.endswith(".bz2"):
        return bz2.BZ2File(raw, "rb")
    if low.endswith((".zst", ".zstd")):
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
    return None


class _Slice(io.RawIOBase):
    """size bytes of fh from offset (a member of an uncompressed tarball)."""

    def __init__(self, fh, offset: int, size: int):
        self._fh = fh
        fh.seek(offset)
        self._left = size
        self.short = False

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._fh.read(n)
        if not data:
            self.short = True
            self._left = 0
            return 0
        b[:len(data)] = data
        self._left -= len(data)
        return len(data)


class CorruptData(OSError):
    """A compressed member whose data cannot be decoded."""


class MemberStream(io.RawIOBase):
    """The decompressed content of a member, cut at a byte limit; closes everything it opened."""

    STEP = 1 << 16

    def __init__(self, inner, closers, limit: int):
        self._inner = inner
        self._closers = closers
        self._limit = limit
        self.nbytes = 0
        self.over_limit = False
        self._error = None

    def readable(self):
        return True

    def read(self, n=-1):
        """Read in small steps: a damaged stream loses at most one step; the data before
        the damage is returned first and the error raised on the next read."""
        if self._error is not None:
            e, self._error = self._error, None
            raise e
        if self.nbytes >= self._limit:
            self.over_limit = self.over_limit or bool(self._inner.read(1))
            return b""
        want = self._limit - self.nbytes if n is None or n < 0 else min(n, self._limit - self.nbytes)
        parts = []
        got = 0
        while got < want:
            try:
                data = self._inner.read(min(want - got, self.STEP))
            except (OSError, *DECODE_ERRORS) as e:
                err = e if isinstance(e, (OSError, EOFError)) else CorruptData(short(e))
                if not parts:
                    raise err from None
                self._error = err
                break
            if not data:
                break
            parts.append(data)
            got += len(data)
        self.nbytes += got
        return b"".join(parts)

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            for c in [self._inner] + self._closers:
                try:
                    c.close()
                except (OSError, *DECODE_ERRORS):
                    pass   # closing a damaged decoder: the damage was reported by the read
        super().close()


@dataclass
class Member:
    """One log file found somewhere: on disk, in a tarball, in a zip, or spooled to the temp dir."""
    display: str                 # what rows and evidence show: path, or archive/member
    kind: str                    # file | tar | zip
    source: str                  # path on disk: the file, the tarball or the zip
    name: str = ""               # member name in the tarball / zip (the file's name for decompression)
    offset: int = 0              # tar: start of the member's data
    size: int = 0                # bytes stored (compressed size for a .gz member)
    group: tuple = ()            # (location, rotation base): one stream
    host_key: tuple = ()         # which physical host the location stands for
    context_host: str = ""       # sosreport host name, else the folder
    base: str = ""
    order: tuple = ()
    hostname: str | None = None  # from the `hostname:` header
    first_time: float | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    handle: object = None        # MemberStream of the last open (for over_limit / short checks)

    def open(self):
        closers = []
        if self.kind == "file":
            raw = open(self.source, "rb")
            name = self.source
        elif self.kind == "tar":
            fh = open(self.source, "rb")
            closers.append(fh)
            raw = _Slice(fh, self.offset, self.size)
            name = self.name
        elif self.kind == "zip":
            zf = zipfile.ZipFile(self.source)
            closers.append(zf)
            raw = zf.open(self.name)
            name = self.name
        else:
            raise InputError(f"{self.display}: unknown member kind {self.kind}")
        inner = _decompress(raw, name)
        if inner is None:
            inner = raw
        else:
            closers.insert(0, raw)
        self.handle = MemberStream(inner, closers, self.max_bytes)
        return self.handle

    def __getstate__(self):
        d = dict(self.__dict__)
        d["handle"] = None
        return d


def open_error(display: str, e: Exception) -> ScanError:
    """The error row of an input that could not be opened or decoded."""
    if isinstance(e, PermissionError):
        return ScanError(display, "permission denied", "unreadable")
    if isinstance(e, FileNotFoundError):
        return ScanError(display, "no such file", "unreadable")
    if isinstance(e, (CorruptData, *DECODE_ERRORS)):
        return ScanError(display, f"corrupt or truncated compressed data ({short(e)})", "corrupt")
    if isinstance(e, OSError):
        return ScanError(display, f"cannot read ({e.strerror or short(e)})", "unreadable")
    return ScanError(display, f"cannot read ({short(e)})", "corrupt")


def short(e) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:160]


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
