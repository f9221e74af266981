"""The event table of a block of file-format records, in Arrow and NumPy columns.

rows.FileTables hands each block (text that ends where a record ends) here.  Everything
a record holds is found a block at a time, never record by record in Python.  Where the
package was built with a C compiler, ScannedBlock reads it all in one pass (_headscan.rows)
and read_families the new messages in another (_tablescan.easy: also (VM: ...) groups);
without one, Block and the Arrow route below read the same:

* the record starts: one RE2 match (the grammar's record-start rule) over the block's lines;
* the header: the stamp and the thread id at fixed places (the grammar's DATETIME, CLOCK and
  TID terminals), read digit by digit with NumPy; the level by its first letter; FUNC:LINE
  by one RE2 match and two searches; the message is the rest, cut out of the block by offsets;
* the kind and the fields of the common messages: text (no family's head), probe lines
  ("NAME: k=v ...") and key=value lists whose items split where the grammar's SEP would split
  them without needing its lookahead (one printable-ASCII line; no quote after '=', no
  "(VM: ...)" group, no bracketed or "current " key, no empty value before a separator): RE2
  marks every separator, Arrow splits there, and the common columns (client, ka, ...) and the
  JSON of the other fields are gathered from the items.

A record is known by its key: a plain record's message, or, for a record whose level or
missing FUNC:LINE decides its family, its text after the thread id behind OTHER (0xff, a byte
UTF-8 never holds).  The other keys (errors, job, thread and phase lines, quoted or bracketed
values, (VM: ...) groups on the Arrow route, the function-less header lines) are parsed in
Python by rows.FileTables, one per distinct key.
tests/test_frame.py proves the table equals the one built from Records, on every sample.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa

from . import compiled
from .arrays import compute as pc, validity, from_numpy, int64s, ints, strings
from .header import AFTER_TID, CLOCK, DATETIME, FUNC_NAME, RECORD_START_PATTERN, TID, funcloc, split_funcloc
from .records import LEVELS
from .values import EPOCH_MAX, EPOCH_MIN, byte_rows, header_values, stamp_numbers, stamp_times, to_int

# The header's fixed places, read from the grammar's terminals: DATETIME is
# 'YYYY-MM-DD HH:MM:SS.mmm+zzzz: ', CLOCK 'HH:MM:SS.mmm: ', TID digits and ': '.
_DATED = "2026-11-25 20:29:53.724+0000: "
_CLOCKED = "20:29:53.724: "
FIXED_HEADER = bool(re.fullmatch(DATETIME, _DATED) and re.fullmatch(CLOCK, _CLOCKED)
                    and re.fullmatch(TID, "13681: ") and not re.fullmatch(DATETIME, _DATED[1:])
                    and not re.fullmatch(CLOCK, _CLOCKED[1:]))
if not FIXED_HEADER:
    raise ImportError("the grammar's DATETIME, CLOCK or TID terminals changed: blockrows.py reads "
                      "them at fixed places")
_DATED_LEN, _CLOCKED_LEN = len(_DATED), len(_CLOCKED)
OTHER = 0xFF     # the first byte of a record's key that is its text after the thread id (see Block)
_OTHER, _NO_BYTES = pa.Array.from_buffers(pa.binary(), 2, [None, pa.py_buffer(np.array([0, 1, 1], np.int32)),
                                                             pa.py_buffer(bytes([OTHER]))])
_rows, _easy = compiled.rows, compiled.easy      # (None: RE2 and NumPy alone)
SEED = int.from_bytes(os.urandom(8), "little")     # the messages' hash tables' (no crafted collisions)
_LINE_START = "^" + RECORD_START_PATTERN
_FUNCLOC = "^" + funcloc(FUNC_NAME).rstrip("?").rstrip(" ") + "$"    # 'name:123 :' (then ' ?')

# LEVELS index of a level by its first letter (d i w e u)
_LEVEL_OF = np.full(256, -1, np.int8)
_LEVEL_LEN = np.zeros(256, np.int64)
for _i, _name in enumerate(LEVELS):
    _LEVEL_OF[ord(_name[0])] = _i
    _LEVEL_LEN[ord(_name[0])] = len(_name)
_ERROR_LEVELS = np.array([LEVELS.index("warning"), LEVELS.index("error")], np.int8)

# -- the message families, as far as they are read here (everything else: Python) --------
_PROBE_NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+: "
_KEY = r"(?:current )?[A-Za-z_][\w.\-]*="
# A head that a family other than text might take (probe, thread job, domain job, phase,
# key=value list, (VM: ...) group): a necessary condition of each, the rest is Python's.
_MAYBE_NOT_TEXT = (r"^(?:" + _PROBE_NAME + r"|Thread |(?:Starting|Started|Stopping|Waiting for)"
                   r"(?: async| agent| nested)? job|Starting phase '|Setting '|\(VM: "
                   r"|(?:current )?[A-Za-z_]\S*?[=\[])")
# A probe or key=value message that Python's key=value reader would cut at every separator
# followed by a key: printable ASCII and line ends only (where Python's \s and \w mean what
# RE2's do), no (VM: ...) group, no bracketed key, no quote right after '=' (then a key is
# always followed by what KEY's lookahead wants).
_EASY_HEAD = "^(?:" + _PROBE_NAME + ")?" + _KEY + r"(?:[^'\"]|$)"
# (a first key with "current " is Python's: the separator search must not cut it after "current";
# the compiled reader also reads (VM: name=..., uuid=...) groups, the Arrow route leaves them)
_NOT_EASY = r"[^\x20-\x7e\r\n]|\[\"|=['\"]|^(?:" + _PROBE_NAME + ")?current "
_NOT_EASY_ARROW = _NOT_EASY + r"|\(VM: "
_SEP_AT = r",?\s+(" + _KEY + ")"       # a separator and the key after it
_MARK = "\x01"


def _np(arr: pa.Array, dtype) -> np.ndarray:
    """A fixed-width Arrow array without nulls as NumPy (no copy)."""
    return np.frombuffer(arr.buffers()[1], dtype, count=len(arr), offset=arr.offset * np.dtype(dtype).itemsize)


def _mask(arr: pa.Array) -> np.ndarray:
    """A boolean Arrow array (nulls false) as a NumPy bool array."""
    arr = pc.fill_null(arr, False) if arr.null_count else arr
    bits = np.unpackbits(np.frombuffer(arr.buffers()[1], np.uint8), bitorder="little")
    return bits[arr.offset:arr.offset + len(arr)].astype(bool)


def read_block(data: bytes) -> "Block":
    """The records of a block of file-format text as UTF-8 (whole records, perhaps after
    other text)."""
    return ScannedBlock(data) if _rows is not None and data else Block(data)


class Block:
    """The records of one block of file-format text: their header columns and message
    strings, and which records the vectorised families read (`easy`, `text`).  This is the
    route without a C compiler (RE2 and NumPy); ScannedBlock reads the same in one pass."""

    def __init__(self, data: bytes):
        self.data = data
        b = np.frombuffer(data, np.uint8)
        nl = np.flatnonzero(b == 10)
        nlines = len(nl) + (0 if data.endswith(b"\n") else 1)
        off = np.empty(nlines + 1, np.int64)
        off[0] = 0
        off[1:len(nl) + 1] = nl + 1
        off[nlines] = len(data)
        self.newlines = len(nl)
        lines = pa.StringArray.from_buffers(nlines, pa.py_buffer(off.astype(np.int32)), pa.py_buffer(data))
        starts = _np(pc.indices_nonzero(pc.match_substring_regex(lines, _LINE_START)), np.uint64).astype(np.int64)
        self.nlines = nlines
        self.starts = starts
        n = self.n = len(starts)
        if not n:
            return
        o = off[starts]
        nxt = np.empty(n, np.int64)
        nxt[:-1] = o[1:]
        nxt[-1] = len(data)
        # -- the header at its fixed places
        top = len(b) - 1
        dated = b[np.minimum(o + 4, top)] == 45          # '-' of YYYY-MM-DD
        self.dated = dated
        p = o + np.where(dated, _DATED_LEN, _CLOCKED_LEN)
        tid_len = np.zeros(n, np.int64)
        alive = np.ones(n, bool)
        while alive.any():
            c = b[np.minimum(p + tid_len, top)]
            d = alive & (c >= 48) & (c <= 57)
            tid_len += d
            alive = d
        has_tid = tid_len > 0
        level_at = p + np.where(has_tid, tid_len + 2, 0)
        lc = b[level_at]
        self.level = _LEVEL_OF[lc]
        after = level_at + _LEVEL_LEN[lc] + 3
        self.o, self.nxt, self.p, self.tid_len, self.level_at = o, nxt, p, tid_len, level_at
        # -- FUNC:LINE (its first match in a line is the header's, when the header has one)
        # a FUNC:LINE is a name, ':', digits and ' :': its colon is the first after the
        # level, its ' :' the first after that; the text between is checked with RE2
        colons = np.append(np.flatnonzero(b == 58), len(b))
        colon = np.minimum(colons[np.searchsorted(colons, after)], nxt)
        after_one = colons[:-1][colons[:-1] > 0]
        seps = np.append(after_one[b[after_one - 1] == 32] - 1, len(b))      # ' :', from the colons
        sep = np.minimum(seps[np.searchsorted(seps, colon)], nxt - 2)
        upto = np.maximum(sep + 2, after)
        said = self._cut(int(o[0]), [after, upto]).take(int64s(np.arange(n, dtype=np.int64) * 3 + 1))
        # (a block has a few hundred distinct FUNC:LINEs: each is checked once)
        said = pc.dictionary_encode(said)
        located = _mask(pc.match_substring_regex(said.dictionary, _FUNCLOC))[_np(said.indices, np.int32)]
        colon = np.where(located, colon, after)
        sep = np.where(located, sep, after)
        # -- the message: the rest of the record without its final line end
        msg_at = np.where(located, sep + 2 + (b[np.minimum(sep + 2, top)] == 32), after)
        end = nxt - (b[nxt - 1] == 10)
        end = end - ((b[np.maximum(end - 1, 0)] == 13) & (end > msg_at))
        self.located, self.msg_at, self.end = located, msg_at, end
        pieces = self._cut(int(o[0]), [after, colon, colon + 1, sep, msg_at, end, nxt])
        self.func = pieces.take(from_numpy(np.arange(n, dtype=np.int64) * 8 + 1, pa.int64(), located))
        self.src = pieces.take(from_numpy(np.arange(n, dtype=np.int64) * 8 + 3, pa.int64(), located))
        self.message = pieces.take(int64s(np.arange(n, dtype=np.int64) * 8 + 5))
        # records whose family the level or a missing FUNC:LINE decides: known by their text
        # after the thread id, behind a byte UTF-8 never holds
        self.plain = located & ~np.isin(self.level, _ERROR_LEVELS) & (msg_at < end)
        after_tid = self._cut(int(o[0]), [level_at, nxt - (b[nxt - 1] == 10)])
        after_tid = after_tid.take(int64s(np.arange(n, dtype=np.int64) * 3 + 1)).cast(pa.binary())
        keys = pc.if_else(from_numpy(self.plain, pa.bool_()), self.message.cast(pa.binary()),
                          pc.binary_join_element_wise(_OTHER, after_tid, _NO_BYTES))
        # Debug logs say the same things over and over: the families are read once per
        # distinct key
        codes = pc.dictionary_encode(keys)
        self.code = _np(codes.indices, np.int32)
        self.distinct = codes.dictionary

    def _cut(self, base: int, bounds: list) -> pa.StringArray:
        """The block from the first record on as consecutive pieces: per record [o, b0),
        [b0, b1), ... [b_last, next record) (len(bounds) + 1 pieces a record)."""
        k = len(bounds) + 1
        cuts = np.empty(self.n * k + 1, np.int64)
        cuts[0:-1:k] = self.o
        for j, b in enumerate(bounds):
            cuts[j + 1::k] = b
        cuts[-1] = len(self.data)
        cuts -= base
        return pa.StringArray.from_buffers(self.n * k, pa.py_buffer(cuts.astype(np.int32)),
                                           pa.py_buffer(memoryview(self.data)[base:]))

    # -- header values -------------------------------------------------------------------
    def times(self):
        """(epoch ms as int64, valid) of the dated stamps (others invalid)."""
        b = np.frombuffer(self.data, np.uint8)
        # each dated stamp's bytes as one row (a gather of rows, not of every digit)
        stamp = byte_rows(b, self.o[self.dated], _DATED_LEN)
        numbers = stamp_numbers(stamp)
        ms = numbers[6]
        t, ok = stamp_times(*numbers)
        secs = (np.floor(t).astype(np.int64))
        out = np.zeros(self.n, np.int64)
        valid = np.zeros(self.n, bool)
        out[self.dated] = secs * 1000 + ms
        valid[self.dated] = ok
        return out, valid

    def tids(self):
        """(thread ids, valid): no thread id, or one too large for 64 bits, is invalid."""
        b = np.frombuffer(self.data, np.uint8)
        has = self.tid_len > 0
        short = has & (self.tid_len < 19)
        v = np.zeros(self.n, np.int64)
        for j in range(int(self.tid_len[short].max(initial=0))):
            take = short & (self.tid_len > j)
            v = np.where(take, v * 10 + (b[np.minimum(self.p + j, len(b) - 1)].astype(np.int64) - 48), v)
        return self._long_tids(v, short.copy())

    def _long_tids(self, v: np.ndarray, valid: np.ndarray):
        """The thread ids of 19 digits or more read exactly (valid when they fit 64 bits)."""
        for i in np.flatnonzero(self.tid_len >= 19):
            a = int(self.p[i])
            n = header_values(None, self.data[a:a + int(self.tid_len[i])].decode())[1]
            if n is not None:
                v[i], valid[i] = n, True
        return v, valid

    def src_lines(self) -> pa.Array:
        """FUNC:LINE's line numbers (None when absent or too large for 64 bits)."""
        try:
            return self.src.cast(pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            return ints([None if x is None else to_int(x) for x in self.src.to_pylist()])

    def stamp_text(self, i: int) -> str | None:
        a = int(self.o[i])
        return self.data[a:a + _DATED_LEN].decode() if self.dated[i] else None

    def tid_text(self, i: int) -> str | None:
        a = int(self.p[i])
        return self.data[a:a + int(self.tid_len[i])].decode() if self.tid_len[i] else None

    def after_tid(self, i: int) -> str:
        """The record's text after its thread id, up to its final newline (rows' entry key)."""
        a, z = int(self.level_at[i]), int(self.nxt[i])
        if self.data[z - 1:z] == b"\n":
            z -= 1
        return self.data[a:z].decode()


class ScannedBlock(Block):
    """The same columns as Block, read in one pass by the compiled scan (_headscan.rows)."""

    def __init__(self, data: bytes):
        self.data = data
        r = _rows(data, EPOCH_MIN, EPOCH_MAX, SEED)
        self.nlines, self.newlines, n = r["nlines"], r["newlines"], r["n"]
        self.n = n

        def col(name, dtype):
            return np.frombuffer(r[name], dtype)

        self.starts, self.o, self.nxt = col("line", np.int64), col("start", np.int64), col("next", np.int64)
        self.p, self.level_at = col("tid_at", np.int64), col("level_at", np.int64)
        self.tid_len = col("tid_len", np.int32)
        self.level = col("level", np.int8)
        self.dated, self.located, self.plain = (col(k, np.bool_) for k in ("dated", "located", "plain"))
        self._ms, self._time_ok = col("ms", np.int64), col("time_ok", np.bool_)
        self._tid, self._src, self._long_src = col("tid", np.int64), col("src", np.int64), col("long_src", np.bool_)
        self.func = pa.StringArray.from_buffers(n, pa.py_buffer(r["func_off"]), pa.py_buffer(r["func_data"]),
                                                *validity(self.located))
        self.message = pa.StringArray.from_buffers(n, pa.py_buffer(r["msg_off"]), pa.py_buffer(r["msg_data"]))
        self.code = col("code", np.int32)
        self.distinct = pa.Array.from_buffers(pa.binary(), len(r["keys_off"]) // 4 - 1,
                                              [None, pa.py_buffer(r["keys_off"]), pa.py_buffer(r["keys_data"])])

    def times(self):
        return self._ms, self._time_ok

    def tids(self):
        has = self.tid_len > 0
        return self._long_tids(self._tid.copy(), has & (self.tid_len < 19))

    def src_lines(self) -> pa.Array:
        ok = self.located & ~self._long_src
        out = from_numpy(self._src, pa.int64(), ok)
        long = np.flatnonzero(self._long_src)
        if not len(long):
            return out
        values = self._src.copy()
        for i in long.tolist():
            n = split_funcloc(AFTER_TID.match(self.after_tid(i)).group(2))[1]
            if n is not None:
                values[i], ok[i] = n, True
        return from_numpy(values, pa.int64(), ok)


def routes(msg: pa.Array):
    """(text, easy) masks of distinct messages: read as text, or as key=value items split
    here; Python reads the others."""
    text = ~_mask(pc.match_substring_regex(msg, _MAYBE_NOT_TEXT))
    easy = ~text
    easy[easy] = _mask(pc.match_substring_regex(msg.filter(from_numpy(easy, pa.bool_())), _EASY_HEAD))
    not_easy = _NOT_EASY if _easy is not None else _NOT_EASY_ARROW
    easy[easy] = ~_mask(pc.match_substring_regex(msg.filter(from_numpy(easy, pa.bool_())), not_easy))
    return text, easy


# scalars made from buffers: a Python value handed to Arrow would make pyarrow import pandas
_KV, _NULL, _OPEN, _CLOSE, _COLON, _JOIN, _EMPTY = strings(["kv", None, '{"', '"}', '": "', '", "', ""])
_TEXT = strings(["text"])


def read_families(msgs: pa.StringArray, common: tuple):
    """(kind, [column of each common field, then the other fields' JSON; None: all null],
    python) of distinct messages of located debug and info records: text, the easy probe and
    key=value messages read here, and a mask of the others (kind null), for families.py."""
    n = len(msgs)
    if _easy is not None:
        way, kind, cols = _scanned(msgs, common)
        return kind, cols, way == 2
    text, easy = routes(msgs)
    kind = _TEXT.take(int64s(np.zeros(n, np.int64)))
    cols = [None] * (len(common) + 1)
    if easy.any():
        mask = from_numpy(easy, pa.bool_())
        e_kind, e_common, e_fields = _vectorised_easy(msgs.filter(mask), common)
        kind = pc.replace_with_mask(kind, mask, e_kind)
        for j, c in enumerate(e_common + [e_fields]):
            if c is not None:
                cols[j] = pc.replace_with_mask(pa.nulls(n, pa.string()), mask, c)
    return kind, cols, ~text & ~easy


def _scanned(msgs: pa.StringArray, common: tuple):
    """(routes: 0 text, 1 read here, 2 Python's; kind; [common columns, fields], None where all
    are null) of messages in one pass (_tablescan.easy)."""
    n = len(msgs)
    _, offsets, data = msgs.buffers()
    way, kind, fields, cols = _easy(offsets, data if data is not None else b"", msgs.offset, n,
                                    tuple(c.encode() for c in common))

    def column(c):
        off, text, valid, _ = c
        bitmap, nulls = validity(np.frombuffer(valid, np.bool_))
        return pa.StringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(text), bitmap, nulls)

    return np.frombuffer(way, np.uint8), column(kind), [None if c[3] == n else column(c) for c in cols + [fields]]


