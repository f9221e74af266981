"""The event table as Arrow columns, built without Record objects where possible.

`events -o out.parquet` and events_frame() are the hot path.  For the file format each
block (cut where a record starts) goes to blockrows.py, which reads the headers, messages,
keys, kinds and fields of the common records (in C where the package was built with a
compiler, else with Arrow and NumPy; job lines and quoted values in C alone); FileTables parses
the rest in Python (errors, thread and phase lines, the function-less header lines), and keeps each distinct key's
columns across blocks, so that a key is read once per file (while remembered).  Other formats
build the same table from their Records (records_table).  tests/test_frame.py proves both
routes give the same table on every sample.
"""
from __future__ import annotations

import json
from itertools import repeat

import numpy as np
import pyarrow as pa

from .recordcut import AsciiBlock
from .arrays import GrowingStrings, compute as pc, from_numpy, gathered, grown, int64s, ints, strings, taken
from .blockrows import OTHER, SEED as _SEED, Block, np_offsets, read_block, read_families
from .compiled import MessageIndex, gather
from .families import classify, error_fields, unlocated
from .header import AFTER_TID
from .records import LEVELS
from .values import header_values

# Fields common enough to be columns of their own; the rest go to `fields` (JSON).
COMMON = ("client", "ka", "conn", "dconn", "sock", "mon", "vm", "domain", "uuid")
COLUMNS = ("path", "line", "time", "tid", "level", "func", "src_line", "kind", "message") + COMMON + ("fields",)
# entry = (level, func, src_line, kind, message, *COMMON, fields)
ENTRY_COLUMNS = ("level", "func", "src_line", "kind", "message") + COMMON + ("fields",)
_COMMON_SET = frozenset(COMMON)
_NCOMMON = len(COMMON)
_ENC = json.JSONEncoder(ensure_ascii=False).encode
NONE_TAIL = (None,) * (_NCOMMON + 1)

# the families of the distinct messages are read once per file, not once per block (a log
# says the same things in every block: 8x fewer messages to read on the benchmark's log, 4x
# on the busy one); past this many messages, or bytes of them and their columns, only
# the most recently used half is kept.  200,000 and 64 MB against 100,000 and 32 MB: on the
# busy 5M-line log 0.21M messages read instead of 0.58M (forgetting once instead of 12 times),
# 4-13% less CPU for the table (two rounds side by side), ~10-30 MB more peak RSS (221-224 MB
# for events -o x.parquet, one core); 32 MB against 20 MB before that: 1.01M -> 0.62M
KNOWN_LIMIT = 200_000
KNOWN_BYTES = 64 << 20
_ENTRY_BYTES = 150        # what Python and Arrow keep for a known message besides its text
# bytes of text per block on this route (memory against per-block costs): 2 MB against 4 MB,
# ~4% more CPU and ~50 MB less peak RSS for events -o x.parquet (each block is a row group)
TABLE_BLOCK = 2 << 20

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


