"""Issue 15, items 3 and 8: a number or time stamp that does not fit sinks nothing.

Each bad input is the real keepalive sample (p2p-keepalive-timeout/src-libvirtd.log) with
one header or one field changed.  On every route (the prefilter, every record through the
fast path, every record through the lark grammar, the Arrow rows of `events`) the record
is kept with that value empty and counted in the file's facts, the rest of the file is
analysed as before, and the commands exit 0 with one warning naming the file and line.
"""
from __future__ import annotations

import calendar
import csv

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import SAMPLES, run_cli

from loganalyzer import values
from loganalyzer.analysis import analyze
from loganalyzer.frame import EventFilter, iter_event_tables
from loganalyzer.reader import LogReader
from loganalyzer.report.jsonout import analysis_to_dict

KA_SRC = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
DEATH = 6280      # RPC_KEEPALIVE_TIMEOUT ... countToDeath=0 idle=30
RECORDS = 6197
TID70 = str(1 << 70)


def variant(tmp_path, lineno: int, old: str, new: str, name: str = "src-libvirtd.log"):
    """The keepalive sample with `old` replaced by `new` once in line `lineno`."""
    lines = KA_SRC.read_text().split("\n")
    assert old in lines[lineno - 1], lines[lineno - 1]
    lines[lineno - 1] = lines[lineno - 1].replace(old, new, 1)
    p = tmp_path / name
    p.write_text("\n".join(lines))
    return p


def warning(path, line, what, n=1):
    return (f"{path}: line {line}: {what}: the value is left empty and the record kept "
            f"({n} record{'s' if n > 1 else ''} with a value that cannot be read)")


BAD_HEADERS = {
    "year-0": ("2026-11-25", "0000-11-25",
               "time stamp '0000-11-25 20:29:53.724+0000' is not a real date and time"),
    "month-13": ("2026-11-25", "2026-13-25",
                 "time stamp '2026-13-25 20:29:53.724+0000' is not a real date and time"),
    "feb-30": ("2026-11-25", "2026-02-30",
               "time stamp '2026-02-30 20:29:53.724+0000' is not a real date and time"),
    "hour-99": ("20:29:53.724", "99:29:53.724",
                "time stamp '2026-11-25 99:29:53.724+0000' is not a real date and time"),
    "tid-70-bits": (": 13681: ", f": {TID70}: ", f"thread id {TID70} does not fit in 64 bits"),
}


def _dict(paths, **route):
    return analysis_to_dict(analyze([str(p) for p in paths], **route))


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_header_is_kept_counted_and_the_analysis_stands(tmp_path, case):
    old, new, what = BAD_HEADERS[case]
    p = variant(tmp_path, DEATH, old, new)
    fast = _dict([p])
    assert fast == _dict([p], fast=False) == _dict([p], grammar=True)
    [facts] = fast["inputs"]
    assert (facts["records"], facts["bad_values"]) == (RECORDS, 1)
    assert facts["warnings"] == [warning(p, DEATH, what)]
    # the death record is still read: same verdict, same death line
    [mig] = fast["migrations"]
    assert mig["verdict"]["cause"] == "dconn-keepalive-timeout"
    death = next(d for d in fast["keepalive_deaths"] if d["line"] == DEATH)
    if case == "tid-70-bits":
        # (without its thread id, the error line that thread writes next is not tied to it)
        assert death["time"] is not None and death["tid"] is None
    else:
        assert death["time"] is None and death["tid"] == 13681
    assert facts["first_time"] == "2026-11-25T20:29:22.772Z"


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_header_in_the_event_table(tmp_path, case):
    old, new, what = BAD_HEADERS[case]
    p = variant(tmp_path, DEATH, old, new)
    tables, facts = {}, {}
    # the Arrow rows route, and the records route (--grep reads every record)
    for route, flt in (("rows", None), ("records", EventFilter(grep="."))):
        out = []
        tbl = list(iter_event_tables([str(p)], event_filter=flt, facts_out=out))
        tables[route] = __import__("pyarrow").concat_tables(tbl).to_pydict()
        [facts[route]] = out
    assert tables["rows"] == tables["records"]
    t = tables["rows"]
    assert len(t["line"]) == RECORDS
    i = t["line"].index(DEATH)
    assert t["kind"][i] == "RPC_KEEPALIVE_TIMEOUT" and t["client"][i] == "0x7fd78402e550"
    if case == "tid-70-bits":
        assert t["tid"][i] is None and t["time"][i] is not None
    else:
        assert t["time"][i] is None and t["tid"][i] == 13681
    assert sum(x is None for x in t["time"]) == (0 if case == "tid-70-bits" else 1)
    for f in facts.values():
        assert f.bad_values == 1 and f.warnings == [warning(p, DEATH, what)]


