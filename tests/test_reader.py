"""LogReader on the real samples: counts, facts, lossless join, mid-file headers, compression, rotation."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os

import pytest
import zstandard
from conftest import SAMPLES, excerpt_files, sample_logs

from loganalyzer import LogReader, read_events
from loganalyzer.records import Foreign, Record
from loganalyzer.sources import expand_paths

KA = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
OK = SAMPLES / "p2p-ok" / "src-libvirtd.log"


# counted independently: grep -cE '^[0-9]{4}-' FILE (records), grep -c '' FILE (lines)
@pytest.mark.parametrize("rel,records,lines", [
    ("p2p-keepalive-timeout/src-libvirtd.log", 6197, 7311),
    ("p2p-ok/src-libvirtd.log", 4343, 5460),
    ("dconn-refused/dst-libvirtd.log", 1284, None),
])
def test_record_counts(rel, records, lines):
    r = LogReader(str(SAMPLES / rel))
    assert sum(1 for _ in r) == records
    assert r.facts.records == records and r.facts.unparsed == 0 and r.facts.format == "file"
    if lines is not None:
        assert r.facts.lines == lines


def test_counts_match_grep_on_every_sample():
    import re
    start = re.compile(rb"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4}: (?:[0-9]+: )?(?:debug|info|warning|error|unknown) : ", re.M)
    for p in sample_logs():
        data = p.read_bytes()
        r = LogReader(str(p))
        n = sum(1 for _ in r)
        if r.facts.format == "file":
            assert n == len(start.findall(data)), p


def test_facts_of_a_sample():
    r = LogReader(str(OK))
    list(r)
    f = r.facts
    assert f.libvirt_version == "9.0.0" and f.package == "9.0.0-4+deb12u2 (Debian)" and f.hostname == "vm"
    assert f.first_time == 1795638881.197          # 2026-11-25 20:34:41.197+0000 (line 1)
    assert f.bytes == OK.stat().st_size
    assert f.warnings == [] and f.error is None


@pytest.mark.parametrize("path", sample_logs() + excerpt_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lossless_join(path):
    """The raw texts of all records and foreign runs give back the input byte for byte."""
    r = LogReader(str(path))
    raw = "".join(i.raw for i in r.items())
    assert raw.encode("utf-8") == path.read_bytes()
    if r.facts.format == "file":
        assert r.facts.records + r.facts.unparsed <= r.facts.lines


def test_known_line_numbers_and_multiline():
    recs = {r.line: r for r in read_events(str(KA))}
    assert recs[6280].kind == "RPC_KEEPALIVE_TIMEOUT" and recs[6280].fields["countToDeath"] == "0"
    assert recs[829].kind == "QEMU_MONITOR_SEND_MSG" and recs[829].fields["fd"] == "-1"
    assert 830 not in recs                       # " fd=-1" is part of record 829
    assert recs[829].raw.endswith('"id":"libvirt-1"}\r\n fd=-1\n')
    assert recs[829].text.endswith('"id":"libvirt-1"}')


def test_header_lines_mid_file(tmp_path):
    """Two real logs concatenated (made here: p2p-ok's src log after p2p-keepalive-timeout's):
    the second file's `libvirt version:` / `hostname:` pair appears mid-file."""
    cat = tmp_path / "libvirtd.log"
    cat.write_bytes(KA.read_bytes() + OK.read_bytes())
    r = LogReader(str(cat))
    heads = [(rec.line, rec.kind, rec.func) for rec in r if rec.kind in ("version", "hostname")]
    assert (7312, "version", None) in heads and (7313, "hostname", None) in heads
    assert r.facts.records == 6197 + 4343


def test_compressed_inputs_give_the_same_records(tmp_path):
    data = OK.read_bytes()
    want = [(r.line, r.kind, r.message) for r in read_events(str(OK))]
    files = {
        "a.log.gz": gzip.compress(data), "a.log.xz": lzma.compress(data),
        "a.log.bz2": bz2.compress(data), "a.log.zst": zstandard.ZstdCompressor().compress(data),
        "a.log.1": gzip.compress(data),       # compressed without the suffix: found by its magic
    }
    for name, blob in files.items():
        (tmp_path / name).write_bytes(blob)
        assert [(r.line, r.kind, r.message) for r in read_events(str(tmp_path / name))] == want, name


def test_rotated_set_order(tmp_path):
    line = OK.read_bytes().splitlines(keepends=True)[0]     # a real record
    for n in ("libvirtd.log", "libvirtd.log.1", "libvirtd.log.2.gz", "libvirtd.log-20231105.gz",
              "libvirtd.log-20231112", "README.txt", "virtqemud.log"):
        data = b"read me\n" if n == "README.txt" else line
        (tmp_path / n).write_bytes(gzip.compress(data) if n.endswith(".gz") else data)
    skipped = []
    got = [os.path.basename(p) for p in expand_paths([str(tmp_path)], skipped=skipped)]
    assert [(os.path.basename(s.path), s.reason) for s in skipped] == [("README.txt", "not a libvirt log")]
    assert got == ["libvirtd.log-20231105.gz", "libvirtd.log-20231112", "libvirtd.log.2.gz",
                   "libvirtd.log.1", "libvirtd.log", "virtqemud.log"]


def test_sos_tailed_first_line(tmp_path):
    """sos keeps the last bytes as *.tailed: the cut first line is counted unparsed,
    never glued to a record."""
    data = OK.read_bytes()
    cut = data[data.index(b"\n", 5000) - 40:]      # starts 40 bytes before a line end
    p = tmp_path / "libvirtd.log.tailed"
    p.write_bytes(cut)
    r = LogReader(str(p))
    items = list(r.items())
    assert isinstance(items[0], Foreign) and items[0].nlines == 1 and len(items[0].raw) == 41
    assert isinstance(items[1], Record) and items[1].line == 2
    assert r.facts.unparsed == 1
    assert any("first line cut" in w for w in r.facts.warnings)
    assert "".join(i.raw for i in items).encode() == cut


def test_daemon_and_excerpt_facts():
    r = LogReader(str(SAMPLES / "excerpts/virt-manager-887-keepalive-localized/libvirtd-excerpt.log"))
    list(r)
    # the line wrapped in markdown `**…**` is a record too (found mid-line); the `**` before it is foreign
    assert r.facts.format == "pasted" and r.facts.records == 7 and r.facts.unparsed == 1
    assert r.facts.daemon == "libvirtd"       # from the file name, which wins over the lines' rpc-virtqemud
