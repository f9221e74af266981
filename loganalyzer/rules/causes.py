"""The causes a verdict or finding can name: one id each, used by the catalogue, the rules
and the reports.  The values are the ids printed in every report (JSON included)."""
from __future__ import annotations

from typing import Mapping, Tuple

from ..correlate.objects import StrEnum


class Cause(StrEnum):
    DCONN_KEEPALIVE_TIMEOUT = "dconn-keepalive-timeout"
    DCONN_CLOSED = "dconn-closed"
    CLIENT_KEEPALIVE_TIMEOUT = "client-keepalive-timeout"
    CONNECT_FAILED = "connect-failed"
    CANCELLED = "cancelled"
    DOMAIN_EXISTS = "domain-exists"
    CPU_INCOMPATIBLE = "cpu-incompatible"
    STORAGE_MISSING = "storage-missing"
    QEMU_FAILED = "qemu-failed"
    NOT_CONVERGING = "not-converging"
    LOCK_TIMEOUT = "lock-timeout"
    UNSUPPORTED_CONFIG = "unsupported-config"
    UNDETERMINED = "undetermined"


CAUSES: Tuple[Cause, ...] = tuple(Cause)

CAUSE_SUMMARIES: Mapping[Cause, str] = {
    Cause.DCONN_KEEPALIVE_TIMEOUT: "The source daemon's connection to the destination daemon (dconn) "
    "died of a keepalive timeout: the destination sent nothing for interval×(count+1) seconds.",
    Cause.DCONN_CLOSED: "The dconn was closed or reset by the other side (destination daemon "
    "restarted, crashed or closed it), not by a local keepalive timeout.",
    Cause.CLIENT_KEEPALIVE_TIMEOUT: "A keepalive timeout on a connection that is not the migration's "
    "dconn: virsh/orchestrator ↔ daemon, or a daemon-to-daemon helper connection.",
    Cause.CONNECT_FAILED: "Opening a connection to the destination failed (TCP/UNIX connect, DNS, "
    "ssh, TLS or SASL), or the migration data/NBD port could not be reached.",
    Cause.CANCELLED: "The migration job was aborted on request (virDomainAbortJob: virsh "
    "domjobabort, Ctrl-C on virsh migrate, an orchestrator timeout).",
    Cause.DOMAIN_EXISTS: "The destination already has a domain with this name or UUID.",
    Cause.CPU_INCOMPATIBLE: "The guest CPU definition cannot be provided by the destination host.",
    Cause.STORAGE_MISSING: "A disk or image of the domain is missing or inaccessible, or the "
    "storage copy failed.",
    Cause.QEMU_FAILED: "A QEMU process (source or destination) failed or died during the migration.",
    Cause.NOT_CONVERGING: "The migration made no progress: the guest dirties memory faster than "
    "it can be copied, so a timeout ended it.",
    Cause.LOCK_TIMEOUT: "Another job held the domain (state change lock) or another migration "
    "was already running.",
    Cause.UNSUPPORTED_CONFIG: "libvirt refused the migration for this configuration (unsafe "
    "storage/cache, blockers, unsupported options, same host).",
    Cause.UNDETERMINED: "The logs do not show why the migration failed.",
}
