"""Issue 15, item 5: no live spreadsheet formula in any CSV the tool writes.

Log text that starts with = + - @, a tab or a carriage return (a domain name, a message, a
file name) is written to CSV with a single quote in front (OWASP, CSV Injection), and every
text cell is quoted so that a carriage return inside one cannot start a row of its own;
parquet and JSON keep the raw text.  The inputs are real samples with the domain name or one
message changed.
"""
from __future__ import annotations

import csv
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import SAMPLES, run_cli

from loganalyzer.csvcells import csv_safe, neutralise

KA = SAMPLES / "p2p-keepalive-timeout"
HYPERLINK = '=HYPERLINK("http://evil.example","x")'
CALC = "+1+cmd|'/C calc'!A0"
STARTS = {"=": HYPERLINK, "+": CALC, "-": "-2+3+cmd|' /C calc'!A0", "@": "@SUM(1+1)*cmd|' /C calc'!A0",
          "tab": "\t=1+1", "cr": "\r=1+1"}
# debug lines of the source log whose messages get a formula in front (line -> the message)
LINES = {46: "State init result 1 (mandatory=0)", 47: "Running global init for udev state driver",
         48: "State init result 1 (mandatory=0)", 49: "Running global init for secret state driver",
         50: "State init result 1 (mandatory=0)", 51: "Running global init for storage state driver"}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_neutralise_one_cell():
    for start, text in STARTS.items():
        assert neutralise(text) == "'" + text, start
    for text in ("tiny", "0x7fd78402e550", "", " =1", "'=1", "a=b", None, 126):
        assert neutralise(text) == text


@pytest.fixture
def messages_log(tmp_path):
    """The keepalive sample's source log with the messages of lines 46-51 starting like formulas."""
    lines = (KA / "src-libvirtd.log").read_text().split("\n")
    want = {}
    for (n, msg), text in zip(LINES.items(), STARTS.values()):
        assert lines[n - 1].endswith(" : " + msg), lines[n - 1]
        lines[n - 1] = lines[n - 1][:-len(msg)] + text + msg
        want[n] = text + msg
    p = tmp_path / "src-libvirtd.log"
    p.write_text("\n".join(lines))
    return p, want


def test_events_csv_neutralises_messages_parquet_and_jsonl_keep_them(tmp_path, messages_log):
    p, want = messages_log
    out = {ext: tmp_path / f"x.{ext}" for ext in ("csv", "parquet", "jsonl")}
    for f in out.values():
        r = run_cli("events", p, "-o", f)
        assert r.returncode == 0, r.stderr
    rows = {int(r["line"]): r for r in read_csv(out["csv"])}
    assert len(rows) == 6197
    for n, text in want.items():
        assert rows[n]["message"] == "'" + text
    # nothing else changed: the other cells read back as the parquet table holds them
    t = pq.read_table(out["parquet"]).to_pydict()
    for i, n in enumerate(t["line"]):
        msg = t["message"][i]
        assert rows[n]["message"] == (("'" + msg) if n in want else msg)
    assert {n: t["message"][t["line"].index(n)] for n in want} == want
    jl = {o["line"]: o["message"] for o in map(json.loads, out["jsonl"].read_text().splitlines())}
    assert {n: jl[n] for n in want} == want


def test_events_csv_neutralises_a_file_name(tmp_path):
    # the path column (categorical) holds the name as given
    (tmp_path / "=cmd.log").write_bytes((KA / "src-libvirtd.log").read_bytes())
    r = run_cli("events", "=cmd.log", "-o", "x.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = read_csv(tmp_path / "x.csv")
    assert {x["path"] for x in rows} == {"'=cmd.log"}


def test_a_carriage_return_inside_a_cell_stays_in_the_cell(tmp_path):
    lines = (KA / "src-libvirtd.log").read_text().split("\n")
    msg = LINES[46]
    assert lines[45].endswith(" : " + msg)
    lines[45] = lines[45][:-len(msg)] + "x\r" + HYPERLINK
    p = tmp_path / "src-libvirtd.log"
    p.write_text("\n".join(lines))
    out = tmp_path / "x.csv"
    assert run_cli("events", p, "-o", out).returncode == 0
    raw = out.read_bytes()
    assert b'"x\r=HYPERLINK(""http://evil.example"",""x"")"' in raw       # quoted: one cell
    rows = read_csv(out)
    [row] = [x for x in rows if x["line"] == "46"]
    assert len(rows) == 6197 and row["message"] == "x\r" + HYPERLINK


def test_scan_csv_neutralises_domain_names(tmp_path):
    """Two hosts whose domain (the samples' 'tiny') is named like a formula."""
    for host, scenario, name in (("hostA", "p2p-keepalive-timeout", HYPERLINK), ("hostB", "p2p-ok", CALC)):
        (tmp_path / host).mkdir()
        text = (SAMPLES / scenario / "src-libvirtd.log").read_text()
        (tmp_path / host / "libvirtd.log").write_text(text.replace("tiny", name))
    out = {ext: tmp_path / f"summary.{ext}" for ext in ("csv", "parquet", "jsonl")}
    for f in out.values():
        r = run_cli("scan", tmp_path / "hostA", tmp_path / "hostB", "-o", f, "--jobs", "1")
        assert r.returncode == 0, r.stderr
    rows = sorted((x["host"], x["domain"], x["outcome"]) for x in read_csv(out["csv"]))
    assert rows == [("hostA", "'" + HYPERLINK, "failed"), ("hostB", "'" + CALC, "succeeded")]
    assert sorted(pd.read_parquet(out["parquet"])["domain"]) == sorted([HYPERLINK, CALC])
    assert sorted(json.loads(x)["domain"] for x in out["jsonl"].read_text().splitlines()) == sorted([HYPERLINK, CALC])


def test_csv_safe_every_kind_of_column():
    df = pd.DataFrame({
        "text": pd.array([HYPERLINK, "ok", None], dtype=pd.StringDtype("pyarrow")),
        "objects": [CALC, 3, ["@x"]],
        "category": pd.Categorical(["=a", "b", "=a"]),
        "clash": pd.Categorical(["=a", "'=a", "b"]),
        "number": [-1, 2, 3],
    })
    out = csv_safe(df)
    assert out["text"].tolist()[:2] == ["'" + HYPERLINK, "ok"] and pd.isna(out["text"][2])
    assert out["objects"].tolist() == ["'" + CALC, 3, ["@x"]]
    assert out["category"].tolist() == ["'=a", "b", "'=a"]
    assert out["clash"].tolist() == ["'=a", "'=a", "b"]
    assert out["number"].tolist() == [-1, 2, 3]
    assert df["text"][0] == HYPERLINK           # the frame given is not changed
