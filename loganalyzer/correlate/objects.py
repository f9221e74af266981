"""The things libvirt log lines talk about, with their lifetimes and evidence.

Each object keeps `evidence`: the lines (path, line, time, text) that support
it, so a reader can check every link the correlator made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from .samples import StatsSample, StatsSeries

try:
    from enum import StrEnum
except ImportError:             # Python 3.10
    class StrEnum(str, Enum):
        """Members are their value, in f-strings too (as enum.StrEnum from 3.11)."""
        def __str__(self) -> str:
            return str.__str__(self)

        def __format__(self, spec: str) -> str:
            return str.__format__(str.__str__(self), spec)

CLOSE_REASONS = {0: "error", 1: "eof", 2: "keepalive", 3: "client"}

# VIR_MIGRATE_* flag bits (include/libvirt/libvirt-domain.h)
MIGRATE_FLAGS = [
    (0x1, "live"), (0x2, "peer2peer"), (0x4, "tunnelled"), (0x8, "persist-dest"),
    (0x10, "undefine-source"), (0x20, "paused"), (0x40, "non-shared-disk"),
    (0x80, "non-shared-inc"), (0x100, "change-protection"), (0x200, "unsafe"),
    (0x400, "offline"), (0x800, "compressed"), (0x1000, "abort-on-error"),
    (0x2000, "auto-converge"), (0x4000, "rdma-pin-all"), (0x8000, "postcopy"),
    (0x10000, "tls"), (0x20000, "parallel"), (0x40000, "non-shared-synchronous-writes"),
    (0x80000, "postcopy-resume"), (0x100000, "zerocopy"),
]


def decode_flags(flags: int | None) -> list[str]:
    if flags is None:
        return []
    names = [name for bit, name in MIGRATE_FLAGS if flags & bit]
    rest = flags & ~sum(bit for bit, _ in MIGRATE_FLAGS)
    if rest:
        names.append(hex(rest))
    return names


def migration_mode(flags: int | None, migrate_uri: str | None = None) -> str | None:
    """The way a migration moves, from its flags (and the migration URI)."""
    if flags is None:
        return None
    names = set(decode_flags(flags))
    if "peer2peer" in names:
        mode = "peer-to-peer tunnelled" if "tunnelled" in names else "peer-to-peer native"
    else:
        mode = "client-managed native"
    if migrate_uri and migrate_uri.startswith("unix:"):
        mode += " over UNIX sockets"
    if names & {"non-shared-disk", "non-shared-inc"}:
        mode += ", with non-shared storage copied"
    if "offline" in names:
        mode = "offline (definition only)"
    return mode


class EvidenceKind(StrEnum):
    """What a line the correlator cites shows.  Rules decide on the kind; the note
    beside it is prose for the reader and may be reworded freely."""
    # connections
    CONNECTION_CREATED = "connection-created"
    CONNECTION_URI = "connection-uri"                  # the virConnectOpen* that named its URI
    CONNECTION_POINTER = "connection-pointer"          # virConnectSetKeepAlive: its virConnect pointer
    CONNECTION_CLOSED = "connection-closed"
    CLOSE_ACKNOWLEDGED = "close-acknowledged"          # the peer's reply to this side's virConnectClose
    CLOSE_CALLBACK = "close-callback"                  # the migration's close callback ran for it
    KEEPALIVE_STARTED = "keepalive-started"
    # keepalive deaths
    KEEPALIVE_DEATH = "keepalive-death"                # the timer reached countToDeath=0
    KEEPALIVE_ERROR = "keepalive-error"                # the error line that reports it
    KEEPALIVE_DEATH_DECLARED = "keepalive-death-declared"  # the error line, with no timer line before it
    DEATH_CONNECTION_CLOSED = "death-connection-closed"    # the dead connection is closed
    DEATH_NAMED_BY_CLOSE_CALLBACK = "death-named-by-close-callback"
    # migrations: API calls, jobs, the destination connection
    MIGRATION_API_CALLED = "migration-api-called"
    DCONN_OPENING = "dconn-opening"
    DCONN_LINKED = "dconn-linked"                      # the migration's destination connection is known
    DCONN_CLOSED = "dconn-closed"                      # the close callback: the destination connection closed
    CONTROLLING_CONNECTION_CLOSED = "controlling-connection-closed"
    PERFORM_FAILED = "perform-failed"
    FINISH_CALLED = "finish-called"
    ASYNC_JOB_STARTED = "async-job-started"
    ASYNC_JOB_STOPPED = "async-job-stopped"
    ABORT_REQUESTED = "abort-requested"
    MIGRATION_CANCELLING = "migration-cancelling"      # libvirt cancels the QEMU migration
    API_ERROR_RETURNED = "api-error-returned"          # virNetServerProgramSendError of a migration call
    JOB_ENDED_BEFORE_PERFORM = "job-ended-before-perform"  # its job ended in Begin/Prepare: nothing was sent
    # QEMU
    QEMU_MIGRATION_FAILED = "qemu-migration-failed"
    QEMU_MIGRATION_CANCELLED = "qemu-migration-cancelled"
    QEMU_MIGRATION_BLOCKED = "qemu-migration-blocked"  # query-migrate's blocked-reasons: QEMU refuses
    QEMU_DOWNTIME_LIMIT = "qemu-downtime-limit"
    QEMU_STATS = "qemu-stats"
    QEMU_STATS_STALLED = "qemu-stats-stalled"
    QEMU_MEMORY_PASS = "qemu-memory-pass"
    MONITOR_HANGUP = "monitor-hangup"                  # 'Received EOF': QEMU's monitor hung up
    MONITOR_EOF = "monitor-eof"                        # closed without a SHUTDOWN event: QEMU died
    DOMAIN_AUTODESTROYED = "domain-autodestroyed"      # its controlling connection closed
    QEMU_STOPPED_CRASHED = "qemu-stopped-crashed"      # qemuProcessStop reason=crashed
    QEMU_STOPPED_DESTROYED = "qemu-stopped-destroyed"  # reason=destroyed
    QEMU_STOPPED_SHUTDOWN = "qemu-stopped-shutdown"    # reason=shutdown
    QEMU_STOPPED_FAILED = "qemu-stopped-failed"        # reason=failed: libvirt's clean-up of a failed start


# qemuProcessStop's reason=..., as an evidence kind
QEMU_STOP_KINDS = {"crashed": EvidenceKind.QEMU_STOPPED_CRASHED, "destroyed": EvidenceKind.QEMU_STOPPED_DESTROYED,
                   "shutdown": EvidenceKind.QEMU_STOPPED_SHUTDOWN, "failed": EvidenceKind.QEMU_STOPPED_FAILED}


class MigrationFact(StrEnum):
    """Flags the correlator sets on a migration and the rules read.  The value is also
    the note shown to the reader (Migration.notes)."""
    CONTROLLING_CONNECTION_CLOSED = "controlling-connection-closed"
    AUTODESTROYED = "autodestroyed"
    FINISH_CANCELLED = "finish-cancelled"
    QEMU_CRASHED = "qemu-crashed"
    API_ERROR_RETURNED = "a migration call returned an error to its client"
    ENDED_BEFORE_PERFORM = "its job ended before the Perform phase: no data was sent"


@dataclass(slots=True)
class Evidence:
    path: str
    line: int
    time: float | None
    text: str
    note: str = ""                        # for the reader only: rules read `kind`
    kind: EvidenceKind | None = None      # None: a line a rule cites, not a correlator fact

    @classmethod
    def of(cls, rec, note: str = "", kind: EvidenceKind | None = None) -> "Evidence":
        text = rec.text
        if len(text) > 400:
            text = text[:400] + " [...]"
        return cls(rec.path, rec.line, rec.time, text, note, kind)

    def as_dict(self) -> dict:
        d = {"path": self.path, "line": self.line, "time": self.time, "text": self.text}
        if self.note:
            d["note"] = self.note
        return d


@dataclass(slots=True)
class Place:
    path: str
    line: int
    time: float | None
    tid: int | None = None

    @classmethod
    def of(cls, rec) -> "Place":
        return cls(rec.path, rec.line, rec.time, rec.tid)

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line}


class Gap(NamedTuple):
    """A stretch where a log goes silent (the daemon stopped or hung)."""
    line_before: int
    line_after: int
    time_before: float
    time_after: float
    path: str | None
    text_before: str
    text_after: str

    @property
    def seconds(self) -> float:
        return self.time_after - self.time_before


class Phase(NamedTuple):
    """A migration job phase set (qemuDomainObjSetJobPhase)."""
    phase: str | None
    time: float | None
    line: int


class QemuStatus(NamedTuple):
    """A MIGRATION status event from QEMU."""
    status: str
    time: float | None
    line: int
    text: str


class MemoryPass(NamedTuple):
    """The first query-migrate sample after QEMU synced the dirty bitmap."""
    sync_count: int
    sample: StatsSample
    evidence: "Evidence"


class DowntimeLimit(NamedTuple):
    ms: float
    evidence: "Evidence"


class AbortRequest(NamedTuple):
    """A client's virDomainAbortJob call."""
    evidence: "Evidence"
    client: str | None


