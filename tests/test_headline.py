"""Issue 16, items 1 and 2: every verdict opens with one plain sentence that names the cause in
words and the decisive fact, and its remedies agree with that conclusion.

What each lab sample's headline must name comes from the sample's EXPECTED.md (what was done
to the hosts), never from the analyzer's output: a daemon frozen with SIGSTOP is a hung
daemon (its log goes silent), a SIGKILLed one died, a blocked data path is a stream that
stopped moving, and so on.
"""
from __future__ import annotations

import re

import pytest

from samplelib import SAMPLES, analyzed, quote

from loganalyzer.report.jsonout import analysis_to_dict
from loganalyzer.rules import remedies as R
from loganalyzer.rules.catalogue import PATTERNS

# scenario -> words the headline of its (first) failure must contain, and words it must not.
# From each EXPECTED.md: what was done, and what it means.
HEADLINE_FACTS = {
    # destination libvirtd frozen with SIGSTOP: it hung, its log is silent; not the network
    "p2p-keepalive-timeout": (["destination libvirtd hung for 32 s", "its log is silent",
                               "source's keepalive killed the dconn after 30 s"], ["network"]),
    "v7.0-p2p-keepalive-timeout": (["destination libvirtd hung for", "its log is silent",
                                    "keepalive killed the dconn after 30 s"], ["network"]),
    "v11.3-p2p-keepalive-timeout": (["destination libvirtd hung for", "its log is silent",
                                     "keepalive killed the dconn after 30 s"], ["network"]),
    "rpc-filtered-keepalive": (["destination libvirtd hung for", "its log is silent",
                                "keepalive killed the dconn after 30 s"], ["network"]),
    # keepalive_interval=2, keepalive_count=3: death after 2 x (3 + 1) = 8 s
    "short-keepalive": (["destination libvirtd hung for", "its log is silent",
                         "keepalive killed the dconn after 8 s"], ["network"]),
    # iptables drops the daemons' connection, both daemons keep running: the network, not a hang
    "dconn-blocked-keepalive": (["the network between the daemons broke", "libvirtd kept running",
                                 "keepalive heard nothing from it for 30 s"], ["hung"]),
    # destination libvirtd SIGKILLed: its log just stops, the source reads EOF
    "dst-daemon-killed": (["destination libvirtd died", "its log stops", "end of file"], ["hung", "keepalive"]),
    "dst-qemu-killed": (["QEMU exited", "destination logged", "qemu unexpectedly closed the monitor"], ["hung"]),
    "tunnelled-dst-qemu-killed": (["QEMU exited", "destination logged"], ["hung"]),
    "src-qemu-killed": (["source QEMU died"], ["hung", "destination logged"]),
    "postcopy-failed": (["QEMU exited", "post-copy", "guest is lost"], []),
    # iptables drops the migration stream: the data path, not the daemons
    "stream-blocked-cancelled": (["stream stopped moving", "sent nothing for", "data path"], ["hung", "keepalive"]),
    # another process holds the port: the stream went elsewhere, never reached the destination QEMU
    "migration-port-in-use": (["stream stopped moving", "never left 'setup'"], ["hung"]),
    "domjobabort": (["was cancelled", "on request", "nothing failed"], ["failed:"]),
    "v7.0-domjobabort": (["was cancelled", "on request", "nothing failed"], ["failed:"]),
    "v11.3-domjobabort": (["was cancelled", "on request", "nothing failed"], ["failed:"]),
    "not-converging": (["was cancelled", "dirtied memory as fast as it was sent"], []),
    "dconn-refused": (["could not connect to the destination daemon", "Connection refused"], []),
    "v7.0-dconn-refused": (["could not connect to the destination daemon", "Connection refused"], []),
    "v11.3-dconn-refused": (["could not connect to the destination daemon", "Connection refused"], []),
    "domain-exists": (["already has a domain", "already exists with uuid"], []),
    "lock-timeout": (["another job held the domain", "state change lock"], []),
    # virsh frozen with SIGSTOP in a client-managed migration: the client, not the daemons
    "client-keepalive-nonp2p": (["management client", "stopped answering keepalives",
                                 "client-managed migration cannot go on without its client"], ["hung"]),
    "client-keepalive-nonp2p-late": (["management client", "stopped answering keepalives"], ["hung"]),
    "dst-storage-missing": (["refused the migration as unsafe", "Migration without shared storage is unsafe"], []),
    # up-front refusals (issue 14): the source's own error text, or QEMU's blocker when the text
    # is filtered out, or the honest "not logged"
    "refused-postcopy-tunnelled": (["post-copy is not supported with tunnelled migration"], ["hung"]),
    "refused-postcopy-offline": (["post-copy migration is not supported with non-live"], ["hung"]),
    "refused-zerocopy": (["error whose text the daemon did not log", "before anything was sent"], ["hung"]),
    "refused-shmem-device": (["QEMU names a migration blocker", "ivshmem", "before anything was sent"], ["hung"]),
    # two migrations leave one source at once (issue 13's thread-less samples): tiny cancelled
    # with domjobabort while tiny2 succeeds; tiny2's dconn to a third daemon (dst2) frozen with
    # SIGSTOP dies by keepalive while tiny succeeds
    "forms-concurrent-abort": (["tiny src-libvirtd.log->dst-libvirtd.log was cancelled", "on request",
                                "nothing failed"], ["failed:"]),
    "forms-concurrent-keepalive": (["tiny2 src-libvirtd.log->dst2-libvirtd.log failed", "destination libvirtd hung for",
                                    "its log is silent", "keepalive killed the dconn after 30 s"], ["network"]),
}
HUNG = [s for s, (want, _) in HEADLINE_FACTS.items() if any("hung for" in w for w in want)]
NETWORK_ADVICE = re.compile(r"--migrateuri|migration_address|--bandwidth|migrate-setspeed|firewall|conntrack",
                            re.I)


