"""fastpath == grammar, on every record of every sample.

Every record of every sample is checked.  The grammar's header terminals
(DATETIME, TID, LEVEL, FUNCLOC) are fixed regular expressions whose parse does
not depend on the digits of the stamp or the thread id, so the grammar runs
once per distinct "record text after the thread id" (with that record's own
stamp and tid), and every other record with the same text must give the same
level/func/line/kind/message/fields as that grammar result, plus the time and
tid read independently from its own header.  That is the same check as running
the grammar on each record, in a fraction of the time.
"""
from __future__ import annotations

import random
import re
from datetime import datetime, timezone

import pytest
from conftest import excerpt_files, sample_logs

from loganalyzer.families import parse_message
from loganalyzer.fastpath import parse_record
from loganalyzer.grammar import parse_message_with_grammar, parse_with_grammar
from loganalyzer.header import RECORD_START
from loganalyzer.records import stamp_to_epoch

_AFTER_TID = re.compile(r"(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: |\d\d:\d\d:\d\d\.\d{3}: )(?:(\d+): )?")


def _records(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    starts = [m.start() for m in RECORD_START.finditer(text)] + [len(text)]
    for a, b in zip(starts, starts[1:]):
        rec = text[a:b]
        if rec.endswith("\n"):
            rec = rec[:-1]
            if rec.endswith("\r"):
                rec = rec[:-1]
        yield rec


def _epoch(stamp: str) -> float:
    dt = datetime.strptime(stamp[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return dt.timestamp() - (1 if stamp[23] == "+" else -1) * (int(stamp[24:26]) * 3600 + int(stamp[26:28]) * 60)


def test_samples_present():
    assert len(sample_logs()) >= 20


SHARDS = 4      # (the samples in four parts: one test of them all took 70 s of one worker)


@pytest.mark.parametrize("shard", range(SHARDS))
def test_fastpath_equals_grammar_on_every_record(shard):
    seen: dict = {}
    n = 0
    bad = []
    for path in sample_logs()[shard::SHARDS]:
        for rec in _records(path):
            n += 1
            fast = parse_record(rec)
            m = _AFTER_TID.match(rec)
            key = rec[m.end():]
            want = seen.get(key)
            if want is None:
                g = parse_with_grammar(rec)
                assert g is not None, rec[:200]
                stamp = g[0]
                t = stamp_to_epoch(stamp) if stamp and len(stamp) > 12 else None
                assert (fast.time, fast.tid) == (t, g[1]), (path, rec[:200])
                want = seen[key] = g[2:]
            else:
                t = _epoch(rec[:28]) if rec[4] == "-" else None
                tid = int(m.group(1)) if m.group(1) else None
                if fast.time is not None and t is not None:
                    assert abs(fast.time - t) < 1e-6, rec[:120]
                else:
                    assert fast.time == t
                assert fast.tid == tid
            got = (fast.level, fast.func, fast.src_line, fast.kind, fast.message, fast.fields)
            if got != tuple(want):
                bad.append((str(path), rec[:200], got[3], want[3]))
    assert n > 200_000 // SHARDS // 2      # (400k records in all)
    assert not bad, bad[:5]


def _distinct_messages():
    msgs = {}
    for path in sample_logs():
        for rec in _records(path):
            r = parse_record(rec, with_fields=False)
            msgs.setdefault(r.message, r.kind)
    return msgs


def test_parse_message_equals_grammar():
    """parse_message (journald/KubeVirt/syslog bodies) takes the grammar's message
    rule: every non-kv message of the samples, the first 30 of each probe name,
    2000 seeded-random kv messages, and the excerpts' messages, at both levels."""
    msgs = _distinct_messages()
    by_kind: dict = {}
    for msg, kind in msgs.items():
        by_kind.setdefault(kind, []).append(msg)
    chosen = []
    for kind, lst in sorted(by_kind.items()):
        if kind == "kv":
            chosen += random.Random(7).sample(sorted(lst), min(2000, len(lst)))
        elif kind.isupper():
            chosen += sorted(lst)[:30]
        else:
            chosen += lst
    chosen += ["", " ", "internal error: ", "internal error: x", "a=1 current job=none b=2",
               'params["x y=z"]=(string)1, b=2', "Thread 12 (rpc-virtqemud) is now running job remoteDispatchX",
               "Setting 'migration out' phase to 'begin3'", "libvirt version: 9.0.0"]
    for level in ("debug", "error"):
        for msg in chosen:
            g = parse_message_with_grammar(msg, level)
            assert g[1] == msg
            assert parse_message(level, msg) == (g[0], g[2]), (level, msg[:200])


@pytest.mark.parametrize("path", excerpt_files(), ids=lambda p: p.parent.name)
def test_fastpath_equals_grammar_on_excerpt_records(path):
    """Every excerpt record: a libvirt record in its raw text (pasted, syslog-wrapped)
    parses the same with the grammar; a bare message (journal, KubeVirt) the same
    with the grammar's message rule."""
    from loganalyzer.header import RECORD_ANYWHERE
    from loganalyzer.reader import LogReader
    for rec in LogReader(str(path), with_fields=True):
        text = rec.raw.rstrip("\n")
        m = RECORD_ANYWHERE.search(text)
        if m is not None:
            g = parse_with_grammar(text[m.start():].rstrip("\r"))
            assert (rec.level, rec.func, rec.src_line, rec.kind, rec.message, rec.fields) == tuple(g[2:])
        elif rec.kind not in ("version", "hostname"):
            g = parse_message_with_grammar(rec.message, rec.level)
            assert (rec.kind, rec.message, rec.fields) == g


def test_lazy_fields_equal_eager():
    rec = "2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30"
    lazy = parse_record(rec, with_fields=False)
    assert lazy._fields is None
    assert lazy.fields == parse_record(rec).fields
