"""Catalogue of libvirt (and orchestrator) error messages seen around live migration.

Each :class:`ErrorPattern` recognises one user-visible message wherever it appears
in a line: virsh's ``error: …``, a daemon ``error :`` / ``warning :`` line,
journald / syslog, a KubeVirt JSON ``msg`` or ``virError(…Message='…')``
wrapper, a nova traceback.  The texts are libvirt's own format strings, with every
wording across the versions it was released in.
Matching is on the message body, never on the prefix (``internal error:`` is
localised, e.g. ``Interner Fehler:``), except where the prefix is what tells two
messages apart.

A pattern has a *role*:

* ``root``: the message names a root cause (``cause`` is one of :data:`CAUSES`);
* ``symptom``: the message is a consequence of something earlier (``cause`` is
  None; ``ambiguous_with`` lists the causes to look for before it).

For roots, ``ambiguous_with`` names the other causes the same text can mean
(``connection closed due to keepalive timeout`` defaults to
``dconn-keepalive-timeout`` but is ``client-keepalive-timeout`` when the
connection is not the migration's dconn; only the correlator can tell).

Cause ids are :class:`~loganalyzer.rules.causes.Cause`; remedy texts live in
:mod:`loganalyzer.rules.remedies`.

Public API::

    Cause, CAUSES, CAUSE_SUMMARIES (from causes.py), ROLES, PATTERNS, PATTERNS_BY_ID
    ErrorPattern, Hit
    match_text(text) -> list[Hit]
    scan_lines(lines) -> Iterator[tuple[int, Hit]]
    best_root(hits) -> Hit | None
    likely_cause(hits) -> Cause
    get_pattern(pattern_id) -> ErrorPattern

Speed: :func:`match_text` first runs one combined regex of literal anchors
(every pattern lists substrings one of which any match must contain); only the
rare lines that contain an anchor are tried against the patterns owning the
anchors found.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Iterator, Mapping, Optional, Pattern, Tuple, Union

from . import generated, localised
from .causes import CAUSE_SUMMARIES, CAUSES, Cause
from .patterns import ROLES, ROOT, SYMPTOM, ErrorPattern, Hit
from .remedies import (R_ABORT_CALLER, R_BANDWIDTH, R_CONVERGE, R_CPU_FEATURES, R_CPU_MODEL, R_DEST_DAEMON,
                       R_DEST_UNDEFINE, R_FIREWALL, R_LISTEN, R_LOCK_OWNER, R_MAX_CLIENT_REQUESTS,
                       R_MIGRATION_NETWORK, R_QEMU_KEEPALIVE, R_QEMU_LOG, R_QEMU_VERSIONS, R_SERVER_KEEPALIVE,
                       R_SSH_HOSTKEY, R_STORAGE_SHARED, R_UNSAFE, R_VIRSH_KEEPALIVE, Remedy, Topic)

__all__ = [
    "Cause",
    "CAUSES",
    "CAUSE_SUMMARIES",
    "ROOT",
    "SYMPTOM",
    "ROLES",
    "ErrorPattern",
    "Hit",
    "PATTERNS",
    "PATTERNS_BY_ID",
    "get_pattern",
    "match_text",
    "scan_lines",
    "best_root",
    "likely_cause",
]

# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

# Free text up to the end of the message: stops at a newline, a double quote (JSON
# string end) or a literal backslash-n (pacemaker/journal escaping of joined stderr).
_T = r'[^"\n\\]*(?:\\(?!n)[^"\n\\]*)*'
# A UUID.
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# A comma separated feature list (CPU features, with or without a blank after the comma).
_FEATURES = r"[\w.\-]+(?:, ?[\w.\-]+)*"
# ``doesn't`` also as YAML-doubled ``doesn''t`` and JSON/HTML escaped forms.
_DOESNT = r"doesn(?:'|''|\\u0027|&#39;|’)t"

def _p(
    id: str,
    regex: str,
    cause: Optional[Cause],
    role: str,
    meaning: str,
    remedies: Iterable[str],
    versions: str,
    anchors: Iterable[str],
    example: str,
    ambiguous_with: Iterable[Cause] = (),
    flags: int = 0,
) -> ErrorPattern:
    return ErrorPattern(
        id=id,
        regex=re.compile(regex, flags),
        cause=cause,
        role=role,
        meaning=meaning,
        remedies=tuple(remedies),
        versions=versions,
        ambiguous_with=tuple(ambiguous_with),
        anchors=tuple(anchors),
        example=example,
    )


# --------------------------------------------------------------------------------------------
# The catalogue.  Order matters only as a tie-break between hits at the same position.
# --------------------------------------------------------------------------------------------

PATTERNS: Tuple[ErrorPattern, ...] = (
    # ---- keepalive / connection-close family ---------------------------------------------
    _p(
        "keepalive-timeout",
        r"connection closed due to keepalive timeout",
        Cause.DCONN_KEEPALIVE_TIMEOUT,
        ROOT,
        "A keepalive timer declared the peer dead: nothing (not even a keepalive reply) arrived "
        "for interval×(count+1) seconds. In the source daemon on a virNetClient that is the "
        "dconn (destination unreachable, hung or starved); on a server-side client, or in virsh, "
        "it is a client connection.",
        (R_QEMU_KEEPALIVE, R_DEST_DAEMON, R_FIREWALL, R_MIGRATION_NETWORK, R_BANDWIDTH,
         R_SERVER_KEEPALIVE),
        "≈1.x+ (current; 0.9/0.10 logged only the WARN 'No response from client …')",
        ("closed due to keepalive timeout",),
        "internal error: connection closed due to keepalive timeout",
        ambiguous_with=(Cause.CLIENT_KEEPALIVE_TIMEOUT,),
    ),
    _p(
        "keepalive-no-response",
        r"No response from client (?P<client>0x[0-9a-fA-F]+|\(nil\)) after (?P<count>\d+) "
        r"keepalive messages in (?P<seconds>\d+) seconds",
        Cause.DCONN_KEEPALIVE_TIMEOUT,
        ROOT,
        "The keepalive timer gave up on the connection with this client pointer (DEBUG in "
        "current libvirt, WARN in 0.9/0.10); classify the pointer via RPC_CLIENT_NEW (dconn) "
        "or RPC_SERVER_CLIENT_NEW (incoming client).",
        (R_QEMU_KEEPALIVE, R_DEST_DAEMON, R_FIREWALL, R_SERVER_KEEPALIVE),
        "all (WARN in ≈0.9/0.10, DEBUG since)",
        ("keepalive messages in",),
        "No response from client 0x7f3a5802e550 after 5 keepalive messages in 30 seconds",
        ambiguous_with=(Cause.CLIENT_KEEPALIVE_TIMEOUT,),
    ),
    _p(
        "virsh-disconnected-keepalive",
        r"Disconnected from (?P<uri>\S+?) due to keepalive timeout",
        Cause.CLIENT_KEEPALIVE_TIMEOUT,
        ROOT,
        "virsh's own connection to the daemon it talks to died of its keepalive timeout "
        "(tools/virsh.c close callback): the daemon (or the path to it) stopped answering.",
        (R_VIRSH_KEEPALIVE, R_SERVER_KEEPALIVE, R_DEST_DAEMON, R_MAX_CLIENT_REQUESTS),
        "virsh, all current versions",
        ("Disconnected from ",),
        "error: Disconnected from qemu+tcp://src-host/system due to keepalive timeout",
    ),
    _p(
        "virsh-disconnected",
        r"Disconnected from (?P<uri>\S+?) due to (?P<reason>end of file|I/O error|client request)",
        None,
        SYMPTOM,
        "virsh reports that its connection to a daemon closed (EOF, I/O error or a local close); "
        "usually printed as virsh exits after the real error.",
        (),
        "virsh, all current versions",
        ("Disconnected from ",),
        "error: Disconnected from qemu:///system due to end of file",
        ambiguous_with=(Cause.DCONN_CLOSED, Cause.CLIENT_KEEPALIVE_TIMEOUT),
    ),
    _p(
        "lost-connection-destination",
        r"Lost connection to destination host",
        None,
        SYMPTOM,
        "virConnectIsAlive(dconn) failed during Perform/NBD copy: the dconn had already been "
        "closed. The close reason is in the preceding qemuMigrationSrcConnectionClosed "
        "reason=N (2 keepalive, 1 EOF, 0 I/O error).",
        (),
        "≥0.9.x",
        ("Lost connection to destination host",),
        "operation failed: Lost connection to destination host",
        ambiguous_with=(Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED),
    ),
    _p(
        "client-socket-closed",
        r"client socket is closed",
        None,
        SYMPTOM,
        "A call (Finish3, CONNECT_CLOSE, …) was made on a connection that had already died; "
        "a secondary symptom, the real cause is earlier.",
        (),
        "all",
        ("client socket is closed",),
        "internal error: client socket is closed",
        ambiguous_with=(Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED, Cause.CLIENT_KEEPALIVE_TIMEOUT),
    ),
    _p(
        "socket-hangup",
        r"received hangup event on socket",
        Cause.DCONN_CLOSED,
        ROOT,
        "The peer closed the connection (EOF, close reason 1): the other daemon restarted, "
        "crashed, or dropped us after its own keepalive fired.",
        (R_DEST_DAEMON, R_SERVER_KEEPALIVE, R_FIREWALL),
        "all current",
        ("received hangup event on socket",),
        "internal error: received hangup event on socket",
        ambiguous_with=(Cause.CLIENT_KEEPALIVE_TIMEOUT,),
    ),
    _p(
        "socket-error-event",
        r"received error event on socket",
        Cause.DCONN_CLOSED,
        ROOT,
        "The connection's socket reported an error (reset, close reason 0): the peer went away "
        "or the network broke.",
        (R_DEST_DAEMON, R_FIREWALL),
        "all current",
        ("received error event on socket",),
        "internal error: received error event on socket",
    ),
    _p(
        "cannot-write-data",
        r"Cannot write data: (?P<reason>" + _T + ")",
        None,
        SYMPTOM,
        "Writing to a socket failed (Broken pipe / Connection reset): the peer had already "
        "closed it; look for why the peer went away.",
        (),
        "all",
        ("Cannot write data",),
        "Cannot write data: Broken pipe",
        ambiguous_with=(Cause.DCONN_CLOSED, Cause.CLIENT_KEEPALIVE_TIMEOUT, Cause.DCONN_KEEPALIVE_TIMEOUT),
    ),
    _p(
        "max-client-requests",
        r"Client hit max requests limit (?P<limit>\d+)",
        Cause.CLIENT_KEEPALIVE_TIMEOUT,
        ROOT,
        "A daemon stopped reading from one client because it had max_client_requests calls in "
        "flight; keepalive replies then stall and the client's keepalive fires. Logged by the "
        "destination for the source's connection it explains a dconn keepalive timeout "
        "(overloaded daemon, not the network).",
        (R_MAX_CLIENT_REQUESTS, R_DEST_DAEMON),
        "all current",
        ("Client hit max requests limit",),
        "Client hit max requests limit 5. This may result in keep-alive timeouts. Consider "
        "tuning the max_client_requests server parameter",
        ambiguous_with=(Cause.DCONN_KEEPALIVE_TIMEOUT,),
    ),
    _p(
        "controlling-connection-closed",
        r"The connection which controls migration of domain (?P<domain>\S+?) was closed",
        None,
        SYMPTOM,
        "The client connection that drives this migration (virsh in non-p2p, the source's "
        "connection on the destination) went away, so the migration is aborted; find why it "
        "closed.",
        (),
        "current (qemuMigrationAnyConnectionClosed)",
        ("controls migration of domain",),
        "The connection which controls migration of domain tiny was closed",
        ambiguous_with=(Cause.DCONN_CLOSED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.CLIENT_KEEPALIVE_TIMEOUT),
    ),
    # ---- opening the destination connection ------------------------------------------------
    _p(
        "connect-tcp-failed",
        r"unable to connect to server at '(?P<host>[^']*):(?P<port>[^':]*)': (?P<reason>" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "A TCP connect to the destination failed. Port 16509/16514 is the libvirt daemon "
        "(Connection refused: nothing listens; timed out / No route to host: firewall); a port "
        "in 49152-49215 is the QEMU migration data port.",
        (R_LISTEN, R_FIREWALL),
        "≥0.9",
        ("unable to connect to server at",),
        "error: unable to connect to server at '127.0.0.1:16599': Connection refused",
    ),
    _p(
        "resolve-address-failed",
        r"Unable to resolve address '(?P<host>[^']*)' service '(?P<port>[^']*)': (?P<reason>" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "The destination host name in the URI does not resolve (DNS or /etc/hosts).",
        (Remedy("Fix name resolution of the destination on the source host (DNS, /etc/hosts) or use "
                "an address in the dconnuri / --migrateuri.", Topic.DIRECT_PATH),),
        "≥0.9",
        ("Unable to resolve address",),
        "Unable to resolve address 'dst-host' service '16509': Name or service not known",
    ),
    _p(
        "connect-unix-failed",
        r"Failed to connect socket to '(?P<path>[^']*)': (?P<reason>" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "A local UNIX socket of a daemon is missing or refused: the daemon is not running "
        "(e.g. virtqemud on the far side of an ssh or virtproxyd hop).",
        ("Start/enable the daemon socket on that host (systemctl enable --now "
         "virtqemud.socket / libvirtd.socket) and check the socket path in the URI.",
         R_LISTEN),
        "≥0.9",
        ("Failed to connect socket to",),
        "Failed to connect socket to '/var/run/libvirt/virtqemud-sock': No such file or directory",
    ),
    _p(
        "ssh-cannot-recv",
        r"Cannot recv data: (?P<reason>" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "The ssh transport (qemu+ssh://) closed while libvirt read from it; the embedded text is "
        "ssh's stderr (host key, authentication, missing remote helper). If the connection had "
        "been working for a while, the remote end closed it instead.",
        (R_SSH_HOSTKEY, "Test as the daemon's user: ssh <dest> virsh -c qemu:///system "
         "version; install libvirt-client/virt-ssh-helper on the destination."),
        "≥0.9",
        ("Cannot recv data",),
        "error: Cannot recv data: Host key verification failed.: Connection reset by peer",
        ambiguous_with=(Cause.DCONN_CLOSED,),
    ),
    _p(
        "ssh-eof-reading-data",
        r"End of file while reading data: (?!Input/output error(?!:))(?!: )(?P<reason>" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "The ssh transport hit EOF while libvirt read from it; the embedded text is the remote "
        "stderr (login or host-key refusal, missing remote helper/daemon socket). If the "
        "connection had been working, the remote end closed it instead.",
        (R_SSH_HOSTKEY, "Test as the daemon's user: ssh <dest> virsh -c qemu:///system "
         "version; install libvirt-client/virt-ssh-helper on the destination."),
        "≥0.9",
        ("End of file while reading data",),
        "End of file while reading data: nc: unix connect failed: No such file or directory: "
        "Input/output error",
        ambiguous_with=(Cause.DCONN_CLOSED,),
    ),
    _p(
        "eof-reading-data",
        # ': : Input/output error': the ssh transport's stderr was empty (a plain EOF)
        r"End of file while reading data(?:(?:: )?: Input/output error)?(?!:\s*\S)",
        None,
        SYMPTOM,
        "A peer closed its connection without a clean close: on a daemon this is usually just "
        "a client that exited or was killed (harmless alone); on the source it means the "
        "destination daemon went away.",
        (),
        "all",
        ("End of file while reading data",),
        "End of file while reading data: Input/output error",
        ambiguous_with=(Cause.DCONN_CLOSED, Cause.CLIENT_KEEPALIVE_TIMEOUT),
    ),
    _p(
        "ssh-host-key",
        r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED",
        Cause.CONNECT_FAILED,
        ROOT,
        "ssh refused the destination's host key (unknown or changed known_hosts entry), so the "
        "qemu+ssh:// connection was never opened.",
        (R_SSH_HOSTKEY,),
        "ssh transport, all",
        ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "Host key verification failed.",
    ),
    _p(
        "ssh-permission-denied",
        r"Permission denied \((?P<methods>[\w,\-]+)\)",
        Cause.CONNECT_FAILED,
        ROOT,
        "ssh login to the destination was refused (no usable key for the daemon's user).",
        ("Install an ssh key for the user the source daemon runs as (root) in the destination's "
         "authorized_keys, or use qemu+tls:// / qemu+tcp:// with SASL.",),
        "ssh transport, all",
        ("Permission denied (",),
        "root@dst-host: Permission denied (publickey,password).",
    ),
    _p(
        "ssh-remote-helper-missing",
        r"(?P<helper>virt-ssh-helper|\bnc): (?:command )?not found",
        Cause.CONNECT_FAILED,
        ROOT,
        "The remote side of qemu+ssh:// lacks the helper libvirt runs there (virt-ssh-helper or nc).",
        ("Install the libvirt client tools (virt-ssh-helper) on the destination, or choose the "
         "helper with ?proxy=netcat / ?netcat=… in the URI.",),
        "ssh transport",
        ("ssh-helper: ", "nc: command not found", "nc: not found"),
        "bash: virt-ssh-helper: command not found",
    ),
    _p(
        "auth-failed",
        r"authentication (?:failed|unavailable)(?:: (?P<reason>" + _T + "))?",
        Cause.CONNECT_FAILED,
        ROOT,
        "Authentication of the connection to the destination failed (SASL, polkit or TLS "
        "identity).",
        ("Check the SASL/polkit/TLS setup for the identity the source daemon uses (sasl2 "
         "users, auth_tcp/auth_tls in the destination daemon conf, polkit rules).",),
        "all",
        ("authentication failed", "authentication unavailable"),
        "authentication failed: Failed to start SASL negotiation: -20 (SASL(-13): user not found)",
    ),
    _p(
        "tls-verify-failed",
        r"server verification \(of our certificate or IP address\) failed",
        Cause.CONNECT_FAILED,
        ROOT,
        "The TLS handshake of the destination connection failed certificate verification.",
        ("Fix the x509 certificates (CA, client/server certs, subjectAltName matching the host "
         "name in the URI) or tls_allowed_dn_list on the destination.",),
        "all",
        ("server verification (of our certificate",),
        "server verification (of our certificate or IP address) failed",
    ),
    _p(
        "remote-uri-connect-failed",
        r"Failed to connect to remote libvirt URI (?P<uri>\S+?)(?=: |\s|$|[\"'])(?:: (?P<reason>" + _T + "))?",
        Cause.CONNECT_FAILED,
        ROOT,
        "The source daemon could not open the destination URI (0.9-era wording; newer versions "
        "pass the underlying open error through).",
        (R_LISTEN, R_FIREWALL, R_SSH_HOSTKEY),
        "≈0.9–? (not in 9.0/11.3)",
        ("Failed to connect to remote libvirt URI",),
        "operation failed: Failed to connect to remote libvirt URI qemu+tcp://dst-host/system",
    ),
    _p(
        "no-connection-driver",
        r"no connection driver available for (?P<uri>\S+)",
        Cause.CONNECT_FAILED,
        ROOT,
        "No libvirt driver accepts this URI on the host that tried to open it (typo in the "
        "dconnuri, or the hypervisor driver/daemon is not installed there).",
        ("Check the destination URI scheme (qemu+tcp://, qemu+ssh://, qemu+tls://) and that the "
         "qemu driver (virtqemud / libvirt-daemon-driver-qemu) is installed on the destination.",),
        "all",
        ("no connection driver available for",),
        "no connection driver available for qemu:///system",
    ),
    _p(
        "p2p-unsupported-destination",
        r"Destination libvirt does not support peer-to-peer migration protocol",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "The destination libvirt is too old for p2p migration.",
        ("Upgrade libvirt on the destination, or migrate without --p2p.",),
        "all",
        ("does not support peer-to-peer migration",),
        "operation failed: Destination libvirt does not support peer-to-peer migration protocol",
    ),
    _p(
        "same-host-uri",
        r"Attempt to migrate guest to the same host(?! [0-9A-Fa-f]{8}-)",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "The p2p destination URI has no host or names localhost, so libvirt refuses to migrate "
        "to itself.",
        ("Put the destination's real host name or address in the dconnuri "
         "(qemu+tcp://dst-host/system).",),
        "current (virDomainMigrateCheckNotLocal)",
        ("Attempt to migrate guest to the same host",),
        "invalid argument: Attempt to migrate guest to the same host",
    ),
    _p(
        "same-host-uuid",
        r"Attempt to migrate guest to the same host (?P<uuid>" + _UUID + ")",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "Source and destination report the same host UUID (cloned machines with identical "
        "SMBIOS UUID), so the migration cookie looks like a self-migration.",
        ("Give each host a unique host_uuid in libvirtd.conf / virtqemud.conf (or fix the "
         "cloned SMBIOS system UUID) and restart the daemon.",),
        "current (qemuMigrationCookieXMLParse)",
        ("Attempt to migrate guest to the same host",),
        "internal error: Attempt to migrate guest to the same host 00020003-0004-0005-0006-000700080009",
    ),
    # ---- cancel -------------------------------------------------------------------------------
    _p(
        "job-canceled-by-client",
        r"(?:job ')?(?P<job>migration(?: out| in)?)(?:'| job:) cancell?ed by client",
        Cause.CANCELLED,
        ROOT,
        "The migration job was aborted with virDomainAbortJob while QEMU was migrating "
        "(virsh domjobabort, Ctrl-C on virsh migrate, or an orchestrator timeout).",
        (R_ABORT_CALLER, R_CONVERGE),
        "job 'migration out' canceled by client ≈8.5+; migration out job: canceled by client "
        "≈1.3–8.4; migration job: canceled by client ≈0.9–1.2",
        ("canceled by client", "cancelled by client"),
        "error: operation aborted: job 'migration out' canceled by client",
    ),
    _p(
        "migration-canceled-before-start",
        r"(?P<job>migration (?:out|in)): cancell?ed by client",
        Cause.CANCELLED,
        ROOT,
        "The migration was aborted on request before QEMU's migrate command started or during "
        "the NBD disk copy.",
        (R_ABORT_CALLER,),
        "current (qemuMigrationSrcRun / qemuMigrationSrcNBDStorageCopy)",
        ("canceled by client", "cancelled by client"),
        "operation aborted: migration out: canceled by client",
    ),
    _p(
        "operation-aborted",
        r"operation aborted: (?!" + _T + r"cancell?ed by client)(?P<reason>" + _T + ")",
        Cause.CANCELLED,
        ROOT,
        "An operation was aborted (VIR_ERR_OPERATION_ABORTED) for a reason other than the "
        "usual client cancel; the text gives the reason.",
        (R_ABORT_CALLER,),
        "all",
        ("operation aborted",),
        "operation aborted: migration out: storage migration aborted",
    ),
    # ---- not converging (orchestrators) ---------------------------------------------------
    _p(
        "orchestrator-progress-stuck",
        r"(?i:live migration stuck for) (?P<seconds>\d+) sec",
        Cause.NOT_CONVERGING,
        ROOT,
        "The orchestrator (nova, KubeVirt virt-launcher) saw no progress for its progress "
        "timeout and aborts the migration: the guest dirties memory faster than it is copied "
        "(or the stream stalled).",
        (R_CONVERGE, "Raise nova [libvirt] live_migration_progress_timeout or KubeVirt "
         "migrations.progressTimeout only if progress is slow but steady.",
         R_MIGRATION_NETWORK),
        "nova ('Live migration stuck for %d sec'), KubeVirt ('… %d sec'/'… %d seconds')",
        ("igration stuck for",),
        "WARNING nova.virt.libvirt.migration [instance: 07b5842b] Live migration stuck for 150 sec",
    ),
    _p(
        "orchestrator-completion-timeout",
        r"(?i:live migration (?:is )?not completed after) (?P<seconds>\d+) sec",
        Cause.NOT_CONVERGING,
        ROOT,
        "The orchestrator's completion timeout expired before the migration converged, so it "
        "aborted (or forced) the job.",
        (R_CONVERGE, "Raise nova [libvirt] live_migration_completion_timeout (or set "
         "live_migration_timeout_action=force_complete) / KubeVirt completionTimeoutPerGiB.",),
        "nova ('Live migration not completed after %d sec'), KubeVirt",
        ("ot completed after",),
        "WARNING nova.virt.libvirt.migration [-] [instance: 07b5842b] Live migration not "
        "completed after 300 sec",
    ),
    # ---- QEMU migration job failures ------------------------------------------------------
    _p(
        "job-failed-desc",
        r"job '(?P<job>migration (?:out|in))' failed: (?!load of migration failed)(?P<reason>" + _T + ")",
        Cause.QEMU_FAILED,
        ROOT,
        "QEMU reported the migration as failed; the text after 'failed:' is QEMU's error-desc "
        "(e.g. 'Unable to write to socket: Connection reset by peer' = destination QEMU gone or "
        "network cut, TLS/multifd problems). 'job 'migration in' failed: load of migration "
        "failed: …' is not matched here: that is the destination's summary of a broken stream "
        "(see load-migration-failed).",
        (R_QEMU_LOG, R_FIREWALL, R_MIGRATION_NETWORK),
        "≈8.5+ (present in 9.0)",
        ("'migration out' failed", "'migration in' failed"),
        "operation failed: job 'migration out' failed: Unable to write to socket: Connection reset by peer",
    ),
    _p(
        "job-unexpectedly-failed",
        r"(?:job ')?(?P<job>migration(?: out| in)?)(?:'| job:) unexpectedly failed",
        Cause.QEMU_FAILED,
        ROOT,
        "QEMU reported the migration as failed without an error description.",
        (R_QEMU_LOG, R_FIREWALL),
        "job 'migration out' unexpectedly failed ≈8.5+; migration out job: unexpectedly failed "
        "≈1.3–8.4; migration job: unexpectedly failed ≈0.9–1.2",
        ("unexpectedly failed",),
        "operation failed: migration out job: unexpectedly failed",
    ),
    _p(
        "job-failed-postcopy",
        r"job '(?P<job>migration (?:out|in))' failed in post-copy phase",
        Cause.QEMU_FAILED,
        ROOT,
        "The migration broke after switching to post-copy (usually the network between the "
        "QEMUs); the guest is left paused on the source / running degraded on the destination.",
        (Remedy("Recover with virsh migrate --postcopy-resume once the network is back (do not "
                "destroy either side).", Topic.POSTCOPY_RESUME), R_FIREWALL, R_MIGRATION_NETWORK),
        "≈8.5+",
        ("'migration out' failed", "'migration in' failed"),
        "operation failed: job 'migration out' failed in post-copy phase",
        ambiguous_with=(Cause.DCONN_CLOSED,),
    ),
    _p(
        "postcopy-failed-paused",
        r"(?:Incoming m|M)igration of domain '?(?P<domain>[^'\s;]+)'? failed during post-copy",
        Cause.QEMU_FAILED,
        ROOT,
        "Post-copy migration failed; the source leaves the domain paused, and a destination QEMU "
        "that is still alive keeps the guest with pages missing until recovery.",
        (Remedy("Recover with virsh migrate --postcopy-resume once the network is back.", Topic.POSTCOPY_RESUME),
         R_FIREWALL),
        "≈8.5+",
        ("failed during post-copy",),
        "Migration of domain tiny failed during post-copy; leaving the domain paused",
        ambiguous_with=(Cause.DCONN_CLOSED,),
    ),
    _p(
        "job-failed-io-error",
        r"job '(?P<job>migration (?:out|in))' failed due to I/O error",
        Cause.STORAGE_MISSING,
        ROOT,
        "The guest hit a disk I/O error during migration and VIR_MIGRATE_ABORT_ON_ERROR aborted it.",
        ("Fix the storage error on the source (virsh domblkerror <vm>, host kernel log), then "
         "retry; drop --abort-on-error only if pausing on I/O errors is acceptable.",),
        "current",
        ("'migration out' failed", "'migration in' failed"),
        "operation failed: job 'migration out' failed due to I/O error",
    ),
    _p(
        "migration-failed-both-sides",
        r"migration failed\. Message from the source host: (?P<src_msg>.*?)\. "
        r"Message from the destination host: (?P<dst_msg>" + _T + ")",
        None,
        SYMPTOM,
        "Both sides failed; this message only wraps the two errors: read each half (they match "
        "their own patterns).",
        (),
        "≥1.2.x",
        ("Message from the source host",),
        "operation failed: migration failed. Message from the source host: operation failed: "
        "job 'migration out' failed: Unable to write to socket: Connection reset by peer. "
        "Message from the destination host: internal error: qemu unexpectedly closed the monitor",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.DCONN_CLOSED),
    ),
    # ---- QEMU died / monitor --------------------------------------------------------------
    _p(
        "qemu-monitor-closed",
        r"(?:qemu|QEMU) unexpectedly closed the monitor(?: \(vm='(?P<domain>[^']*)'\))?"
        r"(?![^\n]*?(?:Read section footer failed|load of migration failed: Input/output error))"
        r"(?::\s*(?P<reason>" + _T + "))?",
        Cause.QEMU_FAILED,
        ROOT,
        "QEMU exited during start-up or an incoming migration; the tail is QEMU's stderr "
        "(state/device mismatch, 'Unknown savevm section' = QEMU version skew, crash).",
        (R_QEMU_LOG, R_QEMU_VERSIONS),
        "QEMU unexpectedly closed the monitor (vm='…') 11.x; qemu unexpectedly closed the "
        "monitor: … ≤9.x",
        ("nexpectedly closed the monitor",),
        "internal error: QEMU unexpectedly closed the monitor (vm='tiny'): qemu-kvm: "
        "Unknown savevm section or instance 'foo' 0",
    ),
    _p(
        "qemu-monitor-closed-stream-cut",
        r"(?:qemu|QEMU) unexpectedly closed the monitor(?: \(vm='(?P<domain>[^']*)'\))?:\s*"
        r"(?P<reason>[^\n]*?(?:Read section footer failed|load of migration failed: "
        r"Input/output error)" + _T + ")",
        None,
        SYMPTOM,
        "The incoming QEMU exited because the migration stream ended early (EIO while reading "
        "it): the source aborted, was cancelled or lost the connection. Look at the source side "
        "for the root.",
        (),
        "all (libvirt wording as in qemu-monitor-closed)",
        ("nexpectedly closed the monitor",),
        "internal error: qemu unexpectedly closed the monitor: 2026-11-25T20:31:50.553375Z "
        "qemu-system-x86_64: check_section_footer: Read section footer failed: -5",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.CANCELLED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED),
    ),
    _p(
        "incoming-stream-truncated",
        r"(?:check_section_footer: )?Read section footer failed(?:: (?P<errno>-?\d+))?"
        r"|load of migration failed: Input/output error",
        None,
        SYMPTOM,
        "QEMU's incoming side read a truncated migration stream (EIO): the sender stopped "
        "(cancel, abort, source crash or network cut).",
        (),
        "QEMU, all",
        ("Read section footer failed", "load of migration failed: Input/output error"),
        "qemu-system-x86_64: check_section_footer: Read section footer failed: -5",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.CANCELLED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED),
    ),
    _p(
        "load-migration-failed",
        r"load of migration failed: (?!Input/output error)(?P<reason>" + _T + ")",
        None,
        SYMPTOM,
        "QEMU's final summary of a failed incoming migration; the specific reason is on the "
        "QEMU line(s) just before it (a truncated stream 'Read section footer failed: -5' when "
        "the source stopped sending, or a device/state mismatch such as 'Unknown savevm "
        "section' or 'Failed to load <dev>:<field>').",
        (),
        "QEMU, all",
        ("load of migration failed",),
        "qemu-kvm: load of migration failed: Invalid argument",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.CANCELLED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED),
    ),
    _p(
        "section-footer-mismatch",
        r"Missing section footer for (?P<section>[^\s'\"]+)",
        Cause.QEMU_FAILED,
        ROOT,
        "The destination QEMU parsed a device section that does not end where its own device "
        "model expects: the device state formats differ between the QEMUs or configs.",
        (R_QEMU_VERSIONS, R_QEMU_LOG),
        "QEMU, all",
        ("Missing section footer for",),
        "qemu-kvm: Missing section footer for 0000:00:03.0/virtio-net",
    ),
    _p(
        "unknown-savevm-section",
        r"Unknown savevm section or instance '(?P<section>[^']*)'",
        Cause.QEMU_FAILED,
        ROOT,
        "The destination QEMU does not know a device section of the stream: the guest config "
        "or the QEMU/machine versions differ between the hosts.",
        (R_QEMU_VERSIONS,),
        "QEMU, all",
        ("Unknown savevm section",),
        "qemu-kvm: Unknown savevm section or instance 'kvm-tpr-opt' 0",
    ),
    _p(
        "qemu-device-load-failed",
        r"Failed to load (?P<device>[\w.\-]+:[\w.\-]+)",
        Cause.QEMU_FAILED,
        ROOT,
        "The destination QEMU could not load a device's state from the stream (device state "
        "incompatible between the QEMU builds or configs).",
        (R_QEMU_VERSIONS, R_QEMU_LOG),
        "QEMU, all",
        ("Failed to load ",),
        "qemu-kvm: Failed to load virtio-net:virtio",
    ),
    _p(
        "qemu-load-state-error",
        r"error while loading state (?:section id (?P<section_id>\d+)\((?P<section>[^)]*)\)"
        r"|for instance (?P<instance>0x[0-9a-fA-F]+) of device '(?P<device>[^']*)')",
        Cause.QEMU_FAILED,
        ROOT,
        "The destination QEMU failed to load a section of the migration stream.",
        (R_QEMU_VERSIONS, R_QEMU_LOG),
        "QEMU, all",
        ("error while loading state",),
        "qemu-kvm: error while loading state for instance 0x0 of device '0000:00:02.0/virtio-net'",
    ),
    _p(
        "virtio-features-unsupported",
        r"Features (?P<features>0x[0-9a-fA-F]+) unsupported\. Allowed features: (?P<allowed>0x[0-9a-fA-F]+)",
        Cause.QEMU_FAILED,
        ROOT,
        "The destination QEMU/vhost cannot offer the virtio feature bits the source negotiated "
        "(version or kernel/vhost skew between hosts).",
        (R_QEMU_VERSIONS, "Align host kernels/vhost-net and QEMU builds, or pin the device "
         "features/machine type so both hosts offer the same set."),
        "QEMU, all",
        ("unsupported. Allowed features",),
        "qemu-kvm: Features 0x1c0010130afffaf unsupported. Allowed features: 0x10179bfffef",
    ),
    _p(
        "monitor-read-failed",
        r"Unable to read from monitor: (?P<reason>" + _T + ")",
        Cause.QEMU_FAILED,
        ROOT,
        "The QEMU monitor socket broke: QEMU died (OOM kill, crash, assertion).",
        (R_QEMU_LOG,),
        "all",
        ("Unable to read from monitor",),
        "Unable to read from monitor: Connection reset by peer",
    ),
    _p(
        "monitor-eof",
        r"End of file from (?:qemu )?monitor(?: \(vm='(?P<domain>[^']*)'\))?",
        None,
        SYMPTOM,
        "libvirt found QEMU's monitor closed: the QEMU process had already exited. Why it "
        "exited is elsewhere (QEMU log tail in the next error, OOM kill, or on the destination "
        "a migration stream that the source stopped sending).",
        (R_QEMU_LOG,),
        "all ('End of file from monitor' in ≈0.9; (vm='…') in 11.x)",
        ("End of file from qemu monitor", "End of file from monitor"),
        "internal error: End of file from qemu monitor (vm='tiny')",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.CANCELLED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.DCONN_CLOSED),
    ),
    _p(
        "domain-not-running",
        r"(?<!is not valid: )\bdomain (?:'(?P<domain>[^']*)' )?is (?:not|no longer) running",
        None,
        SYMPTOM,
        "libvirt needed the domain's QEMU and it was gone: on the source the VM died or was "
        "shut down/destroyed during migration; on the destination it is the aftermath of an "
        "incoming migration that already failed or was cancelled. 'Requested operation is not "
        "valid: domain is not running' (harmless, after a successful migration) is not matched.",
        (R_QEMU_LOG, "Check whether someone shut down or destroyed the guest during migration "
         "(virDomainDestroy/Shutdown lines, guest shutdown in the QEMU log)."),
        "all ('domain is no longer running' in some versions)",
        ("is not running", "is no longer running"),
        "operation failed: domain is not running",
        ambiguous_with=(Cause.QEMU_FAILED, Cause.CANCELLED),
    ),
    # ---- job lock / concurrency ------------------------------------------------------------
    _p(
        "state-change-lock-timeout",
        r"cannot acquire state change lock(?! [^\n]*due to max_queued limit)"
        r"(?: \(held by (?:monitor=)?(?P<owner>(?!agent=)[^\s)]+)?(?: ?agent=(?P<agent>[^\s)]+))?\))?",
        Cause.LOCK_TIMEOUT,
        ROOT,
        "Another job held the domain for the 30 s job wait; the owner API is named (e.g. "
        "remoteDispatchDomainMigratePerform3Params: a running/stuck migration blocks everything "
        "else).",
        (R_LOCK_OWNER,),
        "'(held by monitor=%s agent=%s)' ≈6.x+; '(held by %s)' ≈1.3–5.x; plain before",
        ("cannot acquire state change lock",),
        "Timed out during operation: cannot acquire state change lock (held by "
        "monitor=remoteDispatchDomainMigratePerform3Params)",
    ),
    _p(
        "state-change-lock-max-queued",
        r"cannot acquire state change lock[^\n]*?due to max_queued limit",
        Cause.LOCK_TIMEOUT,
        ROOT,
        "Too many API calls were already queued for this domain's job (qemu.conf max_queued).",
        (R_LOCK_OWNER, "Raise max_queued in qemu.conf or reduce concurrent calls on the domain."),
        "current",
        ("cannot acquire state change lock",),
        "operation failed: cannot acquire state change lock (held by "
        "monitor=remoteDispatchDomainMigratePerform3Params) due to max_queued limit",
    ),
    _p(
        "cannot-start-job",
        r"Cannot start job \((?P<job>[^)]*)\)(?: in API (?P<api>\w+))?",
        Cause.LOCK_TIMEOUT,
        ROOT,
        "WARN before a state-change-lock timeout: the job could not start; the line names the "
        "current owner threads and how long they have held the job.",
        (R_LOCK_OWNER,),
        "current",
        ("Cannot start job (",),
        "Cannot start job (query, none, none) in API remoteDispatchDomainGetJobInfo for "
        "(vm=0x7f3a4c02b7c0 name=tiny)",
    ),
    _p(
        "another-migration-running",
        r"another migration job is already running for domain '(?P<domain>[^']*)'",
        Cause.LOCK_TIMEOUT,
        ROOT,
        "A second migration was requested while one is active for the domain (logged at debug "
        "by the daemon: OPERATION_INVALID).",
        ("Wait for or abort the running migration (virsh domjobinfo / domjobabort) before "
         "starting another; make the orchestrator serialise migrations per domain.",),
        "recent (present in 9.0/11.3)",
        ("another migration job is already running",),
        "Requested operation is not valid: another migration job is already running for domain 'tiny'",
    ),
    _p(
        "migration-job-state-mismatch",
        r"domain '(?P<domain>[^']*)' (?:is being migrated out|is not being migrated"
        r"|is not processing incoming migration)",
        None,
        SYMPTOM,
        "An API found the domain in the wrong migration state (define/start during an outgoing "
        "migration, recover/abort with no migration running).",
        (),
        "recent",
        ("is being migrated out", "is not being migrated", "is not processing incoming migration"),
        "Requested operation is not valid: domain 'tiny' is not being migrated",
        ambiguous_with=(Cause.LOCK_TIMEOUT,),
    ),
    # ---- configuration refused -------------------------------------------------------------
    _p(
        "unsafe-migration",
        r"Unsafe migration: (?P<reason>" + _T + ")",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "libvirt refused the migration as unsafe: storage not detected as shared, or disks use "
        "a host cache mode other than none/directsync.",
        (R_UNSAFE,),
        "all ('cache != none' in ≈1.2, 'cache other than none or directsync' now)",
        ("Unsafe migration",),
        "Unsafe migration: Migration may lead to data corruption if disks use cache other than "
        "none or directsync",
    ),
    _p(
        "unsupported-configuration",
        r"unsupported configuration: (?P<reason>" + _T + ")",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "libvirt rejected a configuration or option (only relevant if it is in the migration's "
        "thread/API call; domain XML or flags not supported by this host or version).",
        ("Read the reason; adjust the domain XML or migration flags, or upgrade the side that "
         "does not support it.",),
        "all",
        ("unsupported configuration:",),
        "unsupported configuration: cannot migrate with TPM state on non-shared storage",
    ),
    _p(
        "migration-blocked",
        r"cannot migrate (?:a )?domain(?::| with) (?P<reason>" + _T + ")",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "A migration blocker: host devices (<hostdev>), snapshots, a pending I/O error, or a "
        "QEMU-reported blocker.",
        ("Remove the blocker (detach the hostdev, delete/merge snapshots, fix the I/O error) or "
         "use cold migration.",),
        "current (qemuMigrationSrcIsAllowed)",
        ("cannot migrate",),
        "Requested operation is not valid: cannot migrate domain with 2 snapshots",
    ),
    _p(
        "readonly-disk-not-migratable",
        r"Cannot migrate empty or read-only disk (?P<disk>[\w.\-]+)",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "Storage migration was requested for a read-only or empty disk (a cdrom/ISO) that "
        "cannot be copied.",
        ("Exclude that disk with --migrate-disks <writable disks>, eject the cdrom, or make the "
         "ISO available on the destination at the same path.",),
        "≈6.x (OPERATION_UNSUPPORTED)",
        ("Cannot migrate empty or read-only disk",),
        "Operation not supported: Cannot migrate empty or read-only disk sda",
    ),
    _p(
        "operation-not-supported",
        r"Operation not supported: (?!Cannot migrate empty or read-only disk)(?P<reason>" + _T + ")",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "The requested operation or flag is not supported by this driver/QEMU (only relevant "
        "in the migration's call).",
        ("Drop the unsupported flag or upgrade the side that lacks the feature.",),
        "all",
        ("Operation not supported: ",),
        "Operation not supported: post-copy migration is not supported by this QEMU binary",
    ),
    _p(
        "nbd-not-set-up",
        r"migration of non-shared disks requested but NBD is not set up",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "Storage migration was requested but the destination did not offer an NBD server (old "
        "destination or flag mismatch).",
        ("Use matching flags (--copy-storage-all on the same call) and a destination libvirt "
         "with NBD support; or use shared storage.",),
        "current",
        ("NBD is not set up",),
        "internal error: migration of non-shared disks requested but NBD is not set up",
        ambiguous_with=(Cause.STORAGE_MISSING,),
    ),
    _p(
        "nbd-tunnelled-unsupported",
        r"NBD in tunnelled migration is currently not supported",
        Cause.UNSUPPORTED_CONFIG,
        ROOT,
        "A storage copy (--copy-storage-all/-inc) was asked for a tunnelled migration, which this "
        "libvirt cannot carry: NBD needs its own connection and a tunnel has only one stream. libvirt "
        "went on without NBD (QEMU's old block migration, if at all), and the migration fails after "
        "it, typically as an end of file on the connection.",
        ("Migrate storage without --tunnelled (use --tls to encrypt the migration and NBD streams), or "
         "use shared storage; newer libvirt carries NBD through a tunnel.",),
        "≈1.2–6.x (a warning of qemuMigrationBeginPhase / qemuMigrationSrcBeginPhase; gone in 7.0)",
        ("NBD in tunnelled migration",),
        "warning : qemuMigrationSrcBeginPhase:2095 : NBD in tunnelled migration is currently not supported",
    ),
    # ---- storage -----------------------------------------------------------------------------
    _p(
        "unable-to-stat-path",
        r"Unable to stat (?P<path>/[^\s:'\"]+): (?P<reason>" + _T + ")",
        Cause.STORAGE_MISSING,
        ROOT,
        "A path the domain needs (a disk image, a device node) does not exist on the host that starts "
        "its QEMU: libvirt could not recreate it in the QEMU process's private /dev (mount namespace).",
        (R_STORAGE_SHARED, "Check the path on that host (ls -l; for a volume, virsh vol-list on its "
         "pool) and that the storage is mounted there."),
        "≈3.x–6.x (qemuDomainCreateDeviceRecursive; ≥7.0 words it 'Unable to stat: %s')",
        ("Unable to stat /",),
        "internal error: Process exited prior to exec: libvirt: QEMU Driver error : Unable to stat "
        "/var/lib/libvirt/images/870ee0f4-212c-4116-8bf1-99b98985b9a7: No such file or directory",
    ),
    _p(
        "storage-access-failed",
        r"Cannot access storage file '(?P<path>[^']*)'(?: \(as uid:(?P<uid>\d+), gid:(?P<gid>\d+)\))?"
        r"(?:: (?P<reason>" + _T + "))?",
        Cause.STORAGE_MISSING,
        ROOT,
        "A disk/ISO path of the domain does not exist or is not accessible (for the uid:gid "
        "shown, when the message gives one) on the host that checked it, usually the destination.",
        (R_STORAGE_SHARED, "Check ownership, permissions and SELinux/AppArmor labels of the "
         "path for the qemu user (uid:gid in the message)."),
        "all ('(as uid:%u, gid:%u)' in newer versions)",
        ("Cannot access storage file",),
        "error: Cannot access storage file '/var/lib/libvirt/images/tiny.qcow2' (as uid:107, "
        "gid:107): No such file or directory",
    ),
    _p(
        "disk-migration-failed",
        r"migration of disk (?P<disk>\S+?) failed(?:: (?P<reason>" + _T + r"))?(?=$|[:\s'\"])",
        Cause.STORAGE_MISSING,
        ROOT,
        "The NBD storage mirror of this disk failed; the reason is QEMU's block-job error "
        "(connection refused to the destination NBD port, ENOSPC on the destination volume).",
        (R_FIREWALL, "Check free space and the volume on the destination; --disks-port / "
         "--disks-uri to choose the NBD endpoint."),
        "current",
        ("migration of disk ",),
        "operation failed: migration of disk vda failed: No space left on device",
        ambiguous_with=(Cause.CONNECT_FAILED,),
    ),
    _p(
        "nbd-connect-failed",
        r"unable to execute QEMU command '(?P<command>[\w\-]+)': (?P<reason>Failed to connect" + _T + ")",
        Cause.CONNECT_FAILED,
        ROOT,
        "QEMU could not connect to the NBD server for storage migration (QEMU's own text "
        "wrapped by libvirt): the NBD port on the destination is unreachable.",
        (R_FIREWALL, "Choose a reachable NBD endpoint with --disks-port / --disks-uri."),
        "current",
        ("unable to execute QEMU command",),
        "internal error: unable to execute QEMU command 'blockdev-add': Failed to connect to "
        "'dst-host:49153': Connection refused",
        ambiguous_with=(Cause.STORAGE_MISSING,),
    ),
    _p(
        "qemu-block-command-failed",
        r"unable to execute QEMU command '(?P<command>blockdev-add|nbd-server-start|nbd-server-add|"
        r"block-export-add|drive-mirror|blockdev-mirror)': (?!Failed to connect)(?P<reason>" + _T + ")",
        Cause.STORAGE_MISSING,
        ROOT,
        "A QEMU block/NBD command failed (image missing or unreadable, NBD server could not "
        "start/export).",
        (R_STORAGE_SHARED, R_QEMU_LOG),
        "current",
        ("unable to execute QEMU command",),
        "internal error: unable to execute QEMU command 'blockdev-add': Could not open "
        "'/var/lib/libvirt/images/tiny.qcow2': No such file or directory",
    ),
    # ---- destination already has the domain --------------------------------------------------
    _p(
        "domain-already-exists",
        r"domain '(?P<domain>[^']*)' already exists with uuid (?P<uuid>" + _UUID + ")",
        Cause.DOMAIN_EXISTS,
        ROOT,
        "The destination already has a domain with this name but a different UUID.",
        (R_DEST_UNDEFINE,),
        "all",
        ("already exists with uuid",),
        "operation failed: domain 'tiny' already exists with uuid 6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001",
    ),
    _p(
        "domain-already-defined",
        r"domain '(?P<domain>[^']*)' is already defined with uuid (?P<uuid>" + _UUID + ")",
        Cause.DOMAIN_EXISTS,
        ROOT,
        "The destination already has a domain with this UUID under a different name.",
        (R_DEST_UNDEFINE,),
        "all",
        ("is already defined with uuid",),
        "operation failed: domain 'tiny-old' is already defined with uuid "
        "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001",
    ),
    _p(
        "domain-already-active",
        r"domain '(?P<domain>[^']*)' is already active",
        Cause.DOMAIN_EXISTS,
        ROOT,
        "The destination already runs this domain (an earlier migration half-succeeded?). "
        "Logged at debug by the daemon (OPERATION_INVALID).",
        ("Check which copy is authoritative before destroying anything; then virsh destroy + "
         "undefine the stale copy on the destination.", R_DEST_UNDEFINE),
        "all",
        ("is already active",),
        "Requested operation is not valid: domain 'tiny' is already active",
    ),
    _p(
        "domain-being-removed",
        r"domain '(?P<domain>[^']*)' is already being removed",
        Cause.DOMAIN_EXISTS,
        ROOT,
        "The destination domain of this name is being undefined right now (race with undefine).",
        ("Retry after the undefine on the destination finished; serialise management calls.",),
        "current",
        ("is already being removed",),
        "operation failed: domain 'tiny' is already being removed",
    ),
    # ---- CPU ------------------------------------------------------------------------------------
    _p(
        "cpu-incompatible-features",
        r"Host CPU does not provide required features: (?P<features>" + _FEATURES + ")",
        Cause.CPU_INCOMPATIBLE,
        ROOT,
        "The destination host CPU lacks features the guest CPU requires (check='partial', "
        "reported by the destination in Prepare).",
        (R_CPU_MODEL, R_CPU_FEATURES),
        "all",
        ("does not provide required features",),
        "the CPU is incompatible with host CPU: Host CPU does not provide required features: "
        "avx512f, avx512dq",
    ),
    _p(
        "cpu-forbidden-features",
        r"Host CPU provides forbidden features: (?P<features>" + _FEATURES + ")",
        Cause.CPU_INCOMPATIBLE,
        ROOT,
        "The destination host CPU has features the guest CPU definition forbids.",
        (R_CPU_MODEL, R_CPU_FEATURES),
        "all",
        ("provides forbidden features",),
        "the CPU is incompatible with host CPU: Host CPU provides forbidden features: hle, rtm",
    ),
    _p(
        "cpu-incompatible",
        r"the CPU is incompatible with host CPU(?!: Host CPU (?:does not provide|provides forbidden))"
        r"(?:: (?P<reason>" + _T + "))?",
        Cause.CPU_INCOMPATIBLE,
        ROOT,
        "The guest CPU definition is not compatible with the destination host CPU.",
        (R_CPU_MODEL, R_CPU_FEATURES),
        "all",
        ("the CPU is incompatible with host CPU",),
        "the CPU is incompatible with host CPU: Host CPU model Westmere is not compatible",
    ),
    _p(
        "guest-cpu-missing-features",
        r"guest CPU " + _DOESNT + r" match specification: (?:missing|extra) features: "
        r"(?P<features>" + _FEATURES + ")",
        Cause.CPU_INCOMPATIBLE,
        ROOT,
        "QEMU on the destination could not enable CPU features the guest needs (check='full'); "
        "often host-model from a newer/nested-capable source.",
        (R_CPU_MODEL, R_CPU_FEATURES),
        "all",
        ("match specification",),
        "operation failed: guest CPU doesn't match specification: missing features: xsave,avx",
    ),
)


PATTERNS_BY_ID: Mapping[str, ErrorPattern] = {p.id: p for p in PATTERNS}
if len(PATTERNS_BY_ID) != len(PATTERNS):  # pragma: no cover - guarded by tests too
    raise RuntimeError("duplicate ErrorPattern id in catalogue")


def get_pattern(pattern_id: str) -> ErrorPattern:
    """The pattern with this id (KeyError if unknown)."""
    return PATTERNS_BY_ID[pattern_id]


# --------------------------------------------------------------------------------------------
# Prefilter: one regex that finds whether any literal anchor occurs in a string.  The anchors
# are compiled as a trie (common prefixes factored out), which makes the regex engine take
# one branch per position instead of trying every anchor: ≈3× faster than a flat
# alternation on debug logs.  Anchors that contain a shorter anchor are redundant for this
# existence test and are left out of the regex.
# --------------------------------------------------------------------------------------------

_ANCHOR_TO_INDEXES: dict[str, Tuple[int, ...]] = {}
for _i, _pat in enumerate(PATTERNS):
    for _a in _pat.anchors:
        _ANCHOR_TO_INDEXES[_a] = _ANCHOR_TO_INDEXES.get(_a, ()) + (_i,)
del _i, _pat, _a
_ANCHORS: Tuple[str, ...] = tuple(sorted(_ANCHOR_TO_INDEXES, key=len, reverse=True))


def _trie_regex(words: Iterable[str]) -> str:
    """A regex source matching exactly the given literal words, as a factored trie."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        optional = "" in node
        if len(branches) == 1 and not optional:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if optional else "")

    return emit(trie)


