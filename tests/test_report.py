"""Reports (issue 5): text, markdown, html, json and the timeline, on the real samples.

The timeline is checked through the data the figure carries (fig.loganalyzer) and its
artists, not through pixels.  Derived logs (a long log, a log with no migration) are built
from the real samples by shifting timestamps or cutting them, never invented.
"""
from __future__ import annotations

import calendar
import io
import json
import re
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import matplotlib.dates as mdates
import pytest
from rich.console import Console

from loganalyzer import read_events
from loganalyzer.analysis import analyze
from loganalyzer.report.html import JS, CSS, _sha256, esc, safe_svg, to_html, analysis_summary_html
from loganalyzer.report.jsonout import analysis_to_dict, indented_encoder, to_json, write_json
from loganalyzer.report.markdown import md_code, md_text, to_markdown
from loganalyzer.report.text import print_analysis
from loganalyzer.report.timeline import draw_timeline

ROOT = Path(__file__).resolve().parent.parent
S = ROOT / "samples"
KA = S / "p2p-keepalive-timeout"
DEATH_LINE = 6280


@lru_cache(maxsize=None)
def run(*paths):
    return analyze([str(p) for p in paths])


def ka1():
    return run(KA / "src-libvirtd.log")


def ka2():
    return run(KA / "src-libvirtd.log", KA / "dst-libvirtd.log")


def death_record():
    """The real RPC_KEEPALIVE_TIMEOUT countToDeath=0 record of the keepalive sample."""
    for rec in read_events(str(KA / "src-libvirtd.log")):
        if rec.line == DEATH_LINE:
            assert "RPC_KEEPALIVE_TIMEOUT" in rec.message and "countToDeath=0 idle=30" in rec.message
            return rec
    raise AssertionError("line 6280 is not a record")


def test_death_record_time_is_the_documented_one():
    rec = death_record()
    assert rec.time == pytest.approx(calendar.timegm((2026, 11, 25, 20, 29, 53)) + 0.724, abs=1e-6)


def text_report(a) -> str:
    buf = io.StringIO()
    print_analysis(a, Console(file=buf, width=200, color_system=None))
    return buf.getvalue()


# ---------------------------------------------------------------- each format, real samples
CASES = [
    ("p2p-keepalive-timeout", "dconn-keepalive-timeout", ["src-libvirtd.log:6280", "src-libvirtd.log:6287"]),
    ("domjobabort", "cancelled", ["src-libvirtd.log:4675"]),
    ("dconn-refused", "connect-failed", ["src-libvirtd.log:3833"]),
    ("client-sigstop", "client-keepalive-timeout", ["src-libvirtd.log:1348"]),
]


@pytest.mark.parametrize("scenario,cause,lines", CASES)
@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_names_the_cause_and_key_lines(scenario, cause, lines, fmt, tmp_path):
    a = run(S / scenario / "src-libvirtd.log", S / scenario / "dst-libvirtd.log")
    if fmt == "text":
        out = text_report(a)
    elif fmt == "markdown":
        out = to_markdown(a)
    elif fmt == "html":
        out = to_html(a)
    else:
        out = to_json(a)
        d = json.loads(out)
        js = [v for m in d["migrations"] if m["verdict"] for v in [m["verdict"]]] + d["findings"]
        out += "\n".join(f"{e['path']}:{e['line']}" for v in js for e in v["evidence"])
        assert any(v["cause"] == cause for v in js)
    assert cause in out
    for ln in lines:
        assert ln in out, (fmt, ln)


@pytest.mark.parametrize("scenario", sorted(p.name for p in S.iterdir() if list(p.glob("*-libvirtd.log*"))))
def test_json_file_is_the_standard_encoders_text(scenario):
    """write_json (the answer streamed an item at a time, by its own indented encoder) writes,
    byte for byte, json.dumps(indent=2, ensure_ascii=False) of the whole answer."""
    a = run(*sorted((S / scenario).glob("*-libvirtd.log*")))
    buf = io.StringIO()
    write_json(a, buf)
    assert buf.getvalue() == json.dumps(analysis_to_dict(a), indent=2, ensure_ascii=False) + "\n"


