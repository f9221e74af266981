"""Issue 15, item 7 (one record's size): a record holds at most recordcut.CAP bytes.

A 400 MB line that looks like the record the correlator reads made `analyze` use 2.9 GB, a
400 MB continuation about 900 MB.  Now a longer record keeps its first HEAD and last TAIL bytes, the
rest is counted as cut (file facts, one warning), every later line keeps its number, and peak
RSS stays under 300 MB.  The big inputs are the keepalive sample with 150 MiB streamed into
or after its keepalive death (line 6280); the peak RSS of each command is measured in a
fresh process with resource.getrusage(RUSAGE_CHILDREN).
"""
from __future__ import annotations

import gzip
import json
import lzma
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SAMPLES

from loganalyzer.analysis import analyze
from loganalyzer.frame import EventFilter, iter_event_tables
from loganalyzer.recordcut import CAP, HEAD, TAIL
from loganalyzer.report.jsonout import analysis_to_dict

KA_SRC = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
DEATH = 6280          # RPC_KEEPALIVE_TIMEOUT ... countToDeath=0 idle=30
ERROR = 6282          # internal error: connection closed due to keepalive timeout
LINES, RECORDS = 7311, 6197
MiB = 1 << 20
RSS_LIMIT_MB = 300
XML = b"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/></disk>" + b" " * 20 + b"\n"


