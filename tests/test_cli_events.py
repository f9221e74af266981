"""`loganalyzer events`: summary, -o parquet/csv/jsonl round trips, filters, bounded memory."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT, SAMPLES, run_cli

KA = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"     # 6197 records


def test_summary():
    p = run_cli("events", KA)
    assert p.returncode == 0 and p.stderr == ""
    assert "7311 lines  6197 records  0 unparsed" in p.stdout
    assert "6197 records by kind" in p.stdout and "RPC_KEEPALIVE_TIMEOUT" in p.stdout


def test_help_says_what_options_do():
    p = run_cli("events", "--help")
    for opt in ("--output", "--since", "--until", "--tid", "--grep", "--input-format"):
        assert opt in p.stdout


@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_output_round_trip(tmp_path, ext):
    out = tmp_path / f"x.{ext}"
    p = run_cli("events", KA, "-o", out)
    # the results are in the file: stdout stays empty, the note goes to stderr (issue 16)
    assert p.returncode == 0 and f"wrote 6197 records to {out}" in p.stderr and p.stdout == ""
    if ext == "parquet":
        df = pd.read_parquet(out)
        assert str(df["time"].dtype).startswith("datetime64[") and str(df["time"].dt.tz) == "UTC"
        assert isinstance(df["level"].dtype, pd.CategoricalDtype)
        assert isinstance(df["kind"].dtype, pd.CategoricalDtype)
    elif ext == "csv":
        df = pd.read_csv(out, dtype={"client": "string", "ka": "string", "tid": "Int64"})
        df["time"] = pd.to_datetime(df["time"], utc=True)
    else:
        df = pd.read_json(out, lines=True, dtype={"client": "string", "ka": "string"})
        df["time"] = pd.to_datetime(df["time"], utc=True)
    assert len(df) == 6197
    row = df[df["line"] == 6280].iloc[0]
    assert row["kind"] == "RPC_KEEPALIVE_TIMEOUT" and row["client"] == "0x7fd78402e550"
    assert isinstance(row["ka"], str) and row["ka"] == "0x5602cad67830"     # pointers stay strings
    assert row["time"] == pd.Timestamp("2026-11-25 20:29:53.724", tz="UTC")
    assert pd.api.types.is_string_dtype(df["client"]) or df["client"].dtype == object


def test_filters(tmp_path):
    out = tmp_path / "x.parquet"
    p = run_cli("events", KA, "--grep", "countToDeath=0", "-o", out)
    assert p.returncode == 0
    assert list(pd.read_parquet(out)["line"]) == [6280]
    p = run_cli("events", KA, "--since", "2026-11-25 20:29:53.724", "--until", "2026-11-25T20:29:53.724Z",
                "--tid", "13681", "-o", out)
    df = pd.read_parquet(out)
    assert p.returncode == 0 and 6280 in set(df["line"]) and (df["tid"] == 13681).all()
    p = run_cli("events", KA, "--since", "yesterday")
    assert p.returncode == 2 and p.stderr.startswith("loganalyzer: cannot read time 'yesterday'")
    p = run_cli("events", KA, "--grep", "(")
    assert p.returncode == 2 and "bad --grep" in p.stderr and "Traceback" not in p.stderr


def test_bad_output_name(tmp_path):
    p = run_cli("events", KA, "-o", tmp_path / "x.xlsx")
    assert p.returncode == 2 and "output must end in .parquet, .csv or .jsonl" in p.stderr


def _big_log(path, target):
    """About `target` bytes: real samples repeated (scenario logs one after the other)."""
    srcs = [p.read_bytes() for p in sorted(SAMPLES.glob("*/src-libvirtd.log"))[:8]]
    with open(path, "wb") as fh:
        n = 0
        while n < target:
            for s in srcs:
                fh.write(s)
                n += len(s)
    return n


def test_memory_bounded(tmp_path):
    """~200 MB streamed through `events -o x.parquet`: peak RSS of the child < 300 MB."""
    big = tmp_path / "big.log"
    _big_log(big, 200 << 20)
    out = tmp_path / "x.parquet"
    if not os.access("/usr/bin/time", os.X_OK):
        pytest.skip("needs GNU time: a child forked from this (big) pytest process inherits its maxrss")
    # GNU time forks the command from a tiny process and reports that process's own peak RSS
    # (resource.getrusage(RUSAGE_CHILDREN) / wait4 on a child forked from pytest would report
    # at least pytest's own RSS, which the tests before this one grew)
    rss = tmp_path / "rss.txt"
    t = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss), sys.executable, "-m", "loganalyzer",
                        "events", str(big), "-o", str(out)], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    took = time.time() - t
    assert p.returncode == 0, p.stderr
    peak_kb = int(rss.read_text().split()[-1])
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb // 1024} MB"
    assert took < 60
    assert len(pd.read_parquet(out, columns=["line"])) > 1_000_000
    assert took < 60


def test_events_to_parquet_and_summary_never_import_pandas(tmp_path):
    """`events` to parquet or to a summary is Arrow from end to end: pandas (~35 MB) is never
    imported (its memory would push a 2 GB log past 300 MB), without any import hook."""
    log = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
    for out in ([], ["-o", str(tmp_path / "x.parquet")]):
        code = ("import sys; from loganalyzer.cli import main; sys.argv = ['loganalyzer', 'events', "
                f"{str(log)!r}] + {out!r}\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
                "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', file=sys.stderr)")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
        assert p.stderr.strip().splitlines()[-1] == "no pandas", p.stderr[-500:]