def test_indented_encoder_writes_odd_values_as_json_dumps():
    encode = indented_encoder(2)
    odd = [{1: 2, 1.5: 3, True: 4, None: 5, False: [], "x": {}, float("nan"): ()},
           [float("nan"), float("inf"), -float("inf"), -0.0, 1e300, 10 ** 40, True, False, None],
           "é \u2028 \" \\ \n \x00 \ud800", (1, (2, [3, {}])), {}, [], "", 0]
    for value in odd:
        assert encode(value) == json.dumps(value, indent=2, ensure_ascii=False)
        assert encode([value], "\n    ") == json.dumps([value], indent=2, ensure_ascii=False).replace("\n", "\n    ")
    loop: list = []
    loop.append(loop)
    for bad, error in (([object()], TypeError), ({(1, 2): 3}, TypeError), (loop, ValueError)):
        with pytest.raises(error) as standard:
            json.dumps(bad, indent=2, ensure_ascii=False)
        with pytest.raises(error) as ours:
            encode(bad)
        assert str(ours.value) == str(standard.value)


def test_text_puts_the_verdict_first():
    out = text_report(ka2())
    # the headline, then the cause id, confidence and who detected it (issue 16)
    assert out.startswith("tiny src-libvirtd.log->dst-libvirtd.log failed: the destination libvirtd hung")
    assert "cause dconn-keepalive-timeout · confidence high · detected by the source" in " ".join(out.split()[:40])
    # the verdict, its evidence and remedies, then the table of every migration
    assert out.index("src-libvirtd.log:6280") < out.index("remedies") < out.index("migrations (")


def test_json_shape_is_kept():
    d = json.loads(to_json(ka2()))
    assert {"inputs", "migrations", "keepalive_deaths", "findings"} <= set(d)
    m = next(m for m in d["migrations"] if m["role"] == "source")
    assert m["verdict"]["cause"] == "dconn-keepalive-timeout"
    assert d["keepalive_deaths"][0]["line"] == DEATH_LINE


def test_json_gives_the_passes_and_the_downtime_limit():
    """samples/not-converging/EXPECTED.md: syncs 1-3 at lines 4253, 5397, 6513; limit 300 ms (4148)."""
    a = run(S / "not-converging" / "src-libvirtd.log")
    m = next(m for m in json.loads(to_json(a))["migrations"] if m["role"] == "source")
    assert m["downtime_limit_ms"] == 300
    assert [(p["sync"], p["line"], p["remaining"]) for p in m["passes"]] == [
        (1, 4253, 117575680), (2, 5397, 33271808), (3, 6513, 33341440)]


# ---------------------------------------------------------------- timeline
@pytest.mark.parametrize("ext", ["png", "svg"])
@pytest.mark.parametrize("two_hosts", [False, True])
def test_timeline_death_mark_at_the_right_time(ext, two_hosts, tmp_path):
    a = ka2() if two_hosts else ka1()
    out = tmp_path / f"t.{ext}"
    fig = draw_timeline(a, str(out))
    data = fig.loganalyzer
    rec = death_record()
    assert data["death_times"] == [pytest.approx(rec.time, abs=1e-6)]
    assert data["death_labels"] == ["keepalive death  countToDeath=0 idle=30"]
    assert data["verdict"] == "dconn-keepalive-timeout"
    w0, w1 = data["window"]
    assert w0 < rec.time < w1
    # the big X on the connection lane is drawn at that time
    ax = fig.axes[0]
    xs = [l.get_xdata()[0] for l in ax.lines if l.get_marker() == "X" and l.get_markersize() >= 15]
    assert xs == [pytest.approx(mdates.date2num(datetime.utcfromtimestamp(rec.time)), abs=1e-9)]
    # five pings before it, every 5 s
    pings = data["pings_by_host"]["src-libvirtd.log"]
    assert [round(p - pings[0], 1) for p in pings] == [0.0, 5.0, 10.0, 15.0, 20.0]
    kinds = [l["kind"] for l in data["lanes"]]
    assert {"migration", "qemu", "dconn", "thread", "client"} <= set(kinds)
    assert any("event loop" in l["label"] and "13681" in l["label"] for l in data["lanes"])
    assert any("migration worker" in l["label"] and "13693" in l["label"] for l in data["lanes"])
    hosts = {l["host"] for l in data["lanes"]}
    assert hosts == ({"src-libvirtd.log", "dst-libvirtd.log"} if two_hosts else {"src-libvirtd.log"})
    if two_hosts:
        # the destination daemon's 32 s silence is shaded
        assert any(s1 - s0 > 30 for s0, s1 in data["silences"])
    # errors marked where they were logged
    assert any("keepalive timeout" in t for _, t in data["errors"])
    body = out.read_bytes()
    if ext == "png":
        assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) > 20000
    else:
        assert b"<svg" in body and b"countToDeath=0 idle=30" in body and b"dconn-keepalive-timeout" in body


