"""The prefilter route (only the records the correlator reads are built) gives
the same analysis as the reference route (every record parsed and offered),
on every real sample, also when blocks are cut small so that records, silences
and multi-line records straddle block boundaries."""
from __future__ import annotations

import glob
import os

import pytest

import loganalyzer.prefilter as prefilter
from loganalyzer.analysis import analyze
from loganalyzer.correlate.interest import INTEREST, RECORD_START
from loganalyzer.report.jsonout import analysis_to_dict

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
DAEMON_LOGS = sorted(glob.glob(os.path.join(SAMPLES, "*", "*-libvirtd.log")))


def _dict(paths, fast):
    d = analysis_to_dict(analyze(paths, fast=fast))
    for i in d["inputs"]:
        i.pop("warnings")   # the routes word the invalid-UTF-8 warning with different line hints
    return d


@pytest.mark.parametrize("path", DAEMON_LOGS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_same_analysis_on_every_sample(path):
    assert _dict([path], True) == _dict([path], False)


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


def test_block_cuts_fall_on_record_starts(monkeypatch):
    path = os.path.join(SAMPLES, "domjobabort", "src-libvirtd.log")
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "rb") as fh:
        blocks = list(prefilter.iter_blocks(fh, 50_000))
    assert b"".join(blocks) == data
    import re
    start = re.compile(RECORD_START.encode())
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