def both(scenario: str):
    """The sample's daemons: src and dst, and dst2 where a third daemon ran."""
    names = ["src-libvirtd.log", "dst-libvirtd.log", "dst2-libvirtd.log"]
    return analyzed(*(f"{scenario}/{n}" for n in names if (SAMPLES / scenario / n).exists()))


def _first_failure(a):
    from loganalyzer.report.common import ranked_failures
    failed = ranked_failures(a)
    assert failed, "no failed migration"
    return failed[0]


def test_every_failing_two_host_sample_is_listed():
    """A new failure sample must say what its headline names (this table)."""
    have = set()
    for d in SAMPLES.iterdir():
        if (d / "src-libvirtd.log").exists() and (d / "dst-libvirtd.log").exists():
            if any(m.verdict is not None for m in both(d.name).migrations):
                have.add(d.name)
    assert have == set(HEADLINE_FACTS), have ^ set(HEADLINE_FACTS)


@pytest.mark.parametrize("scenario", sorted(HEADLINE_FACTS))
def test_the_headline_names_the_decisive_fact(scenario):
    want, never = HEADLINE_FACTS[scenario]
    m = _first_failure(both(scenario))
    head = m.verdict.headline
    # "<domain> <source host>-><destination host> failed|was cancelled: <reason>"
    assert re.match(r"^tiny2? src-libvirtd\.log->\S+ (failed|was cancelled): \S", head), head
    for w in want:
        assert w in head, f"{scenario}: {w!r} not in {head!r}"
    reason = head.split(": ", 1)[1]
    for w in never:
        assert w not in reason, f"{scenario}: {w!r} in {head!r}"
    # one sentence, no line breaks, and the same in the JSON
    assert "\n" not in head and len(head) < 400
    d = analysis_to_dict(both(scenario))
    assert head in [x["verdict"]["headline"] for x in d["migrations"] if x["verdict"]]


def test_the_hung_time_is_the_silence_of_the_destination_log():
    """p2p-keepalive-timeout: the destination logs nothing from 20:29:23.722 (dst 4159) to
    20:29:55.800 (dst 4160): 32 s; the source's death says idle=30 (src 6280)."""
    quote("p2p-keepalive-timeout/dst-libvirtd.log", 4159, "20:29:23.722")
    quote("p2p-keepalive-timeout/dst-libvirtd.log", 4160, "20:29:55.800")
    quote("p2p-keepalive-timeout/src-libvirtd.log", 6280, "countToDeath=0 idle=30")
    assert "hung for 32 s" in _first_failure(both("p2p-keepalive-timeout")).verdict.headline


def test_one_log_alone_does_not_pretend_to_know():
    """The source's log alone cannot tell a hung destination from a broken network; the
    destination's alone shows its own silence."""
    head = _first_failure(analyzed("p2p-keepalive-timeout/src-libvirtd.log")).verdict.headline
    assert "heard nothing from the destination daemon for 30 s" in head and "hung or the network broke" in head
    head = _first_failure(analyzed("p2p-keepalive-timeout/dst-libvirtd.log")).verdict.headline
    assert "this libvirtd logged nothing for 32 s" in head


