"""The progress bar of a long run: bytes read from the inputs, on standard error.

Shown only on a terminal, only once the run has taken DELAY seconds (a short run prints
nothing), never with --quiet.  It sees the inputs through sources.read_observer, so the
readers know nothing about it."""
from __future__ import annotations

import os
import sys
import threading

DELAY = 2.0


class _Counted:
    """A binary stream that reports the bytes read from it."""

    def __init__(self, stream, on_read):
        self._s = stream
        self._on_read = on_read

    def read(self, n=-1):
        b = self._s.read(n)
        if b:
            self._on_read(len(b))
        return b

    def readinto(self, b):
        n = self._s.readinto(b)
        if n:
            self._on_read(n)
        return n

    def __getattr__(self, name):
        return getattr(self._s, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._s.close()
        return False

    def __iter__(self):
        return iter(self._s)


class ReadProgress:
    """with ReadProgress("analyze", paths, enabled=...): a bar of the bytes read so far."""

    def __init__(self, label: str, paths=(), enabled: bool | None = None):
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total = _plain_size(paths) if self.enabled else None
        self.files = 0
        self._bar = None
        self._timer = None
        self._lock = threading.Lock()
        self._done = False

    def __enter__(self):
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TransferSpeedColumn)
        from . import sources
        self._bar = Progress(TextColumn(self.label), BarColumn(), TextColumn("{task.fields[files]} files"),
                             DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(self.label, total=self.total or None, files=0)
        self._previous = sources.read_observer
        sources.read_observer = self._observe
        self._timer = threading.Timer(DELAY, self._start)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _start(self):
        with self._lock:
            if not self._done:
                self._bar.start()

    def _observe(self, path, stream):
        with self._lock:
            self.files += 1
            self._bar.update(self._task, files=self.files)
        return _Counted(stream, lambda n: self._bar.advance(self._task, n))

    def __exit__(self, *exc):
        if self._bar is not None:
            from . import sources
            sources.read_observer = self._previous
            self._timer.cancel()
            with self._lock:
                self._done = True
                self._bar.stop()
        return False


def _plain_size(paths) -> int | None:
    """Bytes in the inputs when every one is a regular, uncompressed file (the bar's total), else
    None: a compressed input, stdin or a pipe gives more bytes than its size, or none to know."""
    import stat
    from .codecs import compression_of
    from .sources import InputError, expand_paths, special_kind
    try:
        files = expand_paths(list(paths), [])
    except (InputError, OSError, ValueError):   # the readers report a bad input; no total then
        return None
    total = 0
    for p in files:
        try:
            st = os.stat(p) if p != "-" else None
            if st is None or not stat.S_ISREG(st.st_mode) or special_kind(st.st_mode) is not None:
                return None
            with open(p, "rb") as fh:
                if compression_of(fh.read(8)):
                    return None
        except OSError:
            return None
        total += st.st_size
    return total or None
