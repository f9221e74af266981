"""The compiled header scan (loganalyzer._headscan) finds the record starts the grammar's
pattern finds, and reads their stamps and thread ids as prefilter's RE2 and NumPy route does:
on every sample daemon log, and on header lines mutated at every place a header can go wrong."""
from __future__ import annotations

import glob
import io
import os
import random
import re

import numpy as np
import pytest

import loganalyzer.prefilter as prefilter
from loganalyzer.correlate.interest import INTEREST
from loganalyzer.header import RECORD_START

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
LOGS = sorted(glob.glob(os.path.join(SAMPLES, "*", "*d.log")) + glob.glob(os.path.join(SAMPLES, "*", "virsh-*.log")))


def test_the_scan_is_built():
    assert prefilter._headers is not None, "loganalyzer._headscan is not built: pip install -e . needs gcc"


def _both(buf: bytes, monkeypatch):
    compiled = prefilter.BlockScan(buf)
    with monkeypatch.context() as m:
        m.setattr(prefilter, "_headers", None)
        numpy_route = prefilter.BlockScan(buf)
    return compiled, numpy_route


def _same(a, b):
    assert a.nlines == b.nlines and a.valid_utf8 == b.valid_utf8
    assert np.array_equal(a.offsets, b.offsets)
    assert np.array_equal(a.starts, b.starts)
    assert np.array_equal(a.interest, b.interest)
    assert np.array_equal(a.has_date, b.has_date)
    assert np.array_equal(a.times[a.has_date], b.times[b.has_date])
    assert np.array_equal(a.bad, b.bad)