@pytest.mark.parametrize("scenario", HUNG)
def test_remedies_of_a_hung_daemon_do_not_lead_with_network_changes(scenario):
    rem = _first_failure(both(scenario)).verdict.remedies
    assert "hung" in _first_failure(both(scenario)).verdict.headline
    lead = rem[:3]
    assert not any(NETWORK_ADVICE.search(r) for r in lead), lead
    assert any("gdb" in r or "thread" in r for r in lead)
    # the network advice is said not to apply, not silently given
    assert any("not indicated here" in r for r in rem)
    assert not any(NETWORK_ADVICE.search(r) and "not indicated" not in r for r in rem), rem


def test_remedies_of_a_broken_network_lead_with_network_changes():
    """dconn-blocked-keepalive: both daemons kept logging, the control path was cut."""
    v = _first_failure(both("dconn-blocked-keepalive")).verdict
    assert "network between the daemons broke" in v.headline
    assert NETWORK_ADVICE.search(v.remedies[0]) and NETWORK_ADVICE.search(v.remedies[2])
    assert not any("gdb" in r for r in v.remedies)
    assert any("hung daemon is not indicated" in r for r in v.remedies)


def test_remedies_without_the_peer_log_name_both_suspects():
    rem = _first_failure(analyzed("p2p-keepalive-timeout/src-libvirtd.log")).verdict.remedies
    assert "destination daemon's log" in rem[0] and "hung" in rem[0] and "network" in rem[0]
    assert any(NETWORK_ADVICE.search(r) for r in rem[1:])


# every remedy that names a daemon setting also names the file it lives in
SETTING = re.compile(r"\b(keepalive_interval|keepalive_count|max_client_requests|max_workers|max_queued"
                     r"|migration_address|migration_host|migration_port_min|migration_port_max|listen_tcp"
                     r"|listen_tls|log_filters|log_outputs)\b")


def _all_remedy_texts() -> list[str]:
    texts = [r for rs in R.REMEDIES.values() for r in rs]
    texts += [getattr(R, n) for n in dir(R) if n.startswith("R_")]
    texts += R.keepalive_hung_peer("destination", "libvirtd") + R.keepalive_network("destination")
    texts += R.keepalive_hung_peer("source", "virtqemud") + R.keepalive_network("source")
    texts += R.daemon_stalled("libvirtd")
    texts += [r for p in PATTERNS for r in p.remedies]
    return texts


def test_each_remedy_names_the_setting_and_its_file():
    texts = _all_remedy_texts()
    with_setting = [t for t in texts if SETTING.search(t)]
    assert len(with_setting) >= 10
    bad = [t for t in with_setting if not re.search(r"\b[\w.-]+\.conf\b", t)]
    assert not bad, bad


def test_findings_have_headlines_that_quote_the_error_line():
    """virsh output: the finding quotes virsh's 'error:' line, not its progress bar
    (samples/domjobabort/virsh-migrate.out line 13 holds both, separated by carriage returns)."""
    line = (SAMPLES / "domjobabort/virsh-migrate.out").read_bytes().decode().split("\n")[13 - 1]
    assert "\rMigration: [" in line and "error: operation aborted: job 'migration out' canceled" in line
    a = analyzed("domjobabort/virsh-migrate.out")
    assert a.findings
    for f in a.findings:
        assert "Migration: [" not in f.headline and "Migration: [" not in f.summary
        assert all("Migration: [" not in e.text for e in f.evidence)
    f = a.findings[0]
    assert "\"error: operation aborted: job 'migration out' canceled by client\"" in f.headline
    assert f.evidence[0].text == "error: operation aborted: job 'migration out' canceled by client"


def test_a_client_debug_log_is_not_called_truncated():
    """samples/p2p-keepalive-timeout/virsh-migrate.log (virsh with LIBVIRT_DEBUG): a client has
    no job of its own, so a log that ends after the error is not 'truncated'."""
    a = analyzed("p2p-keepalive-timeout/virsh-migrate.log")
    m = _first_failure(a)
    assert m.role == "client"
    assert not any("truncated" in x for x in m.verdict.missing), m.verdict.missing
    assert "client socket is closed" in m.verdict.headline
