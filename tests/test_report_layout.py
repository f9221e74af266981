"""Issue 16, items 3 and 4: the first screen is the answer, and nothing is cut.

* Many failures: a summary by cause and host first (counts, first and last time), then one
  section per distinct verdict; identical remedies once per cause.  A log with several planted
  failures is made by benchmarks/generate_log.py from the real samples; what it planted (its
  manifest) is the expected answer.
* Width: text written to a pipe or a file is never cut (no `…`, no pointer, path or URI broken
  over lines, indentation kept); prose is wrapped at whitespace only.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections import Counter

import pytest

from conftest import ROOT, run_cli
from samplelib import SAMPLES, analyzed

from loganalyzer.report.jsonout import analysis_to_dict
from loganalyzer.report.text import PIPE_WIDTH, print_analysis, report_console

# the generator's episode kinds, and the verdict each one is (benchmarks/generate_log.py EPISODE_KINDS)
KIND_CAUSE = {"p2p-keepalive-timeout": ("dconn-keepalive-timeout", "migrations"),
              "domjobabort": ("cancelled", "migrations"),
              "dconn-refused": ("connect-failed", "migrations"),
              "client-sigstop": ("client-keepalive-timeout", "findings")}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted")
    log = d / "many.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_log.py"), "--lines", "150000",
                    "--rounds", "3", "--seed", "16", "-o", str(log)], check=True, capture_output=True)
    manifest = json.loads((d / "many.log.manifest.json").read_text())
    return log, manifest


def test_many_failures_the_first_20_lines_say_what_happened(planted):
    log, manifest = planted
    r = run_cli("analyze", log)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    top = "\n".join(lines[:20])
    kinds = Counter(e["kind"] for e in manifest["episodes"])
    failures = {k: n for k, n in kinds.items() if k in KIND_CAUSE}
    assert len(failures) == 4 and all(n == 3 for n in failures.values()), kinds
    n_mig = sum(n for k, n in failures.items() if KIND_CAUSE[k][1] == "migrations")
    assert lines[0].startswith(f"{n_mig} failed or cancelled migrations and {failures['client-sigstop']} other")
    for kind, n in failures.items():
        cause, what = KIND_CAUSE[kind]
        # the summary row: the cause, its count, the host, first and last time
        row = next((ln for ln in lines[:20] if ln.split()[:1] == [cause]), None)
        assert row is not None, f"{cause} not in the first 20 lines:\n{top}"
        assert f"{n} {what}" in row and manifest["host"]["hostname"] in row
        times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row)
        assert len(times) == 2 and times[0] >= manifest["start_time"][:19] and times[1] <= manifest["end_time"][:19]
    # then each distinct verdict's headline, numbered: the domain of its first planted episode
    heads = [ln for ln in lines[:20] if re.match(r"^  \[\d\] ", ln)]
    assert len(heads) == 4, top
    first_domains = {min((e for e in manifest["episodes"] if e["kind"] == k), key=lambda e: e["first_line"])
                     ["domain"]["name"] for k in failures if KIND_CAUSE[k][1] == "migrations"}
    assert first_domains <= {h.split()[1] for h in heads}, (first_domains, heads)


def test_many_failures_one_section_per_distinct_verdict_and_remedies_once(planted):
    log, manifest = planted
    out = run_cli("analyze", log).stdout
    sections = re.findall(r"^\[(\d)\] ([\w-]+): (\d+) (migrations|findings)$", out, re.M)
    assert [int(s[0]) for s in sections] == [1, 2, 3, 4]
    assert sorted(s[1] for s in sections) == sorted(c for c, _ in KIND_CAUSE.values())
    assert all(s[2] == "3" for s in sections)
    # each section lists the other migrations it covers, by id and domain
    a = analyzed(str(log))
    for m in a.migrations:
        if m.verdict is not None and m.role == "source":
            assert m.id in out and m.domain in out
    # a remedy is printed once per cause, not once per migration
    for m in a.migrations:
        if m.verdict is not None:
            for r in m.verdict.remedies:
                assert out.count(r.split(":")[0][:60]) >= 1
    first = next(m for m in a.migrations if m.verdict is not None and m.verdict.cause == "connect-failed")
    assert out.count(first.verdict.remedies[0][:70]) == 1


def test_identical_verdicts_from_several_hosts_share_a_section():
    """Three libvirt versions, the same failure (destination daemon SIGSTOPped 32 s): one section,
    its remedies printed once."""
    logs = [f"{v}p2p-keepalive-timeout/{side}-libvirtd.log" for v in ("", "v7.0-", "v11.3-") for side in ("src", "dst")]
    a = analyzed(*logs)
    buf = io.StringIO()
    print_analysis(a, report_console(buf))
    out = buf.getvalue()
    heads = [m.verdict.headline for m in a.migrations if m.role == "source"]
    assert len(heads) == 3 and all("hung for 32 s" in h for h in heads), heads
    assert re.search(r"^\[1\] dconn-keepalive-timeout: 3 migrations$", out, re.M), out[:2000]
    assert out.count("Find why the destination libvirtd stopped") == 1
    assert "the same verdict for 2 more migrations" in out


# ------------------------------------------------------------------------------------ width
TWO_HOST = sorted(p.name for p in SAMPLES.iterdir()
                  if (p / "src-libvirtd.log").exists() and (p / "dst-libvirtd.log").exists())
TOKEN = re.compile(r"0x[0-9a-f]{6,}|[\w.+-]+://[^\s,;)'\"]+|(?:[\w.-]+/)+[\w.-]+\.log(?::\d+)?")


def _tokens(a) -> set:
    """Pointers, URIs and paths the report prints in its prose (headlines, summaries, remedies)."""
    d = analysis_to_dict(a)
    texts = []
    for m in d["migrations"]:
        if m["verdict"]:
            texts += [m["verdict"]["headline"], m["verdict"]["summary"]]
    texts += [f["summary"] for f in d["findings"]]
    return {t for s in texts for t in TOKEN.findall(s)}


def _check_piped(text: str, tokens: set, source_text: str = "") -> None:
    lines = text.splitlines()
    # nothing cut: no '…' in a table, and in prose only where the analysis's own text has one
    # (a libvirt message quoted as "Requested operation is not valid: …")
    assert not any("…" in ln for ln in lines if "│" in ln)
    assert text.count("…") <= source_text.count("…")
    for t in tokens:
        assert any(t in ln for ln in lines), f"{t!r} is broken over lines"
    for ln in lines:
        # prose lines are wrapped at the pipe width, unless one token is longer
        if len(ln) > PIPE_WIDTH + 5 and " " in ln.strip() and not re.search(r"\S+\.log:\d+", ln) \
                and not ln.startswith(("│", "┃", "┏", "┡", "└")) and "  " not in ln.strip():
            longest = max(len(w) for w in ln.split())
            assert longest > PIPE_WIDTH // 2, f"prose line not wrapped: {ln!r}"


@pytest.mark.parametrize("scenario", TWO_HOST)
def test_text_to_a_file_is_never_cut(scenario):
    a = analyzed(f"{scenario}/src-libvirtd.log", f"{scenario}/dst-libvirtd.log")
    buf = io.StringIO()
    print_analysis(a, report_console(buf))
    out = buf.getvalue()
    _check_piped(out, _tokens(a), json.dumps(analysis_to_dict(a), ensure_ascii=False))
    # the migrations table keeps every id and host whole
    for m in a.migrations:
        assert re.search(rf"│ {re.escape(m.id)} +│", out), m.id
    # wrapped lines keep their indentation: a remedy's second line starts under its text
    rem = re.findall(r"^    - .*\n((?: {6}\S.*\n)*)", out, re.M)
    assert all(not ln or ln.startswith("      ") for ln in rem)


def test_analyze_and_scan_through_a_pipe(tmp_path):
    """The real pipe: the CLI with an 80-column COLUMNS (what rich would use) writes whole lines."""
    import os
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    d = SAMPLES / "p2p-keepalive-timeout"
    r = subprocess.run([sys.executable, "-m", "loganalyzer", "analyze", str(d / "src-libvirtd.log"),
                        str(d / "dst-libvirtd.log")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    _check_piped(r.stdout, _tokens(analyzed("p2p-keepalive-timeout/src-libvirtd.log",
                                            "p2p-keepalive-timeout/dst-libvirtd.log")))
    assert max(len(ln) for ln in r.stdout.splitlines()) > 80
    # scan: the table's cells whole (hosts, evidence file:line, causes)
    for name in ("p2p-keepalive-timeout", "domjobabort", "dconn-refused"):
        dst = tmp_path / "fleet" / name
        dst.mkdir(parents=True)
        for f in (SAMPLES / name).glob("*-libvirtd.log"):
            (dst / f.name).write_bytes(f.read_bytes())
    r = subprocess.run([sys.executable, "-m", "loganalyzer", "scan", "--jobs", "1", str(tmp_path / "fleet")],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    for cause in ("dconn-keepalive-timeout", "cancelled", "connect-failed"):
        assert re.search(rf"│ {cause} +│", r.stdout), r.stdout
    for ev in re.findall(r"src-libvirtd\.log:\d+", r.stdout):
        assert re.search(rf"│ {re.escape(ev)} +│", r.stdout)