def test_timeline_other_scenarios():
    fig = draw_timeline(run(S / "domjobabort" / "src-libvirtd.log", S / "domjobabort" / "dst-libvirtd.log"))
    assert fig.loganalyzer["verdict"] == "cancelled" and fig.loganalyzer["death_times"] == []
    fig = draw_timeline(run(S / "dconn-refused" / "src-libvirtd.log", S / "dconn-refused" / "dst-libvirtd.log"))
    assert fig.loganalyzer["verdict"] == "connect-failed"
    assert any("unable to connect" in t for _, t in fig.loganalyzer["errors"])
    # no migration: the client's keepalive death is the incident
    fig = draw_timeline(run(S / "client-sigstop" / "src-libvirtd.log", S / "client-sigstop" / "dst-libvirtd.log"))
    d = fig.loganalyzer
    assert d["incident"] == "death" and d["migration"] is None and len(d["death_times"]) == 1
    assert d["verdict"] == "client-keepalive-timeout"


def shift_log(text: str, delta: timedelta) -> str:
    def sub(m):
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f") + delta
        return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + m.group(2)
    return re.sub(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})(\+0000: )", sub, text, flags=re.M)


@pytest.fixture(scope="module")
def long_log(tmp_path_factory):
    """Three hours of log before the incident: the real p2p-ok and client-sigstop source logs,
    shifted 3 h and 2 h earlier, then the real keepalive-timeout source log."""
    d = tmp_path_factory.mktemp("long")
    parts = [shift_log((S / "p2p-ok" / "src-libvirtd.log").read_text(), timedelta(hours=-3)),
             shift_log((S / "client-sigstop" / "src-libvirtd.log").read_text(), timedelta(hours=-2)),
             (KA / "src-libvirtd.log").read_text()]
    p = d / "libvirtd.log"
    p.write_text("".join(parts))
    return p


def test_long_log_zooms_to_the_incident_and_says_what_it_left_out(long_log, tmp_path):
    a = analyze([str(long_log)])
    fig = draw_timeline(a, str(tmp_path / "long.png"))
    d = fig.loganalyzer
    rec = death_record()
    assert d["death_times"] == [pytest.approx(rec.time, abs=1e-6)]
    w0, w1 = d["window"]
    assert w1 - w0 < 120                       # the incident, not three hours
    assert d["omitted"]["before"] > 2.5 * 3600    # the shifted logs start about 3 h earlier
    assert any(re.search(r"\b2 h \d+ min of log before 20:29:\d\d not shown", n) for n in d["notes"]), d["notes"]
    for out in (text_report(a), to_markdown(a), to_html(a)):
        assert "dconn-keepalive-timeout" in out and "libvirtd.log:" in out


@pytest.fixture(scope="module")
def no_migration_log(tmp_path_factory):
    """The daemon start-up of the real p2p-ok source log: no migration, no death."""
    d = tmp_path_factory.mktemp("nomig")
    lines = (S / "p2p-ok" / "src-libvirtd.log").read_text().splitlines(keepends=True)
    p = d / "libvirtd.log"
    p.write_text("".join(lines[:200]))
    return p


def test_log_without_migration(no_migration_log, tmp_path):
    a = analyze([str(no_migration_log)])
    assert not a.migrations and not a.keepalive_deaths
    fig = draw_timeline(a, str(tmp_path / "none.png"))
    assert fig.loganalyzer["incident"] == "none" and fig.loganalyzer["death_times"] == []
    assert "No failed migration" in text_report(a)
    assert "No failed migration" in to_markdown(a)
    h = to_html(a)
    assert "no migration in these logs" in h and "<svg" in h
    assert "No failed migration" in analysis_summary_html(a)