@dataclass(slots=True)
class Tick:
    """One keepalive timer tick (RPC_KEEPALIVE_TIMEOUT): logged every interval."""
    path: str
    line: int
    time: float | None
    count_to_death: int
    idle: int
    text: str = ""


@dataclass(slots=True)
class Connection:
    """An RPC connection seen by one daemon: outgoing (virNetClient, e.g. the
    migration's dconn) or incoming (virNetServerClient, e.g. virsh)."""
    id: str
    host: str
    direction: str                       # outgoing | incoming
    client: str | None                   # virNetClient / virNetServerClient pointer
    created: Place | None = None         # None: created before this log starts
    disposed: Place | None = None
    sock: str | None = None
    local_addr: str | None = None
    remote_addr: str | None = None
    uri: str | None = None               # outgoing: the URI given to virConnectOpen*
    conn: str | None = None              # virConnectPtr of an outgoing connection
    ka: str | None = None
    keepalive_interval: int | None = None
    keepalive_count: int | None = None
    keepalive_started: Place | None = None
    keepalive_stopped: Place | None = None
    ticks: list = field(default_factory=list)  # its timer ticks (only the latest silences of a long-lived one)
    tick_count: int = 0                         # every tick the connection had
    pings_sent: int = 0
    pongs_received: int = 0
    pings_received: int = 0
    last_received: float | None = None
    last_received_line: int | None = None
    last_received_text: str | None = None
    closed: Place | None = None
    close_reason: int | None = None
    close_errors: list = field(default_factory=list)   # ErrorLines just before the close
    close_asked: Evidence | None = None  # the peer's reply to this side's own virConnectClose
    purpose: str = "unknown"             # dconn | management | peer-daemon | internal | connection | unknown
    apis: list = field(default_factory=list)   # incoming: first APIs dispatched for it
    migration: str | None = None         # id of the migration this connection served
    peer: str | None = None              # id of the same connection in the other host's log
    notes: list = field(default_factory=list)
    evidence: list = field(default_factory=list)
    uneventful: bool = False             # closed with nothing to report: kept as a summary (HostState.uneventful)

    @property
    def close_reason_name(self) -> str | None:
        return CLOSE_REASONS.get(self.close_reason) if self.close_reason is not None else None


