"""The things libvirt log lines talk about, with their lifetimes and evidence.

Each object keeps `evidence`: the lines (path, line, time, text) that support
it, so a reader can check every link the correlator made.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Evidence:
    path: str
    line: int
    time: float | None
    text: str
    note: str = ""

    @classmethod
    def of(cls, rec, note: str = "") -> "Evidence":
        raw = rec.raw
        nl = raw.find("\n")
        text = (raw if nl < 0 else raw[:nl]).rstrip("\r")
        if len(text) > 400:
            text = text[:400] + " [...]"
        return cls(rec.path, rec.line, rec.time, text, note)

    def as_dict(self) -> dict:
        d = {"path": self.path, "line": self.line, "time": self.time, "text": self.text}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
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


@dataclass
class Tick:
    """One keepalive timer tick (RPC_KEEPALIVE_TIMEOUT): logged every interval."""
    path: str
    line: int
    time: float | None
    count_to_death: int
    idle: int
    text: str = ""


@dataclass
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

    @property
    def close_reason_name(self) -> str | None:
        return CLOSE_REASONS.get(self.close_reason) if self.close_reason is not None else None


@dataclass
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


@dataclass
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

    def evidence(self, note: str = "") -> Evidence:
        return Evidence(self.path, self.line, self.time, self.text.split("\n", 1)[0][:400], note)


@dataclass
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
    phases: list = field(default_factory=list)          # (phase, time, line)
    qemu_status: list = field(default_factory=list)     # (status, time, line, text)
    stats: list = field(default_factory=list)           # query-migrate samples (dicts)
    syncs: list = field(default_factory=list)           # (dirty-sync-count, first sample after it, Evidence)
    downtime_limit: tuple | None = None  # (ms, Evidence) from QEMU's migration parameters
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
    notes: list = field(default_factory=list)
    evidence: list = field(default_factory=list)

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
        return self.phases[-1][0] if self.phases else None


@dataclass
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


@dataclass
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


@dataclass
class Finding:
    """Something that failed which is not a migration seen in the logs."""
    cause: str
    summary: str
    confidence: str
    evidence: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    remedies: list = field(default_factory=list)
    host: str | None = None
    detected_by: str | None = None
    related: str | None = None

    def as_dict(self) -> dict:
        return {"cause": self.cause, "summary": self.summary, "confidence": self.confidence,
                "detected_by": self.detected_by, "host": self.host,
                "evidence": [e.as_dict() for e in self.evidence],
                "missing": list(self.missing), "remedies": list(self.remedies)}