_TIME = pa.timestamp("ms", tz="UTC")


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
    block): blockrows.py reads the records a block at a time; the keys it leaves (errors,
    thread and phase lines, bracketed keys, ...) are parsed here, once per distinct key.  `heads`, `workers`, `bad`, `foreign` and the time/record counts feed the
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
        self._known = KnownMessages()    # a record's key (blockrows.Block) -> its row in _store
        self._known_bytes = 0  # (bytes of the messages and their columns)
        self._store = [GrowingStrings() for _ in range(_NCOMMON + 1)]   # [*COMMON, fields] of known messages
        # per row of _store: its kind's number in _kind_names (the kinds of the rows kept: a
        # log can name a new probe on every line)
        self._kind = np.zeros(1 << 12, np.int32)
        self._kind_names: list[str] = []
        self._kind_number: dict[str, int] = {}
        self._used = np.zeros(0, np.int64)   # per row of _store: the last block that used it
        self._cost = np.zeros(0, np.int64)   # per row of _store: its bytes
        self._blocks = 0

    # -- one record parsed in Python, from its text after the thread id
    def _parse_entry(self, key):
        m = AFTER_TID.match(key)
        level, funcloc = m.groups()
        msg = key[m.end():]
        if msg.endswith("\r"):
            msg = msg[:-1]
        if funcloc is None:
            kind, fields = unlocated(msg)
            if kind != "text":
                self.heads.append((kind, dict(fields)))
            return kind, fields
        if not msg:
            return "text", None
        if level == "error" or level == "warning":
            return "error", error_fields(msg)
        return self._classify(msg)

    def _classify(self, msg):
        kind, fields = classify(msg)
        if kind == "thread_job" and self.want_workers():
            w = fields.get("worker")
            if w:
                self.workers.append(w)
        return kind, fields

    def blocks_to_tables(self, blocks):
        """Arrow tables of the records in blocks (sources.Block of recordcut.record_blocks:
        each begins where a record starts, the first perhaps after other text, and ends where
        a record ends)."""
        line = 1
        for block in blocks:
            if block.tail:
                self.foreign.append((line, 0))   # the rest of an over-long line
                line += block.text.count("\n")
                continue
            ascii = isinstance(block, AsciiBlock)
            blk = read_block(block.data if ascii else block.text.encode("utf-8"))
            if ascii:
                block.newlines = blk.newlines       # (the scan counted them)
            if blk.n == 0 or blk.starts[0]:
                self.foreign.append((line, blk.nlines if blk.n == 0 else int(blk.starts[0])))
            if blk.n:
                yield self._table(blk, line)
            line += blk.newlines + (block.cut.nlines if block.cut is not None else 0)

    def _table(self, blk: Block, line: int) -> pa.Table:
        """The records of a block (which ends where a record ends) as one table."""
        n = blk.n
        self.records += n
        lines = blk.starts + line
        ms, time_ok = blk.times()
        tid, tid_ok = blk.tids()
        bad = (blk.dated & ~time_ok) | ((blk.tid_len > 0) & ~tid_ok)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self.bad.append((int(lines[i]), header_values(blk.stamp_text(i), blk.tid_text(i))[2],
                             int(bad.sum())))
        if time_ok.any():
            t = ms[time_ok]
            if self.first_time is None:
                self.first_time = int(t[0]) / 1000.0
            self.last_time = int(t[-1]) / 1000.0
        # kind, the common fields and the others' JSON, read once per distinct key
        rows = self._rows_of(blk.distinct)
        at = rows[blk.code]
        cols = _per_record(self._store, rows, at)
        level = pa.DictionaryArray.from_arrays(from_numpy(blk.level.astype(np.int32), pa.int32()), _LEVELS_ARR)
        entry_cols = [level, blk.func, blk.src_lines(), self._kind_column(at), blk.message] + cols
        return _table(self.path, n, int64s(lines), from_numpy(ms, _TIME, time_ok),
                      from_numpy(tid, pa.int64(), tid_ok), entry_cols)

    def _kind_column(self, at: np.ndarray) -> pa.DictionaryArray:
        """The kinds of the records whose rows are `at`, dictionary-encoded in the order they
        first occur (as Arrow's dictionary_encode of their texts)."""
        present, first, code = np.unique(self._kind[at], return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")       # (present's, by first occurrence)
        rank = np.empty(len(order), np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        names = self._kind_names
        return pa.DictionaryArray.from_arrays(from_numpy(rank[code.reshape(-1)], pa.int32()),
                                              strings([names[k] for k in present[order].tolist()]))

    def _add_kinds(self, base: int, kinds: list):
        """The kinds (texts) of the rows from base on."""
        need = base + len(kinds)
        if need > len(self._kind):
            self._kind = grown(self._kind, base, need)
        number, names = self._kind_number, self._kind_names
        for k in kinds:
            if k not in number:
                number[k] = len(names)
                names.append(k)
        self._kind[base:need] = [number[k] for k in kinds]

    def _rows_of(self, msgs: pa.Array) -> np.ndarray:
        """The rows of _store that hold distinct keys' families (read here the first time a
        key is seen)."""
        rows = self._known.find(msgs)
        new = rows < 0
        self._blocks += 1
        self._used[rows[~new]] = self._blocks
        if not new.any():
            return rows
        if len(self._known) + int(new.sum()) > KNOWN_LIMIT or self._known_bytes > KNOWN_BYTES:
            to = self._forget()
            if len(to):
                rows = np.where(new, -1, to[np.where(new, 0, rows)])
            new = rows < 0
        # (the plain records' messages first, then the others' texts: the rows in that order)
        at = np.flatnonzero(new)
        other = _is_other(msgs, at)
        plain, at_other = at[~other], at[other]
        # (a plain record's key is its message: UTF-8, as read_block's bytes are)
        order, kinds, cols = self._families(taken(msgs, plain).view(pa.string()))
        at = plain[order]
        if len(at_other):
            more_kinds, more = self._others(taken(msgs, at_other))
            kinds += more_kinds
            cols = [pa.concat_arrays([c, o]) for c, o in zip(cols, more)]
            at = np.concatenate([at, at_other])
        base = len(self._known)
        self._known.add(msgs, at)
        # (what a row keeps: its key, and its columns, which are at most as long again)
        cost = 2 * _lengths(msgs)[at] + _ENTRY_BYTES
        self._used = np.concatenate([self._used[:base], np.full(len(at), self._blocks)])
        self._cost = np.concatenate([self._cost[:base], cost])
        self._known_bytes += int(cost.sum())
        rows[at] = np.arange(base, base + len(at))
        self._add_kinds(base, kinds)
        for column, c in zip(self._store, cols):
            column.extend(c)
        return rows

    def _forget(self) -> np.ndarray:
        """Keep the known messages used most recently, up to half the limits; returns each
        row's new row (-1: forgotten)."""
        order = np.argsort(-self._used, kind="stable")
        n = min(KNOWN_LIMIT // 2, int(np.searchsorted(np.cumsum(self._cost[order]), KNOWN_BYTES // 2, "right")))
        keep = np.sort(order[:n])
        new_row = np.full(len(self._used), -1, np.int64)
        new_row[keep] = np.arange(n)
        self._known.keep(new_row)
        self._store = [c.taken(keep) for c in self._store]
        # (the kinds renumbered: only the kept rows' stay)
        present, code = np.unique(self._kind[keep], return_inverse=True)
        self._kind[:n] = code.reshape(-1)
        self._kind_names = [self._kind_names[k] for k in present.tolist()]
        self._kind_number = {k: i for i, k in enumerate(self._kind_names)}
        self._used, self._cost = self._used[keep], self._cost[keep]
        self._known_bytes = int(self._cost.sum())
        return new_row

    def _others(self, keys: pa.Array) -> tuple:
        """(kinds, [*COMMON, fields] columns) of records whose level or missing FUNC:LINE
        decides their family, from their keys (OTHER and the text after the thread id)."""
        tails = [(kind,) + fields_tail(fields)
                 for kind, fields in map(self._parse_entry, (k[1:].decode() for k in keys.to_pylist()))]
        kinds, *cols = zip(*tails)
        return list(kinds), [strings(c) for c in cols]

    def _families(self, msgs: pa.Array) -> tuple:
        """(order, kinds, [*COMMON, fields] columns) of distinct messages of located debug/info
        records, the rows in `order` (of msgs): those read in one pass (blockrows), then those
        parsed here."""
        nu = len(msgs)
        kind, cols, py = read_families(msgs, COMMON)
        cols = [pa.nulls(nu, pa.string()) if c is None else c for c in cols]
        if not py.any():
            return np.arange(nu), kind.to_pylist(), cols
        read, mine = np.flatnonzero(~py), np.flatnonzero(py)
        tails = [(k,) + fields_tail(f) for k, f in map(self._classify, taken(msgs, mine).to_pylist())]
        kinds, *parsed = zip(*tails)
        return (np.concatenate([read, mine]), taken(kind, read).to_pylist() + list(kinds),
                [pa.concat_arrays([taken(c, read), strings(p)]) for c, p in zip(cols, parsed)])


class KnownMessages:
    """The rows of the messages a file has said (UTF-8 texts): in the compiled MessageIndex
    (_tablescan.c), or a dict of bytes without a C compiler."""

    def __init__(self):
        self._index = MessageIndex(_SEED) if MessageIndex is not None else None
        self._dict = {}

    def __len__(self) -> int:
        return len(self._index) if self._index is not None else len(self._dict)

    def find(self, msgs: pa.StringArray) -> np.ndarray:
        """Each text's row (int64), -1 where it is not known."""
        if self._index is not None:
            _, offsets, data = msgs.buffers()
            return np.frombuffer(self._index.find(offsets, data or b"", msgs.offset, len(msgs)), np.int64).copy()
        # (looked up as bytes, with map: a third of the time of str keys and a generator)
        keys = msgs.view(pa.binary()).to_pylist()
        return np.fromiter(map(self._dict.get, keys, repeat(-1)), np.int64, len(keys))

    def add(self, msgs: pa.StringArray, at: np.ndarray):
        """The texts msgs[at] become the next rows, in order."""
        at = np.ascontiguousarray(at, np.int64)
        if self._index is not None:
            _, offsets, data = msgs.buffers()
            self._index.add(offsets, data or b"", msgs.offset, len(msgs), at)
            return
        base = len(self._dict)
        keys = msgs.take(int64s(at)).view(pa.binary()).to_pylist()
        self._dict.update(zip(keys, range(base, base + len(keys))))

    def keep(self, new_row: np.ndarray):
        """Row r becomes new_row[r] (-1: forgotten; the kept rows keep their order)."""
        if self._index is not None:
            self._index.keep(np.ascontiguousarray(new_row, np.int64))
            return
        to = new_row.tolist()
        self._dict = {k: to[r] for k, r in self._dict.items() if to[r] >= 0}


def _is_other(keys: pa.Array, at: np.ndarray) -> np.ndarray:
    """Which of keys[at] are the text after the thread id of a record that is not plain."""
    off = np_offsets(keys)
    data = keys.buffers()[2]
    if data is None or not len(at):
        return np.zeros(len(at), bool)
    first = np.frombuffer(data, np.uint8)[np.minimum(off[at], data.size - 1)]
    return (first == OTHER) & (off[at + 1] > off[at])


def _lengths(strs: pa.Array) -> np.ndarray:
    """Bytes of each string (0 for null)."""
    return np.diff(np_offsets(strs)).astype(np.int64)


def _per_record(store: list, rows: np.ndarray, at: np.ndarray) -> list:
    """The string columns of the known messages spread over the records of a block (`rows`:
    the block's distinct messages' rows, `at`: each record's row): one compiled pass a column,
    or an Arrow take of each."""
    n = len(at)
    if gather is not None:     # (None: a field no message of the block has)
        return [gathered(pa.string(), n, got)
                for got in gather(np.ascontiguousarray(at, np.int64), [c.buffers() for c in store])]
    at = int64s(at)
    return [column.array().take(at) if column.valid()[rows].any() else pa.nulls(n, pa.string())
            for column in store]
