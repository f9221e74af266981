"""Issue 15, item 8, JSON forms: one bad JSON line or field sinks nothing.

journalctl -o json lines are made here from the real keepalive records of
p2p-keepalive-timeout/src-libvirtd.log (field names as journald writes them, see
test_formats.py); KubeVirt lines from the real virt-launcher excerpt.  A field that is
present but cannot be read (a time of 400 digits or before 1970, a thread of Infinity, a
function name that is a number, a line number of 30 digits) is left empty and counted;
a line nested too deep to parse is counted as unparsed text; everything else is read.
"""
from __future__ import annotations

import json

import pyarrow as pa
import pytest
from conftest import SAMPLES, run_cli

from loganalyzer.analysis import analyze
from loganalyzer.frame import iter_event_tables, write_frames
from loganalyzer.reader import LogReader
from loganalyzer.records import Foreign

KA_SRC = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
KV_EXCERPT = SAMPLES / "excerpts" / "kubevirt-18147-dest-abort-libvirt-subcomponent" / "virt-launcher-excerpt.jsonl"


def sample_line(n: int) -> str:
    return KA_SRC.read_text().split("\n")[n - 1]


def journal_entry(n: int) -> dict:
    """Line n of the sample as journald stores it (libvirt's journal output fields)."""
    head, func_line, msg = sample_line(n).split(" : ", 2)
    func, line = func_line.split(":")
    stamp = head.split(": ")[0]
    from loganalyzer.values import stamp_to_epoch
    return {"__REALTIME_TIMESTAMP": str(round(stamp_to_epoch(stamp) * 1e6)), "PRIORITY": "6",
            "_PID": "13681", "_COMM": "libvirtd", "CODE_FUNC": func, "CODE_LINE": line,
            "LIBVIRT_SOURCE": "rpc.keepalive", "MESSAGE": msg}


DEATH = 6280        # RPC_KEEPALIVE_TIMEOUT ... countToDeath=0 idle=30
TICK = 5251         # RPC_KEEPALIVE_TIMEOUT ... countToDeath=3 idle=15


def warning(path, line, what, n=1):
    return (f"{path}: line {line}: {what}: the value is left empty and the record kept "
            f"({n} record{'s' if n > 1 else ''} with a value that cannot be read)")


JOURNAL_CASES = {
    # case: (field, bad value, the warning's words, the record attribute left empty)
    "time-400-digits": ("__REALTIME_TIMESTAMP", "9" * 400,
                        "__REALTIME_TIMESTAMP '999999999999999999999999'... cannot be read", "time"),
    "time-past-9999": ("__REALTIME_TIMESTAMP", "9" * 20,
                       "__REALTIME_TIMESTAMP '99999999999999999999' cannot be read", "time"),
    "time-negative": ("__REALTIME_TIMESTAMP", "-1795638593724000",
                      "__REALTIME_TIMESTAMP '-1795638593724000' cannot be read", "time"),
    "func-a-number": ("CODE_FUNC", 126, "CODE_FUNC '126' cannot be read", "func"),
    "func-a-list": ("CODE_FUNC", ["virKeepAliveTimerInternal"], "CODE_FUNC 'list' cannot be read", "func"),
    "line-30-digits": ("CODE_LINE", "9" * 30, "CODE_LINE '999999999999999999999999'... cannot be read",
                       "src_line"),
}


def _read(path):
    r = LogReader(str(path))
    items = list(r.items())
    assert "".join(i.raw for i in items) == path.read_text()      # nothing dropped
    return r, [i for i in items if not isinstance(i, Foreign)]


def _table(path):
    facts = []
    tbl = pa.concat_tables(list(iter_event_tables([str(path)], facts_out=facts)))
    return tbl, facts[0]


@pytest.mark.parametrize("case", list(JOURNAL_CASES))
def test_journal_json_bad_field(tmp_path, case):
    field, value, what, empty = JOURNAL_CASES[case]
    good, bad = journal_entry(TICK), journal_entry(DEATH)
    bad[field] = value
    p = tmp_path / "src-journal.json"
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    r, (tick, death) = _read(p)
    assert r.facts.format == "journal-json"
    assert (r.facts.records, r.facts.unparsed, r.facts.bad_values) == (2, 0, 1)
    assert r.facts.warnings == [warning(p, 2, what)]
    assert tick.bad is None and death.bad == what
    assert getattr(death, empty) is None
    # the rest of the record is read
    assert death.kind == "RPC_KEEPALIVE_TIMEOUT" and death.fields["countToDeath"] == "0"
    assert death.level == "info" and death.message == sample_line(DEATH).split(" : ", 2)[2]
    for attr in {"time", "func", "src_line"} - {empty}:
        assert getattr(death, attr) is not None
    # the event table (Arrow) and the analysis take it
    tbl, facts = _table(p)
    assert tbl.num_rows == 2 and tbl.column(empty)[1].as_py() is None
    assert facts.bad_values == 1
    write_frames([tbl], str(tmp_path / "x.parquet"))
    a = analyze([str(p)])
    assert a.inputs[0].bad_values == 1 and a.inputs[0].records == 2


