"""The compiled field scanner (loganalyzer._fieldscan) finds journald's values where json.loads
and formats.export_fields find them, on every item of the real journal captures; and the fast
route gives the reference route's analysis with it as with the Arrow searches it stands in for
(which still read a block it does not, and every block where it is not built)."""
from __future__ import annotations

import glob
import json
import lzma
import os

import pytest

import loganalyzer.wrapfilter as wrapfilter
from loganalyzer import fieldscan, formats
from loganalyzer.fieldscan import KEYS

from test_prefilter import _dict

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
# the real captures of `journalctl -o json` and `-o export` (one object a line; pretty, seq and
# sse are other forms): one daemon's journal, two hosts' and a whole journal of many programs
JOURNALS = sorted(p for p in glob.glob(os.path.join(SAMPLES, "*", "*.json.xz")) + glob.glob(os.path.join(SAMPLES, "*", "*.export.xz"))
                  if not any(w in os.path.basename(p) for w in ("pretty", "seq", "sse")))
_ids = {"ids": lambda p: "/".join(p.split(os.sep)[-2:])}
TEXT, ESCAPED, NULL, ARRAY, SCALAR, RAW = range(1, 7)
SENT, RECEIVED = KEYS.index(b"_SOURCE_REALTIME_TIMESTAMP"), KEYS.index(b"__REALTIME_TIMESTAMP")


def test_the_scanner_is_built():
    # (setup.py builds it when the package is installed, `pip install -e .` into the tree;
    # without it every journal block takes the Arrow route, slower)
    assert fieldscan.available(), "loganalyzer._fieldscan is not built: pip install -e . needs gcc"


def _scan(data: bytes, export: bool, expect: dict, fields: bool = False):
    """The scan's arrays as NumPy (and, fields: every item's fields as _fieldscan.entries reads them)."""
    import numpy as np
    starts, lines, spans, kinds, own, secs, odd = fieldscan._scan(
        data, KEYS, [expect.get(k) for k in KEYS], export, SENT, RECEIVED)[:7]
    off = np.frombuffer(starts, np.int64)
    n = len(off) - 1
    out = (off, np.frombuffer(lines, np.int64), np.frombuffer(spans, np.int64).reshape(n, len(KEYS), 2),
           np.frombuffer(kinds, np.uint8).reshape(n, len(KEYS)), np.frombuffer(own, np.uint8),
           np.frombuffer(secs, np.int64), odd)
    if fields:
        out += (fieldscan._entries(data, spans, kinds, fieldscan.NAMES, list(range(n)), fieldscan._json_value),)
    return out


def _seconds(obj: dict) -> int:
    v = obj.get("_SOURCE_REALTIME_TIMESTAMP", obj.get("__REALTIME_TIMESTAMP"))
    return int(v) // 10**6 if isinstance(v, str) and len(v) == 16 and v.isdigit() else -1


def _expect(objs) -> dict:
    """The values of the first libvirt daemon entry, as expected values."""
    first = next(o for o in objs if "LIBVIRT_SOURCE" in o)
    return {b"_PID": first["_PID"].encode(), b"_TRANSPORT": b"journal", b"_HOSTNAME": first["_HOSTNAME"].encode()}


def _is_own(obj, expect) -> bool:
    return all(obj.get(k.decode()) == v.decode() for k, v in expect.items())


@pytest.mark.parametrize("path", [p for p in JOURNALS if p.endswith(".json.xz")], **_ids)
def test_json_values_are_where_json_loads_finds_them(path):
    data = lzma.open(path).read()
    lines = data.split(b"\n")[:-1]
    objs = [json.loads(ln) for ln in lines]
    expect = _expect(objs)
    off, _, span, kind, own, secs, odd, fields = _scan(data, False, expect, fields=True)
    # (every item of these captures is one flat object: strings, nulls and byte arrays)
    assert odd == 0 and len(off) == len(lines) + 1
    for i, obj in enumerate(objs):
        assert off[i + 1] - off[i] == len(lines[i]) + 1
        for k, key in enumerate(KEYS):
            v = obj.get(key.decode(), ...)
            raw = data[span[i, k, 0]:span[i, k, 1]].decode()
            if v is ...:
                assert kind[i, k] == 0
            elif v is None:
                assert kind[i, k] == NULL
            elif isinstance(v, list):
                assert kind[i, k] == ARRAY and json.loads(raw) == v
            else:
                assert kind[i, k] == (ESCAPED if "\\" in raw else TEXT) and json.loads('"' + raw + '"') == v
        assert own[i] & 1 == _is_own(obj, expect)
        assert secs[i] == _seconds(obj)
        assert fields[i] == {k: obj[k] for k in fieldscan.NAMES if k in obj}
    assert own.any() and kind[:, KEYS.index(b"MESSAGE")].max() >= ESCAPED


