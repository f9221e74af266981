"""The state of one host's correlation: what has been found (the results) and the live
maps that link a line to the objects it talks about while the stream is read.

The rules for pointers: an address means the object created by its latest `..._NEW` before
the line, with no `..._DISPOSE` in between.  libvirt reuses addresses within seconds, so
every pointer map drops an address at its dispose.

Everything that follows a thread (the migration it runs, the client whose call it serves,
the domain it last spoke about, ...) is in one place: `Live.threads`, a ThreadState per
thread, found from a record by `Live.thread_of` / `Live.peek`.  A record without a thread id
(journald) has a virtual thread instead (threadless.py).
"""
from __future__ import annotations

from collections import deque

from ..values import to_int
from .objects import AbortRequest, Connection, Evidence, EvidenceKind, Gap, Migration, Place, ThreadInfo
from .threadless import VirtualThreads

KEEP_UNEVENTFUL = 5000      # closed connections with nothing to report, kept for the tables
KEEP_QUIET_THREADS = 5000   # threads that ran nothing of interest, kept for the tables
KEEP_ERRORS = 5000          # error lines kept apart from the migrations they belong to


class ThreadState:
    """What the correlator follows of one thread while the stream is read."""

    __slots__ = ("migration", "client", "domain", "open_uri", "setka", "pending_death")

    def __init__(self):
        self.migration: Migration | None = None   # the migration it is running
        self.client: str | None = None             # the server client whose call it runs
        self.domain: str | None = None             # the domain it last spoke about
        self.open_uri: tuple | None = None         # (uri, Evidence) of its last virConnectOpen*
        self.setka: tuple | None = None            # (conn, interval, count, Evidence) of virConnectSetKeepAlive
        self.pending_death = None                  # a KeepaliveDeath awaiting its error line


_NO_THREAD = ThreadState()   # read-only stand-in for a thread nothing is known of


class Live:
    """Pointer -> object maps, migrations in progress and per-thread state: they exist only
    while the stream is read (dropped at close)."""

    __slots__ = ("sockets", "clients", "servers", "kas", "conns", "mons", "vms", "ka_config",
                 "active", "threads", "virtual", "opens", "setkas", "pending_deaths")

    def __init__(self):
        self.sockets: dict[str, dict] = {}           # socket -> its RPC_SOCKET_NEW fields, until a client takes it
        self.clients: dict[str, Connection] = {}     # virNetClient -> outgoing connection
        self.servers: dict[str, Connection] = {}     # virNetServerClient -> incoming connection
        self.kas: dict[str, Connection] = {}         # keepalive object -> its connection
        self.conns: dict[str, Connection] = {}       # virConnectPtr -> outgoing connection
        self.mons: dict[str, str] = {}               # QEMU monitor -> domain name
        self.vms: dict[str, str] = {}                # virDomainObj -> domain name
        self.ka_config: dict[str, tuple] = {}        # server client -> (interval, count) from virKeepAliveNew
        self.active: dict[tuple, Migration] = {}     # (role, domain) -> migration in progress
        self.threads: dict = {}                      # thread -> ThreadState
        # records without thread ids: their virtual threads, and what is paired by order
        # instead of by thread (threadless.py explains why)
        self.virtual = VirtualThreads(self)
        self.opens: deque = deque(maxlen=16)         # (uri, Evidence, seq) of virConnectOpen* awaiting their client
        self.setkas: deque = deque(maxlen=16)        # (conn, interval, count, Evidence, seq) awaiting their keepalive
        self.pending_deaths: deque = deque(maxlen=4)  # (KeepaliveDeath, seq) awaiting their error line

    def thread_key(self, rec):
        return rec.tid if rec.tid is not None else self.virtual.key(rec)

    def thread_of(self, rec) -> ThreadState:
        """The state of the record's thread (made on first use): the one place where a record
        is tied to the thread it was logged by (or, without a thread id, to its virtual thread)."""
        key = self.thread_key(rec)
        t = self.threads.get(key)
        if t is None:
            t = self.threads[key] = ThreadState()
        return t

    def peek(self, rec) -> ThreadState:
        """The state of the record's thread for reading only (an empty one if none)."""
        return self.threads.get(self.thread_key(rec), _NO_THREAD)