@dataclass(slots=True)
class KeepaliveDeath:
    """A keepalive timer that reached countToDeath=0: the connection was closed."""
    host: str
    path: str
    line: int
    time: float | None
    tid: int | None
    client: str | None
    ka: str | None
    idle: int | None
    connection: Connection | None = None
    migration: str | None = None
    owner: str = "unknown"               # dconn | management | peer-daemon | internal | unknown
    confidence: str = "high"
    notes: list = field(default_factory=list)
    evidence: list = field(default_factory=list)
    peer_connection: Connection | None = None   # the same connection seen by the other host
    peer_death: "KeepaliveDeath | None" = None   # the other host's death of it, if it declared one


@dataclass(slots=True)
class ErrorLine:
    path: str
    line: int
    time: float | None
    tid: int | None
    level: str
    func: str | None
    text: str

    @classmethod
    def of(cls, rec) -> "ErrorLine":
        msg = rec.message
        return cls(rec.path, rec.line, rec.time, rec.tid, rec.level, rec.func, msg)

    def evidence(self, note: str = "", kind: EvidenceKind | None = None) -> Evidence:
        return Evidence(self.path, self.line, self.time, self.text.split("\n", 1)[0][:400], note, kind)


@dataclass(slots=True)
class Migration:
    """One migration attempt as one daemon (or client) saw it."""
    id: str
    host: str
    path: str
    role: str                            # source | destination | client
    domain: str | None = None
    uuid: str | None = None
    api: str | None = None
    flags: int | None = None
    dconnuri: str | None = None
    migrate_uri: str | None = None
    bandwidth: str | None = None
    start: float | None = None
    end: float | None = None
    started: Place | None = None
    ended: Place | None = None
    tid: int | None = None               # worker thread that ran it
    vm: str | None = None                # virDomainObj pointer
    phases: list = field(default_factory=list)          # Phase
    qemu_status: list = field(default_factory=list)     # QemuStatus
    stats: StatsSeries = field(default_factory=StatsSeries)  # query-migrate samples (StatsSample)
    syncs: list = field(default_factory=list)           # MemoryPass
    downtime_limit: DowntimeLimit | None = None  # from QEMU's migration parameters
    last_stats: Evidence | None = None   # the newest query-migrate reply's line
    stalled_since: Evidence | None = None  # the first reply of the newest run with nothing more transferred
    passes: int = 0
    errors: list = field(default_factory=list)          # ErrorLine (level error)
    warnings: list = field(default_factory=list)        # ErrorLine (level warning)
    dconn: Connection | None = None
    dconn_open: Place | None = None      # virConnectOpenAuth of the dconn
    controlling_client: str | None = None  # server client that asked for it
    controlling_conn: "Connection | None" = None  # ... the object (pointers are reused)
    outcome: str = "unknown"             # succeeded | failed | cancelled | unknown
    ret: int | None = None
    peer: str | None = None              # id of the same migration in the other host's log
    peer_client: str | None = None       # id of the client-side (virsh) view of it
    verdict: object = None
    facts: set = field(default_factory=set)             # MigrationFact: what rules decide on
    notes: list = field(default_factory=list)
    evidence: list = field(default_factory=list)

    def mark(self, fact: MigrationFact) -> None:
        """Set a fact once; its name joins the notes shown to the reader."""
        if fact not in self.facts:
            self.facts.add(fact)
            self.notes.append(fact.value)

    @property
    def flag_names(self) -> list[str]:
        return decode_flags(self.flags)

    @property
    def mode(self) -> str | None:
        return migration_mode(self.flags, self.migrate_uri)

    @property
    def p2p(self) -> bool:
        return bool(self.flags and self.flags & 0x2)

    @property
    def last_phase(self) -> str | None:
        return self.phases[-1].phase if self.phases else None