@pytest.mark.parametrize("path", [p for p in JOURNALS if p.endswith(".export.xz")], **_ids)
def test_export_values_are_where_export_fields_finds_them(path):
    data = lzma.open(path).read()
    text = data.decode("latin-1")
    entries, pos = [], 0
    while pos < len(text):
        start, fields = pos, {}
        while text[pos] != "\n":        # each field as the reference route reads it
            name, value, pos = formats._export_field(text, pos, text.find("\n", pos))
            fields[name] = value
        entries.append((start, fields))
        pos += 1
    objs = [fields for _, fields in entries]
    expect = _expect(objs)
    off, lines, span, kind, own, secs, odd, read = _scan(data, True, expect, fields=True)
    assert odd == 0 and len(off) == len(entries) + 1
    breaks, last = 0, 0
    for i, (start, fields) in enumerate(entries):
        breaks, last = breaks + data.count(b"\n", last, start), start
        assert off[i] == start and lines[i] == breaks
        for k, key in enumerate(KEYS):
            if key.decode() not in fields:
                assert kind[i, k] == 0
                continue
            raw = data[span[i, k, 0]:span[i, k, 1]]
            assert raw.decode("utf-8", "replace") == fields[key.decode()]
            a = span[i, k, 0]
            assert kind[i, k] == (TEXT if data[a - len(key) - 2:a] == b"\n" + key + b"=" else RAW)
        assert own[i] & 1 == _is_own(objs[i], expect)
        assert secs[i] == _seconds(objs[i])
        assert read[i] == {k: fields[k] for k in fieldscan.NAMES if k in fields}
    assert lines[-1] == data.count(b"\n") and (kind == RAW).any() and own.any()


class _Seen(dict):
    """A journal entry that notes every field read of it."""

    def __init__(self, obj, seen: set):
        super().__init__(obj)
        self.seen = seen

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)


def test_records_are_built_from_the_fields_handed_over():
    # the fast routes hand native_record formats.NATIVE_FIELDS alone: it, and the test of
    # whose record an entry is, must read no other field, and make the same record of them
    seen = set()
    ctx = formats.Context()
    for path in [p for p in JOURNALS if p.endswith(".json.xz")]:
        for n, line in enumerate(lzma.open(path, "rt"), 1):
            obj = json.loads(line)
            rec = formats.native_record(_Seen(obj, seen), n, line, ctx, path)
            wrapfilter._native_origin(_Seen(obj, seen))
            alone = {k: obj[k] for k in formats.NATIVE_FIELDS if k in obj}
            again = formats.native_record(alone, n, line, ctx, path)
            assert (rec and (rec.as_tuple(), rec.origin, rec.bad)) == (again and (again.as_tuple(), again.origin, again.bad))
    assert seen <= set(formats.NATIVE_FIELDS), seen - set(formats.NATIVE_FIELDS)


@pytest.mark.parametrize("line", [
    b'{"MESSAGE":{"nested":"object"}}',             # not one flat object
    b'{"_PID":["1","2"]}',                          # a field given twice: an array of strings
    b'{"MESS\\u0041GE":"a key spelt with an escape"}',
    b'{"MESSAGE":"no closing quote}',
    b'{"MESSAGE":"x"} trailing',
    b'{"PRIORITY":6x}',                             # a scalar json.loads refuses
    b'{"PRIORITY":}',
    b'',
    b'not json',
])
def test_json_items_it_does_not_read_are_counted(line):
    good = b'{"MESSAGE":"hi","_PID":"7"}'
    assert _scan(good + b"\n" + line + b"\n" + good + b"\n", False, {})[-1] == 1


def test_items_json_loads_refuses_are_not_read():
    # a control byte inside a string, an escape json.loads does not know: not read, flagged
    for line in (b'{"MESSAGE":"a\tb","_PID":"7"}', b'{"MESSAGE":"a\\qb","_PID":"7"}', b'{"A":"\\u12"}'):
        off, _, _, kind, own, _, odd = _scan(line + b"\n", False, {})
        assert list(off) == [0, len(line) + 1] and odd == 1 and list(own) == [2]