class HostState:
    """The results of one host's log, and the live maps while it is read."""

    def __init__(self, host: str):
        self.host = host
        self.connections: list[Connection] = []
        self.deaths: list = []                       # KeepaliveDeath
        self.migrations: list[Migration] = []
        self.threads: dict[int, ThreadInfo] = {}
        self.jobs: list = []                         # DomainJob
        self.errors: deque = deque(maxlen=KEEP_ERRORS)   # the newest error/warning lines
        self.aborts: list[AbortRequest] = []         # virDomainAbortJob calls
        self.gaps: list[Gap] = []                    # silences, see HostCorrelator.note_time
        self.first_time = None
        self.last_time = 0.0
        self.last_line = 0
        self.forgotten_connections = 0               # uneventful ones beyond KEEP_UNEVENTFUL
        self.forgotten_threads = 0
        self.saw_rpc_probe = False
        self.saw_keepalive_probe = False
        self.saw_util_debug = False                  # a util.* debug record (thread jobs): util's debug is logged
        self.nread = 0                               # records read so far: their order without line numbers
        self.live: Live | None = Live()
        self._uneventful = 0
        self._nmig = 0
        self._nconn = 0

    # ------------------------------------------------------------ connections
    def new_conn(self, rec, direction, client, sock=None) -> Connection:
        self._nconn += 1
        c = Connection(id=f"{self.host}/c{self._nconn}", host=self.host, direction=direction,
                       client=client, created=Place.of(rec) if rec is not None else None, sock=sock)
        if sock:
            # a socket serves one client: its addresses move to the connection
            s = self.live.sockets.pop(sock, None)
            if s is not None:
                c.local_addr, c.remote_addr = s.get("localAddr"), s.get("remoteAddr")
        self.connections.append(c)
        return c

    def lookup_client(self, client) -> Connection | None:
        live = self.live
        return live.clients.get(client) or live.servers.get(client)

    def orphan(self, client) -> Connection:
        """A pointer whose creation is not in this log (it starts too late)."""
        c = self.new_conn(None, "unknown", client)
        c.notes.append("created before this log starts")
        self.live.clients[client] = c
        return c

    def uneventful(self, c: Connection) -> None:
        """A closed connection with nothing to report: keep its summary, not its lines, so
        memory stays bounded on logs with tens of thousands of clients."""
        c.evidence = c.evidence[:1]
        c.last_received_text = None
        c.uneventful = True
        self._uneventful += 1
        if self._uneventful > 2 * KEEP_UNEVENTFUL:
            self._forget_uneventful()

    def _forget_uneventful(self):
        """Keep the newest KEEP_UNEVENTFUL closed, uneventful connections; older ones are
        only counted (a log of days has hundreds of thousands of short virsh clients)."""
        old = [c for c in self.connections if c.uneventful]
        drop = {id(c) for c in old[:len(old) - KEEP_UNEVENTFUL]}
        self.connections = [c for c in self.connections if id(c) not in drop]
        self.forgotten_connections += len(drop)
        self._uneventful = len(old) - len(drop)

    # ------------------------------------------------------------ threads
    def count_thread(self, rec) -> None:
        """A record the correlator reads, in its thread's summary."""
        tid = rec.tid
        if tid is None:
            return
        th = self.threads.get(tid)
        if th is None:
            th = self.threads[tid] = ThreadInfo(self.host, tid, first=Place.of(rec))
            if len(self.threads) > 2 * KEEP_QUIET_THREADS:
                self._forget_quiet_threads()
        th.records += 1
        th.last_line = rec.line
        th.last_time = rec.time

    def _forget_quiet_threads(self):
        """Keep the threads of migrations and deaths and the newest KEEP_QUIET_THREADS others
        (a long log of a busy daemon sees a new worker thread id every few seconds)."""
        keep = {m.tid for m in self.migrations} | {d.tid for d in self.deaths}
        others = sorted((t for t in self.threads.values() if t.tid not in keep),
                        key=lambda t: t.last_line or 0)
        for t in others[:len(others) - KEEP_QUIET_THREADS]:
            del self.threads[t.tid]
            self.forgotten_threads += 1
            self.live.threads.pop(t.tid, None)

    # ------------------------------------------------------------ migrations
    def new_migration(self, rec, role) -> Migration:
        self._nmig += 1
        m = Migration(id=f"{self.host}/m{self._nmig}", host=self.host, path=rec.path, role=role,
                      start=rec.time, started=Place.of(rec), tid=rec.tid)
        self.migrations.append(m)
        return m

    def midway(self, rec, role, name) -> Migration | None:
        """A migration whose start is not in this log (rotated or cut): first seen through
        a phase, close callback or job end.  Made once, and said so."""
        if not name:
            return None
        active = self.live.active
        mig = active.get((role, name))
        if mig is None:
            mig = self.new_migration(rec, role)
            mig.domain = name
            mig.start, mig.started = None, None
            mig.notes.append("started before this log starts: its API call and flags are not in the log")
            active[(role, name)] = mig
        if rec.tid is not None:
            t = self.live.thread_of(rec)
            if t.migration is None:
                t.migration = mig
        return mig

    def find_active(self, name) -> Migration | None:
        if name is None:
            return None
        active = self.live.active
        return active.get(("source", name)) or active.get(("destination", name))

    def link_dconn(self, mig, c) -> None:
        if mig.dconn is None or mig.dconn is c:
            mig.dconn = c
            c.purpose = "dconn"
            c.migration = mig.id
            if not c.uri:
                c.uri = mig.dconnuri


# ------------------------------------------------------------ small helpers for the handlers
def ev(obj, rec, kind: EvidenceKind, note: str = "") -> None:
    """The record as evidence of obj: what it shows (kind), and a note for the reader."""
    obj.evidence.append(Evidence.of(rec, note, kind))


def noted(e: Evidence, note: str, kind: EvidenceKind) -> Evidence:
    return Evidence(e.path, e.line, e.time, e.text, note, kind)


def as_int(v, default=None):
    n = to_int(v, 0)           # a number too large for 64 bits is left unread
    return default if n is None else n
