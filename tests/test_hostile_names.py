"""Odd names: a file name holding a newline or terminal escapes keeps every error on one line
(quoted as `ls --quoting-style=shell-escape` quotes it: GNU ls is the reference here), and a
20,000-character domain name gives bounded, distinct report file names.

Built from the real logs of p2p-keepalive-timeout."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess

import pytest
from conftest import SAMPLES, run_cli

from loganalyzer.fleet import scan, write_reports
from loganalyzer.sources import shown

KA = SAMPLES / "p2p-keepalive-timeout"
NAMES = ["plain.log", "sp ace.log", "it's.log", "a'b$c.log", "a=b", "#first", "x#y", "~tilde", "a]b[c",
         "new\nline.log", "esc\x1b]0;pwned\x07.log", "\x7fdel", "tab\there", "x\n", "\n\n", "ünïcode.log",
         "a'b\nc", "bad\udcff\udcfebytes"]


def _ls_quoted(folder) -> list:
    p = subprocess.run(["ls", "--quoting-style=shell-escape", "-1", str(folder)], capture_output=True,
                       text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
    if p.returncode != 0:
        pytest.skip("no GNU ls with --quoting-style here")
    return sorted(p.stdout.splitlines())


def test_names_are_quoted_as_ls_quotes_them(tmp_path):
    for n in NAMES:
        (tmp_path / n).touch()
    assert sorted(shown(n) for n in os.listdir(tmp_path)) == _ls_quoted(tmp_path)
    # and stricter than ls: a bidi override is escaped, not printed
    assert shown("\u202eevil.log") == "''$'\\342\\200\\256''evil.log'"


def test_errors_naming_odd_files_stay_one_line(tmp_path):
    odd = "libvirtd\n.log\x1b]0;pwned\x07"
    missing = tmp_path / odd
    for cmd in ("events", "analyze"):
        p = run_cli(cmd, missing)
        assert p.returncode == 2
        assert p.stderr.splitlines() == [f"loganalyzer: {shown(missing)}: no such file"]
        assert "\x1b" not in p.stderr and "\x07" not in p.stderr
    # a folder: a file that is not a log, one that is corrupt, and a real log
    d = tmp_path / "host"
    d.mkdir()
    shutil.copy(KA / "src-libvirtd.log", d / "libvirtd.log")
    (d / odd).write_text("notes, not a log\n")
    bad = d / "rotated\n.log.1.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 50)
    p = run_cli("analyze", d)
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        f"loganalyzer: warning: 1 file skipped: {shown(d / odd)} (not a libvirt log)",
        f"loganalyzer: {shown(bad)}: corrupt gzip data (Error -3 while decompressing data: invalid code "
        f"lengths set): nothing could be read"]
    p = run_cli("scan", d, "--jobs", "1")
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert f"loganalyzer: warning: 1 file skipped: {shown(d / odd)} (not a libvirt log)" in lines
    assert (f"  {shown(bad)}: corrupt gzip data (Error -3 while decompressing data: invalid code lengths set): "
            f"nothing could be read (corrupt)") in lines
    assert "\x1b" not in p.stderr


def test_report_names_are_bounded_and_distinct(tmp_path):
    """Two migrations of domains named by 20,000 characters that differ only at the end: both
    reports are written, under names of at most 125 characters that differ."""
    data = (KA / "src-libvirtd.log").read_bytes()
    host = tmp_path / "kvm-a"
    host.mkdir()
    (host / "libvirtd.log.1.gz").write_bytes(gzip.compress(data.replace(b"tiny", b"d" * 20000 + b"A")))
    (host / "libvirtd.log").write_bytes(data.replace(b"tiny", b"d" * 20000 + b"B"))
    r = scan([tmp_path], jobs=1)
    assert sorted(m.domain[-1] for m in r.analysis.failed) == ["A", "B"]
    written = write_reports(r, str(tmp_path / "rep"), "html")
    names = sorted(os.path.basename(p) for p in written)
    assert len(names) == 2 and names[0] != names[1]
    assert all(len(n.encode()) <= 125 and n.startswith("kvm-a-ddd") and n.endswith(".html") for n in names)
    p = run_cli("scan", tmp_path, "--jobs", "1", "--reports", tmp_path / "rep2", "--reports-format", "json")
    assert p.returncode == 0 and "wrote 2 reports" in p.stderr
    assert sorted(os.listdir(tmp_path / "rep2")) == [n[:-5] + ".json" for n in names]