def big_log(path, kind: str, mib: int):
    """The sample with `mib` MiB of text in or after line 6280, streamed to path ->
    (path, lines added, bytes of the death's record)."""
    lines = KA_SRC.read_bytes().split(b"\n")      # (the file ends with a line break)
    death = len(lines[DEATH - 1]) + 1
    with open(path, "wb") as f:
        f.write(b"\n".join(lines[:DEATH]))
        if kind == "line":                  # the death's own line, still a key=value list
            chunk, added, tail = b" x=" + b"y" * (MiB - 3), 0, b"\n"
        elif kind == "continuation":        # one line after it
            chunk, added, tail = b"z" * MiB, 1, b"\n"
            f.write(b"\n")
        elif kind == "blank lines":         # empty continuation lines after it
            chunk, added, tail = b"\n" * MiB, mib * MiB, b""
            f.write(b"\n")
        else:                               # short continuation lines after it
            chunk = XML * (MiB // len(XML))
            added, tail = mib * (MiB // len(XML)), b""
            f.write(b"\n")
        for _ in range(mib):
            f.write(chunk)
        f.write(tail + b"\n".join(lines[DEATH:]))
    size = death + mib * len(chunk) + (1 if kind == "continuation" else 0)
    return path, added, size


def measured(*args):
    """`python -m loganalyzer ARGS` as the only child of a fresh interpreter ->
    (return code, stdout, stderr, peak RSS of that child in MB)."""
    probe = ("import json, resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=280)\n"
             "print(json.dumps([p.returncode, p.stdout, p.stderr,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "loganalyzer", *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    rc, stdout, stderr, kb = json.loads(out.stdout)
    return rc, stdout, stderr, kb / 1024


def cut_warning(path, size: int) -> str:
    return (f"{path}: line {DEATH}: a record of {size / MiB:.1f} MiB: its first 1.0 MiB and last "
            f"64 KiB are read, the {size - CAP} bytes between are cut (1 cut in all, {size - CAP} bytes)")


@pytest.mark.parametrize("kind", ["line", "continuation", "continuation lines"])
def test_a_150_mib_record_in_bounded_memory(tmp_path, kind):
    p, added, size = big_log(tmp_path / "src-libvirtd.log", kind, 150)
    rc, out, err, rss = measured("analyze", p, "-f", "json")
    assert rc == 0, err
    assert rss <= RSS_LIMIT_MB, f"analyze: {rss:.0f} MB"
    d = json.loads(out)
    [facts] = d["inputs"]
    assert (facts["lines"], facts["records"], facts["unparsed"]) == (LINES + added, RECORDS, 0)
    assert (facts["cut_records"], facts["cut_bytes"]) == (1, size - CAP)
    assert facts["warnings"] == [cut_warning(p, size)]
    [mig] = d["migrations"]
    assert mig["verdict"]["cause"] == "dconn-keepalive-timeout"
    assert DEATH in [x["line"] for x in d["keepalive_deaths"]]
    # the lines after the cut keep their numbers
    ev = [e["line"] for e in mig["verdict"]["evidence"] if "due to keepalive timeout" in e["text"]]
    assert ev == [ERROR + added]

    pq_out = tmp_path / "x.parquet"
    rc, out, err, rss = measured("events", p, "-o", pq_out, "-q")
    assert rc == 0, err
    assert rss <= RSS_LIMIT_MB, f"events: {rss:.0f} MB"
    assert err.strip() == "loganalyzer: warning: " + cut_warning(p, size)
    t = pq.read_table(pq_out, columns=["line", "kind", "message"]).to_pydict()
    assert len(t["line"]) == RECORDS and t["line"][-1] == LINES + added
    i = t["line"].index(DEATH)
    assert t["kind"][i] == "RPC_KEEPALIVE_TIMEOUT"
    assert len(t["message"][i].encode()) <= CAP
    assert t["line"][i + 2] == ERROR + added


def _route_dicts(paths):
    out = []
    for route in ({}, {"fast": False}, {"grammar": True}):
        d = analysis_to_dict(analyze([str(p) for p in paths], **route))
        for i in d["inputs"]:
            i.pop("warnings")
        out.append(d)
    return out


@pytest.mark.parametrize("kind", ["line", "continuation lines", "blank lines"])
def test_every_route_cuts_the_same_record(tmp_path, kind):
    """Small enough for the lark route: 2 MiB cut on every route, the same answers."""
    p, added, size = big_log(tmp_path / "src-libvirtd.log", kind, 2)
    fast, ref, lark = _route_dicts([p])
    assert fast == ref == lark
    assert (fast["inputs"][0]["cut_records"], fast["inputs"][0]["cut_bytes"]) == (1, size - CAP)
    tables = []
    for flt in (None, EventFilter(grep=".")):      # the Arrow rows, and the records
        facts = []
        tables.append([tb.to_pydict() for tb in iter_event_tables([str(p)], event_filter=flt, facts_out=facts)])
        assert facts[0].lines == LINES + added and facts[0].cut_bytes == size - CAP
    rows = [{k: sum((tb[k] for tb in ts), []) for k in ("line", "kind", "message", "time")} for ts in tables]
    assert rows[0] == rows[1]
    assert rows[0]["line"][-1] == LINES + added


def test_text_before_the_first_record_is_cut_and_its_lines_counted(tmp_path):
    # (a banner, or a megabyte of empty lines, before the daemon's first record)
    p = tmp_path / "src-libvirtd.log"
    blank = 2 << 20
    p.write_bytes(b"\n" * blank + KA_SRC.read_bytes())
    d = analysis_to_dict(analyze([str(p)]))
    [facts] = d["inputs"]
    assert (facts["lines"], facts["records"], facts["unparsed"]) == (LINES + blank, RECORDS, blank)
    assert (facts["cut_records"], facts["cut_bytes"]) == (0, blank - CAP)
    assert facts["warnings"][0].startswith(f"{p}: line 1: the text before the first record of 2.0 MiB")
    assert [x["line"] for x in d["keepalive_deaths"]] == [DEATH + blank]
    assert analysis_to_dict(analyze([str(p)], fast=False))["inputs"][0] == facts


def test_a_cut_never_splits_a_character(tmp_path):
    # a record of multi-byte characters cut at HEAD and TAIL: no invalid UTF-8 made
    lines = KA_SRC.read_text().split("\n")
    lines[DEATH - 1] += " note=" + "é中𝄞" * 200_000
    p = tmp_path / "src-libvirtd.log"
    p.write_text("\n".join(lines), encoding="utf-8")
    for route in (True, False):
        [facts] = analyze([str(p)], fast=route).inputs
        assert facts.cut_records == 1 and not any("UTF-8" in w for w in facts.warnings)
    [tbl] = [t for t in iter_event_tables([str(p)]) if DEATH in t.column("line").to_pylist()]
    msg = tbl.column("message")[tbl.column("line").to_pylist().index(DEATH)].as_py()
    assert "\ufffd" not in msg and msg.endswith("é中𝄞")


# ---------------------------------------------------------------- compressed floods
def _xz_flood(path, gib: int):
    """The sample's first 50 records in one xz stream, then `gib` GiB of one byte without a line
    break as concatenated streams of 64 MiB (a few hundred kB on disk)."""
    head = b"\n".join(KA_SRC.read_bytes().split(b"\n")[:50]) + b"\n"
    flood = lzma.compress(b"y" * (64 * MiB), preset=1)
    with open(path, "wb") as f:
        f.write(lzma.compress(head))
        for _ in range(gib * 16):
            f.write(flood)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_gibibyte_without_a_line_break_in_an_xz(tmp_path):
    """50 records then 1 GiB without a newline (the 10 GiB case runs the same code: peak RSS does
    not grow with the size): the records are kept, the last one is cut, memory stays bounded."""
    d = tmp_path / "hv01"
    d.mkdir()
    p = d / "libvirtd.log.xz"
    _xz_flood(p, 1)
    rc, out, err, rss = measured("analyze", p, "-f", "json")
    assert rc == 0, err
    assert rss <= RSS_LIMIT_MB, f"analyze: {rss:.0f} MB"
    [facts] = json.loads(out)["inputs"]
    head = KA_SRC.read_bytes().split(b"\n")[:50]
    [alone] = analyze([str(_write(tmp_path / "head.log", b"\n".join(head) + b"\n"))]).inputs
    size = len(head[-1]) + 1 + (1 << 30)        # the last record, its line break and the flood
    assert (facts["records"], facts["lines"], facts["unparsed"]) == (alone.records, 51, alone.unparsed)
    assert (facts["cut_records"], facts["cut_bytes"]) == (1, size - CAP)
    # scan lists the cut as an input that was read in part (exit 1), its 50 records analysed
    rc, out, err, rss = measured("scan", d, "--jobs", "1", "-o", tmp_path / "s.csv")
    assert rc == 1, err
    assert rss <= RSS_LIMIT_MB, f"scan: {rss:.0f} MB"
    assert f"  {p}: line 50: a record of 1024.0 MiB: its first 1.0 MiB and last 64 KiB are read" in err
    assert err.rstrip().endswith("(cut)")


def test_empty_lines_in_a_gz_under_max_bytes(tmp_path):
    """100 MiB of empty lines after the keepalive death, in a .gz: read as the death record's
    continuation and cut; `scan --max-bytes 100M` stops at the limit with an error row, both in
    bounded memory, and the verdict is still found."""
    lines = KA_SRC.read_bytes().split(b"\n")
    d = tmp_path / "hv01"
    d.mkdir()
    p = d / "libvirtd.log.gz"
    with gzip.open(p, "wb", compresslevel=6) as f:
        f.write(b"\n".join(lines[:DEATH]) + b"\n")
        for _ in range(100):
            f.write(b"\n" * MiB)
        f.write(b"\n".join(lines[DEATH:]))
    rc, out, err, rss = measured("analyze", p, "-f", "json")
    assert rc == 0, err
    assert rss <= RSS_LIMIT_MB, f"analyze: {rss:.0f} MB"
    d_out = json.loads(out)
    assert d_out["inputs"][0]["cut_records"] == 1
    assert [m["verdict"]["cause"] for m in d_out["migrations"]] == ["dconn-keepalive-timeout"]
    csv = tmp_path / "s.csv"
    rc, out, err, rss = measured("scan", d, "--jobs", "1", "--max-bytes", "100M", "-o", csv)
    assert rc == 1, err
    assert rss <= RSS_LIMIT_MB, f"scan: {rss:.0f} MB"
    assert f"{p}: decompressed size exceeds the 100.0 MiB limit (--max-bytes); only the first part was read" in err
    assert "dconn-keepalive-timeout" in csv.read_text()