def test_year_0_analyze_cli_exits_0_with_one_warning(tmp_path):
    # issue 15: "a single keepalive line dated year 0000 makes analyze exit 2 with
    # `year 0 is out of range` (no file named)"
    old, new, what = BAD_HEADERS["year-0"]
    p = variant(tmp_path, DEATH, old, new)
    r = run_cli("analyze", p)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "dconn-keepalive-timeout" in r.stdout
    assert " ".join(r.stdout.split()).endswith("warning: " + warning(p, DEATH, what))


@pytest.mark.parametrize("case", ["month-13", "tid-70-bits"])
def test_events_cli_keeps_the_file(tmp_path, case):
    # issue 15: one line with month 13 ... or a 70-bit thread id makes `events` reject the file
    old, new, what = BAD_HEADERS[case]
    p = variant(tmp_path, DEATH, old, new)
    out = tmp_path / "x.csv"
    r = run_cli("events", p, "-o", out, "-q")      # -q: the warnings alone on stderr (no notes)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "loganalyzer: warning: " + warning(p, DEATH, what)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == RECORDS
    [row] = [x for x in rows if x["line"] == str(DEATH)]
    assert (row["time"], row["tid"]) == (("2026-11-25 20:29:53.724+00:00", "") if case == "tid-70-bits"
                                         else ("", "13681"))


def test_idle_of_400_digits_timeline(tmp_path):
    # issue 15: a keepalive line with idle= of 400 digits -> OverflowError in `timeline`
    p = variant(tmp_path, DEATH, "idle=30", "idle=" + "9" * 400)
    svg = tmp_path / "t.svg"
    r = run_cli("timeline", p, "-o", svg)
    assert r.returncode == 0, r.stderr
    # (the picture is the result: the note that it was written goes to stderr, issue 16)
    assert r.stdout == "" and r.stderr.startswith(f"wrote {svg}: dconn-keepalive-timeout; 1 keepalive death(s)")
    [death] = analyze([str(p)]).keepalive_deaths
    assert (death.line, death.idle) == (DEATH, None)     # the number that does not fit is not read


def test_huge_source_line_number_events_parquet(tmp_path):
    # issue 15: a func:line with a huge line number -> OverflowError from Arrow in `events`
    p = variant(tmp_path, DEATH, "virKeepAliveTimerInternal:126", "virKeepAliveTimerInternal:" + "9" * 30)
    out = tmp_path / "x.parquet"
    r = run_cli("events", p, "-o", out)
    assert r.returncode == 0, r.stderr
    t = pq.read_table(out).to_pydict()
    i = t["line"].index(DEATH)
    assert (t["func"][i], t["src_line"][i], t["kind"][i]) == ("virKeepAliveTimerInternal", None,
                                                              "RPC_KEEPALIVE_TIMEOUT")
    assert len(t["line"]) == RECORDS


