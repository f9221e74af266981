"""Every remedy text: what to change, by cause (REMEDIES), the shared texts the catalogue's
messages cite (R_*), and the remedies some rules write with the migration's own names.
A remedy a rule keeps or drops by context is a Remedy tagged with its Topic: rules read the
tag, never the words, so rewording a remedy changes no verdict."""
from __future__ import annotations

from enum import Enum

from .causes import Cause


class Topic(Enum):
    """What a remedy is about, where a rule keeps or drops remedies by the migration's context."""
    DIRECT_PATH = "direct-path"          # QEMU's own migration socket (ports 49152-49215, --migrateuri):
                                         # void when the data is tunnelled through the daemons
    POSTCOPY_RESUME = "postcopy-resume"  # recovering a broken post-copy migration with --postcopy-resume


class Remedy(str):
    """A remedy: its text is what every report, the JSON and the notebooks show (a str, as a
    Cause is), and its topics are what rules filter by."""
    topics: frozenset

    def __new__(cls, text: str, *topics: Topic) -> "Remedy":
        remedy = super().__new__(cls, text)
        remedy.topics = frozenset(topics)
        return remedy


def about(remedy: str, topic: Topic) -> bool:
    """Whether a remedy is tagged with the topic; a plain text (most of the catalogue's own advice)
    is about nothing a rule filters on."""
    return isinstance(remedy, Remedy) and topic in remedy.topics


# Where the settings live (the modular daemons read their own file instead of libvirtd.conf).
QEMU_CONF = "/etc/libvirt/qemu.conf"
DAEMON_CONF = "/etc/libvirt/libvirtd.conf (virtqemud.conf or virtproxyd.conf with the modular daemons)"

# The source's connection to the destination daemon: its keepalive is set on the source host.
KEEPALIVE_DCONN = (
    f"Tolerate longer silences on the source's connection to the destination: keepalive_interval and "
    f"keepalive_count in the source host's {QEMU_CONF} (death after interval x (count + 1) s; "
    f"keepalive_interval = -1 disables it), then restart the daemon."
)
# A daemon's keepalive towards the connections it accepts (a peer daemon's, virsh's).
KEEPALIVE_SERVER = (
    f"Tolerate longer silences on the connections a daemon accepts: keepalive_interval and "
    f"keepalive_count in {DAEMON_CONF} of the daemon that dropped the connection."
)
MIGRATION_NETWORK = Remedy(
    f"Give the migration stream its own network so it cannot starve the daemons' connection: "
    f"virsh migrate --migrateuri tcp://<address-on-the-migration-network> (the migrate_uri parameter), "
    f"or migration_address / migration_host in the destination's {QEMU_CONF}.", Topic.DIRECT_PATH
)
BANDWIDTH = (
    "Leave room for the daemons' connection on a shared link: virsh migrate --bandwidth <MiB/s> "
    "(or virsh migrate-setspeed while it runs)."
)
CONTROL_PATH = (
    "Check the path between the daemons for drops: firewall rules and NAT/conntrack state "
    "(conntrack -L; net.netfilter.nf_conntrack_tcp_timeout_established in /etc/sysctl.d/) for "
    "16509/tcp (qemu+tcp), 16514/tcp (qemu+tls) or 22/tcp (qemu+ssh)."
)

