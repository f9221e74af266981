"""A log found somewhere (a file, a member of a tarball or zip, a spooled copy) and how to
read it again: Member.open() gives its decompressed bytes (compression decided by the first
bytes, as for every input: sources.decoded), cut at the --max-bytes limit."""
from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from ..codecs import Damage
from ..sources import InputError, PeekStream, decoded, open_binary
from .table import ScanError

DEFAULT_MAX_BYTES = 16 << 30

# what reading an archive member's stored bytes raises when the archive is damaged (a zip's
# own deflate/bzip2/lzma method, its CRC; a tarball cut short)
ARCHIVE_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, tarfile.TarError, OSError)


class Slice(io.RawIOBase):
    """size bytes of fh from offset (a member of an uncompressed tarball); shorter when the
    archive ends inside it."""

    def __init__(self, fh, offset: int, size: int, seek: bool = True):
        self._fh = fh
        if seek:
            fh.seek(offset)
        self._left = size

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._fh.read(n)
        if not data:
            self._left = 0
            return 0
        b[:len(data)] = data
        self._left -= len(data)
        return len(data)


class MemberStream(io.RawIOBase):
    """A member's decompressed bytes cut at a byte limit (over_limit says when); a damaged
    archive under it ends the bytes (`damage`), never the scan.  Closes what it opened."""

    STEP = 1 << 16

    def __init__(self, inner, closers, limit: int, archive: str):
        self.inner = inner
        self._closers = closers
        self._limit = limit
        self._archive = archive
        self.nbytes = 0
        self.over_limit = False
        self.damage: Damage | None = None

    def readable(self):
        return True

    def read(self, n=-1):
        # small steps: a damaged archive loses at most one step before its break
        if self.damage is not None:
            return b""
        if self.nbytes >= self._limit:
            self.over_limit = self.over_limit or bool(self._safe_read(1))
            return b""
        want = self._limit - self.nbytes if n is None or n < 0 else min(n, self._limit - self.nbytes)
        parts = []
        got = 0
        while got < want:
            data = self._safe_read(min(want - got, self.STEP))
            if not data:
                break
            parts.append(data)
            got += len(data)
        self.nbytes += got
        return b"".join(parts)

    def _safe_read(self, n: int) -> bytes:
        try:
            return self.inner.read(n)
        except ARCHIVE_READ_ERRORS as e:
            self.damage = Damage("corrupt", self._archive, short(e))
            return b""

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            for c in [self.inner] + self._closers:
                try:
                    c.close()
                except ARCHIVE_READ_ERRORS:
                    pass   # closing a damaged archive: the damage was met by the reads
        super().close()


@dataclass
class Member:
    """One log file found somewhere: on disk, in a tarball, in a zip, or spooled to the temp dir."""
    display: str                 # what rows and evidence show: path, or archive/member
    kind: str                    # file | tar | zip
    source: str                  # path on disk: the file, the tarball or the zip
    name: str = ""               # member name in the tarball / zip
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
    handle: object = None        # MemberStream of the last open (for over_limit checks)

    def open(self):
        """Raises InputError (a file) or OSError / zipfile.BadZipFile (an archive)."""
        if self.kind == "file":
            inner = open_binary(self.source, regular_only=True)
            closers = []
        else:
            if self.kind == "tar":
                fh = open(self.source, "rb")
                raw = Slice(fh, self.offset, self.size)
                closers = [fh]
            elif self.kind == "zip":
                zf = zipfile.ZipFile(self.source)
                raw = zf.open(self.name)
                closers = [zf]
            else:
                raise InputError(f"{self.display}: unknown member kind {self.kind}")
            try:
                head = raw.read(8)
            except ARCHIVE_READ_ERRORS:
                for c in closers:
                    c.close()
                raise
            inner = decoded(PeekStream(raw, head), head, self.name)
        self.handle = MemberStream(inner, closers, self.max_bytes, self.kind)
        return self.handle

    def __getstate__(self):
        d = dict(self.__dict__)
        d["handle"] = None
        return d


def open_error(display: str, e: Exception) -> ScanError:
    """The error row of an input that could not be opened or read."""
    if isinstance(e, InputError):
        msg = str(e)
        return ScanError(display, msg.split(": ", 1)[1] if ": " in msg else msg,
                         "special" if "not a regular file" in msg else "unreadable")
    if isinstance(e, PermissionError):
        return ScanError(display, "permission denied", "unreadable")
    if isinstance(e, FileNotFoundError):
        return ScanError(display, "no such file", "unreadable")
    if isinstance(e, OSError):
        return ScanError(display, f"cannot read ({e.strerror or short(e)})", "unreadable")
    return ScanError(display, f"corrupt archive data ({short(e)})", "corrupt")


def short(e) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:160]


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