def test_scan_of_a_fleet_with_one_bad_line_writes_every_host(tmp_path):
    # issue 15: scan of a fleet folder holding the year-0 log printed `scan failed: ValueError`
    # and wrote no CSV for the healthy hosts
    old, new, _ = BAD_HEADERS["year-0"]
    (tmp_path / "hostA").mkdir()
    (tmp_path / "hostB").mkdir()
    variant(tmp_path / "hostA", DEATH, old, new, "libvirtd.log")
    (tmp_path / "hostB" / "libvirtd.log").write_bytes((SAMPLES / "p2p-ok" / "src-libvirtd.log").read_bytes())
    out = tmp_path / "summary.csv"
    r = run_cli("scan", tmp_path / "hostA", tmp_path / "hostB", "-o", out, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    rows = sorted((x["host"], x["outcome"], x["cause"]) for x in csv.DictReader(out.open()))
    assert rows == [("hostA", "failed", "dconn-keepalive-timeout"), ("hostB", "succeeded", "")]


def test_bsd_syslog_stamp_that_is_no_date(tmp_path):
    """The real keepalive record as libvirt's syslog output writes it, under BSD stamps of
    Feb 30 and hour 99: kept, time empty, counted."""
    ka = KA_SRC.read_text().split("\n")[DEATH - 1]
    body = ka.split(": ", 1)[1]
    text = "".join(f"{stamp} src-host libvirtd[13681]: {body}\n"
                   for stamp in ("Nov 25 20:29:53", "Feb 30 20:29:53", "Nov 25 99:29:53"))
    p = tmp_path / "messages"
    p.write_text(text)
    r = LogReader(str(p))
    recs = list(r)
    assert r.facts.format == "syslog" and len(recs) == 3
    assert [x.time is None for x in recs] == [False, True, True]
    assert all(x.kind == "RPC_KEEPALIVE_TIMEOUT" and x.tid == 13681 for x in recs)
    assert r.facts.bad_values == 2
    assert warning(p, 2, "time stamp 'Feb 30 20:29:53' is not a real date and time", 2) in r.facts.warnings


def test_numbers_in_qemu_statistics_that_do_not_fit(tmp_path):
    """Every number of every record the correlator reads made 400 digits long, then
    int64's maximum: the analysis and every report still come out."""
    import io
    import re
    from contextlib import redirect_stdout

    from loganalyzer.correlate.interest import INTEREST
    from loganalyzer.report import render
    from loganalyzer.report.timeline import draw_timeline
    num = re.compile(r"(?<=[=: ])-?\d+(?=[ ,\n]|$)")
    lines = (SAMPLES / "not-converging" / "src-libvirtd.log").read_text().split("\n")
    for big in ("9" * 400, str((1 << 63) - 1)):
        out = []
        for ln in lines:
            if INTEREST.match(ln):
                head, _, msg = ln.partition(" : ")
                loc, _, msg = msg.partition(" : ")
                ln = f"{head} : {loc} : {num.sub(big, msg)}"
            out.append(ln)
        p = tmp_path / "src-libvirtd.log"
        p.write_text("\n".join(out))
        a = analyze([str(p)])
        assert len(a.migrations) == 1
        for fmt in ("text", "json", "markdown", "html"):
            with redirect_stdout(io.StringIO()):
                render(a, fmt, str(tmp_path / f"r.{fmt}"), None)
        import matplotlib.pyplot as plt
        plt.close(draw_timeline(a, str(tmp_path / "t.png")))


STAMPS = ["2024-02-29 12:00:00.000+0000", "2023-02-29 12:00:00.000+0000", "1900-02-29 00:00:00.000+0000",
          "2000-02-29 23:59:59.999+0000", "0001-01-01 00:00:00.000+0000", "0001-01-01 00:30:00.000+0100",
          "0001-01-01 00:30:00.000-0100", "9999-12-31 23:30:00.000-0100", "9999-12-31 23:30:00.000+0100",
          "0000-06-01 00:00:00.000+0000", "2026-00-10 00:00:00.000+0000", "2026-04-31 00:00:00.000+0000",
          "2026-04-30 24:00:00.000+0000", "2026-04-30 23:60:00.000+0000", "2026-04-30 23:59:60.000+0000",
          "2026-04-30 10:00:00.000+2400", "2026-04-30 10:00:00.000-0060", "2026-11-25 20:29:53.724+0000",
          "2026-11-25 20:29:53.724+0130", "2026-11-25 20:29:53.724-0530"]


def test_one_rule_for_stamps_in_python_and_numpy():
    """values.stamp_to_epoch (fast path, grammar) and values.stamp_times (prefilter) agree."""
    def col(a, b):
        return np.array([int(s[a:b]) for s in STAMPS])
    t, ok = values.stamp_times(col(0, 4), col(5, 7), col(8, 10), col(11, 13), col(14, 16), col(17, 19),
                               col(20, 23), np.array([s[23] == "+" for s in STAMPS]), col(24, 26), col(26, 28))
    py = [values.stamp_to_epoch(s) for s in STAMPS]
    assert [x is not None for x in py] == ok.tolist()
    assert [x for x in py if x is not None] == pytest.approx(t[ok].tolist())
    assert [s for s, x in zip(STAMPS, py) if x is None] == [
        "2023-02-29 12:00:00.000+0000", "1900-02-29 00:00:00.000+0000", "0001-01-01 00:30:00.000+0100",
        "9999-12-31 23:30:00.000-0100", "0000-06-01 00:00:00.000+0000", "2026-00-10 00:00:00.000+0000",
        "2026-04-31 00:00:00.000+0000", "2026-04-30 24:00:00.000+0000", "2026-04-30 23:60:00.000+0000",
        "2026-04-30 23:59:60.000+0000", "2026-04-30 10:00:00.000+2400", "2026-04-30 10:00:00.000-0060"]
    assert values.stamp_to_epoch("2026-11-25 20:29:53.724+0000") == calendar.timegm(
        (2026, 11, 25, 20, 29, 53)) + 0.724


def test_numbers_in_qemu_replies_given_as_strings(tmp_path):
    """QEMU's statistics and downtime limit as JSON strings ("remaining": "123"), not
    numbers: left unread, as a number that does not fit is, and the analysis still comes
    out (a string once reached a fast path for digits with a name it did not have)."""
    import re
    src = SAMPLES / "not-converging" / "src-libvirtd.log"
    quoted = re.sub(r'("(?:remaining|transferred|total|downtime-limit|total-time)": )(\d+)', r'\1"\2"',
                    src.read_text())
    p = tmp_path / "src-libvirtd.log"
    p.write_text(quoted)
    [before] = analyze([str(src)]).migrations
    [after] = analyze([str(p)]).migrations
    assert any(s.remaining is not None for s in before.stats)
    assert after.stats and all(s.remaining is None and s.transferred is None and s.total_time_ms is None
                               for s in after.stats)
    assert after.verdict is not None