# What to change, by cause: real knobs, in the order an operator would try them, each with the
# setting and the file (or the command) it lives in.
REMEDIES: dict[Cause, list[str]] = {
    Cause.DCONN_KEEPALIVE_TIMEOUT: [
        "Read the destination daemon's log for the same minutes: if it is silent there, the daemon hung "
        "(see its last lines before the silence, and journalctl -u libvirtd for a stop or restart); if it "
        "kept logging, the network between the daemons broke.",
        MIGRATION_NETWORK,
        BANDWIDTH,
        CONTROL_PATH,
        KEEPALIVE_DCONN,
    ],
    Cause.DCONN_CLOSED: [
        "Find out why the peer daemon went away at that time: its log, journalctl -u libvirtd (or "
        "virtqemud / virtproxyd) for a crash, a restart (package update, OOM kill) or a socket-activated "
        "daemon exiting when idle; keep it running during migrations (virt-admin daemon-timeout --timeout 0, "
        f"or timeout in the daemon's systemd unit / {DAEMON_CONF}).",
        "If the peer declared the connection dead first (its own keepalive fired): " + KEEPALIVE_SERVER[0].lower()
        + KEEPALIVE_SERVER[1:],
        "Retry the migration once the destination daemon is healthy.",
    ],
    Cause.CLIENT_KEEPALIVE_TIMEOUT: [
        "The management client stopped answering keepalives: check that process (virsh, virt-manager, "
        "nova-compute, the orchestrator) for stalls, suspension or a blocked event loop.",
        "Use peer-to-peer migration (virsh migrate --p2p) so the source daemon, not the client, drives "
        "the migration and a client hiccup cannot kill it.",
        f"Raise the daemons' keepalive towards clients: keepalive_interval and keepalive_count in "
        f"{DAEMON_CONF}; or the client's own (virsh -k / -K, virConnectSetKeepAlive).",
        f"If the daemon logged 'Client hit max requests limit', raise max_client_requests in {DAEMON_CONF}.",
    ],
    Cause.CONNECT_FAILED: [
        "Make the destination daemon reachable at the URI the source used: for qemu+tcp enable "
        "virtproxyd-tcp.socket (modular) or listen_tcp = 1 in /etc/libvirt/libvirtd.conf with libvirtd "
        "--listen (port 16509); for qemu+tls 16514 with certificates in /etc/pki/libvirt/; for qemu+ssh a "
        "working ssh for the user the daemon runs as (host key in /root/.ssh/known_hosts, keys, nc or "
        "virt-ssh-helper on the destination).",
        "Check name resolution and routing from the *source host* (not from where virsh runs): the "
        "source daemon opens the connection in peer-to-peer mode.",
        "Open the firewall for the libvirt port (16509/tcp, 16514/tcp or 22/tcp) between the hosts.",
    ],
    Cause.CANCELLED: [
        "Nothing failed: the job was aborted on request (virsh domjobabort, Ctrl-C on virsh migrate, "
        "an orchestrator's timeout). If no one meant to cancel it, find the client that called "
        "virDomainAbortJob (its connection is in the evidence).",
        "If an orchestrator cancels slow migrations, make them converge (virsh migrate --bandwidth, "
        "--auto-converge, --postcopy) or raise its timeout (nova: live_migration_completion_timeout "
        "in nova.conf).",
    ],
    Cause.DOMAIN_EXISTS: [
        "Remove or rename the stale domain on the destination (virsh undefine / destroy there) or "
        "migrate under another name (virsh migrate --dname).",
        "If an earlier migration half-succeeded, check which host really runs the guest before undefining.",
    ],
    Cause.CPU_INCOMPATIBLE: [
        "Use a CPU model both hosts provide: <cpu mode='host-model'/> or a named custom model in the "
        "domain XML (virsh domcapabilities / virsh hypervisor-cpu-baseline across the hosts) instead of "
        "host-passthrough.",
        "Remove or disable the missing features in the guest CPU definition (<feature policy='disable' .../> "
        "in the domain XML) or migrate only between hosts of the same CPU generation.",
    ],
    Cause.STORAGE_MISSING: [
        "Make the disks (and any attached ISO) exist at the same paths on the destination, or use "
        "shared storage.",
        "For non-shared storage use virsh migrate --copy-storage-all / --copy-storage-inc and pre-create "
        f"the destination volumes with enough space; open the NBD port range (49153+, migration_port_min "
        f"in {QEMU_CONF}) between the hosts.",
    ],
    Cause.QEMU_FAILED: [
        "Read the QEMU log of the domain on both hosts (/var/log/libvirt/qemu/<name>.log) for the "
        "exit reason: a crash, OOM kill, or a device/state mismatch between QEMU versions.",
        Remedy("Check the migration data path (the migration URI's address and ports 49152-49215: "
               f"migration_port_min / migration_port_max in {QEMU_CONF}) for resets.", Topic.DIRECT_PATH),
        "Align QEMU/machine types between the hosts if the destination rejected the incoming state.",
    ],
    Cause.NOT_CONVERGING: [
        "Let the migration finish: virsh migrate --auto-converge (throttle the vCPUs), --postcopy (switch to "
        "post-copy), a higher --bandwidth, or a larger downtime (virsh migrate-setmaxdowntime).",
        "Use virsh migrate --timeout N with --timeout-suspend or --timeout-postcopy so a stuck migration "
        "ends predictably.",
    ],
    Cause.LOCK_TIMEOUT: [
        "Another job held the domain for 30 s (the owner API is in the evidence): wait for it, or "
        "find why it hangs (a stuck QEMU monitor, a hung agent command).",
        f"Do not run long or blocking APIs on the domain while migrating it; if the daemon is saturated "
        f"raise max_queued in {QEMU_CONF} and max_workers in {DAEMON_CONF}.",
    ],
    Cause.UNSUPPORTED_CONFIG: [
        "Change the flags or configuration to something both hosts support (the error names it): "
        "e.g. no NBD with --tunnelled, cache='none' on the disks in the domain XML for shared storage "
        "(or virsh migrate --unsafe if you know it is safe), drop devices that block migration.",
    ],
    Cause.UNDETERMINED: [
        "Collect debug logs from both hosts with RPC and QEMU categories enabled: in "
        f"{DAEMON_CONF} set log_filters=\"1:qemu 1:libvirt 1:rpc 1:conf 3:object 3:json 3:event 3:util\" "
        "and log_outputs=\"1:file:/var/log/libvirt/libvirtd.log\" (or virt-admin daemon-log-filters / "
        "daemon-log-outputs at runtime), then analyze both logs together.",
    ],
}