@functools.cache
def _prefilter() -> Pattern[str]:
    """The anchors' trie, built when an error is first read (a log without one needs none:
    building it took ~7 ms of every analyze's start-up)."""
    minimal = tuple(a for a in _ANCHORS if not any(b != a and b in a for b in _ANCHORS))
    return re.compile(_trie_regex(minimal))


def _clean(value: str) -> str:
    """Trim a captured value: whitespace, plus the closing quote/paren of a wrapper such as
    KubeVirt's ``Message='…')`` or a nova repr when the value has an unbalanced quote."""
    v = value.strip()
    if v.count("'") % 2 == 1:
        if v.endswith("')"):
            v = v[:-2]
        elif v.endswith("'"):
            v = v[:-1]
        v = v.rstrip()
    return v


def _candidates(text: str) -> list[int]:
    """Indexes of the patterns whose anchors occur in ``text`` (empty for most lines)."""
    m = _prefilter().search(text)
    if m is None:
        return []
    # Rare path: the line holds at least one anchor.  Check every anchor with a plain
    # substring test (overlapping anchors would be missed by finditer).
    idx: set[int] = set()
    for a, owners in _ANCHOR_TO_INDEXES.items():
        if a in text:
            idx.update(owners)
    return sorted(idx)


def match_text(text: str) -> list[Hit]:
    """All catalogue hits in one string (a line or a message): the hand-written patterns'
    and the generated catalogue's (generated.py), ordered by position, except that a
    message wrapped in another's free text comes before its wrapper (``unable to execute
    QEMU command '…': Postcopy is not supported``: QEMU's text is the cause).

    Several hits can come from one string (wrapped messages, a QEMU tail inside a libvirt
    error, several virsh errors joined by a literal ``\\n``).  A generated message that is
    the same text as a hand-written hit is left out: the hand-written one says more.
    """
    hits: list[tuple[int, int, Hit, re.Match]] = []
    for i in _candidates(text):
        pat = PATTERNS[i]
        for m in pat.regex.finditer(text):
            groups = {k: _clean(v) for k, v in m.groupdict().items() if v is not None}
            hits.append((m.start(), i, Hit(pat, m.start(), m.end(), groups, m.group(0)), m))
    for pat in localised.load().candidates(text):
        for m in pat.regex.finditer(text):
            hits.append((m.start(), len(PATTERNS), Hit(pat, m.start(), m.end(), {}, m.group(0)), m))
    hand = [t[3] for t in hits]
    hand_hits = [t[2] for t in hits]
    for m, msg in generated.load().match(text):
        if msg.placed == generated.NONE or any(generated.same_text(m, h) for h in hand):
            continue   # names no cause (libvirt's bookkeeping), or a hand-written hit says more
        pat = generated.pattern_of(msg.id)
        if any(h.start <= m.start() and m.end() <= h.end and (h.cause == pat.cause or pat.cause is None)
               for h in hand_hits):
            continue   # inside a hand-written hit that names the same cause: its meaning is better
        hits.append((m.start(), len(PATTERNS), Hit(pat, m.start(), m.end(), {}, m.group(0)), m))
    if not hits:
        return []
    hits.sort(key=lambda t: (t[0], t[1]))
    return _wrapped_first([t[2] for t in hits])