def test_export_that_is_not_whole_entries_is_refused():
    entry = b"__CURSOR=s\n_PID=7\nMESSAGE\n" + (3).to_bytes(8, "little") + b"a\nb\n\n"
    assert _scan(entry * 2, True, {})[-1] == 0
    for bad in (entry[:-1], entry + b"\n", entry + b"_PID=8\n\n", entry.replace(b"a\nb\n\n", b"a\nbc\n\n"),
                entry.replace((3).to_bytes(8, "little"), (1 << 40).to_bytes(8, "little"))):
        assert _scan(entry + bad, True, {})[-1] == -1


@pytest.mark.parametrize("path", [p for p in JOURNALS if "whole-journal" not in p], **_ids)
@pytest.mark.parametrize("route", ["fields", "arrow"])
def test_both_scans_give_the_reference_analysis(path, route, monkeypatch):
    # small blocks: items, silences and candidates on both sides of many block cuts
    monkeypatch.setattr(wrapfilter, "BLOCK", 1 << 16)
    reads = []
    if route == "arrow":
        monkeypatch.setattr(fieldscan, "_scan", None)
    else:
        read = fieldscan.FieldReading.read
        # (each call returns its own reading: two scan threads append to the list at once)
        monkeypatch.setattr(fieldscan.FieldReading, "read", lambda self, buf: reads.append(r := read(self, buf)) or r)
    fast = _dict([path], True)
    assert fast == _dict([path], False)
    # (the fast route was taken, block by block by the scanner when it is built)
    assert fast["inputs"][0]["format"] in ("journal-json", "journal-export")
    assert (route == "arrow") == (not reads) and all(r is not None for r in reads)


def _raw_scan(data: bytes, simd: bool, expect=None):
    """Everything the walk returns of data (read as JSON lines), SIMD or byte by byte."""
    expect = expect or {}
    return fieldscan._scan(data, KEYS, [expect.get(k) for k in KEYS], False, SENT, RECEIVED, fieldscan._FUNC,
                           fieldscan._CODE_LINE, simd)


def _json_lines():
    return [ln for p in JOURNALS if p.endswith(".json.xz") for ln in lzma.open(p).read().split(b"\n")[:-1]]


def test_the_vector_walk_reads_what_the_byte_walk_reads():
    # the quotes, backslashes and line breaks found 16 bytes at a time (SSE2) or one at a time:
    # the same items, values and numbers, on the captures shifted across the 64-byte windows
    data = b"\n".join(_json_lines()) + b"\n"
    for shift in (0, 1, 15, 16, 33, 63):
        block = b" " * shift + data
        assert _raw_scan(block, True) == _raw_scan(block, False)


_MUTATIONS = b'"\\\n{}[],: x0\x80\t'


@pytest.mark.parametrize("seed", range(4))
def test_a_line_the_walk_reads_is_what_json_loads_reads(seed):
    # lines of the captures with bytes changed into JSON's structure: each line the walk reads
    # json.loads reads too (as formats reads a line), to the same values; a line it does not
    # read is counted and flagged, alone as among the others; both walks agree
    import random
    import numpy as np
    rng = random.Random(seed)
    lines = rng.sample(_json_lines(), 300)
    mutated = []
    for ln in lines:
        b = bytearray(ln)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            b[rng.randrange(len(b))] = rng.choice(_MUTATIONS)
        mutated += bytes(b).split(b"\n")       # (a line break put in makes two lines)
    data = b"\n".join(mutated) + b"\n"
    whole = _raw_scan(data, True)
    assert whole == _raw_scan(data, False)
    func = KEYS.index(b"CODE_FUNC")
    unread, kinds = [], b""
    for ln in mutated:
        starts, _, spans, kind, own, _, odd, ids, distinct, ascii = _raw_scan(ln + b"\n", True)
        assert ascii == all(c < 128 for c in ln + b"\n") and odd == (own == b"\x02")
        line = KEYS.index(b"CODE_LINE")
        kinds += kind
        unread.append(odd)
        if odd:
            continue
        obj = json.loads(ln.decode("utf-8", "replace"))
        assert isinstance(obj, dict)
        span = np.frombuffer(spans, np.int64).reshape(len(KEYS), 2)
        for k, key in enumerate(KEYS):
            v = obj.get(key.decode(), ...)
            raw = ln[span[k, 0]:span[k, 1]].decode("utf-8", "replace")
            if v is ...:
                assert kind[k] == 0
            elif kind[k] in (TEXT, ESCAPED):
                assert json.loads('"' + raw + '"') == v and (kind[k] == ESCAPED) == ("\\" in raw)
            else:
                assert json.loads(raw) == v
        code_line = obj.get("CODE_LINE")
        odd_digits = kind[line] != TEXT or not (code_line == "" or len(code_line) <= 18 and code_line.isdigit()
                                                and code_line.isascii())
        assert bool(own[0] & 4) == (kind[line] != 0 and odd_digits)
        assert bool(own[0] & 8) == (b"\\n" in ln.replace(b"\\\\", b"")
                                    or any(isinstance(v, list) and _error_after_break(v) for v in obj.values()))
        ident = np.frombuffer(ids, np.int32)[0]
        assert (ident == 0) == (kind[func] == TEXT) and (ident < 0 or raw_name(ln, distinct) == obj["CODE_FUNC"])
    assert whole[6] == sum(unread) and 0 < sum(unread) < len(mutated) and whole[3] == kinds
    assert [o & 2 == 2 for o in whole[4]] == unread
    names = np.frombuffer(whole[8], np.int64).reshape(-1, 2)
    assert len({data[a:z] for a, z in names.tolist()}) == len(names)
    assert whole[9] == all(c < 128 for c in data)


