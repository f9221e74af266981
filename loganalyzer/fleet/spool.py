"""The scan's private temporary directory: the only place a scan writes to.

Created on first use (mkdtemp, mode 0700), files under generated names (never a member's own
name), opened O_EXCL|O_NOFOLLOW; `limit` bounds the total written (decompression bombs)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile

from .members import ARCHIVE_READ_ERRORS, human, short
from .table import ScanError

# suffixes kept on a spooled copy: what it is (an archive, a compressed log) shows in its name
KEPT_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz",
                 ".tar.zst", ".tar.zstd", ".tzst", ".zip", ".gz", ".xz", ".bz2", ".zst", ".zstd")


class Spool:
    def __init__(self, limit: int, parent: str | None = None):
        self.limit = limit
        self.parent = parent
        self.path: str | None = None
        self.written = 0
        self._n = 0

    def directory(self) -> str:
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="loganalyzer-scan-", dir=self.parent)
            os.chmod(self.path, 0o700)
        return self.path

    def holds(self, path: str) -> bool:
        return self.path is not None and path.startswith(self.path + os.sep)

    def copy(self, fileobj, display: str, name: str, head: bytes = b"") -> tuple[str | None, ScanError | None]:
        """Copy a member's stored bytes (head: those already read) into the directory under a
        generated name.  Returns (path, error); a read error keeps the bytes read before it."""
        self._n += 1
        low = name.lower()
        suffix = next((s for s in sorted(KEPT_SUFFIXES, key=len, reverse=True) if low.endswith(s)), "")
        path = os.path.join(self.directory(), f"{self._n:06d}{suffix}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        err = None
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk, head = (head, b"") if head else (fileobj.read(1 << 20), b"")
                except ARCHIVE_READ_ERRORS as e:
                    err = ScanError(display, f"member truncated or corrupt ({short(e)}); the part before "
                                             f"the break is kept", "truncated")
                    break
                if not chunk:
                    break
                if self.written + len(chunk) > self.limit:
                    out.close()
                    os.unlink(path)
                    return None, ScanError(display, f"extraction stopped: more than the {human(self.limit)} "
                                                    f"limit (--max-bytes) would be written; member skipped",
                                           "too-large")
                out.write(chunk)
                self.written += len(chunk)
        return path, err

    def drop(self, path: str) -> None:
        """Remove a copy that turned out not to be needed."""
        if self.holds(path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def cleanup(self) -> None:
        if self.path:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


def parse_size(text: str) -> int:
    """'16G', '500M', '1024' -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if not m:
        raise ValueError(f"bad size {text!r} (use e.g. 500M, 16G)")
    return int(float(m[1]) * (1 << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m[2]]))