def _wrapped_first(hits: list[Hit]) -> list[Hit]:
    """Hits in position order, except that a message wrapped in a generated message's span,
    or a generated message wrapped in another's, comes before its wrapper (a post-order of
    the nesting; the hand-written patterns' own nesting is left as their roles decide)."""
    if len(hits) < 2:
        return hits

    def wraps(o: Hit, h: Hit) -> bool:
        return (o is not h and o.start <= h.start and h.end <= o.end and (o.start, o.end) != (h.start, h.end)
                and (_is_generated(o) or _is_generated(h)))

    parent: dict[int, Optional[Hit]] = {}
    for h in hits:
        outers = [o for o in hits if wraps(o, h)]
        # the innermost wrapper is the parent
        parent[id(h)] = min(outers, key=lambda o: o.end - o.start) if outers else None
    out: list[Hit] = []

    def visit(node: Optional[Hit]) -> None:
        for h in hits:            # hits are in position order
            if parent[id(h)] is node:
                visit(h)
                out.append(h)

    visit(None)
    return out


def _is_generated(h: Hit) -> bool:
    return h.pattern.id not in PATTERNS_BY_ID and "@" not in h.pattern.id


def might_match(text: str) -> bool:
    """Can the catalogue have a hit in this text?  (A fast test for every line of text.)"""
    if _prefilter().search(text) is not None:
        return True
    return generated.load().might_match(text) or localised.load().might_match(text)


