"""Inputs and bad input, through the CLI: one clear line on stderr naming the file, exit 2 for
unusable input, never a traceback; the other inputs are still read."""
from __future__ import annotations

import gzip
import os

import pytest
from conftest import SAMPLES, run_cli

from loganalyzer import InputError, LogReader

OK = SAMPLES / "p2p-ok" / "src-libvirtd.log"      # 4343 records (grep -cE '^[0-9]{4}-')


def one_line_error(p, path):
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert any(str(path) in ln for ln in lines), p.stderr
    return lines


def test_missing_file(tmp_path):
    p = run_cli("events", tmp_path / "nope.log")
    assert p.returncode == 2
    assert one_line_error(p, tmp_path / "nope.log") == [f"loganalyzer: {tmp_path / 'nope.log'}: no such file"]


def test_unreadable_file(tmp_path):
    f = tmp_path / "secret.log"
    f.write_bytes(OK.read_bytes()[:1000])
    f.chmod(0)
    try:
        if os.access(f, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading (see test_read_error_for_root)")
        p = run_cli("events", f)
        assert p.returncode == 2
        assert one_line_error(p, f) == [f"loganalyzer: {f}: permission denied"]
    finally:
        f.chmod(0o644)


def test_read_error_for_root():
    """/proc/self/mem opens for root too but its first read fails (EIO): the same one-line error."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("no /proc")
    p = run_cli("events", "/proc/self/mem")
    assert p.returncode == 2
    lines = one_line_error(p, "/proc/self/mem")
    assert lines == ["loganalyzer: /proc/self/mem: cannot read (Input/output error)"]


def test_directory_without_logs(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    p = run_cli("events", tmp_path)
    assert p.returncode == 2
    assert one_line_error(p, tmp_path)[0].startswith(f"loganalyzer: {tmp_path}: directory holds no libvirt logs")


def test_directory_of_logs(tmp_path):
    (tmp_path / "libvirtd.log.1").write_bytes(OK.read_bytes())
    (tmp_path / "libvirtd.log").write_bytes(OK.read_bytes())
    p = run_cli("events", tmp_path)
    assert p.returncode == 0 and "8686 records by kind" in p.stdout
    assert p.stdout.index("libvirtd.log.1") < p.stdout.index("libvirtd.log ")


def test_binary_file(tmp_path):
    f = tmp_path / "core.log"
    f.write_bytes(bytes(range(256)) * 100)
    p = run_cli("events", f)
    assert p.returncode == 2
    assert one_line_error(p, f) == [f"loganalyzer: {f}: binary data, not a text log"]


def test_invalid_utf8_is_replaced_once(tmp_path):
    data = OK.read_bytes().replace(b"tiny", b"t\xffny")
    f = tmp_path / "libvirtd.log"
    f.write_bytes(data)
    p = run_cli("events", f)
    assert p.returncode == 0 and "4343 records by kind" in p.stdout
    warns = [ln for ln in p.stderr.splitlines() if "invalid UTF-8" in ln]
    assert len(warns) == 1 and str(f) in warns[0]
    first = data.index(b"\xff")
    nl = data.count(b"\n", 0, first) + 1
    assert f"line {nl})" in warns[0]


def test_empty_file(tmp_path):
    f = tmp_path / "libvirtd.log"
    f.write_bytes(b"")
    p = run_cli("events", f)
    assert p.returncode == 0 and "0 records by kind" in p.stdout
    assert p.stderr.strip() == f"loganalyzer: warning: {f}: empty file: 0 records"
    r = LogReader(str(f))
    assert list(r) == [] and r.facts.records == 0


def test_truncated_gz(tmp_path):
    """A .gz cut short: every record before the cut is read, and a warning (not an error) says
    the input ends early (every codec, every command: tests/test_hostile_codecs.py)."""
    data = OK.read_bytes()
    blob = gzip.compress(data)
    f = tmp_path / "libvirtd.log.gz"
    f.write_bytes(blob[: len(blob) // 2])
    r = LogReader(str(f))
    recs = list(r)
    assert 0 < len(recs) < 4343 and r.facts.error is None and r.facts.ends_early
    assert r.facts.warnings == [f"{f}: input ends early: the gzip data is cut short after line {r.facts.lines}; "
                                f"the {len(recs)} records before the break are read"]
    p = run_cli("events", f)
    assert p.returncode == 0
    assert one_line_error(p, f) == [f"loganalyzer: warning: {r.facts.warnings[0]}"]


def test_single_50mb_line(tmp_path):
    head = OK.read_bytes()[:1155]               # the first 10 lines
    long = b"2026-11-25 20:34:41.300+0000: 16635: debug : virTest:1 : blob=" + b"x" * (50 << 20) + b"\n"
    tail = b"2026-11-25 20:34:41.400+0000: 16635: debug : virTest:2 : after=1\n"
    f = tmp_path / "libvirtd.log"
    f.write_bytes(head + long + tail)
    r = LogReader(str(f))
    items = list(r.items())
    recs = [i for i in items if i.__class__.__name__ == "Record"]
    assert "".join(i.raw for i in items).encode() == head + long + tail       # still lossless
    assert recs[-1].fields == {"after": "1"} and recs[-1].line == 12
    assert recs[-2].line == 11 and len(recs[-2].message) <= 8 << 20
    assert len(r.facts.warnings) == 1 and "line 11 is longer than 8 MB" in r.facts.warnings[0]
    p = run_cli("events", f)
    assert p.returncode == 0 and p.stderr.count("\n") == 1 and "longer than 8 MB" in p.stderr


def test_several_files_one_bad(tmp_path):
    p = run_cli("events", tmp_path / "missing.log", OK, SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log")
    assert p.returncode == 2
    assert one_line_error(p, tmp_path / "missing.log") == [f"loganalyzer: {tmp_path / 'missing.log'}: no such file"]
    assert f"{6197 + 4343} records by kind" in p.stdout


def test_stdin_plain_and_gz():
    data = OK.read_bytes()
    for blob in (data, gzip.compress(data)):
        p = run_cli("events", "-", stdin=blob)
        assert p.returncode == 0, p.stderr
        assert b"4343 records by kind" in p.stdout


def test_unknown_input_format():
    p = run_cli("events", OK, "--input-format", "xml")
    assert p.returncode == 2 and p.stderr.startswith("loganalyzer: unknown --input-format 'xml'")


def test_library_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(LogReader(str(tmp_path / "x.log")))
