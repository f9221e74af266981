"""The prefilter route (only the records the correlator reads are built) gives the same
analysis as feeding EVERY record to the correlator (which reads what its handlers declare),
on every real sample, also when blocks are cut small so that records, silences and
multi-line records straddle block boundaries; and the prefilter's pattern takes exactly
the records the handlers read."""
from __future__ import annotations

import dataclasses
import glob
import io
import os

import pytest

import loganalyzer.prefilter as prefilter
from loganalyzer.analysis import analyze
from loganalyzer.correlate.build import READING
from loganalyzer.correlate.interest import INTEREST
from loganalyzer.header import RECORD_START_PATTERN
from loganalyzer.reader import LogReader
from loganalyzer.report.jsonout import analysis_to_dict

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
# every daemon log (libvirtd, virtlogd) and every virsh client debug log
LOGS = sorted(glob.glob(os.path.join(SAMPLES, "*", "*d.log")) + glob.glob(os.path.join(SAMPLES, "*", "virsh-*.log")))
CORRELATOR_RESULTS = ("connections", "deaths", "migrations", "threads", "jobs", "errors", "gaps", "aborts",
                      "saw_rpc_probe", "saw_keepalive_probe", "forgotten_connections", "forgotten_threads",
                      "first_time", "last_time", "last_line")


def _plain(x, depth=0):
    """Objects as plain data, to compare (objects inside objects by their id)."""
    if dataclasses.is_dataclass(x):
        if depth > 2:
            return getattr(x, "id", None) or type(x).__name__
        return {f.name: _plain(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v, depth) for k, v in x.items()}
    if isinstance(x, set):
        return sorted(map(str, x))
    if isinstance(x, (list, tuple)) or x.__class__.__name__ == "deque":
        return [_plain(v, depth) for v in x]
    return x


def _dict(paths, fast, grammar=False, analysis=None):
    """analysis: the analysis of paths by the route `fast` says, when the caller has it."""
    a = analysis if analysis is not None else analyze(paths, fast=fast, grammar=grammar)
    d = analysis_to_dict(a)
    for i in d["inputs"]:
        i.pop("warnings")   # the routes word the invalid-UTF-8 warning with different line hints
    # and everything the correlators hold, not only what the JSON shows
    d["correlators"] = {h.label: {k: _plain(getattr(h.correlator, k)) for k in CORRELATOR_RESULTS}
                        for h in a.hosts}
    return d


