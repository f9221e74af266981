"""The compiled event-table parts (loganalyzer._tablescan): the key=value columns of easy
messages read as families.py reads them (and as the Arrow route does), on every sample's
messages and on mutated ones; the index of known messages finds what was added, forgets
what it is told to, and refuses offsets outside its data."""
from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from conftest import sample_logs

from loganalyzer import blockrows, families
from loganalyzer.arrays import from_numpy
from loganalyzer.families import classify
from loganalyzer.rows import COMMON, KnownMessages, fields_tail


def test_the_table_scan_is_built():
    assert blockrows._easy is not None, "loganalyzer._tablescan is not built: pip install -e . needs gcc"


def _easy_messages(msgs: pa.Array) -> pa.Array:
    _, easy = blockrows.routes(msgs)
    return msgs.filter(from_numpy(easy, pa.bool_()))


def _rows(cols) -> list:
    kind, common, fields = cols
    n = len(kind)
    per = [c.to_pylist() if c is not None else [None] * n for c in common]
    return list(zip(kind.to_pylist(), *per, fields.to_pylist()))


def _sample_messages() -> list:
    out = []
    for path in sample_logs():
        blk = blockrows.read_block(path.read_text(encoding="utf-8", errors="replace").encode())
        if blk.n:       # (the plain records' keys: their messages)
            out += [k.decode() for k in blk.distinct.to_pylist() if k[:1] != bytes([blockrows.OTHER])]
    return out


EVERY_MESSAGE = _sample_messages()
MESSAGES = _easy_messages(pa.array(EVERY_MESSAGE, pa.string())).to_pylist()
PIECES = [" ", "  ", ",", ", ", ",\n", "\n", "\r\n", "=", "current ", "current", " current job=x", " client=0x1",
          " ka=", " x=1 x=2", "(", "[", "'", "a", " _k.v-1=", "\\", '"', " =", "\r", " 1=2", " client=9 client=8",
          "(VM: ", " \t", " (VM: name=vm1, uuid=4a-F0)", ", (VM: name=a, b=c, uuid=1)", "(VM: name=x", ", uuid=",
          ", uuid=9)", ")", " domain=d", " uuid=u"]


def _mutated(rng: random.Random, n: int) -> list:
    out = []
    for _ in range(n):
        m = rng.choice(MESSAGES)
        for _ in range(rng.randrange(4)):
            j = rng.randrange(len(m) + 1)
            m = m[:j] + rng.choice(PIECES) + m[j:]
        out.append(m)
    return out


def _compiled_easy(msgs: pa.Array):
    """(kind, common columns, fields) of easy messages by the compiled reader, which must
    route every one of them as read there (1)."""
    way, kind, cols = blockrows._scanned(msgs, COMMON)
    assert (way == 1).all()
    fields = cols.pop()
    return kind, cols, fields if fields is not None else pa.nulls(len(msgs), pa.string())


def _check(messages: list) -> int:
    msgs = _easy_messages(pa.array(messages, pa.string()))
    got = _rows(_compiled_easy(msgs))
    # (the Arrow route leaves (VM: ...) groups to Python)
    arrow = np.array(["(VM: " not in m for m in msgs.to_pylist()], bool)
    plain = msgs.filter(from_numpy(arrow, pa.bool_()))
    assert [g for g, a in zip(got, arrow) if a] == _rows(blockrows._vectorised_easy(plain, COMMON))
    for m, row in zip(msgs.to_pylist(), got):
        kind, fields = classify(m)
        assert row == (kind,) + fields_tail(fields), m
    return len(msgs)


def test_sample_messages_read_as_families_reads_them():
    assert len(MESSAGES) > 50_000
    some = random.Random(0).sample(MESSAGES, 30_000)      # (every one: 6 s)
    assert _check(some) == len(some)


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_messages_read_as_families_reads_them(seed):
    assert _check(_mutated(random.Random(seed), 15_000)) > 8_000


def test_many_items_and_keys_given_twice():
    # (over 32 items the first of each key is found by sorting)
    msgs = ["a=1 " + " ".join(f"k{i % 50}={i}" for i in range(n)) + " client=3 client=4" for n in (10, 40, 200, 3000)]
    assert _check(msgs + ["PROBE_NAME: " + m for m in msgs]) == 8


def test_an_array_with_an_offset_reads_its_own_rows():
    msgs = _easy_messages(pa.array(MESSAGES[:500], pa.string()))
    part = msgs.slice(123, 200)
    assert _rows(_compiled_easy(part)) == _rows(_compiled_easy(msgs))[123:323]


