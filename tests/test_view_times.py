"""Issue 16, item 0: times that are true.  A migration view ends where its job ends (Finish,
Confirm, or the destroy of the incoming guest), never before the last record of its own job.

Checked on every lab sample with both hosts' logs, two ways:
* against the log text itself (grep, independent of the correlator): the lines that end a
  migration job of the view's domain on its host, between the view's start and the next view's;
* against the analysis: no record the correlator tied to the view is later than its end.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from samplelib import SAMPLES, both, file_lines

TWO_HOST = sorted(p.name for p in SAMPLES.iterdir()
                  if (p / "src-libvirtd.log").exists() and (p / "dst-libvirtd.log").exists())

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})[+-]\d{4}: ")


def _job_end_lines(role: str, domain: str, alone: bool = True) -> re.Pattern:
    """Lines that end a migration job of `domain` on the view's host: the async job stopping,
    the destination's Finish or the source's Confirm (which do not name the domain: only when
    no other domain migrates at the same time), the autodestroy of the incoming guest."""
    job = "migration in" if role == "destination" else "migration out"
    d = re.escape(domain)
    alts = [rf"Stopping async job: {job} \(vm=0x[0-9a-f]+ name={d}\)",
            rf"qemuProcessAutoDestroy:\d+ : vm={d},"]
    if alone:
        alts.append(r"qemuMigrationDstFinish" if role == "destination" else r"qemuMigrationSrcConfirm")
    return re.compile("|".join(alts))


def _epoch(line: str) -> float | None:
    m = STAMP.match(line)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def test_the_samples_are_there():
    assert len(TWO_HOST) >= 20, TWO_HOST


@pytest.mark.parametrize("scenario", TWO_HOST)
def test_no_view_ends_before_the_last_line_of_its_job(scenario):
    a = both(scenario)
    checked = 0
    for m in a.migrations:
        if m.role not in ("source", "destination") or m.start is None or not m.domain:
            continue
        views = sorted((x for x in a.migrations if x.path == m.path and x.start is not None),
                       key=lambda x: x.start)
        nxt = next((x.start for x in views if x.start > m.start), float("inf"))
        # (samples/forms-concurrent-*: two domains migrate from one host at once)
        alone = not any(x.path == m.path and x.domain != m.domain and x.start is not None
                        and x.start < (m.end or float("inf")) and m.start < (x.end or float("inf"))
                        for x in a.migrations)
        pat = _job_end_lines(m.role, m.domain, alone)
        last = None
        for ln in file_lines(m.path):
            t = _epoch(ln)
            if t is None or t < m.start or t >= nxt:
                continue
            if pat.search(ln):
                last = (t, ln)
        if last is None:
            continue
        checked += 1
        assert m.end is not None and m.end >= last[0], (
            f"{m.id} ({m.role}) ends at {m.end} before its job's line {last[1]!r}")
    if any(m.role == "destination" for m in a.migrations):
        assert checked, f"{scenario}: no job-ending line found for any view"


@pytest.mark.parametrize("scenario", TWO_HOST)
def test_no_record_of_a_view_is_later_than_its_end(scenario):
    a = both(scenario)
    for m in a.migrations:
        own = [x for group in (m.evidence, m.errors, m.qemu_status, m.phases) for x in group
               if x.time is not None]
        if not own:
            continue
        latest = max(own, key=lambda x: x.time)
        assert m.end is not None and m.end >= latest.time, (
            f"{m.id} ({m.role}) ends at {m.end}, before its own line {getattr(latest, 'line', '?')}")


def test_a_destination_that_declares_its_peer_dead_ends_with_the_destroy_of_the_guest():
    """samples/client-keepalive-nonp2p: the destination's keepalive declares virsh dead at
    21:07:12.674, its autodestroy cancels the incoming job and the guest is stopped at
    21:07:14.478 (dst 4188), 30 s after the end of Prepare (21:06:42.88)."""
    a = both("client-keepalive-nonp2p")
    rel = "client-keepalive-nonp2p/dst-libvirtd.log"
    line = file_lines(rel)[4188 - 1]
    assert "qemuProcessStop" in line and "name=tiny" in line
    d = next(m for m in a.migrations if m.role == "destination")
    assert d.end == pytest.approx(_epoch(line), abs=0.0005)
    from loganalyzer.report.jsonout import migration_dict
    assert migration_dict(a, d)["end"] == "2026-11-25T21:07:14.478Z"
