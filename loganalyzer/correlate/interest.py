"""Which records the correlator reads: one pattern, matched against the first
line of a record, used by both routes.

The correlator needs a small fraction of a debug log (connection, keepalive,
job and migration lines, every error and warning).  The reference route feeds
it every record that matches INTEREST (Python `re`); the fast route
(prefilter.py) finds the same lines with the same pattern in Arrow's RE2, a
block of text at a time, and never builds the other records.  The pattern
therefore sticks to syntax both engines read the same way: no lookaround, no
backreferences, [0-9] rather than \\d (which is Unicode-wide in Python).
"""
from __future__ import annotations

import re

# the record header: the grammar's DATETIME | CLOCK, TID, and the level separator
HEADER = (r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4}|[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}): (?:[0-9]+: )?")
RECORD_START = HEADER + r"(?:debug|info|warning|error|unknown) : "

# functions whose debug lines carry links (pointers, URIs, phases, outcomes)
FUNCS = (
    # public API entry points of migrations, by role (current and older names)
    "virDomainMigratePerform3Params", "virDomainMigratePerform3", "virDomainMigratePerform",
    "virDomainMigrateBegin3Params", "virDomainMigrateBegin3",
    "virDomainMigrateConfirm3Params", "virDomainMigrateConfirm3",
    "virDomainMigratePrepare3Params", "virDomainMigratePrepare3", "virDomainMigratePrepare2",
    "virDomainMigratePrepare", "virDomainMigratePrepareTunnel3Params", "virDomainMigratePrepareTunnel3",
    "virDomainMigratePrepareTunnel", "virDomainMigrateFinish3Params", "virDomainMigrateFinish3",
    "virDomainMigrateToURI3", "virDomainMigrateToURI2", "virDomainMigrateToURI",
    "virDomainMigrate3", "virDomainMigrate2", "virDomainMigrate",
    # qemu driver, source and destination
    "qemuMigrationSrcPerformPeer2Peer", "doPeer2PeerMigrate",
    "qemuMigrationSrcPerformPeer2Peer3", "qemuMigrationSrcPerformPeer2Peer2",
    "doPeer2PeerMigrate3", "doPeer2PeerMigrate2", "qemuMigrationSrcPerform", "qemuMigrationPerform",
    "qemuMigrationSrcConnectionClosed", "qemuMigrationConnectionClosed",
    "qemuMigrationAnyConnectionClosed", "qemuMigrationSrcCancel", "qemuMigrationDstPrepareFresh",
    "qemuProcessAutoDestroy", "qemuProcessHandleMigrationStatus", "qemuProcessHandleMigrationPass",
    "qemuProcessStop", "processMonitorEOFEvent", "qemuProcessHandleMonitorEOF",
    "qemuDomainObjEnterMonitorInternal", "qemuDomainObjEnterRemote", "qemuDomainObjSetJobPhase",
    "virDomainObjEndAsyncJob", "qemuDomainObjEndAsyncJob",
    # connections and keepalive
    "virConnectOpenAuth", "virConnectOpen", "virConnectOpenReadOnly", "virConnectSetKeepAlive",
    "virNetClientCloseLocked", "virNetServerClientCloseLocked", "virThreadJobSetWorker",
)
# (no *_DISPOSE of sockets and keepalive objects: the client's own NEW/DISPOSE
# bound their lifetimes, and a busy daemon writes thousands of them)
PROBES = (
    "RPC_KEEPALIVE_(?:NEW|START|STOP|TIMEOUT|SEND|RECEIVED)", "RPC_CLIENT_NEW", "RPC_CLIENT_DISPOSE",
    "RPC_SERVER_CLIENT_NEW", "RPC_SERVER_CLIENT_DISPOSE", "RPC_SOCKET_NEW", "RPC_CLIENT_MSG_RX",
    # QEMU events and replies only when they are about migration
    r'QEMU_MONITOR_RECV_EVENT: [^\n]*"MIGRATION', r'QEMU_MONITOR_RECV_REPLY: [^\n]*"(?:ram|downtime-limit)"',
)
# lines of frequent functions that matter only in some of their forms
SPECIAL = (
    r"(?:vir|qemu)DomainObjBeginJobInternal:[0-9]+ : Started async job",
    r"virThreadJob(?:Set|Clear):[0-9]+ : Thread [0-9]+ [^\n]*job remoteDispatchDomainMigrate",
    # the calls that say what a client is doing: migrating, aborting, listening for events
    r"remoteDispatch(?:DomainMigrate[A-Za-z0-9]*|DomainAbortJob[A-Za-z0-9]*|ConnectOpen|"
    r"ConnectDomainEventCallbackRegisterAny|ConnectDomainEventRegisterAny|DomainGetJobInfo|"
    r"DomainGetJobStats)Helper:[0-9]+ : ",
)

INTEREST_PATTERN = (
    HEADER + r"(?:(?:error|warning) : "
    r"|(?:debug|info|unknown) : (?:"
    r"(?:" + "|".join(FUNCS) + r"):[0-9]+ : "
    r"|[A-Za-z_][A-Za-z0-9_]*:[0-9]+ : (?:" + "|".join(PROBES) + r")"
    r"|" + "|".join(SPECIAL) +
    r"|libvirt version: |hostname: ))")

# A line that is not a record start but shows an error (virsh's own "error: ..." after
# its progress output, a report's decorated copy of an error record): the reader
# glues it to the record before it, and the error catalogue reads it.
FOREIGN_ERROR = r"^(?:[^0-9\n][^\n]*)?(?:error|warning) ?: "
INTEREST_PATTERN = "(?:" + INTEREST_PATTERN + ")|" + FOREIGN_ERROR

INTEREST = re.compile(INTEREST_PATTERN)
FOREIGN_ERROR_RE = re.compile(FOREIGN_ERROR)


def interesting(first_line: str) -> bool:
    """Does the correlator read this record (by its first physical line)?"""
    return INTEREST.match(first_line) is not None