def test_journal_json_nested_100000_deep(tmp_path):
    # issue 15: nesting 100,000 deep (RecursionError)
    deep = '{"MESSAGE": ' + "[" * 100_000 + "]" * 100_000 + "}"
    p = tmp_path / "src-journal.json"
    p.write_text("\n".join([json.dumps(journal_entry(TICK)), deep, json.dumps(journal_entry(DEATH))]) + "\n")
    r, recs = _read(p)
    assert r.facts.format == "journal-json"
    assert (r.facts.records, r.facts.unparsed, r.facts.bad_values) == (2, 1, 0)
    assert [(x.line, x.kind) for x in recs] == [(1, "RPC_KEEPALIVE_TIMEOUT"), (3, "RPC_KEEPALIVE_TIMEOUT")]
    assert _table(p)[0].num_rows == 2
    # alone at the start of a file, the deep line is no JSON object to detect the format by
    from loganalyzer.formats import detect
    assert detect(deep[:65536] + "\n") == "text"


def test_journal_json_cli_every_bad_field_at_once(tmp_path):
    entries = [journal_entry(TICK)]
    for field, value, _, _ in JOURNAL_CASES.values():
        e = journal_entry(DEATH)
        e[field] = value
        entries.append(e)
    p = tmp_path / "src-journal.json"
    p.write_text("".join(json.dumps(e) + "\n" for e in entries)
                 + '{"MESSAGE": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    n = len(JOURNAL_CASES)
    first = JOURNAL_CASES["time-400-digits"][2]
    # (events -q: what it read and 'wrote N records' are notes on stderr too; -q leaves the warnings)
    for args in (("analyze", p), ("events", p, "-o", tmp_path / "x.parquet", "-q")):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
        if args[0] == "events":
            assert r.stderr.strip() == "loganalyzer: warning: " + warning(p, 2, first, n)
        else:
            assert "warning: " + warning(p, 2, first, n) in " ".join(r.stdout.split())
            assert f"1 inputs, {n + 2} lines, {n + 1} records, 1 lines not libvirt records" in r.stdout


KUBEVIRT_CASES = {
    "thread-infinity": ('"thread":"22"', '"thread":Infinity', "thread 'Infinity' cannot be read", "tid"),
    "thread-70-bits": ('"thread":"22"', f'"thread":{1 << 70}', f"thread '{1 << 70}' cannot be read", "tid"),
    "thread-nan": ('"thread":"22"', '"thread":NaN', "thread 'NaN' cannot be read", "tid"),
    "pos-huge-line": ('"subcomponent"', '"pos":"virNetSocketNew:' + "9" * 30 + '","subcomponent"',
                      "pos 'virNetSocketNew:99999999'... cannot be read", "src_line"),
    "timestamp-year-0": ("2026-06-16T07:16:32", "0000-06-16T07:16:32",
                         "timestamp '0000-06-16T07:16:32.0570'... cannot be read", "time"),
    "timestamp-a-number": ('"timestamp":"2026-06-16T07:16:32.057000Z"', '"timestamp":1781594192.057',
                           "timestamp '1781594192.057' cannot be read", "time"),
}


@pytest.mark.parametrize("case", list(KUBEVIRT_CASES))
def test_kubevirt_bad_field(tmp_path, case):
    old, new, what, empty = KUBEVIRT_CASES[case]
    lines = KV_EXCERPT.read_text().split("\n")
    assert old in lines[4]
    # the real libvirt line, then the same line with one field broken
    lines.insert(5, lines[4].replace(old, new, 1))
    p = tmp_path / "virt-launcher.jsonl"
    p.write_text("\n".join(lines))
    r, (good, bad) = _read(p)
    assert r.facts.format == "kubevirt"
    assert (r.facts.records, r.facts.unparsed, r.facts.bad_values) == (2, 4, 1)
    assert r.facts.warnings == [warning(p, 6, what)]
    assert (good.tid, good.time) == (22, 1781594192.057) and good.bad is None
    assert getattr(bad, empty) is None and bad.bad == what
    assert bad.message == good.message and r.facts.libvirt_version == "11.10.0"
    tbl, facts = _table(p)
    assert tbl.num_rows == 2 and tbl.column(empty)[1].as_py() is None and facts.bad_values == 1
    r = run_cli("analyze", p)
    assert r.returncode == 0, r.stderr