def _vectorised_easy(msgs: pa.Array, common: tuple):
    """(kind, [column of each common field or None], fields JSON) of easy messages, with
    Arrow and NumPy (without a C compiler): the kind is the probe's name or 'kv'; of a key
    given twice the first value counts."""
    n = len(msgs)
    msgs = msgs if msgs.offset == 0 else pa.concat_arrays([msgs])
    probe = _mask(pc.match_substring_regex(msgs, "^" + _PROBE_NAME))
    # a probe's name and its body, cut at the first ': ' (the name has none)
    head = np.where(probe, _np(pc.find_substring(msgs, ": "), np.int32), 0)
    name, _, body = _cut_at(msgs, head, np.where(probe, 2, 0))
    kind = pc.if_else(from_numpy(probe, pa.bool_()), name, _KV)
    items, parent = _items(body)
    keys, values = _cut_at_first(items, "=")
    codes = pc.dictionary_encode(keys)
    names = codes.dictionary.to_pylist()
    code = _np(codes.indices, np.int32).astype(np.int64)
    # the items that repeat a key of their record (a later value does not count)
    pair = parent * len(names) + code
    order = np.argsort(pair, kind="stable")
    srt = pair[order]
    use = np.ones(len(code), bool)
    use[order[1:][srt[1:] == srt[:-1]]] = False
    cols = []
    for c in common:
        at = np.flatnonzero(use & (code == names.index(c))) if c in names else ()
        if not len(at):
            cols.append(None)
            continue
        idx = np.zeros(n, np.int64)
        has = np.zeros(n, bool)
        idx[parent[at]] = at
        has[parent[at]] = True
        use[at] = False
        cols.append(values.take(from_numpy(idx, pa.int64(), has)))
    # the other fields as JSON, {"key": "value", ...} in their order with json.dumps' spacing
    # and escapes (printable ASCII and line ends: backslash, quote, CR and LF need them)
    at = int64s(np.flatnonzero(use))
    keys, values = keys.take(at), values.take(at)
    if pc.any(pc.match_substring_regex(msgs, _TO_ESCAPE)).as_py():
        odd = pc.match_substring_regex(values, _TO_ESCAPE)
        esc = values.filter(odd)
        for raw, escaped in _JSON_ESCAPES:
            esc = pc.replace_substring(esc, raw, escaped)
        values = pc.replace_with_mask(values, odd, esc)
    pieces = pc.binary_join_element_wise(keys, _COLON, values, _EMPTY)
    at = _np(at, np.int64)
    count = np.bincount(parent[at], minlength=n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(count, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(from_numpy(offsets, pa.int32()), pieces), _JOIN)
    fields = pc.if_else(from_numpy(count > 0, pa.bool_()),
                        pc.binary_join_element_wise(_OPEN, joined, _CLOSE, _EMPTY), _NULL)
    return kind, cols, fields


def _cut_at(strs: pa.StringArray, at: np.ndarray, width):
    """Each string cut in three: before `at`, `width` characters there, the rest."""
    strs = strs if strs.offset == 0 else pa.concat_arrays([strs])
    n = len(strs)
    off = np_offsets(strs)
    cuts = np.empty(3 * n + 1, np.int32)
    cuts[0::3] = off
    cuts[1::3] = off[:-1] + at
    cuts[2::3] = off[:-1] + at + width
    thirds = pa.StringArray.from_buffers(3 * n, pa.py_buffer(cuts), strs.buffers()[2])
    return tuple(thirds.take(int64s(np.arange(k, 3 * n, 3))) for k in range(3))


def _cut_at_first(items: pa.Array, sep: str):
    """(before, after) the first `sep` (one character, in every item) of each item."""
    before, _, after = _cut_at(items, _np(pc.find_substring(items, sep), np.int32), 1)
    return before, after


def np_offsets(arr: pa.Array) -> np.ndarray:
    """The int32 offsets of a string or binary array (a view, its own n + 1)."""
    return np.frombuffer(arr.buffers()[1], np.int32, count=len(arr) + 1, offset=arr.offset * 4)


def _items(body: pa.Array):
    """The key=value items of easy bodies (each starts with a key) and the body each comes
    from: cut at every separator followed by a key, as Python's reader cuts them."""
    # bodies whose only white space is single blanks: cut at blanks, then glue the words of
    # a value back together (cheaper than marking separators with a regular expression)
    odd = _mask(pc.match_substring_regex(body, _ODD_SPACE))
    words = pc.split_pattern(body.filter(from_numpy(~odd, pa.bool_())), " ")
    word = pc.list_flatten(words)
    home = np.flatnonzero(~odd)[_np(pc.list_parent_indices(words), np.int64)]
    starts = _mask(pc.match_substring_regex(word, "^" + _BARE_KEY))
    first = np.ones(len(home), bool)
    first[1:] = home[1:] != home[:-1]
    # "current" before a key: the item starts there ("current job=none" is one key)
    current = _mask(pc.equal(word, _CURRENT))
    before_key = np.zeros(len(home), bool)
    before_key[:-1] = starts[1:] & ~first[1:]
    current &= before_key
    starts[1:][current[:-1]] = False
    starts |= current | first
    at = np.flatnonzero(starts)
    bounds = np.append(at, len(home)).astype(np.int32)
    items = pc.binary_join(pa.ListArray.from_arrays(from_numpy(bounds, pa.int32()), word), _BLANK)
    parent = home[at]
    # a comma before the blank that separates two items belongs to the separator
    more = np.zeros(len(at), bool)
    more[:-1] = parent[1:] == parent[:-1]
    comma = more & _mask(pc.ends_with(items, ","))
    if comma.any():
        cut = from_numpy(comma, pa.bool_())
        items = pc.replace_with_mask(items, cut, pc.utf8_slice_codeunits(items.filter(cut), 0, -1))
    if not odd.any():
        return items, parent
    # the others (line ends, runs of blanks): mark each separator with RE2, cut there
    rest = pc.split_pattern(pc.replace_substring_regex(body.filter(from_numpy(odd, pa.bool_())), _SEP_AT,
                                                       _MARK + r"\1"), _MARK)
    rest_parent = np.flatnonzero(odd)[_np(pc.list_parent_indices(rest), np.int64)]
    parent = np.concatenate([parent, rest_parent])
    order = np.argsort(parent, kind="stable")
    return pa.concat_arrays([items, pc.list_flatten(rest)]).take(int64s(order)), parent[order]


_CURRENT = strings(["current"])[0]
_ODD_SPACE = r"\s\s|[\r\n]|^ | $"
_BARE_KEY = r"[A-Za-z_][\w.\-]*="
_BLANK = strings([" "])[0]
_TO_ESCAPE = r'[\\"\r\n]'
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"))