@pytest.mark.parametrize("path", LOGS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_same_analysis_as_feeding_every_record(path):
    fast, every = _dict([path], True), _dict([path], False)
    assert fast["inputs"][0]["format"] == "file"      # the prefilter route was taken
    assert fast == every


# small logs with a death, failed migrations and an older version (lark takes ~80 us a record)
GRAMMAR_ROUTE = [["client-sigstop/src-libvirtd.log"], ["v7.0-dconn-refused/src-libvirtd.log"],
                 ["dst-storage-missing/src-libvirtd.log", "dst-storage-missing/dst-libvirtd.log"]]


@pytest.mark.parametrize("rels", GRAMMAR_ROUTE, ids=lambda r: r[0].split("/")[0] + f"-{len(r)}")
def test_grammar_route_gives_the_same_analysis(rels):
    """Every record built by the lark grammar alone (the definition) and fed to the
    correlator: the same analysis as the prefilter route."""
    paths = [os.path.join(SAMPLES, r) for r in rels]
    fast = _dict(paths, True)
    assert fast["migrations"] or fast["keepalive_deaths"]
    assert _dict(paths, False, grammar=True) == fast


@pytest.mark.parametrize("path", LOGS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_prefilter_pattern_takes_what_the_handlers_read(path):
    """Record by record: the file-form pattern matches a record's first line exactly when a
    handler reads the record (READING.reads, the predicate on the parsed Record), or when it
    is a function-less header line (the log's version and host name, for its facts)."""
    wrong = []
    for rec in LogReader(path):
        want = READING.reads(rec) or rec.kind in ("version", "hostname")
        if (INTEREST.match(rec.text) is not None) != want:
            wrong.append(f"{rec.line}: read={want}: {rec.text[:120]}")
    assert not wrong, "\n".join(wrong[:10])


def test_same_analysis_with_small_blocks_and_two_hosts(monkeypatch):
    # 64 KiB blocks: every sample log is cut into dozens of blocks, so multi-line
    # records (migration cookies, domain XML) and the keepalive sequence cross cuts
    monkeypatch.setattr(prefilter, "BLOCK", 64 << 10)
    d = os.path.join(SAMPLES, "p2p-keepalive-timeout")
    paths = [os.path.join(d, "src-libvirtd.log"), os.path.join(d, "dst-libvirtd.log")]
    fast, ref = _dict(paths, True), _dict(paths, False)
    assert fast == ref
    # and the answer is the real one, not two equal mistakes
    src = [m for m in fast["migrations"] if m["role"] == "source"][0]
    assert src["verdict"]["cause"] == "dconn-keepalive-timeout"
    assert [x["line"] for x in fast["keepalive_deaths"]] == [6280]


@pytest.mark.parametrize("keep", [45, 46, 48, 60])
def test_a_log_cut_inside_its_last_record_header(tmp_path, keep):
    """A daemon killed while writing leaves its last record cut short: its stamp and thread
    id end fewer bytes before the end of the block than the prefilter reads for them; the
    stamp is read as the reference route reads it (the silence before it, the input's last
    time)."""
    src = os.path.join(SAMPLES, "p2p-keepalive-timeout", "src-libvirtd.log")
    with open(src, "rb") as fh:
        data = fh.read()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    # the same header ten seconds later (a silence), cut after `keep` bytes
    later = last.replace(b"20:30:04.", b"20:30:14.", 1)
    assert later != last
    path = tmp_path / "src-libvirtd.log"
    path.write_bytes(data + later[:keep])
    fast, ref = _dict([str(path)], True), _dict([str(path)], False)
    assert fast == ref
    assert fast["inputs"][0]["last_time"].startswith("2026-11-25T20:30:14")


def test_block_cuts_fall_on_record_starts(monkeypatch):
    path = os.path.join(SAMPLES, "domjobabort", "src-libvirtd.log")
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "rb") as fh:
        blocks = list(prefilter.iter_blocks(fh, 50_000))
    assert b"".join(blocks) == data
    import re
    start = re.compile(("^" + RECORD_START_PATTERN).encode())
    for b in blocks[1:]:
        assert start.match(b), b[:80]


def test_interest_pattern_reads_the_first_line_only():
    # the keepalive death and the close callback are read; monitor chatter is not
    death = ("2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : "
             "RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30")
    close = ("2026-11-25 20:29:53.724+0000: 13681: debug : qemuMigrationSrcConnectionClosed:5813 : "
             "conn=0x5602cad66b90, reason=2, vm=tiny")
    chatter = ("2026-11-25 20:29:23.070+0000: 13690: debug : qemuMonitorJSONIOProcessLine:189 : "
               'Line [{"return": {}, "id": "libvirt-1"}]')
    assert INTEREST.match(death) and INTEREST.match(close)
    assert not INTEREST.match(chatter)


def test_two_cores_give_the_answers_of_one(monkeypatch):
    """On one big file the prefilter uses both cores: blocks are scanned ahead in threads
    (Arrow and NumPy release the GIL) while Python parses and correlates the current one.
    The correlator ends in the same state as when everything runs on one thread."""
    from loganalyzer.analysis import read_streams
    monkeypatch.setattr(prefilter, "BLOCK", 64 << 10)      # dozens of blocks in flight
    path = os.path.join(SAMPLES, "not-converging", "src-libvirtd.log")
    [one] = read_streams([path], "src", fast=True, read_ahead=False)
    [both] = read_streams([path], "src", fast=True, read_ahead=True)
    for k in CORRELATOR_RESULTS:
        assert _plain(getattr(both.correlator, k)) == _plain(getattr(one.correlator, k)), k
    assert both.facts == one.facts
    assert [m.outcome for m in both.correlator.migrations] == [m.outcome for m in one.correlator.migrations]


class _BreaksAfter(io.RawIOBase):
    """A file whose reading fails (EIO, as a failing disk or a corrupt compressed stream
    does) once `limit` bytes have been read."""

    def __init__(self, path, limit):
        self._f = open(path, "rb")
        self._left = limit

    def readable(self):
        return True

    def readinto(self, b):
        if self._left <= 0:
            raise OSError(5, "Input/output error")
        data = self._f.read(min(len(b), self._left))
        self._left -= len(data)
        b[:len(data)] = data
        return len(data)

    def close(self):
        self._f.close()
        super().close()


def test_a_read_error_keeps_every_block_read_before_it(monkeypatch):
    """When reading breaks part way, the records before the break are analysed and the break
    is reported, also when the blocks are read and scanned ahead in threads: the blocks read
    before the error still reach the correlator, as with one thread."""
    from loganalyzer.correlate.build import HostCorrelator
    monkeypatch.setattr(prefilter, "BLOCK", 64 << 10)      # dozens of blocks, several in flight
    path = os.path.join(SAMPLES, "not-converging", "src-libvirtd.log")
    limit = os.path.getsize(path) * 2 // 3
    got = {}
    for ahead in (False, True):
        hc = HostCorrelator("src")
        facts = prefilter.FastHostReader(path, stream=_BreaksAfter(path, limit), read_ahead=ahead).run(hc)
        got[ahead] = (facts, hc)
    (one, hc1), (both, hc2) = got[False], got[True]
    assert one.error and "records before the break are kept" in one.error
    assert both == one
    # every block read before the break: all the lines but those of the last, cut block
    with open(path, "rb") as f:
        lines_before = f.read(limit).count(b"\n")
    assert lines_before - 2000 < one.lines <= lines_before + 1      # (+ the cut line)
    for k in CORRELATOR_RESULTS:
        assert _plain(getattr(hc2, k)) == _plain(getattr(hc1, k)), k


def test_reading_ahead_stops_when_the_reader_stops():
    """A caller that stops early (the fast route gives up on an input) leaves no thread
    reading behind."""
    import threading
    produced = []

    def endless():
        while True:
            produced.append(1)
            yield b"x" * 100

    scans = prefilter.scan_ahead(endless(), len)
    assert next(scans) == 100
    scans.close()
    assert not any(t.name == "loganalyzer-read" for t in threading.enumerate())
    n = len(produced)
    assert n <= 2 * prefilter.SCAN_THREADS + 4          # read ahead, bounded


def test_scanning_ahead_lowers_the_switch_interval_only_while_it_runs():
    """The GIL's switch interval (process-wide) is lowered while blocks are scanned ahead and
    is the caller's again when the scans end, stop early or fail."""
    import sys
    before = sys.getswitchinterval()
    path = os.path.join(SAMPLES, "domjobabort", "src-libvirtd.log")

    def blocks():
        with open(path, "rb") as fh:
            yield from prefilter.record_blocks(fh, 64 << 10)

    def scan(bc):
        # (Python keeps the interval in whole microseconds)
        assert sys.getswitchinterval() == pytest.approx(min(before, prefilter.SWITCH_INTERVAL), abs=1e-6)
        return prefilter.BlockScan(*bc)

    assert sum(s.nlines for s in prefilter.scan_ahead(blocks(), scan)) > 1000
    assert sys.getswitchinterval() == before
    scans = prefilter.scan_ahead(blocks(), scan)
    next(scans)
    scans.close()
    assert sys.getswitchinterval() == before

    def failing():
        yield from blocks()
        raise OSError("disk gone")

    with pytest.raises(OSError):
        list(prefilter.scan_ahead(failing(), scan))
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("name", ["p2p-keepalive-timeout/src-libvirtd.log",
                                  "syslog-p2p-keepalive-timeout/src-syslog.log.xz"])
@pytest.mark.parametrize("swap,warned", [(b"tiny", False), ("tíny".encode(), False), (b"t\xffny", True)])
def test_invalid_utf8_is_told_apart_from_other_than_ascii(tmp_path, name, swap, warned):
    """The fast routes tell a block's encoding by its largest byte first (an ASCII block is
    valid UTF-8) and validate only the others: a real log (file form, and rsyslog's) with its
    domain written in plain ASCII, with a character outside ASCII, and with a byte that is no
    UTF-8, warns of invalid UTF-8 on the last alone, as the reference route does."""
    import lzma
    data = open(os.path.join(SAMPLES, name), "rb").read()
    if name.endswith(".xz"):
        data = lzma.decompress(data)
    f = tmp_path / name.split("/")[-1].removesuffix(".xz")
    f.write_bytes(data.replace(b"tiny", swap))
    for fast in (True, False):
        [facts] = analyze([str(f)], fast=fast).inputs
        assert any("invalid UTF-8" in w for w in facts.warnings) == warned, (fast, facts.warnings)