def scan_lines(lines: Iterable[str]) -> Iterator[Tuple[int, Hit]]:
    """Scan an iterable of lines; yield ``(line_number, hit)`` with 1-based line numbers."""
    for n, line in enumerate(lines, 1):
        if not might_match(line):  # fast path: no anchor, no regex work
            continue
        for hit in match_text(line):
            yield n, hit


HitLike = Union[Hit, Tuple[int, Hit]]


def best_root(hits: Iterable[HitLike]) -> Optional[Hit]:
    """The hit that names the root cause, or None if there are only symptoms.

    Rule:
      1. only ``root`` hits with a cause qualify; a root always beats any symptom, whatever
         their order (``client socket is closed`` alone gives None);
      2. among the roots, the earliest wins: the first one in the order given.  Callers pass
         hits in log/time order (``match_text`` returns them by position in the string,
         ``scan_lines`` by line), and the first sign of trouble is the cause while later roots
         are usually its consequences (QEMU died → monitor EOF → domain not running).

    Accepts plain hits or the ``(line_number, hit)`` pairs of :func:`scan_lines`.
    """
    for item in hits:
        hit = item[1] if isinstance(item, tuple) else item
        if hit.pattern.role == ROOT and hit.pattern.cause is not None:
            return hit
    return None


def likely_cause(hits: Iterable[HitLike]) -> Cause:
    """A cause id for a set of hits, never None.

    The cause of :func:`best_root` if there is a root; otherwise the first ``ambiguous_with``
    cause of the earliest symptom that has one (e.g. only ``client socket is closed`` →
    ``dconn-keepalive-timeout``, only a truncated incoming stream → ``qemu-failed``: the
    default guess, to be confirmed by the correlator); otherwise ``undetermined``.
    """
    first_symptom: Optional[Hit] = None
    for item in hits:
        hit = item[1] if isinstance(item, tuple) else item
        if hit.pattern.role == ROOT and hit.pattern.cause is not None:
            return hit.pattern.cause
        if first_symptom is None and hit.pattern.ambiguous_with:
            first_symptom = hit
    if first_symptom is not None:
        return first_symptom.pattern.ambiguous_with[0]
    return Cause.UNDETERMINED
