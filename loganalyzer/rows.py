"""The event table as Arrow columns, built without Record objects where possible.

`events -o out.parquet` is the hot path.  For the file format a whole block is
split by one regex (the grammar's record-start rule with the stamp, thread id
and FUNC:LINE as groups); everything after the thread id (level, FUNC:LINE,
message) is looked up in a per-file dictionary of distinct entries, because
debug logs repeat the same bodies over and over; only a new entry is parsed
(fastpath.classify etc.).  A record then costs a few list appends, and the
columns are built by Arrow (`take` on the dictionary).  Other formats build
the same table from their Records (records_table).  tests/test_frame.py proves
both routes give the same table.
"""
from __future__ import annotations

import gc
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import from_numpy, ints, scalar, strings
from .families import classify, error_fields, unlocated
from .formats import FOREIGN, RECORDS, record_chunks
from .header import AFTER_TID, RECORD_START, SPLIT_AT_START, TERMINAL_END, split_funcloc
from .records import LEVELS
from .values import EPOCH_MAX, EPOCH_MIN, header_values, stamp_to_epoch, to_int

# Fields common enough to be columns of their own; the rest go to `fields` (JSON).
COMMON = ("client", "ka", "conn", "dconn", "sock", "mon", "vm", "domain", "uuid")
COLUMNS = ("path", "line", "time", "tid", "level", "func", "src_line", "kind", "message") + COMMON + ("fields",)
# entry = (level, func, src_line, kind, message, *COMMON, fields)
ENTRY_COLUMNS = ("level", "func", "src_line", "kind", "message") + COMMON + ("fields",)
_COMMON_SET = frozenset(COMMON)
_NCOMMON = len(COMMON)
_ENC = json.JSONEncoder(ensure_ascii=False).encode
NONE_TAIL = (None,) * (_NCOMMON + 1)

# distinct entries kept per file before the dictionary starts afresh (bounds memory)
DICT_LIMIT = 75_000          # distinct entries kept before the dictionary starts over (memory bound)
TABLE_BLOCK = 2 << 20        # bytes of text per block on this route

_DICT = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema([
    pa.field("path", _DICT), pa.field("line", pa.int64()), pa.field("time", pa.timestamp("ms", tz="UTC")),
    pa.field("tid", pa.int64()), pa.field("level", _DICT), pa.field("func", pa.string()),
    pa.field("src_line", pa.int64()), pa.field("kind", _DICT), pa.field("message", pa.string())]
    + [pa.field(c, pa.string()) for c in COMMON] + [pa.field("fields", pa.string())])
_LEVELS_ARR = strings(list(LEVELS))


def fields_tail(fields) -> tuple:
    """(client, ka, ..., uuid, rest-as-JSON) of a record's fields."""
    if not fields:
        return NONE_TAIL
    g = fields.get
    common = (g("client"), g("ka"), g("conn"), g("dconn"), g("sock"), g("mon"), g("vm"),
              g("domain"), g("uuid"))
    n = _NCOMMON - common.count(None)
    if len(fields) > n:
        rest = _ENC({k: v for k, v in fields.items() if k not in _COMMON_SET})
    else:
        rest = None
    return common + (rest,)


# ------------------------------------------------------------ Arrow helpers
def _dict_col(values, categories=None) -> pa.DictionaryArray:
    arr = strings(values)
    if categories is None:
        return arr.dictionary_encode()
    idx = pc.index_in(arr, value_set=categories)
    return pa.DictionaryArray.from_arrays(idx.cast(pa.int32()), categories)


