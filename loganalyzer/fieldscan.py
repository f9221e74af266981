"""journald's items read field by field: which are the daemon's own, which the correlator may
read, their whole seconds, and the fields a record is built from (formats.NATIVE_FIELDS, as
json.loads or the export reader reads them), for one block of `journalctl -o json` lines or
`-o export` entries.

The compiled _fieldscan walks each item once and says where a few fields' values lie; the
tests here are then made on those values alone (the process id, transport and host equal the
daemon's; PRIORITY 0-4, CODE_FUNC or the start of MESSAGE on the reading list), which is what
wrapfilter's Arrow searches over the whole block find, without a pass over every byte per
search.  A JSON line the walk does not read that json.loads refuses is foreign text, as the
reference route reads it.  A block holding anything else the walk does not read (a field
given as an array of strings, a nested object, an export stream that is not whole entries) or
a time that is not 16 digits gives None: wrapfilter reads that block by its Arrow route, which
decides.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import compiled, formats
from .arrays import binaries, int64s
from .formats import NATIVE_FIELDS

_scan, _entries = compiled.field_scan, compiled.field_entries    # (None: wrapfilter's Arrow route alone)

# the fields the tests below read first, then the others a record is built from
_TESTED = (b"_PID", b"_TRANSPORT", b"_HOSTNAME", b"PRIORITY", b"CODE_FUNC", b"MESSAGE",
           b"_SOURCE_REALTIME_TIMESTAMP", b"__REALTIME_TIMESTAMP")
KEYS = _TESTED + tuple(k.encode() for k in NATIVE_FIELDS if k.encode() not in _TESTED)
NAMES = tuple(k.decode() for k in KEYS)
_PID, _TRANSPORT, _HOSTNAME, _PRIORITY, _FUNC, _MESSAGE, _SENT, _RECEIVED = range(len(_TESTED))
_CODE_LINE = KEYS.index(b"CODE_LINE")
assert len(KEYS) <= 29      # (_fieldscan's limit)
# the kinds of value _fieldscan tells apart, and the flags it gives each item
_TEXT, _ESCAPED, _NULL, _ARRAY, _SCALAR, _RAW = range(1, 7)
_OWN, _UNREAD, _ODD_DIGITS, _LINE_BREAK_ESCAPE = 1, 2, 4, 8


def available() -> bool:
    return _scan is not None


def _json_value(raw: bytes):
    """A JSON value that is not plain text (escaped text with its quotes, an array, a number),
    as json.loads reads it in its line."""
    return json.loads(raw.decode("utf-8", "replace"))


class Items:
    """What a block's items hold: offsets (where each item starts, one more: the end), lines
    (the line breaks before each, one more: all), plain (the daemon's items), candidates
    (those the correlator may read), secs (the plain items' whole seconds), fields (of each
    candidate, formats.NATIVE_FIELDS as json.loads or the export reader reads them; None: the
    caller reads them itself), ascii (JSON: no byte of the block over 127; else
    False, not looked at)."""

    __slots__ = ("offsets", "lines", "plain", "candidates", "secs", "fields", "ascii")


class FieldReading:
    """The tests of one daemon's items, made on their fields.  own: {key: the value as the
    form writes it} of the daemon's fields; funcs, message: the reading list's alternations;
    further, further_raw: error text on a further line of a message given as text (JSON; None
    for export, whose text has none) or as bytes (JSON's array of byte values, export's raw
    value)."""

    def __init__(self, own: dict, funcs: str, message: str, further: str | None, further_raw: str,
                 export: bool):
        self.expect = [own.get(k.decode()) for k in KEYS]
        self.funcs = "^" + funcs + "$"
        self.message = "^" + message
        self.further, self.further_raw = further, further_raw
        self.export = export
        self._func_read: dict = {}      # a function's name -> whether the reading list reads it

    def read(self, buf: bytes) -> Items | None:
        offsets, lines, spans, kinds, own, secs, odd, ids, distinct, ascii = _scan(
            buf, KEYS, self.expect, self.export, _SENT, _RECEIVED, _FUNC, _CODE_LINE)
        off = np.frombuffer(offsets, np.int64)
        flags = np.frombuffer(own, np.uint8)
        if odd and (self.export or not _all_refused(buf, off, np.flatnonzero(flags & _UNREAD))):
            return None
        n = len(off) - 1
        if not n:
            return None
        kind = np.frombuffer(kinds, np.uint8).reshape(n, len(KEYS))
        span = np.frombuffer(spans, np.int64).reshape(n, len(KEYS), 2)
        b = np.frombuffer(buf, np.uint8)
        text = (_TEXT,) if self.export else (_TEXT, _ESCAPED)
        plain = (flags & (_OWN | _UNREAD)) == _OWN      # (a line json.loads refuses: foreign text)
        items = Items()
        items.offsets, items.lines = off, np.frombuffer(lines, np.int64)
        items.plain = np.flatnonzero(plain)
        # (the sender's time, else journald's, as formats.native_record reads it: 16 digits of
        # microseconds, or this block is the Arrow route's)
        items.secs = np.frombuffer(secs, np.int64)[items.plain]
        if (items.secs < 0).any():
            return None
        items.ascii = ascii
        funcs = self._funcs_read(buf, np.frombuffer(distinct, np.int64).reshape(-1, 2))
        items.candidates = np.flatnonzero(plain & self._candidates(buf, b, span, kind, text, flags,
                                                                   np.frombuffer(ids, np.int32), funcs))
        try:
            items.fields = _entries(buf, spans, kinds, NAMES, items.candidates.tolist(), _json_value)
        except ValueError:          # (a value json.loads refuses, which the walk does not read: the caller reads them)
            items.fields = None
        return items

    def _funcs_read(self, buf: bytes, distinct) -> np.ndarray:
        """Which of a block's distinct function names (distinct: where each is) the reading
        list reads: each name is matched once, then remembered (a log names a few thousand
        functions at most; a hostile one more, so the memory is forgotten when it grows)."""
        names = [bytes(buf[a:z]) for a, z in distinct.tolist()]
        known = self._func_read
        new = [n for n in names if n not in known]
        if new:
            if len(known) > 1 << 16:
                known.clear()
            hits = pc.match_substring_regex(binaries(new), self.funcs).to_pylist()
            known.update(zip(new, hits))
        return np.array([known.get(n, False) for n in names] or [False], np.bool_)

    def _candidates(self, buf, b, span, kind, text, flags, ids, funcs) -> np.ndarray:
        k = kind[:, _PRIORITY]
        p = span[:, _PRIORITY]
        first = b[np.minimum(p[:, 0], len(b) - 1)]
        cand = (k == _TEXT) & (p[:, 1] - p[:, 0] == 1) & (first >= 48) & (first <= 52)     # '0'-'4'
        # a function's name as text: by its number among the block's names; with escapes (JSON), matched
        cand |= funcs[ids] & (ids >= 0)
        func = kind[:, _FUNC] == _ESCAPED if not self.export else None
        if func is not None and func.any():
            cand[func] |= _matches(buf, span[func, _FUNC], self.funcs)
        msg = np.isin(kind[:, _MESSAGE], text)
        if msg.any():
            cand[msg] |= _matches(buf, span[msg, _MESSAGE], self.message)
        # (a further line of a JSON text is the escape \n: only a text with one has one)
        further = (kind[:, _MESSAGE] == _ESCAPED) & (flags & _LINE_BREAK_ESCAPE > 0)
        if self.further is not None and further.any():
            cand[further] |= _matches(buf, span[further, _MESSAGE], self.further)
        # (left out by journalctl: read as records, which counts them for the warning)
        cand |= kind[:, _MESSAGE] == _NULL
        # a function or source line that is no text or number (a value the reference route
        # counts as unreadable in every record): read as records, which counts them
        if not self.export:
            cand |= np.isin(kind[:, _FUNC], (_ARRAY, _SCALAR)) | np.isin(kind[:, _CODE_LINE], (_ARRAY, _ESCAPED))
        # (a source line that values.to_int may refuse; "" it reads as absent)
        cand |= flags & _ODD_DIGITS > 0
        # (JSON: an array of bytes with a line break and "error" or "warning" after it)
        raw = (kind[:, _MESSAGE] == _RAW) if self.export else (kind[:, _MESSAGE] == _ARRAY) & (flags & _LINE_BREAK_ESCAPE > 0)
        if raw.any():
            cand[raw] |= _matches(buf, span[raw, _MESSAGE], self.further_raw)
        return cand


def _all_refused(buf: bytes, off, lines) -> bool:
    """Are these lines (the walk's unread ones) each foreign text as the reference route reads
    JSON lines (formats.json_line)?  A line it reads (a field given twice, a nested object...),
    or one that starts a json-pretty or json-sse entry or may be one, is for the other route to
    read."""
    for i in lines.tolist():
        line = str(buf[off[i]:off[i + 1]], "utf-8", "replace")
        if formats.json_line(line) != ("line", None) or line.strip().startswith(formats._SSE):
            return False
    return True


def _matches(buf: bytes, span, pattern: str) -> np.ndarray:
    """Which values (span: start and end of each, in order, in buf) RE2's pattern finds."""
    n = len(span)
    # the values and the bytes between them as one binary array, the values taken out of it
    cuts = span.reshape(-1)
    pieces = pa.Array.from_buffers(pa.large_binary(), 2 * n - 1, [None, pa.py_buffer(np.ascontiguousarray(cuts)),
                                                                  pa.py_buffer(buf)])
    values = pieces.take(int64s(np.arange(0, 2 * n, 2)))
    m = pc.match_substring_regex(values, pattern)
    return np.unpackbits(np.frombuffer(m.buffers()[1], np.uint8), bitorder="little")[m.offset:m.offset + n].astype(bool)