def test_known_messages_find_add_and_forget():
    known = KnownMessages()
    texts = pa.array([f"message {i % 5000} x" for i in range(12_000)], pa.string()).slice(1000)
    rows = known.find(texts)
    assert (rows == -1).all() and len(known) == 0
    first = np.unique(np.array([hash(t) for t in texts.to_pylist()]), return_index=True)[1]
    first.sort()
    known.add(texts, first)
    assert len(known) == 5000
    rows = known.find(texts)
    assert (rows >= 0).all()
    assert [texts[int(first[r])].as_py() for r in rows[:50]] == texts.to_pylist()[:50]
    # forget every other row: the others renumbered in order
    new_row = np.where(np.arange(5000) % 2 == 0, np.arange(5000) // 2, -1)
    known.keep(new_row)
    again = known.find(texts)
    assert len(known) == 2500
    assert np.array_equal(again, np.where(rows % 2 == 0, rows // 2, -1))


def test_the_index_refuses_what_is_not_its_data():
    index = KnownMessages()._index
    with pytest.raises(ValueError):
        index.find(np.array([0, 10], np.int32).tobytes(), b"abc", 0, 1)
    with pytest.raises(ValueError):
        index.keep(np.array([1], np.int64).tobytes())
    with pytest.raises(IndexError):
        index.add(np.array([0, 3], np.int32).tobytes(), b"abc", 0, 1, np.array([5], np.int64).tobytes())


HEADS = ["Thread ", "Starting job", "Started async job", "Stopping agent job", "Waiting for nested job",
         "Waiting for job", "Starting phase '", "Setting '", "(VM: ", "current ", "current x=", "x[", "_a=",
         "A_B: ", "A_B: x=", "A__B: x=", "A_: x=", "9a=", "a =", "a\u00e9=", "a=\"", "a='", "\x0b", "\t"]


def test_routes_are_the_arrow_routes():
    """Which messages are text, read here, or Python's: the compiled reader decides as
    blockrows.routes does with RE2, on every sample's distinct messages and mutated heads,
    except that it also reads what RE2 cannot (a quote after '=', which the grammar's KEY
    refuses by a lookahead; job lines), which the tests below hold to families.py."""
    rng = random.Random(3)
    msgs = list(EVERY_MESSAGE)
    for _ in range(20_000):
        m = rng.choice(EVERY_MESSAGE)
        cut = rng.randrange(min(len(m), 12) + 1)
        msgs.append(rng.choice(HEADS) + m[cut:] if rng.random() < 0.7 else m[:cut] + rng.choice(PIECES) + m[cut:])
    arr = pa.array(msgs, pa.string())
    text, easy = blockrows.routes(arr)
    way = blockrows._scanned(arr, COMMON)[0]
    want = np.where(text, 0, np.where(easy, 1, 2))
    more = (want == 2) & (way == 1)
    assert np.array_equal(np.where(more, 2, way), want), [msgs[i] for i in np.flatnonzero(way != want)[:5]]
    assert (want == 0).sum() > 1000 and (want == 1).sum() > 1000 and (way == 2).sum() > 1000
    read = [msgs[i] for i in np.flatnonzero(more)]
    assert any(m.startswith("Starting job") for m in read) and any("='" in m for m in read)


def test_read_families_gives_what_families_reads():
    """Every message of the mixed pool: text and easy ones as families.py reads them, the
    rest marked for Python."""
    rng = random.Random(4)
    msgs = [rng.choice(HEADS) + m if rng.random() < 0.3 else m for m in rng.sample(EVERY_MESSAGE, 20_000)]
    kind, cols, python = blockrows.read_families(pa.array(msgs, pa.string()), COMMON)
    got = _rows((kind, cols[:-1], cols[-1] if cols[-1] is not None else pa.nulls(len(msgs), pa.string())))
    for m, row, py in zip(msgs, got, python):
        if py:
            assert row[0] is None
            continue
        k, fields = classify(m)
        assert row == (k,) + fields_tail(fields if k != "text" else {}), m


JOB_PIECES = [" (vm=", " (async=", "(vm=", "(", ")", ": ", " job", ":", "current ", " current job=x", ",", ", ", "  ",
              "=", " a=", "'", '"', '="', "='", ' x["k"]=1', "\n", " API=x", " (VM: name=a, uuid=1)", " name=", "\t"]


def _job_lines() -> list:
    """Every sample's job lines and mutations of them."""
    jobs = [m for m in EVERY_MESSAGE if families._JOB_VERB.match(m)]
    rng = random.Random(8)
    out = list(jobs)
    for _ in range(30_000):
        m = rng.choice(jobs)
        for _ in range(rng.randrange(1, 4)):
            j = rng.randrange(len(m) + 1)
            m = m[:j] + rng.choice(JOB_PIECES) + m[j:]
        out.append(m)
    return out


def test_job_lines_and_quoted_values_read_as_families_reads_them():
    """The messages the compiled reader reads beyond RE2's routes (job lines, a value with a
    quote after '='), in the table's columns and as fields(): classify's kind and fields."""
    from loganalyzer._tablescan import fields
    rng = random.Random(9)
    quoted = [m[:j] + rng.choice(["='x'", '="y"', " a='1 b=2'", " k='", '=""']) + m[j:]
              for m in rng.sample(MESSAGES, 10_000) for j in [rng.randrange(len(m) + 1)]]
    msgs = _job_lines() + quoted
    way, kind, cols = blockrows._scanned(pa.array(msgs, pa.string()), COMMON)
    fields_col = cols.pop()
    got = _rows((kind, cols, fields_col if fields_col is not None else pa.nulls(len(msgs), pa.string())))
    read = {"job": 0, "kv": 0}
    for m, w, row in zip(msgs, way, got):
        one = fields(m)
        if w == 0:
            assert classify(m) == ("text", {}) and one == ("text", {}), m
            continue
        if w == 2:
            assert one is None, m
            continue
        k, f = classify(m)
        assert row == (k,) + fields_tail(f), m
        assert (one[0], list(one[1].items())) == (k, list(f.items())), m
        read[k] = read.get(k, 0) + 1
    assert read["job"] > 10_000 and read["kv"] > 3_000, read


def test_one_message_read_as_classify_reads_it():
    """_tablescan.fields (families.located's compiled route) gives classify's kind and fields,
    in their order, for every message it reads, and leaves the others to classify."""
    from loganalyzer._tablescan import fields
    rng = random.Random(6)
    msgs = EVERY_MESSAGE + _mutated(rng, 10_000) + [rng.choice(HEADS) + m for m in rng.sample(EVERY_MESSAGE, 5000)]
    read = 0
    for m in msgs:
        got = fields(m)
        if got is None:
            continue
        read += 1
        kind, f = classify(m)
        assert (got[0], list(got[1].items())) == (kind, list(f.items())), m
    assert read > len(msgs) // 2


def test_located_without_a_compiler_is_the_same(monkeypatch):
    from loganalyzer import families
    msgs = random.Random(7).sample(EVERY_MESSAGE, 3000)
    fast = [families.located("debug", m, w) for m in msgs for w in (True, False)]
    monkeypatch.setattr(families, "_read_fields", None)
    assert fast == [families.located("debug", m, w) for m in msgs for w in (True, False)]


def test_gather_takes_what_arrow_takes():
    """_tablescan.gather (the known messages' columns spread over a block's records) gives
    Arrow's take, nulls and all, and refuses rows and offsets outside the columns."""
    from loganalyzer._tablescan import gather
    from loganalyzer.arrays import GrowingStrings
    from loganalyzer.rows import _per_record
    rng = random.Random(10)
    store = [GrowingStrings(16, 4) for _ in range(3)]
    for _ in range(5):          # (grown past their first buffers)
        k = rng.randrange(1, 400)
        values = [[None if rng.random() < p else rng.choice(MESSAGES)[:rng.randrange(40)] for _ in range(k)]
                  for p in (0.0, 0.5, 1.0)]
        for column, v in zip(store, values):
            column.extend(pa.array(v, pa.string()))
    n = store[0].n
    at = np.array([rng.randrange(n) for _ in range(5000)], np.int64)
    got = _per_record(store, np.unique(at), at)
    want = [c.array().take(pa.array(at)) for c in store]
    assert [g.to_pylist() for g in got] == [w.to_pylist() for w in want]
    assert got[2].null_count == len(at) and got[1].null_count not in (0, len(at))
    for g in got:
        g.validate(full=True)
    with pytest.raises(IndexError):
        gather(np.array([n], np.int64), [c.buffers() for c in store])
    off, data, valid, rows = store[0].buffers()
    with pytest.raises(ValueError):
        gather(np.array([0], np.int64), [(off, data[:1], valid, rows)])
