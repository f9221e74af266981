"""Issue 14: migrations libvirt refuses up front (real lab runs, samples/refused-*): the
outcome comes from the call's result even when the reason was not logged, the verdict says
which filter dropped the reason and where to find it, and a client's output given with the
logs supplies it."""
from __future__ import annotations

import re

import pytest

from samplelib import SAMPLES, analyzed, quote, src

from loganalyzer.correlate.objects import EvidenceKind as K, MigrationFact


def _only_source(a):
    ms = [m for m in a.migrations if m.role == "source"]
    assert len(ms) == 1, [(m.id, m.role) for m in a.migrations]
    return ms[0]


@pytest.mark.parametrize("sc,line,text", [
    ("refused-postcopy-tunnelled", 3996, "argument unsupported: post-copy is not supported with tunnelled migration"),
    ("refused-postcopy-offline", 3998,
     "argument unsupported: post-copy migration is not supported with non-live or paused migration"),
])
def test_refusal_logged_at_error_level_is_the_verdict(sc, line, text):
    quote(f"{sc}/src-libvirtd.log", line, "error : qemuMigrationSrcBeginPhase:")
    m = _only_source(src(sc))
    assert m.outcome == "failed"
    v = m.verdict
    assert (v.cause, v.confidence, v.detected_by) == ("unsupported-config", "high", "source")
    cited = [e for e in v.evidence if e.line == line]
    assert cited and text in cited[0].text
    # generated catalogue: who reports it, and the cause family's remedies
    assert "qemuMigrationSrcBeginPhase" in v.summary and "VIR_ERR_ARGUMENT_UNSUPPORTED" in v.summary
    assert v.remedies


@pytest.mark.parametrize("sc,send_error,stop", [
    ("refused-zerocopy", 4047, 4046),
    ("refused-shmem-device", 3825, 3824),
])
def test_unlogged_refusal_is_failed_from_the_error_reply(sc, send_error, stop):
    quote(f"{sc}/src-libvirtd.log", send_error, "virNetServerProgramSendError:147 : prog=536903814 ver=1 proc=305 type=1")
    quote(f"{sc}/src-libvirtd.log", stop, "Stopping async job: migration out")
    m = _only_source(src(sc))
    assert not m.errors, "the reason is not logged at error level"
    assert m.outcome == "failed"
    assert MigrationFact.API_ERROR_RETURNED in m.facts
    assert [e.line for e in m.evidence if e.kind == K.API_ERROR_RETURNED] == [send_error]
    assert m.end >= m.start


def test_zerocopy_verdict_names_the_filter_and_where_to_look():
    sc = "refused-zerocopy"
    quote(f"{sc}/src-libvirtd.log", 3984, "Setting 'migration out' phase to 'begin3'")
    m = _only_source(src(sc))
    assert MigrationFact.ENDED_BEFORE_PERFORM in m.facts
    v = m.verdict
    assert (v.cause, v.confidence, v.rule) == ("undetermined", "low", "reason_not_logged")
    assert "DOMAIN_MIGRATE_PERFORM3_PARAMS" in v.summary
    assert "util.error" in v.summary and "OPERATION_INVALID" in v.summary and "3:util" in v.summary
    assert "begin3" in v.summary
    text = " ".join(v.remedies)
    assert "virsh --debug" in text and "virt-admin daemon-log-filters" in text and "1:util.error" in text
    assert any("error's text" in x for x in v.missing)
    # the EOF of the dconn's close after the refusal is not the cause
    assert v.cause != "dconn-closed"


def test_zerocopy_with_the_client_output_gets_the_reason_from_it():
    sc = "refused-zerocopy"
    out = quote(f"{sc}/virsh-migrate.out", 13,
                "error: Requested operation is not valid: zero-copy is only available for parallel migration")
    a = analyzed(f"{sc}/src-libvirtd.log", f"{sc}/virsh-migrate.out")
    m = _only_source(a)
    v = m.verdict
    assert (v.cause, v.confidence, v.detected_by) == ("unsupported-config", "medium", "client")
    client = [e for e in v.evidence if e.path.endswith("virsh-migrate.out")]
    assert [e.line for e in client] == [13] and client[0].text in out
    assert "did not log" in client[0].note or "not logged" in v.summary
    # the virsh line is part of the verdict, not a separate finding as well
    assert not [f for f in a.findings if any(e.path.endswith("virsh-migrate.out") for e in f.evidence)]


def test_shmem_blocker_is_read_from_qemus_reply():
    sc = "refused-shmem-device"
    quote(f"{sc}/src-libvirtd.log", 3820,
          "reply={\"return\": {\"blocked-reasons\": [\"Migration is disabled when using feature 'peer mode' "
          "in device 'ivshmem'\"]}")
    m = _only_source(src(sc))
    v = m.verdict
    assert (v.cause, v.confidence, v.detected_by) == ("unsupported-config", "medium", "source")
    assert 3820 in [e.line for e in v.evidence]
    assert "peer mode" in v.summary and "ivshmem" in v.summary


def test_a_log_of_warnings_and_errors_only_still_names_the_refusal(tmp_path):
    """log_level=3 (libvirt's default) writes only warning and error records: no API, job or
    RPC line, so no migration is seen.  The same daemon's records at that level are its
    debug log's warning and error records; their messages become findings."""
    sc = "refused-postcopy-tunnelled"
    lines = (SAMPLES / sc / "src-libvirtd.log").read_text().splitlines()
    kept = [ln for ln in lines if re.search(r": [0-9]+: (?:warning|error) : ", ln)]
    log = tmp_path / "src-libvirtd-level3.log"
    log.write_text("\n".join(kept) + "\n")
    a = analyzed(str(log))
    assert not a.migrations
    refusal = [f for f in a.findings if f.cause == "unsupported-config"]
    assert len(refusal) == 1
    assert "post-copy is not supported with tunnelled migration" in refusal[0].evidence[0].text
    # the lab's harmless start-up errors (dnsmasq, udev, D-Bus, /dev/kvm) name no cause
    assert {f.cause for f in a.findings} == {"unsupported-config"}
