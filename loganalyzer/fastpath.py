"""The quick route to the grammar's records.

A record's header is matched with one regex built from the grammar's terminals (header.py),
and its message goes through the message families (families.py), in the order the LALR
contextual lexer applies them.  tests/test_fastpath.py proves that every record of every
sample comes out identical on both routes.

Speed comes from four things: record starts are found with one compiled regex per block of
text (not per line), a record is split into header and message with one match, message
fields are parsed only when asked for, and a message seen before is not parsed again.
"""
from __future__ import annotations

import functools

from .families import located_once, unlocated
from .header import HEAD, split_funcloc
from .records import Record
from .values import header_values

# each distinct FUNC:LINE is split once (and each message read once: families.located_once)
_split_funcloc = functools.lru_cache(maxsize=1 << 12)(split_funcloc)


# ------------------------------------------------------------------ records
def parse_record(text: str, path: str = "", line: int = 0, raw: str | None = None,
                 with_fields: bool = True, stamp_time: float | None = None) -> Record | None:
    """One record's text (no final newline) -> Record, as the grammar reads it.
    stamp_time: the stamp's time when the caller computed it already (prefilter)."""
    m = HEAD.match(text)
    if m is None:
        return None
    stamp, clock, tid, level, funcloc = m.groups()
    time, tid, bad = header_values(stamp, tid[:-2] if tid else None, stamp_time)
    return build_record(path, line, time, tid, level, funcloc, text[m.end():],
                        text if raw is None else raw, with_fields, bad)


def build_record(path, line, time, tid, level, funcloc, body, raw, with_fields=True, bad=None) -> Record:
    """A Record from its header parts ('FUNC:LINE : ' or None) and message body;
    bad: the header value that could not be read (values.header_values).
    (_tablescan.records builds the same in C for the plain records analyze's fast route reads.)"""
    if funcloc:
        func, src_line = _split_funcloc(funcloc)
        kind, fields = located_once(level, body, with_fields)
    else:
        func = src_line = None
        kind, fields = unlocated(body)
    return Record(path, line, time, tid, level, func, src_line, kind, body, raw,
                  None if fields is None else dict(fields), bad)
