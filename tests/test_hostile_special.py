"""FIFOs, sockets and devices never hang a run: inside a folder they are skipped with their
reason (named like a log or like an archive), named on the command line they are one line.

Only regular files are opened inside folders (stat before open, O_NONBLOCK against a swap
between the two).  A FIFO named on the command line by `analyze`/`events` is read once, as a
stream (`analyze <(zcat x.gz)` works); `scan` reads files only."""
from __future__ import annotations

import os
import shutil
import socket
import stat
import threading

import pytest
from conftest import SAMPLES, run_cli

from loganalyzer.fleet import scan
from loganalyzer.sources import InputError, open_raw

KA = SAMPLES / "p2p-keepalive-timeout"
# a hung run fails the test instead of blocking the suite
TIMEOUT = 60


@pytest.fixture
def specials(tmp_path):
    """A folder with one real log and special files named like logs and archives."""
    d = tmp_path / "host"
    d.mkdir()
    shutil.copy(KA / "src-libvirtd.log", d / "libvirtd.log")
    want = {}
    for name in ("libvirtd.log.1", "logs.tar", "logs.zip", "libvirtd.log.2.gz"):
        os.mkfifo(d / name)
        want[name] = "FIFO, not a regular file"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "virtqemud.log"))
    want["virtqemud.log"] = "socket, not a regular file"
    if os.geteuid() == 0:       # making a device node needs root
        os.mknod(d / "libvirtd.log.3", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        want["libvirtd.log.3"] = "character device, not a regular file"
    yield d, {str(d / n): why for n, why in want.items()}
    sock.close()


def _skipped_line(want: dict) -> str:
    return (f"loganalyzer: warning: {len(want)} files skipped: "
            + ", ".join(f"{p} ({why})" for p, why in sorted(want.items())))


def test_analyze_and_events_skip_special_files(specials):
    d, want = specials
    for cmd in ("analyze", "events"):
        p = run_cli(cmd, d, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        assert p.stderr.splitlines() == [_skipped_line(want)]
    assert "6197 records by kind" in p.stdout


def test_scan_skips_special_files(specials):
    d, want = specials
    r = scan([d], jobs=1)
    assert r.errors == [] and r.exit_code == 0
    assert {s.path: s.reason for s in r.skipped} == want
    assert [files for _, files in r.streams] == [[str(d / "libvirtd.log")]]
    p = run_cli("scan", d, "--jobs", "1", timeout=TIMEOUT)
    assert p.returncode == 0 and _skipped_line(want) in p.stderr.splitlines()


def test_special_files_named_on_the_command_line(specials, tmp_path):
    d, _ = specials
    p = run_cli("scan", d / "logs.tar", timeout=TIMEOUT)
    assert p.returncode == 2
    assert f"  {d / 'logs.tar'}: FIFO, not a regular file: not read (special)" in p.stderr.splitlines()
    p = run_cli("analyze", d / "virtqemud.log", timeout=TIMEOUT)
    assert p.returncode == 2
    assert p.stderr == f"loganalyzer: {d / 'virtqemud.log'}: socket, not a regular file: not read\n"


def test_a_pipe_named_on_the_command_line_is_read_once(tmp_path):
    """`analyze <(cat log)`: the FIFO is read once, as a stream, like standard input."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = (KA / "src-libvirtd.log").read_bytes()

    def feed():
        with open(fifo, "wb") as w:
            w.write(data)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    p = run_cli("analyze", fifo, "--format", "json", timeout=TIMEOUT)
    t.join(5)
    assert p.returncode == 0, p.stderr
    import json
    doc = json.loads(p.stdout)
    assert doc["inputs"][0]["records"] == 6197
    assert [m["verdict"]["cause"] for m in doc["migrations"]] == ["dconn-keepalive-timeout"]


def test_a_file_swapped_for_a_fifo_after_its_stat_does_not_block(tmp_path, monkeypatch):
    """The race stat() cannot close: the path is a regular file when checked and a FIFO when
    opened.  The open does not wait for a writer (O_NONBLOCK) and fstat refuses it."""
    fifo = tmp_path / "libvirtd.log"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = real_stat(__file__)

    def stat_says_regular(path, *a, **k):
        return regular if os.fspath(path) == str(fifo) else real_stat(path, *a, **k)
    monkeypatch.setattr(os, "stat", stat_says_regular)
    result = {}

    def try_open():
        try:
            open_raw(str(fifo), regular_only=True)
        except InputError as e:
            result["error"] = str(e)
    t = threading.Thread(target=try_open, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "open blocked on a FIFO"
    assert result == {"error": f"{fifo}: FIFO, not a regular file: not read"}


@pytest.mark.parametrize("cmd", [["analyze"], ["analyze", "--format", "json"], ["events"], ["scan"]],
                         ids=lambda c: "-".join(c))
def test_a_full_disk_under_standard_output_is_one_line(cmd):
    """The report printed to a full disk (/dev/full): one line naming it and exit status 2,
    not a traceback (events and scan once showed one; analyze named the output `None`)."""
    import subprocess
    import sys
    log = str(SAMPLES / "p2p-ok" / "src-libvirtd.log")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "loganalyzer", *cmd, log], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["loganalyzer: standard output: cannot write (No space left on device)"]
