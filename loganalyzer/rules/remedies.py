"""Every remedy text: what to change, by cause (REMEDIES), the shared texts the catalogue's
messages cite (R_*), and the remedies some rules write with the migration's own names."""
from __future__ import annotations

from .causes import Cause

# What to change, by cause: real knobs, in the order an operator would try them.
REMEDIES: dict[Cause, list[str]] = {
    Cause.DCONN_KEEPALIVE_TIMEOUT: [
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
    Cause.DCONN_CLOSED: [
        "Find out why the peer daemon went away at that time: its log, `journalctl -u libvirtd` / "
        "`virtqemud` / `virtproxyd` for a crash, restart (package update, OOM kill) or a socket-activated "
        "daemon exiting; keep it running during migrations (virt-admin daemon-timeout --timeout 0).",
        "If the peer declared the connection dead first (its own keepalive fired), tune "
        "keepalive_interval/keepalive_count in its libvirtd.conf/virtproxyd.conf and look for network resets.",
        "Retry the migration once the destination daemon is healthy.",
    ],
    Cause.CLIENT_KEEPALIVE_TIMEOUT: [
        "The management client stopped answering keepalives: check that process (virsh, virt-manager, "
        "nova-compute, the orchestrator) for stalls, suspension or a blocked event loop.",
        "Use peer-to-peer migration (virsh migrate --p2p) so the source daemon, not the client, drives "
        "the migration and a client hiccup cannot kill it.",
        "Raise the server-side keepalive for clients in libvirtd.conf/virtqemud.conf "
        "(keepalive_interval, keepalive_count) or the client's own (virsh -k/-K).",
        "If the daemon logged `Client hit max requests limit`, raise max_client_requests.",
    ],
    Cause.CONNECT_FAILED: [
        "Make the destination daemon reachable at the URI the source used: for qemu+tcp start "
        "virtproxyd-tcp.socket / libvirtd --listen (port 16509), for qemu+tls 16514 with certificates, "
        "for qemu+ssh a working ssh (host key in known_hosts for the user the daemon runs as, keys, "
        "virt-ssh-helper or nc on the destination).",
        "Check name resolution and routing from the *source host* (not from where virsh runs): the "
        "source daemon opens the connection in peer-to-peer mode.",
        "Open the firewall for the libvirt port (16509/16514 or 22) between the hosts.",
    ],
    Cause.CANCELLED: [
        "Nothing failed: the job was aborted on request (virsh domjobabort, Ctrl-C on virsh migrate, "
        "an orchestrator's timeout). If no one meant to cancel it, find the client that called "
        "virDomainAbortJob (its connection is in the evidence).",
        "If an orchestrator cancels slow migrations, make them converge (bandwidth, --auto-converge, "
        "--postcopy) or raise its timeout.",
    ],
    Cause.DOMAIN_EXISTS: [
        "Remove or rename the stale domain on the destination (virsh undefine / destroy there) or "
        "migrate under another name (--dname).",
        "If an earlier migration half-succeeded, check which host really runs the guest before undefining.",
    ],
    Cause.CPU_INCOMPATIBLE: [
        "Use a CPU model both hosts provide: <cpu mode='host-model'/> or a named custom model "
        "(virsh domcapabilities / virsh hypervisor-cpu-baseline across the hosts) instead of host-passthrough.",
        "Remove or disable the missing features in the guest CPU definition (<feature policy='disable' .../>) "
        "or migrate only between hosts of the same CPU generation.",
    ],
    Cause.STORAGE_MISSING: [
        "Make the disks (and any attached ISO) exist at the same paths on the destination, or use "
        "shared storage.",
        "For non-shared storage use --copy-storage-all / --copy-storage-inc and pre-create the "
        "destination volumes with enough space; open the NBD port range (49153+) between the hosts.",
    ],
    Cause.QEMU_FAILED: [
        "Read the QEMU log of the domain on both hosts (/var/log/libvirt/qemu/<name>.log) for the "
        "exit reason: a crash, OOM kill, or a device/state mismatch between QEMU versions.",
        "Check the migration data path (the migration URI's address and ports 49152-49215) for resets.",
        "Align QEMU/machine types between the hosts if the destination rejected the incoming state.",
    ],
    Cause.NOT_CONVERGING: [
        "Let the migration finish: --auto-converge (throttle the vCPUs), --postcopy (switch to "
        "post-copy), a higher bandwidth, or a larger downtime (virsh migrate-setmaxdowntime).",
        "Use --timeout with --timeout-suspend/--timeout-postcopy so a stuck migration ends predictably.",
    ],
    Cause.LOCK_TIMEOUT: [
        "Another job held the domain for 30 s (the owner API is in the evidence): wait for it, or "
        "find why it hangs (a stuck QEMU monitor, a hung agent command).",
        "Do not run long or blocking APIs on the domain while migrating it; raise max_queued/max_workers "
        "in qemu.conf if the daemon is saturated.",
    ],
    Cause.UNSUPPORTED_CONFIG: [
        "Change the flags or configuration to something both hosts support (the error names it): "
        "e.g. no NBD with --tunnelled, cache='none' for shared storage (or --unsafe if you know it is safe), "
        "drop devices that block migration.",
    ],
    Cause.UNDETERMINED: [
        "Collect debug logs from both hosts with RPC and QEMU categories enabled "
        "(log_filters=\"1:qemu 1:libvirt 1:rpc 1:conf 3:object 3:json 3:event 3:util\") and analyze them together.",
    ],
}


# Remedy texts shared by several patterns (the real knob names of the daemons' .conf files and virsh).
R_QEMU_KEEPALIVE = (
    "Make the dconn keepalive more tolerant in the source host's qemu.conf: raise "
    "keepalive_count and/or keepalive_interval (death after interval×(count+1) s, default "
    "5×6=30 s) or set keepalive_interval=-1 to disable it; then restart virtqemud/libvirtd."
)
R_SERVER_KEEPALIVE = (
    "Server side: tune keepalive_interval/keepalive_count in libvirtd.conf, virtqemud.conf or "
    "virtproxyd.conf of the daemon that dropped the client (0/0 in RPC_KEEPALIVE_START means "
    "these daemon defaults)."
)
R_VIRSH_KEEPALIVE = (
    "For a virsh/client connection: virsh -k/--keepalive-interval and -K/--keepalive-count "
    "(virsh -k 0 disables it); API users call virConnectSetKeepAlive."
)
R_MIGRATION_NETWORK = (
    "Send the migration stream over a separate network: virsh migrate --migrateuri "
    "tcp://<addr-on-migration-net> (migrate_uri parameter; qemu.conf migration_address, "
    "--listen-address) so the libvirt RPC socket does not starve behind it."
)
R_BANDWIDTH = (
    "Cap the migration stream with virsh migrate --bandwidth <MiB/s> (or virsh "
    "migrate-setspeed) so control traffic keeps flowing."
)
R_FIREWALL = (
    "Check the firewall/routing between the hosts: 16509/tcp (qemu+tcp) or 16514/tcp "
    "(qemu+tls) for the daemon, 22/tcp for qemu+ssh, and 49152-49215/tcp for the QEMU "
    "migration and NBD streams (qemu.conf migration_port_min/migration_port_max)."
)
R_DEST_DAEMON = (
    "Check the destination daemon is up and responsive (systemctl status "
    "virtproxyd/virtqemud/libvirtd, restarts, hangs, 'Client hit max requests limit' in its log)."
)
R_MAX_CLIENT_REQUESTS = (
    "Raise max_client_requests (and max_workers if the pool is busy) in the daemon's conf "
    "(libvirtd.conf / virtqemud.conf / virtproxyd.conf / virtlogd.conf), or at runtime with "
    "virt-admin server-clients-set / server-threadpool-set."
)
R_LISTEN = (
    "Make the destination listen: enable virtproxyd-tcp.socket / virtproxyd-tls.socket (modular) "
    "or libvirtd --listen with listen_tcp/listen_tls (monolithic), and check the dconnuri "
    "host and port."
)
R_SSH_HOSTKEY = (
    "Fix ssh host keys for the user the source daemon runs as (root): ssh-keygen -R <dest> then "
    "ssh <dest> once (or ssh-keyscan >> /root/.ssh/known_hosts); set up key-based login "
    "(qemu+ssh:// cannot prompt)."
)
R_QEMU_LOG = (
    "Read /var/log/libvirt/qemu/<vm>.log on the host whose QEMU failed; check the kernel log "
    "for OOM kills or segfaults (journalctl -k) and for core dumps."
)
R_QEMU_VERSIONS = (
    "Run compatible QEMU builds and the same machine type on both hosts (pin the machine type "
    "in the domain XML, e.g. pc-q35-<ver>); upgrade the older host first."
)
R_CPU_MODEL = (
    "Give the guest a CPU both hosts can run: a custom CPU model (<cpu mode='custom'> with the "
    "common baseline from virsh hypervisor-cpu-baseline over both hosts) instead of "
    "host-passthrough, or host-model only in a homogeneous cluster."
)
R_CPU_FEATURES = (
    "Compare before migrating: virsh hypervisor-cpu-compare on the destination with the guest "
    "CPU XML; disable the listed features with <feature policy='disable' name='…'/> if the "
    "guest can live without them."
)
R_ABORT_CALLER = (
    "Find who aborted the job: the virDomainAbortJob / remoteDispatchDomainAbortJob line in the "
    "source log (its client= names the caller: virsh domjobabort, Ctrl-C on virsh migrate, an "
    "orchestrator)."
)
R_CONVERGE = (
    "Help the migration converge: virsh migrate --auto-converge, --postcopy (plus "
    "migrate-postcopy or --timeout N --timeout-postcopy), --timeout N --timeout-suspend, more "
    "--bandwidth or a faster dedicated migration network (--migrateuri), or less guest load."
)
R_STORAGE_SHARED = (
    "Make the disk reachable on the destination at the same path (mount the shared storage "
    "there, or pre-create the volume/ISO), or copy non-shared disks with --copy-storage-all "
    "(--migrate-disks to choose which)."
)
R_DEST_UNDEFINE = (
    "On the destination, remove or rename the stale domain: virsh undefine <name> (virsh "
    "destroy first if it is a leftover running copy) or virsh domrename; or migrate with "
    "--dname <new-name>."
)
R_UNSAFE = (
    "If the storage really is shared and coherent, pass --unsafe; otherwise use cache='none' "
    "(or 'directsync') on the disks, real shared storage, or --copy-storage-all."
)
R_LOCK_OWNER = (
    "Look at the owner API named in the message and at the preceding WARN 'Cannot start job' "
    "(owner thread ids, how long it has held the job); let the stuck job finish or abort it "
    "(virsh domjobabort); keep pollers/exporters off the domain during migration."
)


# Remedies a rule writes with the migration's own names.
def source_qemu_died(domain: str) -> list[str]:
    return [
        f"Find why the source QEMU died: /var/log/libvirt/qemu/{domain}.log on the source host, "
        f"journalctl -k for the OOM killer or a segfault, coredumpctl for a core dump, and whatever may "
        f"have killed it (an operator, a monitoring agent, systemd).",
        "Start the domain again (its memory state is lost) and retry the migration once the cause is "
        "removed.",
    ]


def stream_stalled(migrate_uri: str | None, port: str | None) -> list[str]:
    where = f" (here {migrate_uri})" if migrate_uri else ""
    return [
        f"Check the migration data path{where}: what listens on that port on the destination "
        f"(ss -ltnp{' sport = :' + port if port and port.isdigit() else ''}), a firewall that drops "
        "instead of rejecting, a wrong address in --migrateuri or migration_address.",
        "Let libvirt choose a free port from qemu.conf's migration_port_min..migration_port_max "
        "(49152-49215), and open that range between the hosts.",
        "Use virsh migrate --timeout N (with --timeout-suspend or --timeout-postcopy) or an "
        "orchestrator timeout: libvirt itself waits for a stalled stream until TCP gives up.",
    ]


POSTCOPY_RESUME = ("Recover with virsh migrate --postcopy-resume once the cause is fixed; do not destroy "
                   "either side.")


def postcopy_guest_lost(domain: str) -> str:
    return (f"The guest cannot be recovered: destroy the paused domain on the source (virsh destroy "
            f"{domain}) and start it again; find out why the destination QEMU died before "
            f"migrating with --postcopy again.")