def _error_after_break(values) -> bool:
    """As bytes (a value of more than 3 digits or below 0 is none), a line break and after it
    the word error or warning?"""
    vals = [v if isinstance(v, int) and 0 <= v <= 999 else -1 for v in values]
    if 10 not in vals:
        return False
    after = vals[vals.index(10):]
    return any(after[i:i + len(w)] == list(w) for w in (b"error", b"warning") for i in range(len(after)))


def raw_name(ln: bytes, distinct: bytes) -> str:
    import numpy as np
    a, z = np.frombuffer(distinct, np.int64)[:2]
    return ln[a:z].decode("utf-8", "replace")


@pytest.mark.parametrize("bad", [b'"_CMDLINE":"\\q"', b'"_CMDLINE":"a\tb"', b'"_CMDLINE":"\\u12G4"',
                                 b'"_CMDLINE":01', b'"_CMDLINE":1.', b'"_CMDLINE":-'])
def test_a_line_json_loads_refuses_is_foreign_text(tmp_path, bad):
    # in a field the analysis never reads: the reference route calls the line foreign text
    # (json.loads refuses it), and so must the fast route, whichever field holds it
    lines = lzma.open(next(p for p in JOURNALS if p.endswith(".json.xz"))).read().split(b"\n")[:-1]
    i = next(i for i, ln in enumerate(lines) if b'"_CMDLINE":"' in ln and b'"PRIORITY":"7"' in ln)
    lines[i] = lines[i].replace(b'"_CMDLINE":"', bad + b',"_CMDLINE_WAS":"', 1)
    path = tmp_path / "bad.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fast = _dict([str(path)], True)
    assert fast == _dict([str(path)], False) and fast["inputs"][0]["unparsed"] == 1


@pytest.mark.parametrize("field,value", [("CODE_LINE", '"x"'), ("CODE_LINE", '"12345678901234567890"'),
                                         ("CODE_FUNC", "5"), ("CODE_FUNC", '["virNetSocketNew","x"]')])
@pytest.mark.parametrize("route", ["fields", "arrow"])
def test_an_unreadable_function_or_line_is_counted_as_the_reference_route_counts_it(tmp_path, field, value, route,
                                                                                    monkeypatch):
    # in an entry the correlator does not read: the reference route counts the value it cannot
    # read in every record (bad_values), and so must the fast route, by the walk and by the
    # Arrow searches (which also read a block holding a field given twice)
    if route == "arrow":
        monkeypatch.setattr(fieldscan, "_scan", None)
    lines = lzma.open(next(p for p in JOURNALS if p.endswith(".json.xz"))).read().split(b"\n")[:-1]
    i = next(i for i, ln in enumerate(lines) if b'"CODE_FUNC":"virNetSocketNew"' in ln and b'"PRIORITY":"7"' in ln)
    lines[i] = re_sub(field, value, lines[i])
    path = tmp_path / "bad.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fast = _dict([str(path)], True)
    assert fast == _dict([str(path)], False) and fast["inputs"][0]["bad_values"] >= 1


def re_sub(field: str, value: str, line: bytes) -> bytes:
    import re
    out, n = re.subn(rb'"' + field.encode() + rb'":"[^"]*"', b'"' + field.encode() + b'":' + value.encode(), line)
    assert n == 1
    return out
