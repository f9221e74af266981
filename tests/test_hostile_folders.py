"""Folders given to `analyze DIR`, `events DIR` and `scan DIR`: files found by their content,
symbolic links that would lead out of the folder, sub-folders that cannot be read.

Built from real samples: p2p-keepalive-timeout (source and destination daemons), p2p-ok, and
the syslog-wrapped line of samples/excerpts/prometheus-exporter-10-syslog-wrapped-fileformat.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, run_cli

from loganalyzer import LogReader, analyze
from loganalyzer.fleet import scan

KA = SAMPLES / "p2p-keepalive-timeout"
SYSLOG_LINE = SAMPLES / "excerpts" / "prometheus-exporter-10-syslog-wrapped-fileformat" / "report-excerpt.txt"


def _records(path) -> int:
    r = LogReader(str(path))
    for _ in r:
        pass
    return r.facts.records


# ---------------------------------------------------------------- found by content
@pytest.fixture
def unnamed(tmp_path):
    """Logs under names that say nothing (and one compressed without saying so), beside files
    that are not logs under names that look like logs."""
    d = tmp_path / "fleet"
    (d / "hv01").mkdir(parents=True)
    (d / "node2").mkdir()
    (d / "hv03").mkdir()
    shutil.copy(KA / "src-libvirtd.log", d / "hv01" / "hv01.log")
    shutil.copy(KA / "dst-libvirtd.log", d / "node2" / "node2.txt")
    (d / "hv03" / "libvirtd.log.1").write_bytes(gzip.compress((SAMPLES / "p2p-ok" / "src-libvirtd.log").read_bytes()))
    shutil.copy(SYSLOG_LINE, d / "hv03" / "messages-20261201")
    shutil.copy(KA / "src-qemu-tiny.log", d / "hv01" / "libvirtd.log.2")        # a guest log
    (d / "node2" / "core.libvirtd").write_bytes(bytes(range(256)) * 64)
    (d / "README.md").write_text("fleet logs, collected by hand\n")
    logs = [d / "hv01" / "hv01.log", d / "hv03" / "libvirtd.log.1", d / "hv03" / "messages-20261201",
            d / "node2" / "node2.txt"]
    skipped = [(d / "README.md", "not a libvirt log"), (d / "hv01" / "libvirtd.log.2", "not a libvirt log"),
               (d / "node2" / "core.libvirtd", "binary")]
    return d, logs, skipped


def _summary(skipped) -> str:
    return f"{len(skipped)} files skipped: " + ", ".join(f"{p} ({why})" for p, why in skipped)


def test_analyze_and_events_find_logs_by_content(unnamed):
    d, logs, skipped = unnamed
    a = analyze(str(d))
    assert sorted(f.path for f in a.inputs) == sorted(map(str, logs))
    assert [(s.path, s.reason) for s in a.skipped] == [(str(p), why) for p, why in skipped]
    assert {f.path: f.records for f in a.inputs} == {str(p): _records(p) for p in logs}
    # the keepalive failure of the two hosts is found as when the files are named
    pair = analyze([str(KA / "src-libvirtd.log"), str(KA / "dst-libvirtd.log")])
    assert sorted((m.role, m.verdict.cause) for m in a.migrations if m.verdict and m.outcome == "failed") == \
        sorted((m.role, m.verdict.cause) for m in pair.migrations if m.verdict and m.outcome == "failed")
    for cmd in ("events", "analyze"):
        p = run_cli(cmd, d)
        assert p.returncode == 0, p.stderr
        assert p.stderr == f"loganalyzer: warning: {_summary(skipped)}\n", p.stderr
    p = run_cli("events", d)
    assert f"{sum(_records(x) for x in logs)} records by kind" in p.stdout


def test_scan_finds_logs_by_content(unnamed):
    d, logs, skipped = unnamed
    r = scan([d], jobs=1)
    assert r.errors == [] and r.exit_code == 0
    assert sorted(p for _, files in r.streams for p in files) == sorted(map(str, logs))
    assert sorted((s.path, s.reason) for s in r.skipped) == sorted((str(p), why) for p, why in skipped)
    # two streams in hv03's folder: the daemon's log (libvirtd.log.1) and the syslog file
    assert sorted(r.hosts.values()) == ["hv01", "hv03/libvirtd", "hv03/messages", "node2"]
    p = run_cli("scan", d, "--jobs", "1")
    assert p.returncode == 0
    assert f"loganalyzer: warning: {len(skipped)} files skipped: " in p.stderr
    for path, why in skipped:
        assert f"{path} ({why})" in p.stderr


def test_a_folder_without_logs_names_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    p = run_cli("analyze", tmp_path)
    assert p.returncode == 2
    assert p.stderr == (f"loganalyzer: {tmp_path}: directory holds no libvirt logs "
                        f"(1 file skipped: {tmp_path / 'notes.txt'} (not a libvirt log))\n")


# ---------------------------------------------------------------- symbolic links
def _outside(tmp_path) -> Path:
    """A host's logs outside the scanned folder: they must never be read."""
    out = tmp_path / "elsewhere"
    (out / "log" / "libvirt").mkdir(parents=True)
    shutil.copy(KA / "dst-libvirtd.log", out / "log" / "libvirt" / "libvirtd.log")
    (out / "log" / "libvirt" / "sos_strings").mkdir()
    return out