@pytest.mark.parametrize("path", LOGS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_same_scan_as_re2_and_numpy(path, monkeypatch):
    with open(path, "rb") as f:
        buf = f.read()
    a, b = _both(buf, monkeypatch)
    _same(a, b)
    lines = buf.decode("utf-8", "replace").split("\n")
    assert a.starts.tolist() == [i for i, ln in enumerate(lines[:a.nlines]) if RECORD_START.match(ln)]


def _mutate(line: str, rng: random.Random) -> str:
    s = list(line)
    kind = rng.randrange(9)
    if kind == 0:                   # a digit, separator or letter of the header changed
        i = rng.randrange(min(len(s), 48))
        s[i] = rng.choice("0123456789:-+. Tdx\t")
        return "".join(s)
    if kind == 1:                   # the thread id from none to 25 digits
        head, rest = line[:30], line[30:].split(": ", 1)[-1]
        tid = "".join(rng.choice("0123456789") for _ in range(rng.randrange(26)))
        return head + (tid + ": " if tid else "") + rest
    if kind == 2:                   # a date that is no real date, or at the ends of time
        y, mo, d = rng.choice([("0000", "01", "01"), ("2024", "02", "29"), ("2023", "02", "29"), ("1900", "02", "29"),
                               ("2000", "02", "29"), ("9999", "12", "31"), ("0001", "01", "01"), ("2026", "13", "01"),
                               ("2026", "00", "10"), ("2026", "04", "31"), ("2026", "12", "00")])
        return f"{y}-{mo}-{d}" + line[10:]
    if kind == 3:                   # hours, minutes, seconds and offsets out of range
        t = rng.choice(["24:00:00.000+0000", "23:60:00.000+0000", "23:59:60.000+0000", "12:00:00.000+2400",
                        "12:00:00.000-0060", "00:00:00.000-2359", "23:59:59.999+2359"])
        return line[:11] + t + line[28:]
    if kind == 4:                   # a clock stamp (no date)
        return line[11:23] + line[28:]
    if kind == 5:                   # another level word, or none
        return line.replace(" debug : ", rng.choice([" info : ", " warning : ", " errors : ", " debug: ", " : "]), 1)
    if kind == 6:                   # cut short
        return line[:rng.randrange(len(line))]
    if kind == 7:                   # bytes that are not ASCII
        return line[:40] + rng.choice(["\u00e9", "\ufffd", "\U0001F600"]) + line[40:]
    return line + "\r"


def _mutated_lines(seed: int) -> list:
    """20,000 header lines of the samples, each mutated (_mutate)."""
    rng = random.Random(seed)
    base = []
    for path in LOGS[:12]:
        with open(path, encoding="utf-8", errors="replace") as f:
            base += [ln.rstrip("\n") for ln, _ in zip(f, range(400)) if RECORD_START.match(ln)]
    return [_mutate(rng.choice(base), rng) for _ in range(20000)]


def test_mutated_headers_read_the_same(monkeypatch):
    lines = _mutated_lines(11)
    buf = "\n".join(lines).encode()
    a, b = _both(buf, monkeypatch)
    _same(a, b)
    assert a.starts.tolist() == [i for i, ln in enumerate(buf.decode().split("\n")) if RECORD_START.match(ln)]
    # (the mutations reach what they aim at: starts and not, bad stamps, long thread ids)
    assert 0 < len(a.starts) < len(lines) and len(a.bad) > 100 and (~a.has_date).sum() > 100
    # invalid UTF-8 is told as the NumPy route tells it
    _same(*_both(buf + b"\n2026-11-25 20:29:53.724+0000: 1: debug : f:1 : \xff\xfe\n", monkeypatch))


def _same_block(text: str):
    """The compiled scan's block (_headscan.rows) reads what the RE2 and NumPy route reads."""
    import loganalyzer.blockrows as blockrows
    a = blockrows.read_block(text.encode())
    b = blockrows.Block(text.encode())
    assert isinstance(a, blockrows.ScannedBlock)
    assert (a.nlines, a.newlines, a.n) == (b.nlines, b.newlines, b.n)
    for name in ("starts", "o", "nxt", "p", "level_at", "tid_len", "dated", "level", "located", "plain", "code"):
        assert np.array_equal(np.asarray(getattr(a, name), np.int64), np.asarray(getattr(b, name), np.int64)), name
    assert a.func.equals(b.func) and a.message.equals(b.message) and a.distinct.equals(b.distinct)
    (ms_a, ok_a), (ms_b, ok_b) = a.times(), b.times()
    assert np.array_equal(ok_a, ok_b) and np.array_equal(ms_a[ok_a], ms_b[ok_b])
    (tid_a, ok_a), (tid_b, ok_b) = a.tids(), b.tids()
    assert np.array_equal(ok_a, ok_b) and np.array_equal(tid_a[ok_a], tid_b[ok_b])
    assert a.src_lines().equals(b.src_lines())
    return a


@pytest.mark.parametrize("path", LOGS[::3], ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_the_event_table_blocks_read_the_same(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        assert _same_block(f.read()).n > 100


def test_mutated_event_table_blocks_read_the_same():
    rng = random.Random(5)
    lines = _mutated_lines(5)
    # and FUNC:LINE broken at every place (a missing or doubled separator, a long line number)
    for i in range(0, len(lines), 5):
        line, j = lines[i], rng.randrange(len(lines[i]) + 1)
        lines[i] = line[:j] + rng.choice([":", " :", " : ", "9" * 20 + " :", "\r", "\n", "x:", " ", "\u00e9"]) + line[j:]
    for end in ("", "\n", "\r\n"):
        blk = _same_block("\n".join(lines) + end)
        assert 1000 < int(blk.located.sum()) < blk.n and (blk.tid_len >= 19).sum() > 10


def _records_both_ways(buf: bytes, monkeypatch) -> tuple[list, list, int]:
    """The records prefilter hands the correlator from buf, with the compiled header reading
    (_headscan.heads) and Records built in C (_tablescan.records), and with parse_record alone;
    and how many were built in C."""
    from loganalyzer.correlate.build import HostCorrelator

    def fed(path):
        got = []
        hc = HostCorrelator("h")
        hc.feed = got.append
        prefilter.FastHostReader(path, stream=io.BytesIO(buf), read_ahead=False).run(hc)
        return [(r.path, r.line, r.time, r.tid, r.level, r.func, r.src_line, r.kind, r.message, r.raw, r.fields,
                 r.bad) for r in got]

    fast = []
    real = prefilter._records

    def counted(*a, **k):
        got = real(*a, **k)
        fast.extend(r for r in got if r is not None)
        return got

    with monkeypatch.context() as m:
        m.setattr(prefilter, "_records", counted)
        a = fed("x.log")
    with monkeypatch.context() as m:
        m.setattr(prefilter, "_heads", None)
        b = fed("x.log")
    return a, b, len(fast)


@pytest.mark.parametrize("path", LOGS[::2], ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_the_records_read_with_compiled_headers_are_parse_records(path, monkeypatch):
    with open(path, "rb") as f:
        buf = f.read()
    a, b, fast = _records_both_ways(buf, monkeypatch)
    assert a == b and a
    if buf.isascii():       # (warnings and errors are read by families.py's error_fields)
        assert fast > 0.8 * sum(r[4] in ("debug", "info") for r in a)


@pytest.mark.parametrize("sieve", [True, False], ids=["headers-from-the-sieve", "headers-from-heads"])
def test_mutated_records_read_with_compiled_headers_are_parse_records(sieve, monkeypatch):
    """Every header mutation (_mutate), and FUNC:LINE broken at every place, of records the
    correlator reads: the compiled reading takes the records it reads exactly, and leaves the
    others to parse_record; with the headers read by the sieve's pass, or (no sieve) by heads()."""
    if not sieve:
        monkeypatch.setattr(prefilter, "_SIEVE", ())
    rng = random.Random(7)
    base = []
    for path in LOGS:
        with open(path, encoding="utf-8", errors="replace") as f:
            base += [ln.rstrip("\n") for ln in f if INTEREST.match(ln) and RECORD_START.match(ln)]
    lines = []
    for _ in range(20000):
        line = rng.choice(base)
        if rng.random() < 0.5:
            line = _mutate(line, rng)
        else:
            j = rng.randrange(min(len(line), 120) + 1)
            line = line[:j] + rng.choice([":", " :", " : ", "9" * 20 + " :", "\r", "x:", " ", "0", "18446744073709551616"]
                                         ) + line[j:]
        lines.append(line)
        if rng.random() < 0.1:      # a further line of the record
            lines.append(rng.choice(["  more", "", "error : glued", "{\"return\": {}}\r"]))
    ascii_lines = [ln for ln in lines if ln.isascii()]
    for end in ("", "\n", "\r\n"):
        a, b, fast = _records_both_ways(("\n".join(ascii_lines) + end).encode(), monkeypatch)
        assert a == b and len(a) > 8000
        # (most took the compiled reading; some the slow way: no FUNC:LINE, long numbers,
        # stamps that are no dates)
        assert 0.5 * len(a) < fast < len(a)
    # a block with other than ASCII takes parse_record's way whole
    a, b, fast = _records_both_ways("\n".join(lines).encode(), monkeypatch)
    assert a == b and fast == 0


def test_heads_and_records_refuse_places_outside_the_block():
    from loganalyzer import compiled
    at = np.array([0], np.int64)
    for end in ([11], [-1]):
        with pytest.raises(ValueError):
            compiled.heads(b"0123456789", at, np.array(end, np.int64))
    assert compiled.heads(b"", np.empty(0, np.int64), np.empty(0, np.int64)) == b""
    # and the records built from them
    from loganalyzer.records import LEVELS, Record
    line = b"2026-11-25 20:29:53.724+0000: 7: debug : f:1 : RPC_X: a=1\n"
    heads = np.frombuffer(compiled.heads(line, at, np.array([len(line)], np.int64)), np.int64)
    cols = [at, np.array([len(line)], np.int64), heads, np.array([1.5]), np.array([3], np.int64), np.zeros(1, bool)]
    (rec,) = compiled.build_records(line, *cols, "p", Record, LEVELS)
    assert (rec.line, rec.time, rec.tid, rec.func, rec.src_line, rec.kind, rec.fields, rec.raw) == (
        3, 1.5, 7, "f", 1, "RPC_X", {"a": "1"}, line.decode())
    for k, bad in ((1, np.array([len(line) + 1], np.int64)), (2, heads[:3]), (5, np.zeros(2, bool))):
        with pytest.raises(ValueError):
            compiled.build_records(line, *cols[:k], bad, *cols[k + 1:], "p", Record, LEVELS)
    with pytest.raises(ValueError):
        compiled.build_records(line, *cols, "p", Record, LEVELS[:4])


def _interest_both(buf: bytes, monkeypatch):
    """The interesting lines of a block found with the compiled scan's sieve, and without it
    (RE2 over every line)."""
    sifted = prefilter.BlockScan(buf).interest
    with monkeypatch.context() as m:
        m.setattr(prefilter, "_SIEVE", ())
        every = prefilter.BlockScan(buf).interest
    return sifted, every


def test_the_sieve_is_built():
    from loganalyzer.correlate.interest import SIEVE
    assert SIEVE is not None and prefilter._SIEVE == SIEVE
    funcs, func_prefixes, msg_prefixes = (p.decode().split("\n") for p in SIEVE)
    assert "virKeepAliveNew" in funcs and func_prefixes == ["remoteDispatch"]
    assert "RPC_KEEPALIVE_TIMEOUT: " in msg_prefixes and "Thread " in msg_prefixes
    # (a QMP reply only where it names what the handler reads)
    assert 'QEMU_MONITOR_RECV_REPLY: \t"blocked-reasons"\t"downtime-limit"\t"ram"' in msg_prefixes


@pytest.mark.parametrize("path", LOGS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_the_sieve_keeps_every_line_re2_takes(path, monkeypatch):
    with open(path, "rb") as f:
        buf = f.read()
    sifted, every = _interest_both(buf, monkeypatch)
    assert np.array_equal(sifted, every) and len(every)


def test_the_sieve_keeps_every_mutated_line_re2_takes(monkeypatch):
    """Lines the reading list reads, and lines near them: function names and message prefixes
    cut, changed and extended, the blank after ' :' doubled or gone, levels and headers
    mutated (_mutate), glued error text."""
    from loganalyzer.correlate.interest import SIEVE
    names = [x for p in SIEVE for x in p.decode().split("\n")]
    rng = random.Random(3)
    base = []
    for path in LOGS:
        with open(path, encoding="utf-8", errors="replace") as f:
            base += [ln.rstrip("\n") for ln in f if RECORD_START.match(ln)]
    read = [ln for ln in base if INTEREST.match(ln)]
    lines = []
    for _ in range(30000):
        line = rng.choice(read if rng.random() < 0.7 else base)
        m = re.match(r"(.*? : )([A-Za-z_][A-Za-z0-9_]*)(:[0-9]+ :)( ?)(.*)", line)
        k = rng.randrange(9)
        if m is None or k == 0:
            line = _mutate(line, rng)
        elif k == 1:        # another function, named or near a named one
            name = rng.choice(names)
            name = rng.choice([name, name[:-1], name + "x", name[:rng.randrange(1, len(name) + 1)], "x" + name])
            line = m[1] + name + m[3] + m[4] + m[5]
        elif k == 2:        # a message beginning as one read, cut or changed
            text = rng.choice(names)
            j = rng.randrange(len(text) + 1)
            text = text[:j] + rng.choice(["", "x", " ", ":"]) + text[j:]
            line = m[1] + m[2] + m[3] + rng.choice(["", " ", "  "]) + text + m[5][:40]
        elif k == 3:        # the blank after ' :' doubled or gone
            line = m[1] + m[2] + m[3] + rng.choice(["", "  "]) + m[5]
        elif k == 4:        # another level
            line = m[1].replace(" debug : ", rng.choice([" info : ", " warning : ", " error : ", " unknown : "]), 1
                                ) + m[2] + m[3] + m[4] + m[5]
        elif k == 6:        # QEMU's events and replies, naming what the handlers read or nearly
            probe = rng.choice(["QEMU_MONITOR_RECV_REPLY: ", "QEMU_MONITOR_RECV_EVENT: ", "QEMU_MONITOR_RECV_REPL: "])
            held = rng.choice(['"ram"', '"downtime-limit"', '"blocked-reasons"', '"MIGRATION', '"MIGRATION_PASS"'])
            j = rng.randrange(len(held) + 1)
            held = rng.choice([held, held[:j], held[:j] + "x" + held[j:], ""])
            line = (m[1] + m[2] + m[3] + m[4] + probe + m[5][:rng.randrange(60)] + held
                    + rng.choice(["", ": 1}", "\r", " " * 3]))
        elif k == 5:        # a further line
            lines.append(line)
            line = rng.choice(["  error: x", "warning : y", "virsh error : z", "0 error: x", "{\"a\": \"warning: \"}",
                               "errors: x", "  more", ""])
        lines.append(line)
    lines += ["error: starts the line", "9 error: a digit first", "warningless", "x warning :y"]
    buf = ("\n".join(lines) + "\n").encode()
    at = 0
    while at < len(buf):                        # (blocks of whole lines)
        end = buf.rfind(b"\n", 0, at + (1 << 20)) + 1 if at + (1 << 20) < len(buf) else len(buf)
        sifted, every = _interest_both(buf[at:end], monkeypatch)
        assert np.array_equal(sifted, every) and len(every) > 1000
        at = end


def test_literal_prefixes_bound_every_match():
    from loganalyzer.correlate.interest import literal_prefixes
    assert literal_prefixes("(?:Started|Stopping) async job") == ["Started async job", "Stopping async job"]
    assert literal_prefixes("remoteDispatch(?:DomainMigrate[A-Za-z0-9]*|ConnectOpen|)Helper") == [
        "remoteDispatch", "remoteDispatchConnectOpen", "remoteDispatchDomainMigrate"]
    assert literal_prefixes('[^\\n]*"MIGRATION') is None       # (may begin with anything)
    assert literal_prefixes("a?b") is None and literal_prefixes("(?i)abc") is None
    assert literal_prefixes("ab|") is None and literal_prefixes("(") is None
    from loganalyzer.correlate.interest import held_anywhere
    assert held_anywhere('[^\\n]*"(?:ram|downtime-limit)"') == ['"downtime-limit"', '"ram"']
    assert held_anywhere("[^\\n]*x*") is None and held_anywhere("a[^\\n]*b") is None
    assert held_anywhere(".*b") is None and held_anywhere("[^\\n]+b") is None
    rng = random.Random(1)
    for pattern in ("(?:ab|cd)e[0-9]+", "x(?:y|z(?:1|2))w", "(?:RPC_(?:A|B)_|Q)x*", "Thread [0-9]+ "):
        pre = literal_prefixes(pattern)
        for _ in range(200):
            s = "".join(rng.choice("abcdexyzw12RPC_ABQThread 0") for _ in range(rng.randrange(12)))
            for text in (s, pre[rng.randrange(len(pre))] + s):
                if re.match(pattern, text):
                    assert any(text.startswith(p) for p in pre)
