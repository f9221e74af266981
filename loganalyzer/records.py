"""Record: one libvirt log record (and the runs of text that are not records).

The grammar (grammar.py) is the definition of a record; record_with_grammar builds one
from it alone.  fastpath.py reaches the same records by a quicker route; tests prove both
agree on every sample.
"""
from __future__ import annotations

import calendar
import functools

from .families import parse_fields
from .grammar import parse_with_grammar

LEVELS = ("debug", "info", "warning", "error", "unknown")

# message families that are not probes; a probe's kind is its name
FAMILIES = ("kv", "text", "error", "job", "phase", "thread_job", "version", "hostname")


class Record:
    """One record: a header line plus its continuation lines.

    `time` is seconds since the epoch (UTC) as a float, or None when the line
    carries no date (the 0.6-era clock-only format).  `fields` is parsed from
    the message on first use, so readers that only look at headers stay fast.
    """

    __slots__ = ("path", "line", "time", "tid", "level", "func", "src_line",
                 "kind", "message", "raw", "_fields")

    def __init__(self, path, line, time, tid, level, func, src_line, kind,
                 message, raw, fields=None):
        self.path = path
        self.line = line
        self.time = time
        self.tid = tid
        self.level = level
        self.func = func
        self.src_line = src_line
        self.kind = kind
        self.message = message
        self.raw = raw
        self._fields = fields

    @property
    def fields(self) -> dict:
        if self._fields is None:
            self._fields = parse_fields(self.kind, self.message)
        return self._fields

    def get(self, key, default=None):
        return self.fields.get(key, default)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def text(self) -> str:
        """The record's first physical line, without its newline."""
        return self.raw.split("\n", 1)[0].rstrip("\r")

    def as_tuple(self):
        return (self.line, self.time, self.tid, self.level, self.func, self.src_line,
                self.kind, self.message, self.fields)

    def __repr__(self):
        return (f"Record({self.path}:{self.line} tid={self.tid} {self.level} "
                f"{self.func}:{self.src_line} {self.kind} {self.message[:60]!r})")


class Foreign:
    """A run of physical lines that are not part of any record (counted, kept)."""

    __slots__ = ("path", "line", "raw")

    def __init__(self, path, line, raw):
        self.path = path
        self.line = line
        self.raw = raw

    @property
    def nlines(self) -> int:
        return self.raw.count("\n") + (0 if self.raw.endswith("\n") else 1)


class Overflow(Foreign):
    """The rest of an over-long physical line, beyond what is kept in memory
    (its line is already counted where it started)."""

    __slots__ = ()

    @property
    def nlines(self) -> int:
        return 0


# ---------------------------------------------------------------- time stamps
@functools.lru_cache(maxsize=4096)
def _midnight(date: str) -> int:
    y, m, d = int(date[0:4]), int(date[5:7]), int(date[8:10])
    return calendar.timegm((y, m, d, 0, 0, 0))


def fmt_time(t: float | None) -> str:
    """Epoch seconds -> '2026-11-25 20:29:53.724' (UTC), '-' for None."""
    if t is None:
        return "-"
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def stamp_to_epoch(stamp: str) -> float | None:
    """'2026-11-25 20:29:53.724+0000' (trailing ': ' allowed) -> epoch seconds."""
    if len(stamp) < 28 or stamp[4] != "-":
        return None
    secs = (_midnight(stamp[:10]) + int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60
            + int(stamp[17:19]) + int(stamp[20:23]) / 1000.0)
    off = stamp[23:28]
    if off != "+0000":
        sign = 1 if off[0] == "+" else -1
        secs -= sign * (int(off[1:3]) * 3600 + int(off[3:5]) * 60)
    return secs


# ------------------------------------------------------------ the grammar route
def record_with_grammar(text: str, path: str, line: int, raw: str) -> "Record | None":
    """A Record built from the grammar alone (the reference the fast path is held to)."""
    parsed = parse_with_grammar(text)
    if parsed is None:
        return None
    stamp, tid, level, func, src_line, kind, message, fields = parsed
    time = stamp_to_epoch(stamp) if stamp and len(stamp) > 12 else None
    return Record(path, line, time, tid, level, func, src_line, kind, message, raw, fields)