def _hung_daemon(who: str, host: str, daemon: str) -> list[str]:
    """What to look at for a daemon that hung: who = 'the destination libvirtd', host = its host."""
    return [
        f"Find why {who} stopped: its own log right before the silence shows what it was doing; "
        f"journalctl -u {daemon} and journalctl -k on {host} for a stop, a SIGSTOP, a restart or an OOM kill.",
        f"If it hangs again, take thread dumps while it is stuck: gdb -p $(pidof {daemon}) -batch -ex "
        f"'thread apply all bt' (or virt-admin server-threadpool-info), and look for a worker blocked in "
        f"storage (NFS, iSCSI: 'blocked for more than 120 seconds' in journalctl -k) or waiting on a QEMU "
        f"monitor (qemuMonitorSend, 'Cannot start job' in its log).",
        f"Check {host} for stalls at that time: memory pressure and swapping, an NFS server 'not "
        f"responding', a storage path that hangs (NFS mount options soft/timeo in /etc/fstab).",
    ]


def keepalive_hung_peer(peer: str, daemon: str) -> list[str]:
    """The peer daemon stopped logging while the keepalive waited: it hung (or was stopped).
    What fixes a hung daemon first; the network advice is not indicated."""
    return _hung_daemon(f"the {peer} {daemon}", f"the {peer} host", daemon) + [
        "Only as a stop-gap while the hang is found: " + (KEEPALIVE_DCONN if peer == "destination"
                                                         else KEEPALIVE_SERVER)[0].lower()
        + (KEEPALIVE_DCONN if peer == "destination" else KEEPALIVE_SERVER)[1:],
        "Network changes (a separate migration network, a bandwidth limit, firewall rules) are not "
        f"indicated here: the {peer} daemon's own log is silent for the whole dead stretch, so its hang, "
        "not the network, explains the missed keepalive replies.",
    ]


def keepalive_network(peer: str) -> list[str]:
    """The peer daemon kept logging while the keepalive waited: its replies were lost on the way."""
    return [
        MIGRATION_NETWORK,
        BANDWIDTH,
        CONTROL_PATH,
        KEEPALIVE_DCONN if peer == "destination" else KEEPALIVE_SERVER,
        f"The {peer} daemon kept running (its log goes on through the dead stretch), so a hung daemon is "
        "not indicated.",
    ]


def daemon_stalled(daemon: str) -> list[str]:
    """Only this daemon's log, and it went silent: what fixes a hung daemon, then ask for the peer's log."""
    return _hung_daemon(f"this {daemon}", "this host", daemon) + [
        "Give the other host's log for the same minutes to confirm that its keepalive declared this "
        "daemon dead.",
    ]



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
R_MIGRATION_NETWORK = Remedy(
    "Send the migration stream over a separate network: virsh migrate --migrateuri "
    "tcp://<addr-on-migration-net> (migrate_uri parameter; migration_address in "
    "/etc/libvirt/qemu.conf, --listen-address) so the libvirt RPC socket does not starve behind it.",
    Topic.DIRECT_PATH
)
R_BANDWIDTH = (
    "Cap the migration stream with virsh migrate --bandwidth <MiB/s> (or virsh "
    "migrate-setspeed) so control traffic keeps flowing."
)
R_FIREWALL = Remedy(
    "Check the firewall/routing between the hosts: 16509/tcp (qemu+tcp) or 16514/tcp "
    "(qemu+tls) for the daemon, 22/tcp for qemu+ssh, and 49152-49215/tcp for the QEMU "
    "migration and NBD streams (qemu.conf migration_port_min/migration_port_max).", Topic.DIRECT_PATH
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
    "or libvirtd --listen with listen_tcp / listen_tls in /etc/libvirt/libvirtd.conf (monolithic), "
    "and check the dconnuri host and port."
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
R_CONVERGE = Remedy(
    "Help the migration converge: virsh migrate --auto-converge, --postcopy (plus "
    "migrate-postcopy or --timeout N --timeout-postcopy), --timeout N --timeout-suspend, more "
    "--bandwidth or a faster dedicated migration network (--migrateuri), or less guest load.",
    Topic.DIRECT_PATH
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
        Remedy(f"Check the migration data path{where}: what listens on that port on the destination "
               f"(ss -ltnp{' sport = :' + port if port and port.isdigit() else ''}), a firewall that drops "
               "instead of rejecting, a wrong address in --migrateuri or migration_address.", Topic.DIRECT_PATH),
        Remedy("Let libvirt choose a free port from qemu.conf's migration_port_min..migration_port_max "
               "(49152-49215), and open that range between the hosts.", Topic.DIRECT_PATH),
        "Use virsh migrate --timeout N (with --timeout-suspend or --timeout-postcopy) or an "
        "orchestrator timeout: libvirt itself waits for a stalled stream until TCP gives up.",
    ]


POSTCOPY_RESUME = Remedy("Recover with virsh migrate --postcopy-resume once the cause is fixed; do not destroy "
                         "either side.", Topic.POSTCOPY_RESUME)


def postcopy_guest_lost(domain: str) -> str:
    return (f"The guest cannot be recovered: destroy the paused domain on the source (virsh destroy "
            f"{domain}) and start it again; find out why the destination QEMU died before "
            f"migrating with --postcopy again.")
