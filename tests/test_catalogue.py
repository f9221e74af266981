"""Tests for loganalyzer.rules.catalogue on real text.

Sources of text, in order of preference:
  * the lab samples in samples/<scenario>/ (real libvirt 9.0.0 logs and virsh output) - each
    test quotes the exact line and checks that it really is in the file;
  * the public excerpts in samples/excerpts/<case>/ (real pasted reports);
  * where no sample has the message: libvirt's own format string of the message with a
    realistic value substituted for %s.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loganalyzer.rules import catalogue as cat
from loganalyzer.rules.catalogue import (
    CAUSES,
    PATTERNS,
    PATTERNS_BY_ID,
    ROOT,
    SYMPTOM,
    best_root,
    likely_cause,
    match_text,
    scan_lines,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
EXCERPTS = SAMPLES / "excerpts"


def read_lines(rel: str) -> list[str]:
    return (SAMPLES / rel).read_text(errors="replace").splitlines()


def line_of(rel: str, lineno: int, expected: str) -> str:
    """The 1-based line ``lineno`` of a sample file, asserted to equal ``expected``."""
    line = read_lines(rel)[lineno - 1]
    assert line == expected, f"{rel}:{lineno} changed: {line!r}"
    return line


def unfold(rel: str) -> str:
    """Join a wrapped/indented excerpt into one string (what a reader of the report sees)."""
    return " ".join(l.strip() for l in (SAMPLES / rel).read_text().splitlines())


def ids(hits) -> list[str]:
    return [h.id for h in hits]


def only(hits, pattern_id):
    found = [h for h in hits if h.id == pattern_id]
    assert len(found) == 1, (pattern_id, ids(hits))
    return found[0]


# ------------------------------------------------------------------------------------------
# Catalogue structure
# ------------------------------------------------------------------------------------------


def test_cause_ids_are_exactly_the_agreed_ones():
    assert CAUSES == (
        "dconn-keepalive-timeout",
        "dconn-closed",
        "client-keepalive-timeout",
        "connect-failed",
        "cancelled",
        "domain-exists",
        "cpu-incompatible",
        "storage-missing",
        "qemu-failed",
        "not-converging",
        "lock-timeout",
        "unsupported-config",
        "undetermined",
    )
    assert set(cat.CAUSE_SUMMARIES) == set(CAUSES)


def test_pattern_ids_unique_and_slugs():
    all_ids = [p.id for p in PATTERNS]
    assert len(all_ids) == len(set(all_ids))
    assert len(PATTERNS) >= 40
    assert set(PATTERNS_BY_ID) == set(all_ids)
    for pid in all_ids:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", pid), pid


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.id)
def test_pattern_fields_are_consistent(pattern):
    assert pattern.role in (ROOT, SYMPTOM)
    assert pattern.meaning.strip()
    assert pattern.versions.strip()
    assert pattern.anchors, "the prefilter needs at least one anchor"
    for c in pattern.ambiguous_with:
        assert c in CAUSES
    if pattern.role == ROOT:
        assert pattern.cause in CAUSES
        assert pattern.cause != "undetermined"
        assert len(pattern.remedies) >= 1
        assert all(r.strip() for r in pattern.remedies)
        assert pattern.cause not in pattern.ambiguous_with
    else:
        assert pattern.cause is None
        assert pattern.ambiguous_with, "a symptom must say which causes to look for"


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.id)
def test_each_example_matches_its_pattern_through_the_prefilter(pattern):
    assert cat._prefilter().search(pattern.example)
    assert pattern.id in ids(match_text(pattern.example))
    # every match contains one of the pattern's anchors (the prefilter relies on it)
    for m in pattern.regex.finditer(pattern.example):
        assert any(a in m.group(0) for a in pattern.anchors), pattern.id


def test_remedies_name_the_real_knobs():
    text = " ".join(r for p in PATTERNS for r in p.remedies)
    for knob in (
        "keepalive_interval",
        "keepalive_count",
        "max_client_requests",
        "--migrateuri",
        "migrate_uri",
        "--bandwidth",
        "host-model",
        "--unsafe",
        "--copy-storage-all",
        "virsh undefine",
        "--timeout",
        "--auto-converge",
        "--postcopy",
        "16509",
        "16514",
        "49152-49215",
        "known_hosts",
        "virtproxyd.conf",
        "qemu.conf",
    ):
        assert knob in text, knob


# ------------------------------------------------------------------------------------------
# Lab samples (libvirt 9.0.0)
# ------------------------------------------------------------------------------------------


def test_keepalive_sample_virsh_output_is_a_symptom_without_root():
    out = read_lines("p2p-keepalive-timeout/virsh-migrate.out")
    last = out[-1] if out[-1].strip() else out[-2]
    assert last.endswith("Migration: [ 48 %]error: internal error: client socket is closed")
    hits = match_text(last)
    assert ids(hits) == ["client-socket-closed"]
    assert hits[0].role == "symptom" and hits[0].cause is None
    assert best_root(hits) is None
    # the default guess for a lone symptom is the first cause to look for
    assert likely_cause(hits) == "dconn-keepalive-timeout"


def test_keepalive_sample_daemon_error_line_is_a_root():
    line = line_of(
        "p2p-keepalive-timeout/src-libvirtd.log",
        6282,
        "2026-11-25 20:29:53.724+0000: 13681: error : virKeepAliveTimerInternal:134 : "
        "internal error: connection closed due to keepalive timeout",
    )
    hit = only(match_text(line), "keepalive-timeout")
    assert hit.role == "root"
    assert hit.cause == "dconn-keepalive-timeout"
    assert hit.pattern.ambiguous_with == ("client-keepalive-timeout",)
    assert best_root(match_text(line)) == hit


def test_keepalive_sample_source_log_sequence():
    hits = list(scan_lines(read_lines("p2p-keepalive-timeout/src-libvirtd.log")))
    assert [(n, h.id) for n, h in hits] == [
        (6281, "keepalive-no-response"),
        (6282, "keepalive-timeout"),
        (6293, "lost-connection-destination"),
        (6335, "client-socket-closed"),
        (6370, "client-socket-closed"),
    ]
    assert hits[0][1].groups == {"client": "0x7fd78402e550", "count": "5", "seconds": "30"}
    root = best_root(hits)
    assert root is hits[0][1]
    assert root.cause == "dconn-keepalive-timeout"
    # the lines after the keepalive death are symptoms
    assert [h.role for _, h in hits[2:]] == ["symptom"] * 3


def test_lost_connection_line_is_a_symptom():
    line = line_of(
        "p2p-keepalive-timeout/src-libvirtd.log",
        6293,
        "2026-11-25 20:29:53.724+0000: 13693: error : qemuMigrationAnyCompleted:1946 : "
        "operation failed: Lost connection to destination host",
    )
    hit = only(match_text(line), "lost-connection-destination")
    assert hit.role == "symptom"
    assert best_root([hit]) is None
    assert likely_cause([hit]) == "dconn-keepalive-timeout"


def test_destination_broken_pipe_is_a_symptom():
    line = line_of(
        "p2p-keepalive-timeout/dst-libvirtd.log",
        4191,
        "2026-11-25 20:29:55.801+0000: 13685: error : virNetSocketWriteWire:1832 : "
        "Cannot write data: Broken pipe",
    )
    hit = only(match_text(line), "cannot-write-data")
    assert hit.role == "symptom" and hit.groups == {"reason": "Broken pipe"}


def test_destination_stream_cut_is_a_symptom_not_a_qemu_failure():
    # The destination QEMU died because the source stopped sending (keepalive death / cancel).
    for rel, n, stamp, tid, qts in (
        ("p2p-keepalive-timeout/dst-libvirtd.log", 4171, "2026-11-25 20:29:55.800+0000", 13781,
         "2026-11-25T20:29:53.725012Z"),
        ("domjobabort/dst-libvirtd.log", 4171, "2026-11-25 20:31:50.564+0000", 14909,
         "2026-11-25T20:31:50.553375Z"),
    ):
        line = line_of(
            rel, n,
            f"{stamp}: {tid}: error : qemuProcessReportLogError:1971 : internal error: qemu "
            f"unexpectedly closed the monitor: {qts} qemu-system-x86_64: check_section_footer: "
            "Read section footer failed: -5",
        )
        hits = match_text(line)
        assert ids(hits) == ["qemu-monitor-closed-stream-cut", "incoming-stream-truncated"]
        assert best_root(hits) is None
        assert hits[1].groups == {"errno": "-5"}
    # the continuation line of that record (QEMU's summary) is a symptom as well
    cont = line_of(
        "domjobabort/dst-libvirtd.log", 4172,
        "2026-11-25T20:31:50.553513Z qemu-system-x86_64: load of migration failed: Invalid argument",
    )
    hit = only(match_text(cont), "load-migration-failed")
    assert hit.role == "symptom" and hit.groups["reason"] == "Invalid argument"
    # record joined the way the parser joins continuation lines: still no root
    joined = read_lines("domjobabort/dst-libvirtd.log")[4170] + "\n" + cont
    assert best_root(match_text(joined)) is None
    assert likely_cause(match_text(joined)) == "qemu-failed"


def test_domjobabort_virsh_output_is_cancelled():
    out = [l for l in read_lines("domjobabort/virsh-migrate.out") if "error:" in l]
    assert len(out) == 1
    assert out[0].endswith(
        "Migration: [ 27 %]error: operation aborted: job 'migration out' canceled by client"
    )
    root = best_root(match_text(out[0]))
    assert root is not None
    assert (root.id, root.cause, root.groups) == (
        "job-canceled-by-client", "cancelled", {"job": "migration out"})


def test_domjobabort_daemon_error_line():
    line = line_of(
        "domjobabort/src-libvirtd.log",
        4755,
        "2026-11-25 20:31:50.579+0000: 14818: error : qemuMigrationJobCheckStatus:1880 : "
        "operation aborted: job 'migration out' canceled by client",
    )
    hits = match_text(line)
    assert ids(hits) == ["job-canceled-by-client"]  # not also 'operation-aborted'
    assert best_root(hits).cause == "cancelled"


def test_dconn_refused_virsh_output_is_connect_failed():
    out = [l for l in read_lines("dconn-refused/virsh-migrate.out") if l.startswith("error:")]
    assert out == ["error: unable to connect to server at '127.0.0.1:16599': Connection refused"]
    root = best_root(match_text(out[0]))
    assert root.id == "connect-tcp-failed"
    assert root.cause == "connect-failed"
    assert root.groups == {"host": "127.0.0.1", "port": "16599", "reason": "Connection refused"}


def test_dconn_refused_daemon_line():
    line = line_of(
        "dconn-refused/src-libvirtd.log",
        3833,
        "2026-11-25 20:32:02.655+0000: 15237: error : virNetSocketNewConnectTCP:627 : "
        "unable to connect to server at '127.0.0.1:16599': Connection refused",
    )
    assert best_root(match_text(line)).cause == "connect-failed"


def test_client_sigstop_server_side_keepalive():
    hits = list(scan_lines(read_lines("client-sigstop/src-libvirtd.log")))
    assert [(n, h.id) for n, h in hits] == [
        (1349, "keepalive-no-response"),
        (1350, "keepalive-timeout"),
    ]
    # the catalogue's default guess is dconn; the correlator must turn it into client-…
    assert "client-keepalive-timeout" in hits[1][1].pattern.ambiguous_with


NOISE_LINES = [
    # real error/warning lines of the lab daemons that have nothing to do with migration
    ("client-sigstop/src-libvirtd.log", 155,
     "2026-11-25 20:31:08.822+0000: 14564: error : virHostCPUGetCPUID:1422 : Unable to open "
     "/dev/kvm: Permission denied"),
    ("client-sigstop/src-libvirtd.log", 159,
     "2026-11-25 20:31:08.823+0000: 14564: error : virGDBusGetSessionBus:126 : internal error: "
     "Unable to get session bus connection: Cannot autolaunch D-Bus without X11 $DISPLAY"),
    ("client-sigstop/src-libvirtd.log", 43,
     "2026-11-25 20:31:08.820+0000: 14564: error : dnsmasqCapsNewFromBinary:673 : Unable to "
     "find 'dnsmasq' binary in $PATH: No such file or directory"),
    ("client-sigstop/src-libvirtd.log", 54,
     "2026-11-25 20:31:08.820+0000: 14564: error : udevGetDMIData:1936 : internal error: Failed "
     "to get udev device for syspath '/sys/devices/virtual/dmi/id'"),
    ("domjobabort/src-libvirtd.log", 803,
     "2026-11-25 20:31:47.084+0000: 14817: warning : qemuDomainObjTaintMsg:6603 : Domain id=1 "
     "name='tiny' uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001 is tainted: custom-argv"),
]


@pytest.mark.parametrize("rel,n,text", NOISE_LINES)
def test_unrelated_error_lines_do_not_match(rel, n, text):
    assert match_text(line_of(rel, n, text)) == []


def test_successful_migration_has_no_root():
    # virsh's own harmless errors after a good p2p migration must not be read as failures
    line = line_of(
        "p2p-ok/virsh-migrate.log", 222,
        "2026-11-25 20:34:44.339+0000: 16720: error : virNetClientProgramDispatchError:172 : "
        "Requested operation is not valid: domain is not running",
    )
    assert match_text(line) == []
    for rel in ("p2p-ok/src-libvirtd.log", "p2p-ok/dst-libvirtd.log", "p2p-ok/virsh-migrate.log",
                "p2p-ok/virsh-migrate.out"):
        assert best_root(scan_lines(read_lines(rel))) is None, rel


# ---- the same scenarios recorded with libvirt 7.0 and 11.3 (samples/v7.0-*, samples/v11.3-*)


def test_v70_cancel_wording_from_virsh():
    out = [l for l in read_lines("v7.0-domjobabort/virsh-migrate.out") if "error:" in l]
    assert len(out) == 1
    assert out[0].endswith("error: operation aborted: migration out job: canceled by client")
    root = best_root(match_text(out[0]))
    assert (root.id, root.cause, root.groups) == (
        "job-canceled-by-client", "cancelled", {"job": "migration out"})


def test_v70_cancel_wording_daemon_line():
    line = line_of(
        "v7.0-domjobabort/src-libvirtd.log", 4481,
        "2026-11-25 21:09:35.821+0000: 27873: error : qemuMigrationJobCheckStatus:1696 : "
        "operation aborted: migration out job: canceled by client",
    )
    assert ids(match_text(line)) == ["job-canceled-by-client"]


def test_v113_cancel_wording_from_virsh():
    out = [l for l in read_lines("v11.3-domjobabort/virsh-migrate.out") if "error:" in l]
    assert out[0].endswith("error: operation aborted: job 'migration out' canceled by client")
    assert best_root(match_text(out[0])).cause == "cancelled"


def test_v113_destination_job_failed_load_summary_is_a_symptom():
    line = line_of(
        "v11.3-domjobabort/dst-libvirtd.log", 4875,
        "2026-11-25 21:08:30.818+0000: 25542: error : qemuMigrationJobCheckStatus:2042 : "
        "operation failed: job 'migration in' failed: load of migration failed: Invalid argument",
    )
    hits = match_text(line)
    assert ids(hits) == ["load-migration-failed"]  # job-failed-desc steps aside
    assert best_root(hits) is None and likely_cause(hits) == "qemu-failed"


def test_v70_destination_monitor_eof_and_stream_cut_are_symptoms():
    eof = line_of(
        "v7.0-domjobabort/dst-libvirtd.log", 3678,
        "2026-11-25 21:09:35.805+0000: 28019: error : qemuMonitorIO:582 : internal error: "
        "End of file from qemu monitor",
    )
    cut = line_of(
        "v7.0-domjobabort/dst-libvirtd.log", 3680,
        "2026-11-25 21:09:35.805+0000: 28019: error : qemuProcessReportLogError:2156 : internal "
        "error: qemu unexpectedly closed the monitor: 2026-11-25T21:09:35.802133Z "
        "qemu-system-x86_64: load of migration failed: Input/output error",
    )
    gone = line_of(
        "v7.0-domjobabort/dst-libvirtd.log", 3755,
        "2026-11-25 21:09:37.409+0000: 27866: error : qemuDomainObjEnterMonitorInternal:5685 : "
        "operation failed: domain is no longer running",
    )
    assert ids(match_text(eof)) == ["monitor-eof"]
    assert ids(match_text(cut)) == ["qemu-monitor-closed-stream-cut", "incoming-stream-truncated"]
    assert ids(match_text(gone)) == ["domain-not-running"]
    assert best_root(match_text(eof) + match_text(cut) + match_text(gone)) is None


SCENARIO_ROOTS = [
    # (scenario dir, file, expected best_root cause or None)
    (d, f, cause)
    for prefix in ("", "v7.0-", "v11.3-")
    for d, f, cause in (
        (prefix + "p2p-keepalive-timeout", "src-libvirtd.log", "dconn-keepalive-timeout"),
        (prefix + "p2p-keepalive-timeout", "dst-libvirtd.log", None),
        (prefix + "p2p-keepalive-timeout", "virsh-migrate.out", None),
        (prefix + "domjobabort", "src-libvirtd.log", "cancelled"),
        (prefix + "domjobabort", "dst-libvirtd.log", None),
        (prefix + "domjobabort", "virsh-migrate.out", "cancelled"),
        (prefix + "p2p-ok", "src-libvirtd.log", None),
        (prefix + "p2p-ok", "dst-libvirtd.log", None),
        (prefix + "p2p-ok", "virsh-migrate.log", None),
    )
]


@pytest.mark.parametrize("scenario,fname,cause", SCENARIO_ROOTS)
def test_whole_sample_logs_across_versions(scenario, fname, cause):
    """Over a whole real log, best_root is the agreed cause on the source / virsh side, and the
    destination side (QEMU gone because the source stopped sending) has only symptoms."""
    root = best_root(scan_lines(read_lines(f"{scenario}/{fname}")))
    assert (root.cause if root else None) == cause


def test_keepalive_first_error_line_across_versions():
    for scenario, n, line_no in (("p2p-keepalive-timeout", 6282, 134),
                                 ("v7.0-p2p-keepalive-timeout", 6010, 137),
                                 ("v11.3-p2p-keepalive-timeout", 7169, 134)):
        line = read_lines(f"{scenario}/src-libvirtd.log")[n - 1]
        assert line.endswith(f"error : virKeepAliveTimerInternal:{line_no} : internal error: "
                             "connection closed due to keepalive timeout"), line
        first = next(h for _, h in scan_lines(read_lines(f"{scenario}/src-libvirtd.log"))
                     if h.role == "root")
        assert first.id in ("keepalive-no-response", "keepalive-timeout")


# ------------------------------------------------------------------------------------------
# Public excerpts (pasted reports)
# ------------------------------------------------------------------------------------------


def test_excerpt_seapath_ssh_host_key():
    lines = read_lines("excerpts/seapath-25-pacemaker-ssh-hostkey/journal-excerpt.txt")
    assert lines[3] == (
        "Nov 29 12:34:47 hypervisor3 pacemaker-controld[1008]:  notice: hypervisor3-SELOG_migrate_to_0:71 "
        "[ error: Disconnected from qemu:///system due to end of file\\nerror: Cannot recv data: Host key "
        "verification failed.: Connection reset by peer\\nocf-exit-reason:SELOG: live migration to "
        "hypervisor1 failed: 1\\n ]"
    )
    hits = match_text(lines[3])
    assert ids(hits) == ["virsh-disconnected", "ssh-cannot-recv", "ssh-host-key"]
    assert hits[0].role == "symptom"
    root = best_root(hits)
    assert root.id == "ssh-cannot-recv" and root.cause == "connect-failed"
    # the literal "\n" ends the message: the reason does not run into the next virsh error
    assert root.groups["reason"] == "Host key verification failed.: Connection reset by peer"


def test_excerpt_kimchi_host_key_changed_unfolded():
    text = unfold("excerpts/kimchi-1065-ssh-hostkey-changed/report-excerpt.txt")
    assert "Cannot recv data: @@@" in text and "Host key verification failed.: Connection reset by peer" in text
    hits = match_text(text)
    assert set(ids(hits)) == {"ssh-cannot-recv", "ssh-host-key"}
    assert best_root(hits).cause == "connect-failed"


def test_excerpt_xcat_no_route_to_migration_port():
    line = read_lines("excerpts/xcat-720-no-route-to-host/report-excerpt.txt")[1]
    assert line == (
        "kvm115: Error: libvirt error code: 38, message: unable to connect to server at "
        "'c910f05c35:49152': No route to host: Failed migration of kvm115 from c910f05c33 to c910f05c35"
    )
    root = best_root(match_text(line))
    assert root.cause == "connect-failed"
    assert (root.groups["host"], root.groups["port"]) == ("c910f05c35", "49152")
    assert root.groups["reason"].startswith("No route to host")


def test_excerpt_kubevirt_yaml_cpu_missing_features():
    # YAML-folded scalar with doubled apostrophes (doesn''t); unfolded as a reader would
    text = unfold("excerpts/kubevirt-12519-cpu-missing-features/vmi-status-excerpt.txt")
    assert "guest CPU doesn''t match specification: missing features:" in text
    root = best_root(match_text(text))
    assert root.id == "guest-cpu-missing-features"
    assert root.cause == "cpu-incompatible"
    assert root.groups["features"] == "vmx-rdrand-exit,vmx-vmfunc,vmx-rdseed-exit,vmx-posted-intr"


def test_excerpt_opennebula_cpu_missing_features():
    text = unfold("excerpts/opennebula-1688-cpu-missing-features/report-excerpt.txt")
    root = best_root(match_text(text))
    assert root.cause == "cpu-incompatible"
    assert root.groups["features"] == "xsave,avx,f16c,rdrand,fsgsbase,smep,erms,xsaveopt"


def test_excerpt_kubevirt_cannot_access_storage():
    line = read_lines("excerpts/kubevirt-665-cannot-access-storage/report-excerpt.txt")[1]
    root = best_root(match_text(line))
    assert root.id == "storage-access-failed" and root.cause == "storage-missing"
    assert root.groups == {
        "path": "/var/run/libvirt/kubevirt-ephemeral-disk/cloud-init-data/default/cirrosvm/noCloud.iso",
        "uid": "107",
        "gid": "107",
        "reason": "No such file or directory",
    }


def test_excerpt_kubevirt_json_readonly_disk():
    line = read_lines("excerpts/kubevirt-3920-readonly-disk/virt-launcher-excerpt.jsonl")[0]
    assert "Message='Operation not supported: Cannot migrate empty or read-only disk sda')" in line
    hits = match_text(line)
    assert ids(hits) == ["readonly-disk-not-migratable"]  # not also operation-not-supported
    assert hits[0].cause == "unsupported-config" and hits[0].groups == {"disk": "sda"}


def test_excerpt_kumina_state_change_lock_in_virerror_wrapper():
    line = read_lines("excerpts/kumina-exporter-33-state-change-lock/report-excerpt.txt")[4]
    assert line.startswith("Failed to scrape metrics: virError(Code=68")
    root = best_root(match_text(line))
    assert root.id == "state-change-lock-timeout" and root.cause == "lock-timeout"
    assert root.groups == {"owner": "remoteDispatchDomainMigratePrepare3Params"}


def test_excerpt_unsafe_old_wording():
    line = read_lines("excerpts/tp-libvirt-386-unsafe-cache/pr-description.txt")[3]
    assert line == "error: Unsafe migration: Migration may lead to data corruption if disks use cache != none"
    root = best_root(match_text(line))
    assert root.cause == "unsupported-config"
    assert root.groups["reason"] == "Migration may lead to data corruption if disks use cache != none"


def test_excerpt_virsh_keepalive_non_p2p():
    line = read_lines("excerpts/tp-libvirt-4773-virsh-keepalive/pr-comment.txt")[1]
    hits = match_text(line)
    # the harness' expected text comes first (a symptom), the real error after it
    assert ids(hits) == ["client-socket-closed", "keepalive-timeout"]
    root = best_root(hits)
    assert root.id == "keepalive-timeout"
    assert root.cause == "dconn-keepalive-timeout"  # default guess
    assert "client-keepalive-timeout" in root.pattern.ambiguous_with  # what non-p2p really is


def test_excerpt_localized_keepalive():
    line = read_lines("excerpts/virt-manager-887-keepalive-localized/libvirtd-excerpt.log")[3]
    assert "Interner Fehler: connection closed due to keepalive timeout**" in line
    assert best_root(match_text(line)).id == "keepalive-timeout"


def test_excerpt_flathub_max_requests_then_keepalive():
    lines = read_lines("excerpts/flathub-boxes-92-journal-keepalive/journal-excerpt.txt")
    hits = list(scan_lines(lines))
    assert [(n, h.id) for n, h in hits] == [(1, "max-client-requests"), (2, "keepalive-timeout")]
    assert hits[0][1].groups == {"limit": "1"}
    assert best_root(hits).cause == "client-keepalive-timeout"


def test_excerpt_job_failed_qemu_closed():
    line = read_lines("excerpts/tp-libvirt-5741-migration-out-qemu-closed/pr-comment.txt")[1]
    real = line[line.index("Migration: [ 0.47 %]"):]
    hits = match_text(real)
    desc = only(hits, "job-failed-desc")
    assert desc.cause == "qemu-failed"
    assert desc.groups == {"job": "migration out", "reason": "QEMU unexpectedly closed the monitor"}
    assert best_root(hits).cause == "qemu-failed"


def test_excerpt_qemu_closed_monitor_11x_wording():
    line = read_lines("excerpts/tp-libvirt-6121-qemu-closed-monitor/pr-description.txt")[1]
    real = line[line.index("error: internal error: QEMU unexpectedly"):]
    hits = match_text(real)
    stream = only(hits, "qemu-monitor-closed-stream-cut")
    assert stream.groups["domain"] == "avocado-vt-vm1"
    assert only(hits, "load-migration-failed").groups["reason"] == "Invalid argument"
    # from the text alone: no root, default guess qemu-failed (the source guest went away)
    assert best_root(hits) is None
    assert likely_cause(hits) == "qemu-failed"


def test_excerpt_kubevirt_device_state_incompatible():
    lines = read_lines("excerpts/kubevirt-16386-load-state-failed/virt-launcher-excerpt.jsonl")
    hits = list(scan_lines(lines))
    assert [(n, h.id) for n, h in hits] == [
        (1, "virtio-features-unsupported"), (2, "qemu-device-load-failed")]
    assert hits[0][1].groups == {"features": "0x1c0010130afffaf", "allowed": "0x10179bfffef"}
    assert hits[1][1].groups == {"device": "virtio-net:virtio"}
    assert best_root(hits).cause == "qemu-failed"


def test_excerpt_daemon_side_eof_is_only_a_symptom():
    line = read_lines("excerpts/prometheus-exporter-10-syslog-wrapped-fileformat/report-excerpt.txt")[0]
    assert line.endswith("error : virNetSocketReadWire:1808 : End of file while reading data: Input/output error")
    hits = match_text(line)
    assert ids(hits) == ["eof-reading-data"] and hits[0].role == "symptom"
    assert best_root(hits) is None


def test_excerpt_old_monitor_eof_wording():
    lines = read_lines("excerpts/webvirtmgr-337-old-wording/report-excerpt.txt")
    assert 'also "error : qemuMonitorIO:613 : internal error End of file from monitor" appeared' in lines[6]
    hit = only(match_text(lines[6]), "monitor-eof")
    assert hit.role == "symptom" and hit.pattern.ambiguous_with[0] == "qemu-failed"
    # not a migration; nothing here names a root cause
    assert best_root(scan_lines(lines)) is None


# ------------------------------------------------------------------------------------------
# libvirt's format strings (no sample has these messages).  Each text is the libvirt
# format string of the message with a realistic value substituted for %s/%d.
# ------------------------------------------------------------------------------------------

GUIDE_STRINGS = [
    # (text, pattern id, cause, expected groups subset)
    ("error: operation aborted: migration out job: canceled by client",  # 7.0-era wording
     "job-canceled-by-client", "cancelled", {"job": "migration out"}),
    ("error: operation aborted: job 'migration out' canceled by client",  # ≈8.5+/9.0 wording
     "job-canceled-by-client", "cancelled", {"job": "migration out"}),
    ("operation aborted: migration job: canceled by client",  # ≈0.9–1.2
     "job-canceled-by-client", "cancelled", {"job": "migration"}),
    ("operation aborted: migration out: canceled by client",
     "migration-canceled-before-start", "cancelled", {"job": "migration out"}),
    ("operation failed: job 'migration out' failed: Unable to write to socket: Connection timed out",
     "job-failed-desc", "qemu-failed", {"reason": "Unable to write to socket: Connection timed out"}),
    ("operation failed: job 'migration out' unexpectedly failed",
     "job-unexpectedly-failed", "qemu-failed", {"job": "migration out"}),
    ("operation failed: migration out job: unexpectedly failed",
     "job-unexpectedly-failed", "qemu-failed", {"job": "migration out"}),
    ("operation failed: migration job: unexpectedly failed",
     "job-unexpectedly-failed", "qemu-failed", {"job": "migration"}),
    ("operation failed: job 'migration out' failed in post-copy phase",
     "job-failed-postcopy", "qemu-failed", {}),
    ("Migration of domain tiny failed during post-copy; leaving the domain paused",
     "postcopy-failed-paused", "qemu-failed", {"domain": "tiny"}),
    ("Incoming migration of domain 'tiny' failed during post-copy; leaving the domain running",
     "postcopy-failed-paused", "qemu-failed", {"domain": "tiny"}),
    ("operation failed: job 'migration out' failed due to I/O error",
     "job-failed-io-error", "storage-missing", {}),
    ("Timed out during operation: cannot acquire state change lock (held by "
     "monitor=remoteDispatchDomainMigratePerform3Params agent=remoteDispatchDomainFSFreeze)",
     "state-change-lock-timeout", "lock-timeout",
     {"owner": "remoteDispatchDomainMigratePerform3Params", "agent": "remoteDispatchDomainFSFreeze"}),
    ("Timed out during operation: cannot acquire state change lock (held by agent=remoteDispatchDomainFSFreeze)",
     "state-change-lock-timeout", "lock-timeout", {"agent": "remoteDispatchDomainFSFreeze"}),
    ("Timed out during operation: cannot acquire state change lock (held by remoteDispatchDomainMigratePerform3)",
     "state-change-lock-timeout", "lock-timeout", {"owner": "remoteDispatchDomainMigratePerform3"}),
    ("Timed out during operation: cannot acquire state change lock",
     "state-change-lock-timeout", "lock-timeout", {}),
    ("operation failed: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params) "
     "due to max_queued limit",
     "state-change-lock-max-queued", "lock-timeout", {}),
    ("Requested operation is not valid: another migration job is already running for domain 'tiny'",
     "another-migration-running", "lock-timeout", {"domain": "tiny"}),
    ("invalid argument: Attempt to migrate guest to the same host",
     "same-host-uri", "unsupported-config", {}),
    ("internal error: Attempt to migrate guest to the same host 4c4c4544-0042-3510-8052-b4c04f4b4d32",
     "same-host-uuid", "unsupported-config", {"uuid": "4c4c4544-0042-3510-8052-b4c04f4b4d32"}),
    ("Unable to resolve address 'dst-host.example.com' service '16509': Name or service not known",
     "resolve-address-failed", "connect-failed", {"host": "dst-host.example.com", "port": "16509"}),
    ("Failed to connect socket to '/var/run/libvirt/virtqemud-sock': Connection refused",
     "connect-unix-failed", "connect-failed", {"path": "/var/run/libvirt/virtqemud-sock"}),
    ("End of file while reading data: virt-ssh-helper: cannot connect to 'qemu:///system': Failed to "
     "connect socket to '/var/run/libvirt/virtqemud-sock': No such file or directory: Input/output error",
     "ssh-eof-reading-data", "connect-failed", {}),
    ("authentication failed: Failed to verify peer's certificate",
     "auth-failed", "connect-failed", {"reason": "Failed to verify peer's certificate"}),
    ("server verification (of our certificate or IP address) failed",
     "tls-verify-failed", "connect-failed", {}),
    ("operation failed: Destination libvirt does not support peer-to-peer migration protocol",
     "p2p-unsupported-destination", "unsupported-config", {}),
    ("operation failed: Failed to connect to remote libvirt URI qemu+tcp://dst-host/system: unable to "
     "connect to server at 'dst-host:16509': Connection timed out",
     "remote-uri-connect-failed", "connect-failed", {"uri": "qemu+tcp://dst-host/system"}),
    ("the CPU is incompatible with host CPU: Host CPU does not provide required features: avx512f, avx512vl",
     "cpu-incompatible-features", "cpu-incompatible", {"features": "avx512f, avx512vl"}),
    ("the CPU is incompatible with host CPU: Host CPU provides forbidden features: hle, rtm",
     "cpu-forbidden-features", "cpu-incompatible", {"features": "hle, rtm"}),
    ("Unable to read from monitor: Connection reset by peer",
     "monitor-read-failed", "qemu-failed", {"reason": "Connection reset by peer"}),
    ("internal error: qemu unexpectedly closed the monitor: 2025-03-04T10:15:03.511Z qemu-kvm: "
     "Unknown savevm section or instance 'kvm-tpr-opt' 0. Make sure that your current VM setup "
     "matches your saved VM setup, including any hotplugged devices",
     "qemu-monitor-closed", "qemu-failed", {}),
    ("operation failed: migration of disk vda failed: Input/output error",
     "disk-migration-failed", "storage-missing", {"disk": "vda", "reason": "Input/output error"}),
    ("internal error: unable to execute QEMU command 'blockdev-add': Failed to connect to "
     "'dst-host:49153': Connection refused",
     "nbd-connect-failed", "connect-failed", {"command": "blockdev-add"}),
    ("internal error: migration of non-shared disks requested but NBD is not set up",
     "nbd-not-set-up", "unsupported-config", {}),
    ("Unsafe migration: Migration without shared storage is unsafe",
     "unsafe-migration", "unsupported-config", {"reason": "Migration without shared storage is unsafe"}),
    ("operation failed: domain 'tiny' already exists with uuid 6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001",
     "domain-already-exists", "domain-exists",
     {"domain": "tiny", "uuid": "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001"}),
    ("operation failed: domain 'tiny2' is already defined with uuid 6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001",
     "domain-already-defined", "domain-exists", {"domain": "tiny2"}),
    ("Requested operation is not valid: domain 'tiny' is already active",
     "domain-already-active", "domain-exists", {"domain": "tiny"}),
    ("operation failed: domain 'tiny' is already being removed",
     "domain-being-removed", "domain-exists", {"domain": "tiny"}),
    ("Requested operation is not valid: cannot migrate domain with 3 snapshots",
     "migration-blocked", "unsupported-config", {"reason": "3 snapshots"}),
    ("Client hit max requests limit 5. This may result in keep-alive timeouts. Consider tuning the "
     "max_client_requests server parameter",
     "max-client-requests", "client-keepalive-timeout", {"limit": "5"}),
    ("error: Disconnected from qemu+tcp://src-host/system due to keepalive timeout",
     "virsh-disconnected-keepalive", "client-keepalive-timeout", {"uri": "qemu+tcp://src-host/system"}),
]


@pytest.mark.parametrize("text,pid,cause,groups", GUIDE_STRINGS, ids=[g[1] + "-" + str(i) for i, g in enumerate(GUIDE_STRINGS)])
def test_guide_format_strings(text, pid, cause, groups):
    hits = match_text(text)
    hit = only(hits, pid)
    assert hit.cause == cause
    for k, v in groups.items():
        assert hit.groups.get(k) == v, (k, hit.groups)
    assert best_root(hits).cause == cause


def test_guide_symptom_format_strings():
    # libvirt's format strings; symptoms only
    for text, pid in (
        ("The connection which controls migration of domain tiny was closed", "controlling-connection-closed"),
        ("internal error: End of file from qemu monitor (vm='tiny')", "monitor-eof"),
        ("operation failed: domain is not running", "domain-not-running"),
        ("operation failed: migration failed. Message from the source host: operation failed: "
         "Lost connection to destination host. Message from the destination host: "
         "internal error: client socket is closed", "migration-failed-both-sides"),
    ):
        hits = match_text(text)
        assert only(hits, pid).role == "symptom"
        assert best_root(hits) is None


def test_wrapped_both_sides_message_finds_inner_root():
    text = ("operation failed: migration failed. Message from the source host: operation failed: "
            "job 'migration out' failed: Unable to write to socket: Connection reset by peer. "
            "Message from the destination host: internal error: qemu unexpectedly closed the monitor")
    hits = match_text(text)
    wrapper = only(hits, "migration-failed-both-sides")
    assert wrapper.groups["dst_msg"] == "internal error: qemu unexpectedly closed the monitor"
    assert best_root(hits).id == "job-failed-desc"


def test_orchestrator_not_converging_then_cancel():
    # nova's warning text (nova/virt/libvirt/migration.py, "Live migration not completed after %d sec")
    # followed by the cancel it causes
    lines = [
        "WARNING nova.virt.libvirt.migration [-] [instance: 07b5842b-6324-4de0-973e-6d0ff18ef574] "
        "Live migration not completed after 300 seconds",
        "libvirt.libvirtError: operation aborted: job 'migration out' canceled by client",
    ]
    hits = list(scan_lines(lines))
    assert [(n, h.id) for n, h in hits] == [
        (1, "orchestrator-completion-timeout"), (2, "job-canceled-by-client")]
    assert best_root(hits).cause == "not-converging"


# ------------------------------------------------------------------------------------------
# API behaviour
# ------------------------------------------------------------------------------------------


def test_best_root_rule():
    sym = match_text("internal error: client socket is closed")[0]
    root_a = match_text("internal error: connection closed due to keepalive timeout")[0]
    root_b = match_text("operation aborted: job 'migration out' canceled by client")[0]
    assert best_root([sym, root_b, root_a]) is root_b  # a root beats an earlier symptom; earliest root
    assert best_root([(1, sym), (7, root_a), (9, root_b)]) is root_a  # scan_lines pairs
    assert best_root([]) is None
    assert likely_cause([]) == "undetermined"


def test_match_text_orders_hits_by_position():
    text = ("error: internal error: client socket is closed; error: internal error: connection "
            "closed due to keepalive timeout")
    hits = match_text(text)
    assert ids(hits) == ["client-socket-closed", "keepalive-timeout"]
    assert hits[0].start < hits[1].start
    assert text[hits[1].start:hits[1].end] == "connection closed due to keepalive timeout"
    assert hits[1].text == "connection closed due to keepalive timeout"


def test_scan_lines_numbers_are_one_based():
    got = list(scan_lines(["nothing here", "", "error: internal error: client socket is closed"]))
    assert [(n, h.id) for n, h in got] == [(3, "client-socket-closed")]


def _all_sample_lines():
    for path in sorted(SAMPLES.glob("*/*")) + sorted(EXCERPTS.glob("*/*")):
        if path.is_file() and path.suffix in (".log", ".out", ".txt", ".jsonl"):
            for line in path.read_text(errors="replace").splitlines():
                yield line


def test_prefilter_never_hides_a_match():
    """match_text (prefilter + anchors) finds exactly what running every hand-written regex
    finds (the generated catalogue's index has its own test)."""
    texts = [l for l in _all_sample_lines() if " error : " in l or " warning : " in l
             or "error:" in l or "rror" in l or "fail" in l]
    texts += [p.example for p in PATTERNS] + [g[0] for g in GUIDE_STRINGS]
    assert len(texts) > 100
    for t in texts:
        brute = sorted((m.start(), p.id) for p in PATTERNS for m in p.regex.finditer(t))
        fast = sorted((h.start, h.id) for h in match_text(t) if h.id in PATTERNS_BY_ID)
        assert fast == brute, t