def _path_col(path: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(from_numpy(np.zeros(n, dtype=np.int32), pa.int32()), strings([path]))


def _time_from_epoch(values) -> pa.Array:
    t = np.array([np.nan if x is None else x for x in values], dtype="float64")
    ms = np.round(t * 1000)
    ok = ~np.isnan(ms)
    out = np.zeros(len(t), dtype="int64")
    out[ok] = ms[ok].astype("int64")
    return from_numpy(out, pa.timestamp("ms", tz="UTC"), ok)


def _time_from_stamps(stamps):
    """DATETIME terminals ('2026-11-25 20:29:53.724+0000: ', None for the clock-only form)
    -> (UTC times, mask of the records whose stamp is no real date and time, or None when
    there is none): such a time is null, by the rule of values.stamp_to_epoch."""
    text = pc.utf8_rtrim(strings(stamps, ascii=True), characters=TERMINAL_END)
    try:
        t = text.cast(_TIME)
    except (pa.ArrowInvalid, OverflowError):       # month 13, hour 99, an offset of 24 hours ...
        t = ints([_stamp_ms(s) for s in stamps]).cast(_TIME)
    # Arrow reads stamps that Python's datetime does not hold (year 0000): the same range
    ms = t.cast(pa.int64())
    out = pc.fill_null(pc.or_(pc.less(ms, _MS_MIN), pc.greater_equal(ms, _MS_MAX)), _FALSE)
    if pc.any(out).as_py():
        t = pc.if_else(out, scalar(None, _TIME), t)
    if t.null_count == text.null_count:
        return t, None
    return t, np.asarray(pc.and_(pc.is_valid(text), pc.is_null(t)))


_TIME = pa.timestamp("ms", tz="UTC")
_MS_MIN, _MS_MAX = scalar(round(EPOCH_MIN * 1000), pa.int64()), scalar(round(EPOCH_MAX * 1000), pa.int64())
_FALSE = scalar(False, pa.bool_())


def _stamp_ms(stamp):
    t = None if stamp is None else stamp_to_epoch(stamp)
    return None if t is None else round(t * 1000)


def _tids(tids):
    """TID terminals ('13681: ', None) -> (thread ids, mask of those too large for 64 bits,
    or None when there is none): such an id is null."""
    text = pc.utf8_rtrim(strings(tids, ascii=True), characters=TERMINAL_END)
    try:
        return text.cast(pa.int64()), None
    except (pa.ArrowInvalid, OverflowError):
        ids = ints([None if x is None else to_int(x) for x in text.to_pylist()])
        return ids, np.asarray(pc.and_(pc.is_valid(text), pc.is_null(ids)))


def _table(path, n, line, time, tid, entry_cols) -> pa.Table:
    level, func, src_line, kind, message = entry_cols[:5]
    cols = [_path_col(path, n), line, time, tid, level, func, src_line, kind, message] + list(entry_cols[5:])
    return pa.Table.from_arrays(cols, schema=SCHEMA)


def empty_table() -> pa.Table:
    return SCHEMA.empty_table()


def records_table(path, records) -> pa.Table:
    """Records (of one input; `path` None = each record's own) -> Arrow table."""
    n = len(records)
    ents = [(r.level, r.func, r.src_line, r.kind, r.message) + fields_tail(r.fields) for r in records]
    cols = list(zip(*ents)) if n else [()] * len(ENTRY_COLUMNS)
    entry_cols = [_dict_col(cols[0], _LEVELS_ARR), strings(cols[1]), ints(cols[2]), _dict_col(cols[3]),
                  strings(cols[4])] + [strings(c) for c in cols[5:]]
    line = ints([r.line for r in records])
    time = _time_from_epoch([r.time for r in records])
    tid = ints([r.tid for r in records])
    if path is None:
        tbl = _table("", n, line, time, tid, entry_cols)
        return tbl.set_column(0, "path", _dict_col([r.path for r in records]))
    return _table(path, n, line, time, tid, entry_cols)


# ------------------------------------------------------------ the file format
class FileTables:
    """Turns the blocks of one file-format input into Arrow tables (one per
    block).  `heads`, `workers`, `foreign` and the time/record counts feed the
    reader's facts."""

    def __init__(self, path: str, want_workers=lambda: False):
        self.path = path
        self.want_workers = want_workers
        self.records = 0
        self.first_time = None
        self.last_time = None
        self.heads = []        # (kind, fields) of version / hostname lines
        self.bad = []          # (first line, what, records) of header values that cannot be read
        self.workers = []      # worker names of thread_job records (daemon name)
        self.foreign = []      # (line, nlines) before / between records
        self._reset()

    def _reset(self):
        self._cache = {}
        self._new = []
        self._nls = []         # newlines inside each entry's message (for line numbers)
        self._dict = None      # list of Arrow arrays, one per entry column

    # -- one entry (level .. fields) of a record, from its text after the thread id
    def _entry(self, key):
        eid = self._cache.get(key)
        if eid is not None:
            return eid
        m = AFTER_TID.match(key)
        level, funcloc = m.groups()
        msg = key[m.end():]
        self._nls.append(msg.count("\n"))
        if msg.endswith("\r"):
            msg = msg[:-1]
        if funcloc is None:
            kind, fields = unlocated(msg)
            if kind != "text":
                self.heads.append((kind, dict(fields)))
            ent = (level, None, None, kind, msg) + fields_tail(fields)
        else:
            func, sl = split_funcloc(funcloc)
            if not msg:
                ent = (level, func, sl, "text", msg) + NONE_TAIL
            elif level == "error" or level == "warning":
                ent = (level, func, sl, "error", msg) + fields_tail(error_fields(msg))
            else:
                kind, fields = classify(msg)
                if kind == "thread_job" and self.want_workers():
                    w = fields.get("worker")
                    if w:
                        self.workers.append(w)
                ent = (level, func, sl, kind, msg) + fields_tail(fields)
        eid = len(self._cache)
        self._cache[key] = eid
        self._new.append(ent)
        return eid

    def blocks_to_tables(self, blocks):
        """Arrow tables of the records in blocks (formats.Block)."""
        was = gc.isenabled()
        gc.disable()   # millions of short-lived tuples: the cycle collector only costs time here
        try:
            yield from self._blocks_to_tables(blocks)
        finally:
            if was:
                gc.enable()

    def _blocks_to_tables(self, blocks):
        for kind, line, text in record_chunks(blocks, RECORD_START.match):
            if kind is RECORDS:
                table = self._table(text, line)
                if table is not None:
                    yield table
            elif kind is FOREIGN:
                self.foreign.append((line, text.count("\n") + (0 if text.endswith("\n") else 1)))
            else:
                self.foreign.append((line, 0))   # the rest of an over-long line

    def _table(self, text, line):
        """The records of text (which ends where a record ends) as one table (None: only
        foreign lines, which are counted)."""
        if text.endswith("\n"):
            text = text[:-1]
        parts = SPLIT_AT_START.split("\n" + text)
        pre = parts[0]
        if pre:
            n = pre.count("\n")
            self.foreign.append((line, n))
            line += n
        if len(parts) == 1:
            return None
        keys = parts[3::3]
        get = self._cache.get
        ids = [get(k) for k in keys]
        if None in ids:
            entry = self._entry
            ids = [entry(k) if i is None else i for k, i in zip(keys, ids)]
        idx = np.array(ids, dtype=np.int32)
        steps = np.array(self._nls, dtype=np.int64)[idx] + 1
        ends = np.cumsum(steps)
        lines = ends - steps + line
        table = self._make_table(lines, parts[1::3], parts[2::3], idx)
        if len(self._cache) > DICT_LIMIT:
            self._reset()
        return table

    def _make_table(self, lines, stamps, tids, idx) -> pa.Table:
        n = len(lines)
        self.records += n
        time, bad_time = _time_from_stamps(stamps)
        tid, bad_tid = _tids(tids)
        if bad_time is not None or bad_tid is not None:
            self._note_bad(lines, stamps, tids, bad_time, bad_tid)
        if time.null_count < n:
            ms = time.cast(pa.int64()).drop_null()
            if self.first_time is None:
                self.first_time = ms[0].as_py() / 1000.0
            self.last_time = ms[-1].as_py() / 1000.0
        if self._new:
            cols = list(zip(*self._new))
            new = [_dict_col(cols[0], _LEVELS_ARR).indices, strings(cols[1]), ints(cols[2]), strings(cols[3]),
                   strings(cols[4])] + [strings(c) for c in cols[5:]]
            self._new = []
            if self._dict is None:
                self._dict = new
            else:
                self._dict = [pa.concat_arrays([old, x]) for old, x in zip(self._dict, new)]
        idx = from_numpy(idx, pa.int32())
        d = self._dict
        level = pa.DictionaryArray.from_arrays(d[0].take(idx), _LEVELS_ARR)
        kind = d[3].take(idx).dictionary_encode()
        entry_cols = [level, d[1].take(idx), d[2].take(idx), kind] + [c.take(idx) for c in d[4:]]
        return _table(self.path, n, from_numpy(lines, pa.int64()), time, tid, entry_cols)

    def _note_bad(self, lines, stamps, tids, bad_time, bad_tid):
        bad = bad_time if bad_tid is None else bad_tid if bad_time is None else bad_time | bad_tid
        i = int(np.flatnonzero(bad)[0])
        tid = tids[i][:-len(TERMINAL_END)] if tids[i] else None
        what = header_values(stamps[i], tid)[2]
        self.bad.append((int(lines[i]), what, int(bad.sum())))