# ---------------------------------------------------------------- markdown
def test_markdown_draws_the_timeline_beside_the_file(tmp_path):
    out = tmp_path / "report.md"
    md = to_markdown(ka2(), output=str(out))
    png = tmp_path / "report.timeline.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert "](<report.timeline.png>)" in md
    assert "```text\n" in md and "src-libvirtd.log:6280: " in md
    assert "### Remedies" in md and "keepalive\\_interval" in md


def test_markdown_escapes_log_text():
    assert md_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert md_text("[a](javascript:x) | *b*") == "\\[a\\](javascript:x) \\| \\*b\\*"
    assert md_code("a`b") == "``a`b``"


# ---------------------------------------------------------------- html
def test_html_is_self_contained_and_strict():
    h = to_html(ka2())
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', h).group(1)
    assert "default-src 'none'" in csp and _sha256(JS) in csp and _sha256(CSS) in csp
    assert "unsafe-eval" not in csp and "script-src 'sha256-" in csp
    # no network: nothing that loads a resource (the log's own URIs are only text)
    assert not re.search(r"\ssrc\s*=", h)
    assert all(x.startswith("#") for x in re.findall(r'href="([^"]*)"', h))
    assert all(x.startswith("#") for x in re.findall(r"url\(([^)]*)\)", h))
    assert set(re.findall(r'xmlns(?::\w+)?="([^"]*)"', h)) <= {"http://www.w3.org/2000/svg",
                                                               "http://www.w3.org/1999/xlink"}
    assert h.count("<script") == 1 and f"<script>{JS}</script>" in h
    assert "<link" not in h and "@import" not in h and "@font-face" not in h
    assert "<svg" in h and "countToDeath=0 idle=30" in h
    # events table: rows with path:line, filterable by thread and pointer
    assert 'id="events"' in h and 'data-tid="13681"' in h and 'id="ftid"' in h and 'id="fptr"' in h
    assert re.search(r'<tr class="lvl-info key"[^>]*data-ptrs="[^"]*0x7fd78402e550', h)
    assert "src-libvirtd.log:6280</td>" in h


def test_safe_svg_rejects_active_content():
    good = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><style>x{}</style>'
            '<text>&lt;script&gt;</text></svg>')
    s = safe_svg(good)
    assert s and "<style" not in s and "<?xml" not in s and "&lt;script&gt;" in s
    for bad in ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><g onload="alert(1)"/></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
                '<use x:href="http://evil/x.svg#a"/></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>']:
        assert safe_svg(bad) is None, bad


def test_esc():
    assert esc('"<x>&\'') == "&quot;&lt;x&gt;&amp;&#x27;"


# ---------------------------------------------------------------- CLI
def test_cli_timeline_and_analyze_formats(tmp_path):
    from typer.testing import CliRunner
    from loganalyzer.cli import app
    r = CliRunner()
    src, dst = str(KA / "src-libvirtd.log"), str(KA / "dst-libvirtd.log")
    res = r.invoke(app, ["timeline", src, dst, "-o", str(tmp_path / "t.svg")])
    assert res.exit_code == 0, res.output
    assert "dconn-keepalive-timeout" in res.output and (tmp_path / "t.svg").exists()
    res = r.invoke(app, ["timeline", src, "-o", str(tmp_path / "t.txt")])
    assert res.exit_code == 2
    res = r.invoke(app, ["analyze", src, dst, "--format", "html", "-o", str(tmp_path / "r.html"),
                         "--timeline", str(tmp_path / "r.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.png").exists() and "dconn-keepalive-timeout" in (tmp_path / "r.html").read_text()
    res = r.invoke(app, ["analyze", src, "--format", "markdown", "-o", str(tmp_path / "r.md")])
    assert res.exit_code == 0 and (tmp_path / "r.timeline.png").exists()
    res = r.invoke(app, ["timeline", src, "--migration", "nope", "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2
