"""Compressed input that is cut short or damaged, for `events`, `analyze` and `scan`.

Every case is built here from the real source daemon log of p2p-keepalive-timeout (6197
records).  What the reader keeps of a cut file is checked against the stdlib / zstandard
decoders fed the same bytes (independent of loganalyzer.codecs), and against `events` on the
plain prefix they give.

- cut short (every codec, also a .zst missing only its last byte): every record before the
  cut is read and analysed, one warning says the input ends early, exit 0; in `scan`, a
  `truncated` row with the same words;
- corrupt from some point on (a bad gzip block, a damaged zstd frame): the records before are
  kept, one line names the file, exit 2; in `scan`, a `corrupt` row;
- nothing decodable (a zstd frame that needs a dictionary, garbage after an xz header): one
  line naming the file, exit 2;
- the name is not the content (plain text named .xz): read as what it is, with a warning.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib

import pytest
import zstandard
from conftest import SAMPLES, run_cli

from loganalyzer import LogReader, analyze
from loganalyzer.fleet import scan

SRC = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
NAMES = {"gz": "gzip", "xz": "xz", "bz2": "bzip2", "zst": "zstd"}
# bzip2 at level 1: 100 kB blocks, so a cut leaves whole blocks before it (at -9 one block
# holds 900 kB: a cut inside the first block leaves nothing to read)
COMPRESS = {"gz": gzip.compress, "xz": lzma.compress, "bz2": lambda d: bz2.compress(d, 1),
            "zst": zstandard.ZstdCompressor().compress}


def _prefix(kind: str, blob: bytes) -> bytes:
    """What the reference decoder gives of a cut stream (all it can, without raising)."""
    if kind == "gz":
        return zlib.decompressobj(31).decompress(blob)
    if kind == "xz":
        return lzma.LZMADecompressor().decompress(blob)
    if kind == "bz2":
        return bz2.BZ2Decompressor().decompress(blob)
    return zstandard.ZstdDecompressor().decompressobj().decompress(blob)


def _lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@pytest.fixture(scope="module")
def data():
    return SRC.read_bytes()


CUTS = [("gz", 0.6), ("xz", 0.6), ("bz2", 0.6), ("zst", 0.6), ("zst", -1)]


@pytest.mark.parametrize("kind,where", CUTS, ids=[f"{k}-{'lastbyte' if w < 0 else 'half'}" for k, w in CUTS])
def test_cut_short_keeps_every_record_before_the_cut(tmp_path, data, kind, where):
    blob = COMPRESS[kind](data)
    cut = blob[:-1] if where < 0 else blob[: int(len(blob) * where)]
    f = tmp_path / f"libvirtd.log.{kind}"
    f.write_bytes(cut)
    prefix = _prefix(kind, cut)
    assert 0 < len(prefix) < len(data) and data.startswith(prefix)
    plain = tmp_path / "prefix.log"
    plain.write_bytes(prefix)
    want = LogReader(str(plain))
    want_recs = [(r.line, r.raw) for r in want]

    r = LogReader(str(f))
    assert [(x.line, x.raw) for x in r] == want_recs
    assert r.facts.records == len(want_recs) > 1000 and r.facts.ends_early and r.facts.error is None
    warning = (f"{f}: input ends early: the {NAMES[kind]} data is cut short after line {_lines(prefix)}; "
               f"the {len(want_recs)} records before the break are read")
    assert r.facts.warnings == [warning]

    # events and analyze: the same records, analysed, one warning, exit 0
    p = run_cli("events", f)
    assert p.returncode == 0 and p.stderr == f"loganalyzer: warning: {warning}\n"
    assert f"{len(want_recs)} records by kind" in p.stdout
    p = run_cli("analyze", f, "--format", "json")
    assert p.returncode == 0 and p.stderr == f"loganalyzer: warning: {warning}\n"
    a_cut, a_plain = analyze(str(f)), analyze(str(plain))
    assert [(m.role, m.domain, m.outcome, m.start) for m in a_cut.migrations] == \
        [(m.role, m.domain, m.outcome, m.start) for m in a_plain.migrations] != []

    # scan: a row of kind truncated, with the same words, and the records analysed
    s = scan([f], jobs=1)
    assert [(e.path, e.kind, e.reason) for e in s.errors] == [(str(f), "truncated", warning[len(str(f)) + 2:])]
    assert s.analysis.inputs[0].records == len(want_recs) and s.exit_code == 1


def _damaged(blob: bytes) -> bytes:
    """blob with 64 bytes in its middle overwritten."""
    mid = len(blob) // 2
    return blob[:mid] + bytes(64) + blob[mid + 64:]


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_corrupt_block_keeps_the_records_before_and_fails(tmp_path, data, kind):
    """A bad gzip block (zlib.error) or a damaged zstd frame (ZstdError): one line naming the
    file, exit 2; the records before the damage are read.  (Deflate can decode damaged bits
    into other text before its checksum fails: only the first records are compared.)"""
    f = tmp_path / f"libvirtd.log.{kind}"
    f.write_bytes(_damaged(COMPRESS[kind](data)))
    r = LogReader(str(f))
    recs = list(r)
    assert 1000 < len(recs) < 6197 and r.facts.error is not None
    assert [x.raw for x in recs[:1000]] == [x.raw for x in list(LogReader(str(SRC)))[:1000]]
    assert re.fullmatch(rf"{re.escape(str(f))}: corrupt {NAMES[kind]} data \(.+\) after line {r.facts.lines}; "
                        rf"the {len(recs)} records before the break are read", r.facts.error), r.facts.error
    # (events also says the input's warnings: the garbage deflate decodes before its checksum
    # fails can make one over-long record, which is cut; analyze has them in its report)
    for cmd, notes in (("events", [f"loganalyzer: warning: {w}" for w in r.facts.warnings]), ("analyze", [])):
        p = run_cli(cmd, f)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert p.stderr.splitlines() == notes + [f"loganalyzer: {r.facts.error}"], p.stderr
    s = scan([f], jobs=1)
    assert [(e.kind, e.reason) for e in s.errors] == [("corrupt", r.facts.error[len(str(f)) + 2:])]


def test_nothing_decodable_is_one_line_and_exit_2(tmp_path, data):
    """A zstd frame compressed with a dictionary it does not carry (ZstdError: Dictionary
    mismatch), an xz header followed by garbage (LZMAError): one line, exit 2; scan: a row."""
    samples = [data[i:i + 4000] for i in range(0, len(data) - 4000, 4000)]
    dictionary = zstandard.train_dictionary(8192, samples)
    dz = tmp_path / "libvirtd.log.zst"
    dz.write_bytes(zstandard.ZstdCompressor(dict_data=dictionary).compress(data))
    bx = tmp_path / "libvirtd.log.1.xz"
    bx.write_bytes(lzma.compress(data)[:12] + b"this is not lzma data at all" * 100)
    want = {dz: "corrupt zstd data (zstd decompress error: Dictionary mismatch): nothing could be read",
            bx: "corrupt xz data (Corrupt input data): nothing could be read"}
    for f, msg in want.items():
        for cmd in ("events", "analyze"):
            p = run_cli(cmd, f)
            assert p.returncode == 2 and p.stderr == f"loganalyzer: {f}: {msg}\n", (cmd, p.stderr)
    s = scan(list(want), jobs=1)
    assert sorted((e.path, e.kind, e.reason) for e in s.errors) == \
        sorted((str(f), "corrupt", msg) for f, msg in want.items())
    assert s.exit_code == 2


def test_the_content_decides_not_the_name(tmp_path, data):
    """Plain text named .xz is read as plain text (it used to raise LZMAError); gzip data named
    .log.1 is read as gzip.  The name that lies is said in a warning."""
    px = tmp_path / "libvirtd.log.xz"
    px.write_bytes(data)
    gz = tmp_path / "libvirtd.log.1"
    gz.write_bytes(gzip.compress(data))
    for f, warn in ((px, "the name says xz, but the content is not compressed: read as plain text"),
                    (gz, None)):
        p = run_cli("events", f)
        assert p.returncode == 0 and "6197 records by kind" in p.stdout
        assert p.stderr == (f"loganalyzer: warning: {f}: {warn}\n" if warn else ""), p.stderr
    a = analyze([str(px)])
    assert [m.verdict.cause for m in a.migrations] == ["dconn-keepalive-timeout"]
    assert a.inputs[0].records == 6197