@dataclass(slots=True)
class ThreadInfo:
    host: str
    tid: int
    worker: str | None = None
    first: Place | None = None
    last_line: int | None = None
    last_time: float | None = None
    records: int = 0
    jobs: list = field(default_factory=list)     # dicts: api, start, end, ret, line
    domains: set = field(default_factory=set)

    @property
    def role(self) -> str:
        if self.worker:
            return self.worker
        return "thread"


@dataclass(slots=True)
class DomainJob:
    host: str
    path: str
    domain: str | None
    vm: str | None
    job: str
    is_async: bool
    tid: int | None
    start: Place | None = None
    end: Place | None = None
    api: str | None = None
    phases: list = field(default_factory=list)


@dataclass(slots=True)
class Finding:
    """Something that failed which is not a migration seen in the logs."""
    cause: str                      # a rules.causes.Cause
    summary: str
    confidence: str
    evidence: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    remedies: list = field(default_factory=list)
    host: str | None = None
    detected_by: str | None = None
    related: str | None = None
    reason: str = ""                # the cause in words and the decisive fact (rules.headline)
    headline: str = ""              # "<host>: <reason>", the sentence a report opens with

    def as_dict(self) -> dict:
        return {"cause": self.cause, "headline": self.headline, "summary": self.summary,
                "confidence": self.confidence,
                "detected_by": self.detected_by, "host": self.host,
                "evidence": [e.as_dict() for e in self.evidence],
                "missing": list(self.missing), "remedies": list(self.remedies)}