@pytest.mark.parametrize("link", ["var", "var/log/libvirt", "sos_strings"])
def test_sosreport_links_leaving_the_folder_are_unsafe(tmp_path, link):
    """A sosreport inside the scanned folder whose var (or var/log/libvirt, or sos_strings)
    is a symbolic link to a folder outside: listed as unsafe, and nothing of it is read."""
    out = _outside(tmp_path)
    top = tmp_path / "scanned"
    sos = top / "sosreport-kvm-a-2026-11-25-abcdef"
    (sos / "sos_commands" / "host").mkdir(parents=True)
    (sos / "sos_commands" / "host" / "hostname").write_text("kvm-a\n")
    target = {"var": out, "var/log/libvirt": out / "log" / "libvirt",
              "sos_strings": out / "log" / "libvirt" / "sos_strings"}[link]
    (sos / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, sos / link)
    if link != "var":     # something to scan besides
        (sos / "var" / "log" / "libvirt").mkdir(parents=True, exist_ok=True)
        if link == "sos_strings":
            shutil.copy(KA / "src-libvirtd.log", sos / "var" / "log" / "libvirt" / "libvirtd.log")
    r = scan([top], jobs=1)
    assert [(e.path, e.kind, e.reason) for e in r.errors] == \
        [(str(sos / link), "unsafe", f"symbolic link leaving the folder (-> {target}): not followed")]
    assert "elsewhere" not in " ".join(p for _, files in r.streams for p in files)
    assert all(m.path.startswith(str(top)) for m in (r.analysis.migrations if r.analysis else []))


def test_analyze_dir_does_not_follow_links_out(tmp_path):
    out = _outside(tmp_path)
    top = tmp_path / "scanned"
    top.mkdir()
    shutil.copy(KA / "src-libvirtd.log", top / "libvirtd.log")
    os.symlink(out / "log", top / "more")                                   # a folder outside
    os.symlink(out / "log" / "libvirt" / "libvirtd.log", top / "dst.log")   # a file outside
    os.symlink("libvirtd.log", top / "same.log")                            # a file inside: read
    a = analyze(str(top))
    assert sorted(f.path for f in a.inputs) == [str(top / "libvirtd.log"), str(top / "same.log")]
    assert sorted((s.path, s.reason) for s in a.skipped) == [
        (str(top / "dst.log"), f"symbolic link leaving the folder (-> {out / 'log' / 'libvirt' / 'libvirtd.log'}): not followed"),
        (str(top / "more"), f"symbolic link leaving the folder (-> {out / 'log'}): not followed")]
    r = scan([top], jobs=1)
    assert sorted((e.path, e.kind) for e in r.errors) == [(str(top / "dst.log"), "unsafe"), (str(top / "more"), "unsafe")]


# ---------------------------------------------------------------- unreadable sub-folders
def _without_permission_override():
    """Run as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: file modes then apply to
    root as to any user (a real permission check, not a simulated error)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot take away the permission override")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_sub_folder_is_an_error_row(tmp_path):
    top = Path(tempfile.mkdtemp(prefix="la-perm-", dir=tmp_path))
    (top / "ok").mkdir()
    shutil.copy(KA / "src-libvirtd.log", top / "ok" / "libvirtd.log")
    locked = top / "locked"
    locked.mkdir()
    shutil.copy(KA / "dst-libvirtd.log", locked / "libvirtd.log")
    locked.chmod(0)
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    try:
        def cli(*args):
            return subprocess.run(_without_permission_override() + [sys.executable, "-m", "loganalyzer", *map(str, args)],
                                  capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        out = tmp_path / "s.csv"
        p = cli("scan", top, "--jobs", "1", "-o", out)
        assert p.returncode == 1, p.stderr
        assert f"  {locked}: permission denied (unreadable)" in p.stderr.splitlines()
        import pandas as pd
        rows = pd.read_csv(out)
        err = rows[rows.outcome == "error"]
        assert list(zip(err.file, err.cause, err.error)) == [(str(locked), "unreadable", "permission denied")]
        assert "failed" in set(rows.outcome)          # the readable host is analysed
        p = cli("analyze", top)
        assert p.returncode == 2
        assert f"loganalyzer: {locked}: permission denied: its files are not read" in p.stderr.splitlines()
    finally:
        locked.chmod(0o755)
