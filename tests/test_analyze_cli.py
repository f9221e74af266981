"""Issue 4 output: `loganalyzer analyze LOG... [--format text|json|markdown] [-o FILE]`.

The JSON contract keys and types, exit codes (0 when the analysis ran, 2 for unusable
input), and what the sentences name. Runs the real command line in a subprocess, from the
repository (not an installed copy).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache

import pytest

from samplelib import ROOT, SAMPLES, file_lines, iso_prefix, quote

TIME = re.compile(r"\b\d\d:\d\d:\d\d")


def run(*args, input=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "loganalyzer.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, input=input, timeout=120)


@lru_cache(maxsize=None)
def analyze_json(*rels):
    p = run("analyze", *[str(SAMPLES / r) for r in rels], "--format", "json")
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


KA = ("p2p-keepalive-timeout/src-libvirtd.log", "p2p-keepalive-timeout/dst-libvirtd.log")


def _is(v, *types):
    return any((v is None) if t is None else isinstance(v, t) for t in types)


def test_json_top_level():
    doc = analyze_json(*KA)
    for key in ("inputs", "migrations", "keepalive_deaths", "findings"):
        assert isinstance(doc[key], list), key


def test_json_inputs():
    doc = analyze_json(*KA)
    assert len(doc["inputs"]) == 2
    src_rel = KA[0]
    first = file_lines(src_rel)[0]
    quote(src_rel, 1, "info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)")
    quote(src_rel, 2, "info : hostname: vm")
    i = next(x for x in doc["inputs"] if x["path"].endswith("src-libvirtd.log"))
    for k, t in {"path": (str,), "format": (str,), "lines": (int,), "records": (int,), "unparsed": (int,),
                 "host": (str, None), "libvirt_version": (str, None), "first_time": (str, None),
                 "last_time": (str, None)}.items():
        assert k in i and _is(i[k], *t), (k, i.get(k))
    assert i["lines"] == len(file_lines(src_rel)) == 7311
    assert 0 < i["records"] <= i["lines"]
    assert i["unparsed"] == 0
    assert i["libvirt_version"].startswith("9.0.0")
    assert i["host"] == "vm"
    assert i["first_time"].startswith(iso_prefix(first[:28]))
    assert i["last_time"].startswith(iso_prefix(file_lines(src_rel)[-1][:28]))


def test_json_migrations_contract():
    doc = analyze_json(*KA)
    ms = doc["migrations"]
    assert {m["role"] for m in ms} == {"source", "destination"}
    for m in ms:
        for k, t in {"id": (str,), "role": (str,), "domain": (str, None), "uuid": (str, None), "path": (str,),
                     "dconnuri": (str, None), "migrate_uri": (str, None), "flags": (list,), "start": (str, None),
                     "end": (str, None), "outcome": (str,), "dconn": (dict, None), "peer": (str, None),
                     "verdict": (dict, None)}.items():
            assert k in m and _is(m[k], *t), (k, m.get(k))
        assert m["outcome"] in ("succeeded", "failed", "cancelled", "unknown")
        assert all(isinstance(f, str) for f in m["flags"])
    s = next(m for m in ms if m["role"] == "source")
    d = next(m for m in ms if m["role"] == "destination")
    assert s["peer"] == d["id"] and d["peer"] == s["id"]
    assert (s["domain"], s["uuid"]) == ("tiny", "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001")
    assert s["dconnuri"] == "qemu+unix:///session?socket=/tmp/vlab/dst/run/libvirt/libvirt-sock"
    assert s["migrate_uri"] == "tcp://127.0.0.1:49302"
    assert set(s["flags"]) == {"live", "peer2peer"}
    assert s["start"].startswith("2026-11-25T20:29:23.367")      # src-libvirtd.log:3780
    assert s["outcome"] == "failed"
    c = s["dconn"]
    for k in ("conn", "client", "ka", "keepalive_interval", "keepalive_count", "created"):
        assert k in c, k
    assert (c["conn"], c["client"], c["ka"]) == ("0x5602cad66b90", "0x7fd78402e550", "0x5602cad67830")
    assert (c["keepalive_interval"], c["keepalive_count"]) == (5, 5)
    assert c["created"]["line"] == 3843 and c["created"]["path"].endswith("src-libvirtd.log")


def test_json_verdict_contract():
    doc = analyze_json(*KA)
    s = next(m for m in doc["migrations"] if m["role"] == "source")
    v = s["verdict"]
    for k, t in {"cause": (str,), "summary": (str,), "detected_by": (str, None), "confidence": (str,),
                 "evidence": (list,), "missing": (list,), "remedies": (list,)}.items():
        assert k in v and _is(v[k], *t), (k, v.get(k))
    assert v["cause"] == "dconn-keepalive-timeout" and v["confidence"] == "high" and v["detected_by"] == "source"
    for e in v["evidence"]:
        assert set(e) >= {"path", "line", "time", "text"}
        assert isinstance(e["line"], int) and isinstance(e["text"], str)
        assert e["time"] is None or isinstance(e["time"], str)
    assert any(e["line"] == 6280 and e["path"].endswith("src-libvirtd.log") for e in v["evidence"])
    assert all(isinstance(x, str) for x in v["remedies"] + v["missing"])


def test_json_keepalive_deaths_contract():
    doc = analyze_json(*KA)
    ds = doc["keepalive_deaths"]
    assert len(ds) == 1
    d = ds[0]
    quote(KA[0], 6280, "2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30")
    for k in ("path", "line", "time", "client", "ka", "idle", "connection", "migration"):
        assert k in d, k
    assert (d["line"], d["client"], d["ka"], d["idle"]) == (6280, "0x7fd78402e550", "0x5602cad67830", 30)
    assert d["path"].endswith("p2p-keepalive-timeout/src-libvirtd.log")
    assert d["time"].startswith("2026-11-25T20:29:53.724")
    c = d["connection"]
    for k in ("direction", "created", "uri", "peer"):
        assert k in c, k
    assert c["direction"] == "outgoing"
    assert c["created"] == {"path": c["created"]["path"], "line": 3843}
    assert c["uri"] == "qemu+unix:///session?socket=/tmp/vlab/dst/run/libvirt/libvirt-sock"
    s = next(m for m in doc["migrations"] if m["role"] == "source")
    assert d["migration"] == s["id"]


def test_json_findings_contract():
    doc = analyze_json("client-sigstop/src-libvirtd.log")
    assert doc["migrations"] == []
    assert len(doc["findings"]) == 1
    f = doc["findings"][0]
    for k, t in {"cause": (str,), "summary": (str,), "confidence": (str,), "evidence": (list,),
                 "missing": (list,), "remedies": (list,)}.items():
        assert k in f and _is(f[k], *t), k
    assert f["cause"] == "client-keepalive-timeout"
    assert "0x56523e331160" in f["summary"] and TIME.search(f["summary"])
    d = doc["keepalive_deaths"][0]
    assert d["migration"] is None and d["connection"]["direction"] == "incoming"
    assert d["connection"]["created"]["line"] == 512


def test_json_is_valid_json_for_every_scenario():
    # one command, every lab source log: one host each, nothing crashes, exit code 0
    rels = sorted(str(p) for p in SAMPLES.glob("*/src-libvirtd.log"))[:6]
    p = run("analyze", *rels, "--format", "json")
    assert p.returncode == 0, p.stderr[-2000:]
    json.loads(p.stdout)


@pytest.mark.parametrize("sc", ["p2p-keepalive-timeout", "dst-daemon-killed", "dconn-refused", "domjobabort",
                                "client-keepalive-nonp2p", "lock-timeout", "domain-exists", "dst-qemu-killed"])
def test_summary_sentences_name_domain_pointer_or_uri_and_time(sc):
    doc = analyze_json(f"{sc}/src-libvirtd.log", f"{sc}/dst-libvirtd.log")
    s = next(m for m in doc["migrations"] if m["role"] == "source")
    summ = s["verdict"]["summary"]
    assert "tiny" in summ
    assert TIME.search(summ)
    if sc in ("p2p-keepalive-timeout", "dst-daemon-killed", "dconn-refused", "client-keepalive-nonp2p"):
        assert re.search(r"0x[0-9a-f]{6,}", summ) or (s["dconnuri"] and s["dconnuri"] in summ) \
            or "127.0.0.1:16599" in summ, summ


# -- exit codes ---------------------------------------------------------------------------------
def test_exit_0_when_a_failure_is_found():
    p = run("analyze", str(SAMPLES / KA[0]))
    assert p.returncode == 0, p.stderr[-1000:]
    assert "dconn-keepalive-timeout" in p.stdout


def test_exit_0_when_nothing_failed():
    p = run("analyze", str(SAMPLES / "p2p-ok/src-libvirtd.log"), "--format", "json")
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    assert [m["outcome"] for m in doc["migrations"]] == ["succeeded"]
    assert doc["migrations"][0]["verdict"] is None


def test_exit_0_for_text_without_libvirt_records():
    p = run("analyze", str(SAMPLES / "excerpts/kubevirt-665-cannot-access-storage/report-excerpt.txt"),
            "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert "storage-missing" in [f["cause"] for f in doc["findings"]]


def test_exit_2_for_a_missing_file(tmp_path):
    missing = tmp_path / "no-such-libvirtd.log"
    p = run("analyze", str(missing))
    assert p.returncode == 2
    assert "no-such-libvirtd.log" in p.stderr
    p = run("analyze", str(missing), "--format", "json")
    assert p.returncode == 2


def test_exit_2_for_a_bad_format_option():
    p = run("analyze", str(SAMPLES / KA[0]), "--format", "yaml")
    assert p.returncode == 2


# -- formats and -o ---------------------------------------------------------------------------
def test_text_verdict_first_then_evidence():
    p = run("analyze", str(SAMPLES / KA[0]))
    out = p.stdout
    i_cause = out.find("dconn-keepalive-timeout")
    i_ev = out.find("countToDeath=0 idle=30")
    assert 0 <= i_cause < i_ev


def test_markdown_and_output_file(tmp_path):
    out = tmp_path / "report.md"
    p = run("analyze", str(SAMPLES / KA[0]), str(SAMPLES / KA[1]), "--format", "markdown", "-o", str(out))
    assert p.returncode == 0, p.stderr[-1000:]
    text = out.read_text()
    assert "dconn-keepalive-timeout" in text and "tiny" in text


def test_json_output_file(tmp_path):
    out = tmp_path / "report.json"
    p = run("analyze", str(SAMPLES / KA[0]), "--format", "json", "-o", str(out))
    assert p.returncode == 0
    doc = json.loads(out.read_text())
    assert doc["keepalive_deaths"][0]["line"] == 6280


def test_cli_runner_in_process():
    """The same command through typer's CliRunner (the library's typer app)."""
    from typer.testing import CliRunner
    from loganalyzer.cli import app
    r = CliRunner().invoke(app, ["analyze", str(SAMPLES / "dconn-refused/src-libvirtd.log"), "--format", "json"])
    assert r.exit_code == 0, r.output[-1000:]
    doc = json.loads(r.stdout)
    s = doc["migrations"][0]
    assert s["verdict"]["cause"] == "connect-failed"
    quote("dconn-refused/src-libvirtd.log", 3833, "unable to connect to server at '127.0.0.1:16599': Connection refused")
    assert 3833 in [e["line"] for e in s["verdict"]["evidence"]]
