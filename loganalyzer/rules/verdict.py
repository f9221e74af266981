"""Verdict: the cause of one failed migration, how sure we are, what proves it,
what is missing, and what to change.  Plus the remedies for each cause."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..correlate.objects import Evidence

CONFIDENCE = ("high", "medium", "low")

# What to change, by cause: real knobs, in the order an operator would try them.
REMEDIES = {
    "dconn-keepalive-timeout": [
        "Check the destination daemon for hangs or stops at the time of the death (its log goes "
        "silent, or its keepalive timer fires late); a hung event loop looks exactly like a dead network.",
        "Give the migration data its own network: --migrateuri (or the migrate_uri parameter, "
        "listen_address / migration_address in qemu.conf) so the libvirt control connection "
        "(16509/16514, ssh) does not starve behind the QEMU stream.",
        "Limit migration bandwidth (virsh migrate --bandwidth, or migrate-setspeed) to leave room "
        "for the control connection on a shared link.",
        "Tolerate longer silences on the source's connection to the destination: qemu.conf "
        "keepalive_interval / keepalive_count (death after interval x (count + 1) s; -1 disables).",
        "Check firewalls and NAT/conntrack state on the path between the daemons (ports 16509/16514 "
        "or 22 for ssh): a dropped control path keeps the migration stream alive but the dconn dies.",
    ],
    "dconn-closed": [
        "Find out why the peer daemon went away at that time: its log, `journalctl -u libvirtd` / "
        "`virtqemud` / `virtproxyd` for a crash, restart (package update, OOM kill) or a socket-activated "
        "daemon exiting; keep it running during migrations (virt-admin daemon-timeout --timeout 0).",
        "If the peer declared the connection dead first (its own keepalive fired), tune "
        "keepalive_interval/keepalive_count in its libvirtd.conf/virtproxyd.conf and look for network resets.",
        "Retry the migration once the destination daemon is healthy.",
    ],
    "client-keepalive-timeout": [
        "The management client stopped answering keepalives: check that process (virsh, virt-manager, "
        "nova-compute, the orchestrator) for stalls, suspension or a blocked event loop.",
        "Use peer-to-peer migration (virsh migrate --p2p) so the source daemon, not the client, drives "
        "the migration and a client hiccup cannot kill it.",
        "Raise the server-side keepalive for clients in libvirtd.conf/virtqemud.conf "
        "(keepalive_interval, keepalive_count) or the client's own (virsh -k/-K).",
        "If the daemon logged `Client hit max requests limit`, raise max_client_requests.",
    ],
    "connect-failed": [
        "Make the destination daemon reachable at the URI the source used: for qemu+tcp start "
        "virtproxyd-tcp.socket / libvirtd --listen (port 16509), for qemu+tls 16514 with certificates, "
        "for qemu+ssh a working ssh (host key in known_hosts for the user the daemon runs as, keys, "
        "virt-ssh-helper or nc on the destination).",
        "Check name resolution and routing from the *source host* (not from where virsh runs): the "
        "source daemon opens the connection in peer-to-peer mode.",
        "Open the firewall for the libvirt port (16509/16514 or 22) between the hosts.",
    ],
    "cancelled": [
        "Nothing failed: the job was aborted on request (virsh domjobabort, Ctrl-C on virsh migrate, "
        "an orchestrator's timeout). If no one meant to cancel it, find the client that called "
        "virDomainAbortJob (its connection is in the evidence).",
        "If an orchestrator cancels slow migrations, make them converge (bandwidth, --auto-converge, "
        "--postcopy) or raise its timeout.",
    ],
    "domain-exists": [
        "Remove or rename the stale domain on the destination (virsh undefine / destroy there) or "
        "migrate under another name (--dname).",
        "If an earlier migration half-succeeded, check which host really runs the guest before undefining.",
    ],
    "cpu-incompatible": [
        "Use a CPU model both hosts provide: <cpu mode='host-model'/> or a named custom model "
        "(virsh domcapabilities / virsh hypervisor-cpu-baseline across the hosts) instead of host-passthrough.",
        "Remove or disable the missing features in the guest CPU definition (<feature policy='disable' .../>) "
        "or migrate only between hosts of the same CPU generation.",
    ],
    "storage-missing": [
        "Make the disks (and any attached ISO) exist at the same paths on the destination, or use "
        "shared storage.",
        "For non-shared storage use --copy-storage-all / --copy-storage-inc and pre-create the "
        "destination volumes with enough space; open the NBD port range (49153+) between the hosts.",
    ],
    "qemu-failed": [
        "Read the QEMU log of the domain on both hosts (/var/log/libvirt/qemu/<name>.log) for the "
        "exit reason: a crash, OOM kill, or a device/state mismatch between QEMU versions.",
        "Check the migration data path (the migration URI's address and ports 49152-49215) for resets.",
        "Align QEMU/machine types between the hosts if the destination rejected the incoming state.",
    ],
    "not-converging": [
        "Let the migration finish: --auto-converge (throttle the vCPUs), --postcopy (switch to "
        "post-copy), a higher bandwidth, or a larger downtime (virsh migrate-setmaxdowntime).",
        "Use --timeout with --timeout-suspend/--timeout-postcopy so a stuck migration ends predictably.",
    ],
    "lock-timeout": [
        "Another job held the domain for 30 s (the owner API is in the evidence): wait for it, or "
        "find why it hangs (a stuck QEMU monitor, a hung agent command).",
        "Do not run long or blocking APIs on the domain while migrating it; raise max_queued/max_workers "
        "in qemu.conf if the daemon is saturated.",
    ],
    "unsupported-config": [
        "Change the flags or configuration to something both hosts support (the error names it): "
        "e.g. no NBD with --tunnelled, cache='none' for shared storage (or --unsafe if you know it is safe), "
        "drop devices that block migration.",
    ],
    "undetermined": [
        "Collect debug logs from both hosts with RPC and QEMU categories enabled "
        "(log_filters=\"1:qemu 1:libvirt 1:rpc 1:conf 3:object 3:json 3:event 3:util\") and analyze them together.",
    ],
}


@dataclass
class Verdict:
    cause: str
    summary: str
    confidence: str = "high"
    detected_by: str | None = None          # source | destination | client | None
    evidence: list = field(default_factory=list)   # Evidence, in time order
    missing: list = field(default_factory=list)
    remedies: list = field(default_factory=list)
    consequences: list = field(default_factory=list)  # symptoms explained by this cause
    rule: str = ""

    def __post_init__(self):
        if not self.remedies:
            self.remedies = list(REMEDIES.get(self.cause, []))

    def sort_evidence(self):
        seen = set()
        out = []
        for e in self.evidence:
            key = (e.path, e.line)
            if key in seen:
                continue
            seen.add(key)
            out.append(e)
        out.sort(key=lambda e: (e.time if e.time is not None else float("inf"), e.path, e.line))
        self.evidence = out
        return self

    def as_dict(self) -> dict:
        return {"cause": self.cause, "summary": self.summary, "detected_by": self.detected_by,
                "confidence": self.confidence,
                "evidence": [e.as_dict() for e in self.evidence],
                "missing": list(self.missing), "remedies": list(self.remedies),
                "consequences": [e.as_dict() for e in self.consequences]}


def ev(e) -> Evidence:
    """Evidence from an Evidence, an ErrorLine, or a record."""
    if isinstance(e, Evidence):
        return e
    if hasattr(e, "evidence") and callable(e.evidence):
        return e.evidence()
    return Evidence.of(e)
