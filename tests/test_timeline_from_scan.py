"""Issue 16, item 5: the timeline of a migration found by `scan` has the same bands as the one
`analyze` draws from the same logs (the peer's silence, the thread rows); when the logs cannot
be read again (a scanned tarball's temporary copies are removed when its result is closed) the
picture says so, and so does standard error, never silently."""
from __future__ import annotations

import tarfile
import warnings

import pytest

from samplelib import SAMPLES

import loganalyzer
from loganalyzer.analysis import analyze, migration_analysis
from loganalyzer.report.common import ReportWarning
from loganalyzer.report.timeline import draw_timeline

KA = SAMPLES / "p2p-keepalive-timeout"


def _bands(fig) -> dict:
    d = fig.loganalyzer
    return {"lanes": [(x["kind"], x["label"]) for x in d["lanes"]],
            "silences": [(round(a, 3), round(b, 3)) for a, b in d["silences"]],
            "deaths": [round(t, 3) for t in d["death_times"]]}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet")
    tgz = d / "hosts.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        for side in ("src", "dst"):
            tf.add(KA / f"{side}-libvirtd.log", arcname=f"host-{side}/{side}-libvirtd.log")
    return tgz


@pytest.fixture(scope="module")
def from_analyze():
    a = analyze([str(KA / "src-libvirtd.log"), str(KA / "dst-libvirtd.log")])
    return _bands(draw_timeline(a, None))


def test_a_scans_timeline_has_the_bands_of_analyzes(tarball, from_analyze):
    # the dst daemon's 32 s of silence and the event-loop rows of both hosts are there
    assert any(round(b - a) == 32 for a, b in from_analyze["silences"])
    assert sum(1 for k, lab in from_analyze["lanes"] if k == "thread" and "event loop" in lab) == 2
    with loganalyzer.scan([str(tarball)], jobs=1) as res:
        src = next(m for m in res.analysis.migrations if m.role == "source")
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReportWarning)
            whole = _bands(draw_timeline(res.analysis, None, migration=src.id))
            # what `scan --reports DIR --reports-format html|markdown` draws
            one = _bands(draw_timeline(migration_analysis(res.analysis, src), None, migration=src.id))
        assert not res.analysis.report_problems
    assert whole == from_analyze
    assert one == from_analyze


def test_when_the_logs_are_gone_the_picture_and_stderr_say_so(tarball, from_analyze, capsys):
    res = loganalyzer.scan([str(tarball)], jobs=1)
    with res:
        src = next(m for m in res.analysis.migrations if m.role == "source")
    # closed: the temporary copies of the tarball's members are removed
    with pytest.warns(ReportWarning, match="not readable again"):
        fig = draw_timeline(res.analysis, None, migration=src.id)
    notes = fig.loganalyzer["notes"]
    assert any("host-src" in n and "host-dst" in n and "not readable again" in n for n in notes), notes
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
    assert any("not readable again" in t for t in texts), "the picture does not say it"
    assert any("not read again for the timeline" in p for p in res.analysis.report_problems)
    # the daemon's silence still shows: the correlator found it in the first read
    got = _bands(fig)
    assert got["silences"] == from_analyze["silences"] and got["deaths"] == from_analyze["deaths"]
    # the thread rows that came from the records are missing, and said so
    assert len(got["lanes"]) < len(from_analyze["lanes"])
