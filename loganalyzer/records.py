"""Record: one libvirt log record (and the runs of text that are not records).

The grammar (grammar.py) is the definition of a record; record_with_grammar builds one
from it alone.  fastpath.py reaches the same records by a quicker route; tests prove both
agree on every sample.
"""
from __future__ import annotations

from .families import parse_fields
from .values import epoch, header_values, stamp_to_epoch  # noqa: F401 (stamp_to_epoch re-exported)

LEVELS = ("debug", "info", "warning", "error", "unknown")

# message families that are not probes; a probe's kind is its name
FAMILIES = ("kv", "text", "error", "job", "phase", "thread_job", "version", "hostname")


class Record:
    """One record: a header line plus its continuation lines.

    `time` is seconds since the epoch (UTC) as a float, or None when the line
    carries no date (the 0.6-era clock-only format).  `fields` is parsed from
    the message on first use, so readers that only look at headers stay fast.
    `bad` says which value of the record could not be read and was left empty
    (values.py: a stamp that is not a date, a thread id too large), else None.
    `origin` is (host, ident, pid) for records read out of a syslog or journal
    wrapper (None elsewhere): each origin is one daemon, its own stream.
    """

    __slots__ = ("path", "line", "time", "tid", "level", "func", "src_line",
                 "kind", "message", "raw", "_fields", "bad", "origin")

    def __init__(self, path, line, time, tid, level, func, src_line, kind,
                 message, raw, fields=None, bad=None, origin=None):
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
        self.bad = bad
        self.origin = origin

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
        """The record's first physical line, without its newline.  A JSON line or a journal
        export entry (fields in any order) shows as libvirt's own line would instead."""
        raw = self.raw
        if raw.startswith(("{", "__CURSOR=")):
            loc = f"{self.func}:{self.src_line} : " if self.func else ""
            return f"{self.level} : {loc}{self.message.split(chr(10), 1)[0]}".rstrip("\r")
        return raw.split("\n", 1)[0].rstrip("\r")

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
def fmt_time(t: float | None) -> str:
    """Epoch seconds -> '2026-11-25 20:29:53.724' (UTC), '-' for None (and for a
    time no calendar shows, which values.py keeps out of records)."""
    if epoch(t) is None:
        return "-"
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# ------------------------------------------------------------ the grammar route
def record_with_grammar(text: str, path: str, line: int, raw: str) -> "Record | None":
    """A Record built from the grammar alone (the reference the fast path is held to)."""
    from .grammar import parse_with_grammar_text    # (lark: only this slow route loads it)
    parsed = parse_with_grammar_text(text)
    if parsed is None:
        return None
    stamp, tid, level, func, src_line, kind, message, fields = parsed
    time, tid, bad = header_values(stamp if stamp and len(stamp) > 12 else None, tid)
    return Record(path, line, time, tid, level, func, src_line, kind, message, raw, fields, bad)
