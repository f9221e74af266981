"""One streaming pass over one host's records: rebuild connections,
keepalives, threads, domain jobs and migrations, and trace every keepalive
death to the connection (and migration) it killed.

The rules for pointers: an address means the object created by its latest
`..._NEW` before the line, with no `..._DISPOSE` in between.  libvirt reuses
addresses within seconds, so every map below drops an address at its dispose.
"""
from __future__ import annotations

import json
import re
from collections import deque

from .objects import (QEMU_STOP_KINDS, AbortRequest, Connection, DomainJob, DowntimeLimit, ErrorLine,
                      Evidence, EvidenceKind as K, Gap, KeepaliveDeath, MemoryPass, Migration, MigrationFact,
                      Phase, Place, QemuStatus, ThreadInfo, Tick)

# API entry lines that start a migration attempt, by role.
SOURCE_APIS = {
    "virDomainMigratePerform3Params", "virDomainMigratePerform3", "virDomainMigratePerform",
    "virDomainMigrateBegin3Params", "virDomainMigrateBegin3",
    "virDomainMigrateConfirm3Params", "virDomainMigrateConfirm3",
}
DEST_APIS = {
    "virDomainMigratePrepare3Params", "virDomainMigratePrepare3", "virDomainMigratePrepare2",
    "virDomainMigratePrepare", "virDomainMigratePrepareTunnel3Params", "virDomainMigratePrepareTunnel3",
    "virDomainMigratePrepareTunnel",
}
CLIENT_APIS = {
    "virDomainMigrateToURI3", "virDomainMigrateToURI2", "virDomainMigrateToURI",
    "virDomainMigrate3", "virDomainMigrate2", "virDomainMigrate",
}
# qemu driver functions that carry migration parameters (current and ≤4.0 names)
P2P_FUNCS = {"qemuMigrationSrcPerformPeer2Peer", "doPeer2PeerMigrate"}
P2P3_FUNCS = {"qemuMigrationSrcPerformPeer2Peer3", "qemuMigrationSrcPerformPeer2Peer2",
              "doPeer2PeerMigrate3", "doPeer2PeerMigrate2"}
SRC_PERFORM_FUNCS = {"qemuMigrationSrcPerform", "qemuMigrationPerform"}
GAP_SECONDS = 5
MAX_TICKS = 500
KEEP_UNEVENTFUL = 5000      # closed connections with nothing to report, kept for the tables
KEEP_QUIET_THREADS = 5000   # threads that ran nothing of interest, kept for the tables
KEEP_ERRORS = 5000          # error lines kept apart from the migrations they belong to
REMOTE_PROGRAM = str(0x20008086)   # remote_protocol.x: the program of the libvirt RPC calls
REMOTE_PROC_CONNECT_CLOSE = "2"
MAX_STATS = 4000            # query-migrate samples per migration (then every other one is dropped)
MAX_SYNCS = 64              # passes over guest memory remembered per migration (the first and the newest)
CONN_CLOSED_FUNCS = {"qemuMigrationSrcConnectionClosed", "qemuMigrationConnectionClosed"}

_MIGR_STATUS = re.compile(r"Migration of domain (0x[0-9a-fA-F]+|\(nil\)) (.*) changed state to (\S+)$")
_MIGR_PASS = re.compile(r"Migrating domain (0x[0-9a-fA-F]+) (.*), iteration (\d+)$")
_MON = re.compile(r"(?:Entering|Exited) monitor \(mon=(0x[0-9a-fA-F]+) vm=(0x[0-9a-fA-F]+) name=(.*)\)$")
_REMOTE = re.compile(r"(?:Entering|Exited) remote \(vm=(0x[0-9a-fA-F]+) name=(.*)\)$")
_PREPARE3 = re.compile(r"^Prepare3 (0x[0-9a-fA-F]+)")
_FINISH3 = re.compile(r"^Finish3 (0x[0-9a-fA-F]+) ret=(-?\d+)")
_STATUS_EVENT = re.compile(r'"event": ?"(MIGRATION|MIGRATION_PASS)", ?"data": ?\{"(status|pass)": ?"?([\w-]+)"?')
_CONTROLLING_CLOSED = re.compile(r"The connection which controls migration of domain (.*) was closed")
_PROCESS_STOP = re.compile(r"Shutting down vm=0x[0-9a-fA-F]+ name=(.*?) id=.*reason=(\w+)")
_MONITOR_HUP = re.compile(r"Received EOF on 0x[0-9a-fA-F]+ '(.*)'$")
_MONITOR_EOF = re.compile(r"Monitor connection to '(.*)' closed without SHUTDOWN event")
_XML_UUID = re.compile(r"<uuid>([0-9a-fA-F-]{32,36})</uuid>")
_XML_NAME = re.compile(r"<name>([^<]+)</name>")
_AUTODESTROY = re.compile(r"^vm=(.*), conn=(0x[0-9a-fA-F]+)$")


def _noted(e: Evidence, note: str, kind: K) -> Evidence:
    return Evidence(e.path, e.line, e.time, e.text, note, kind)


def _int(v, default=None):
    try:
        return int(v, 0) if isinstance(v, str) else int(v)
    except (TypeError, ValueError):
        return default


class HostCorrelator:
    """Feed records of one host in order; read the objects at the end."""

    # functions whose kv/text lines matter (everything else is skipped cheaply)
    FUNCS = (SOURCE_APIS | DEST_APIS | CLIENT_APIS | P2P_FUNCS | P2P3_FUNCS | SRC_PERFORM_FUNCS
             | CONN_CLOSED_FUNCS | {
                 "virConnectOpenAuth", "virConnectOpen", "virConnectOpenReadOnly",
                 "virConnectSetKeepAlive", "virKeepAliveNew", "virNetClientCloseLocked",
                 "virNetServerClientCloseLocked", "virDomainObjBeginJobInternal",
                 "qemuDomainObjBeginJobInternal", "virDomainObjEndAsyncJob", "virDomainObjEndJob",
                 "qemuDomainObjEndAsyncJob", "qemuDomainObjEndJob", "qemuDomainObjSetJobPhase",
                 "qemuDomainObjEnterMonitorInternal", "qemuDomainObjEnterRemote",
                 "qemuProcessHandleMigrationStatus", "qemuProcessHandleMigrationPass",
                 "virThreadJobSet", "virThreadJobClear", "qemuProcessAutoDestroy",
                 "qemuMigrationAnyConnectionClosed", "qemuMigrationSrcCancel",
                 "virNetServerProgramSendError", "qemuMigrationDstPrepareDirect",
                 "qemuMigrationDstPrepareFresh", "qemuMigrationDstFinish", "qemuMigrationFinish",
                 "virDomainMigrateFinish3Params", "virDomainMigrateFinish3",
                 "virDomainMigrateConfirm3Params", "virDomainMigrateConfirm3",
                 "qemuMigrationSrcRun", "qemuMigrationRun", "qemuProcessStop", "processMonitorEOFEvent",
                 "qemuProcessHandleMonitorEOF",
             })
    PROBES = {
        "RPC_SOCKET_NEW", "RPC_SOCKET_DISPOSE", "RPC_CLIENT_NEW", "RPC_CLIENT_DISPOSE",
        "RPC_SERVER_CLIENT_NEW", "RPC_SERVER_CLIENT_DISPOSE", "RPC_KEEPALIVE_NEW",
        "RPC_KEEPALIVE_START", "RPC_KEEPALIVE_STOP", "RPC_KEEPALIVE_DISPOSE",
        "RPC_KEEPALIVE_TIMEOUT", "RPC_KEEPALIVE_SEND", "RPC_KEEPALIVE_RECEIVED",
        "RPC_CLIENT_MSG_RX", "QEMU_MONITOR_RECV_EVENT", "QEMU_MONITOR_RECV_REPLY",
        "RPC_SERVER_CLIENT_MSG_RX",
    }

    # pointer and per-thread maps that exist only while the stream is read (see close)
    _WORKING = ("_sockets", "_clients", "_servers", "_kas", "_conns", "_mons", "_vms", "_ka_config",
                "_open_uri", "_setka", "_thread_mig", "_thread_client", "_thread_dom", "_active",
                "_last_tick", "_pending_error_death")

    def __init__(self, host: str):
        self.host = host
        self.connections: list[Connection] = []
        self.deaths: list[KeepaliveDeath] = []
        self.migrations: list[Migration] = []
        self.threads: dict[int, ThreadInfo] = {}
        self.jobs: list[DomainJob] = []
        self.errors: deque = deque(maxlen=KEEP_ERRORS)   # the newest error/warning lines
        self.first_time = None
        self.last_time = 0.0
        self.last_line = 0
        self._last_rec = None
        self.gaps: list[Gap] = []
        self._uneventful = 0
        self.forgotten_connections = 0               # uneventful ones beyond KEEP_UNEVENTFUL
        self.forgotten_threads = 0
        self.aborts: list[AbortRequest] = []         # virDomainAbortJob calls
        self.saw_rpc_probe = False
        self.saw_keepalive_probe = False
        # live maps (pointer -> object), dropped at dispose
        self._sockets: dict[str, dict] = {}
        self._clients: dict[str, Connection] = {}
        self._servers: dict[str, Connection] = {}
        self._kas: dict[str, Connection] = {}
        self._conns: dict[str, Connection] = {}      # virConnectPtr -> outgoing connection
        self._mons: dict[str, str] = {}              # mon -> domain name
        self._vms: dict[str, str] = {}               # virDomainObj -> domain name
        self._ka_config: dict[str, tuple] = {}       # server client -> (interval, count) from virKeepAliveNew
        # per-thread state
        self._open_uri: dict[int, tuple] = {}        # tid -> (uri, Evidence) of the last virConnectOpen*
        self._setka: dict[int, tuple] = {}           # tid -> (conn, interval, count, Evidence)
        self._thread_mig: dict[int, Migration] = {}  # tid -> migration it is running
        self._thread_client: dict[int, str] = {}     # tid -> server client whose call it runs
        self._thread_dom: dict[int, str] = {}        # tid -> domain it last spoke about
        self._active: dict[tuple, Migration] = {}    # (role, domain) -> migration in progress
        self._last_tick: dict[int, KeepaliveDeath] = {}  # tid -> death awaiting its error line
        self._pending_error_death: dict[int, KeepaliveDeath] = {}
        self._nmig = 0
        self._nconn = 0

    # ------------------------------------------------------------ feeding
    def note_time(self, t: float, line: int, rec=None) -> None:
        """Every record's time, in order (not only the records fed): finds the
        stretches where a debug log goes silent because the daemon was stopped or hung."""
        if self.last_line and int(t // 1) - int(self.last_time // 1) >= GAP_SECONDS:
            prev = self._last_rec
            self.gaps.append(Gap(self.last_line, line, self.last_time, t, rec.path if rec else None,
                                 prev.text if prev is not None else "", rec.text if rec else ""))
        self.last_time = t
        self.last_line = line
        self._last_rec = rec

    def feed(self, rec) -> None:
        """One record the correlator reads (see interest.py), in log order."""
        t = rec.time
        if self.first_time is None and t is not None:
            self.first_time = t
        tid = rec.tid
        if tid is not None:
            th = self.threads.get(tid)
            if th is None:
                th = self.threads[tid] = ThreadInfo(self.host, tid, first=Place.of(rec))
                if len(self.threads) > 2 * KEEP_QUIET_THREADS:
                    self._forget_quiet_threads()
            th.records += 1
            th.last_line = rec.line
            th.last_time = t
        kind = rec.kind
        if kind in self.PROBES:
            self.saw_rpc_probe = self.saw_rpc_probe or kind.startswith("RPC_")
            getattr(self, "_p_" + kind)(rec)
            return
        if kind == "error":
            self._error(rec)
            return
        func = rec.func
        if func in self.FUNCS:
            self._func(rec, func)
        elif kind == "job" or kind == "phase" or kind == "thread_job":
            self._func(rec, func)
        elif func is not None and func.startswith("remoteDispatch") and func.endswith("Helper"):
            self._dispatch_helper(rec)

    # ------------------------------------------------------------ bounded memory
    def _forget_uneventful(self):
        """Keep the newest KEEP_UNEVENTFUL closed, uneventful connections; older ones are
        only counted (a log of days has hundreds of thousands of short virsh clients)."""
        old = [c for c in self.connections if getattr(c, "uneventful", False)]
        drop = {id(c) for c in old[:len(old) - KEEP_UNEVENTFUL]}
        self.connections = [c for c in self.connections if id(c) not in drop]
        self.forgotten_connections += len(drop)
        self._uneventful = len(old) - len(drop)

    def _forget_quiet_threads(self):
        """Keep the threads of migrations and deaths and the newest KEEP_QUIET_THREADS others
        (a long log of a busy daemon sees a new worker thread id every few seconds)."""
        keep = {m.tid for m in self.migrations} | {d.tid for d in self.deaths}
        others = sorted((t for t in self.threads.values() if t.tid not in keep),
                        key=lambda t: t.last_line or 0)
        for t in others[:len(others) - KEEP_QUIET_THREADS]:
            del self.threads[t.tid]
            self.forgotten_threads += 1
            for per_thread in (self._open_uri, self._setka, self._thread_client, self._thread_dom,
                               self._thread_mig, self._pending_error_death):
                per_thread.pop(t.tid, None)

    # ------------------------------------------------------------ helpers
    def _new_conn(self, rec, direction, client, sock=None) -> Connection:
        self._nconn += 1
        c = Connection(id=f"{self.host}/c{self._nconn}", host=self.host, direction=direction,
                       client=client, created=Place.of(rec) if rec is not None else None, sock=sock)
        if sock and sock in self._sockets:
            s = self._sockets[sock]
            c.local_addr, c.remote_addr = s.get("localAddr"), s.get("remoteAddr")
        self.connections.append(c)
        return c

    def _lookup_client(self, client) -> Connection | None:
        return self._clients.get(client) or self._servers.get(client)

    def _orphan(self, rec, client) -> Connection:
        """A pointer whose creation is not in this log (it starts too late)."""
        c = self._new_conn(None, "unknown", client)
        c.notes.append("created before this log starts")
        self._clients[client] = c
        return c

    def _new_migration(self, rec, role) -> Migration:
        self._nmig += 1
        m = Migration(id=f"{self.host}/m{self._nmig}", host=self.host, path=rec.path, role=role,
                      start=rec.time, started=Place.of(rec), tid=rec.tid)
        self.migrations.append(m)
        return m

    def _midway(self, rec, role, name) -> Migration | None:
        """A migration whose start is not in this log (rotated or cut): first seen through
        a phase, close callback or job end.  Made once, and said so."""
        if not name:
            return None
        mig = self._active.get((role, name))
        if mig is None:
            mig = self._new_migration(rec, role)
            mig.domain = name
            mig.start, mig.started = None, None
            mig.notes.append("started before this log starts: its API call and flags are not in the log")
            self._active[(role, name)] = mig
        if rec.tid is not None and rec.tid not in self._thread_mig:
            self._thread_mig[rec.tid] = mig
        return mig

    def _ev(self, obj, rec, kind: K, note=""):
        obj.evidence.append(Evidence.of(rec, note, kind))

    # ------------------------------------------------------------ RPC probes
    def _p_RPC_SOCKET_NEW(self, rec):
        f = rec.fields
        self._sockets[f.get("sock")] = f

    def _p_RPC_SOCKET_DISPOSE(self, rec):
        self._sockets.pop(rec.fields.get("sock"), None)

    def _p_RPC_CLIENT_NEW(self, rec):
        f = rec.fields
        client = f.get("client")
        c = self._new_conn(rec, "outgoing", client, f.get("sock"))
        self._clients[client] = c
        self._ev(c, rec, K.CONNECTION_CREATED, "outgoing connection created")
        opened = self._open_uri.pop(rec.tid, None)
        if opened is not None:
            c.uri = opened[0]
            c.purpose = "connection"
            c.evidence.append(_noted(opened[1], "the URI this connection was opened for", K.CONNECTION_URI))
            mig = self._thread_mig.get(rec.tid)
            if mig is not None and mig.role == "source" and mig.ended is None and mig.p2p \
                    and mig.dconnuri and opened[0] == mig.dconnuri:
                self._link_dconn(mig, c)
        else:
            c.purpose = "internal"
            c.notes.append("not opened through virConnectOpen*: a daemon-internal client (virtlogd, virtlockd, ...)")

    def _p_RPC_SERVER_CLIENT_NEW(self, rec):
        f = rec.fields
        client = f.get("client")
        c = self._new_conn(rec, "incoming", client, f.get("sock"))
        self._servers[client] = c
        self._ev(c, rec, K.CONNECTION_CREATED, "incoming connection created")

    def _dispose(self, rec, table):
        client = rec.fields.get("client")
        c = table.pop(client, None)
        if c is not None:
            c.disposed = Place.of(rec)
            if c.migration is None and c.purpose not in ("dconn", "peer-daemon") and not any(
                    t.count_to_death == 0 for t in c.ticks):
                # an uneventful connection: keep its summary, not its lines, so memory stays
                # bounded on logs with tens of thousands of clients
                c.evidence = c.evidence[:1]
                c.last_received_text = None
                c.uneventful = True
                self._uneventful += 1
                if self._uneventful > 2 * KEEP_UNEVENTFUL:
                    self._forget_uneventful()
            if c.ka and self._kas.get(c.ka) is c:
                del self._kas[c.ka]
            if c.conn and self._conns.get(c.conn) is c:
                del self._conns[c.conn]
        self._ka_config.pop(client, None)

    def _p_RPC_CLIENT_DISPOSE(self, rec):
        self._dispose(rec, self._clients)

    def _p_RPC_SERVER_CLIENT_DISPOSE(self, rec):
        self._dispose(rec, self._servers)

    def _p_RPC_KEEPALIVE_NEW(self, rec):
        f = rec.fields
        c = self._lookup_client(f.get("client"))
        if c is not None:
            c.ka = f.get("ka")
            self._kas[c.ka] = c
            cfg = self._ka_config.get(c.client)
            if cfg and c.direction == "incoming":
                c.keepalive_interval, c.keepalive_count = cfg

    def _ka_conn(self, f) -> Connection | None:
        client = f.get("client")
        c = self._lookup_client(client)
        if c is None and f.get("ka") in self._kas:
            c = self._kas[f.get("ka")]
        return c

    def _bridge(self, rec, c):
        """virConnectSetKeepAlive: conn=D just before, in the same thread: D is this client."""
        pend = self._setka.pop(rec.tid, None)
        if pend is None or c is None:
            return
        d, interval, count, sev = pend
        if rec.time is not None and sev.time is not None and rec.time - sev.time > 1.0:
            return
        c.conn = d
        self._conns[d] = c
        if c.direction == "outgoing":
            c.keepalive_interval, c.keepalive_count = interval, count
        c.evidence.append(_noted(sev, f"virConnectSetKeepAlive: the connection's virConnect pointer is {d}",
                                 K.CONNECTION_POINTER))
        mig = self._thread_mig.get(rec.tid)
        if mig is not None and mig.role == "source" and (mig.dconn is None or mig.dconn is c):
            self._link_dconn(mig, c)

    def _p_RPC_KEEPALIVE_START(self, rec):
        self.saw_keepalive_probe = True
        f = rec.fields
        c = self._ka_conn(f)
        if c is None:
            c = self._orphan(rec, f.get("client"))
        c.ka = c.ka or f.get("ka")
        self._kas[c.ka] = c
        c.keepalive_started = Place.of(rec)
        iv, cnt = _int(f.get("interval")), _int(f.get("count"))
        if iv:  # the server side prints 0/0; its values come from virKeepAliveNew
            c.keepalive_interval, c.keepalive_count = iv, cnt
        self._ev(c, rec, K.KEEPALIVE_STARTED, "keepalive started")
        self._bridge(rec, c)

    def _p_RPC_KEEPALIVE_STOP(self, rec):
        f = rec.fields
        c = self._ka_conn(f)
        if c is not None:
            c.keepalive_stopped = Place.of(rec)
            self._bridge(rec, c)

    def _p_RPC_KEEPALIVE_DISPOSE(self, rec):
        self._kas.pop(rec.fields.get("ka"), None)

    def _p_RPC_KEEPALIVE_SEND(self, rec):
        f = rec.fields
        c = self._ka_conn(f)
        if c is not None and f.get("proc") == "1":
            c.pings_sent += 1

    def _p_RPC_KEEPALIVE_RECEIVED(self, rec):
        f = rec.fields
        c = self._ka_conn(f)
        if c is not None:
            if f.get("proc") == "2":
                c.pongs_received += 1
            else:
                c.pings_received += 1
            c.last_received, c.last_received_line, c.last_received_text = rec.time, rec.line, rec.raw

    def _p_RPC_CLIENT_MSG_RX(self, rec):
        f = rec.fields
        c = self._clients.get(f.get("client"))
        if c is not None:
            c.last_received, c.last_received_line, c.last_received_text = rec.time, rec.line, rec.raw
            if f.get("proc") == REMOTE_PROC_CONNECT_CLOSE and f.get("type") == "1" and f.get("prog") == REMOTE_PROGRAM:
                # the reply to our own virConnectClose: the end of file that follows is the
                # peer closing the socket as asked, not a failure
                c.close_asked = Evidence.of(rec, "the peer's reply to this side's own virConnectClose",
                                            K.CLOSE_ACKNOWLEDGED)

    def _p_RPC_SERVER_CLIENT_MSG_RX(self, rec):
        c = self._servers.get(rec.fields.get("client"))
        if c is not None:
            c.last_received, c.last_received_line, c.last_received_text = rec.time, rec.line, rec.raw

    def _p_RPC_KEEPALIVE_TIMEOUT(self, rec):
        self.saw_keepalive_probe = True
        f = rec.fields
        ctd, idle = _int(f.get("countToDeath")), _int(f.get("idle"))
        client = f.get("client")
        c = self._ka_conn(f)
        if c is None:
            c = self._orphan(rec, client)
            c.ka = f.get("ka")
            self._kas[c.ka] = c
        if len(c.ticks) >= MAX_TICKS and ctd is not None and ctd >= c.ticks[-1].count_to_death:
            # a long-lived connection: keep memory bounded by dropping the ticks of the
            # silences before this one (a new silence: the peer's message reset the counter)
            c.ticks = []
        c.tick_count += 1
        c.ticks.append(Tick(rec.path, rec.line, rec.time, ctd if ctd is not None else -1, idle or 0,
                            rec.raw.split("\n", 1)[0].rstrip("\r")))
        if c.keepalive_interval is None and ctd and idle and len(c.ticks) == 1:
            # the first tick of a silence prints the configured count and one interval of idleness
            # (the server side's START line prints 0/0)
            c.keepalive_interval, c.keepalive_count = idle, ctd
            c.notes.append("keepalive interval and count read from its first timer tick")
        if ctd == 0:
            d = KeepaliveDeath(self.host, rec.path, rec.line, rec.time, rec.tid, client, f.get("ka"),
                               idle, connection=c)
            self._ev(d, rec, K.KEEPALIVE_DEATH, "keepalive timer reached countToDeath=0: the peer sent nothing for "
                             f"{idle} s")
            self.deaths.append(d)
            self._pending_error_death[rec.tid] = d

    # ------------------------------------------------------------ QEMU monitor
    def _p_QEMU_MONITOR_RECV_EVENT(self, rec):
        msg = rec.message
        if '"MIGRATION' not in msg:
            return
        m = _STATUS_EVENT.search(msg)
        if not m:
            return
        name = self._mons.get(rec.fields.get("mon"))
        mig = self._find_active(name)
        if mig is None:
            return
        if m.group(1) == "MIGRATION_PASS":
            mig.passes = max(mig.passes, _int(m.group(3), 0))

    def _p_QEMU_MONITOR_RECV_REPLY(self, rec):
        msg = rec.message
        stats = '"ram"' in msg and '"status"' in msg
        if not stats and '"downtime-limit"' not in msg:
            return
        name = self._mons.get(rec.fields.get("mon"))
        mig = self._find_active(name)
        if mig is None:
            return
        try:
            reply = json.loads(rec.fields.get("reply", ""))["return"]
        except (ValueError, KeyError, TypeError):
            return
        if not stats:
            # query-migrate-parameters: the downtime the migration must fit in to complete
            limit = reply.get("downtime-limit") if isinstance(reply, dict) else None
            if isinstance(limit, (int, float)):
                mig.downtime_limit = DowntimeLimit(limit, Evidence.of(rec, f"QEMU's downtime limit: {limit} ms",
                                                                     K.QEMU_DOWNTIME_LIMIT))
            return
        ram = reply.get("ram") or {}
        sample = {
            "time": rec.time, "line": rec.line, "status": reply.get("status"),
            "total_time_ms": reply.get("total-time"), "expected_downtime_ms": reply.get("expected-downtime"),
            "transferred": ram.get("transferred"), "remaining": ram.get("remaining"),
            "total": ram.get("total"), "mbps": ram.get("mbps"),
            "dirty_pages_rate": ram.get("dirty-pages-rate"), "page_size": ram.get("page-size"),
            "dirty_sync_count": ram.get("dirty-sync-count"),
            "cpu_throttle": reply.get("cpu-throttle-percentage"),
        }
        prev = mig.stats[-1] if mig.stats else None
        mig.stats.append(sample)
        mig.last_stats = Evidence.of(rec, "QEMU's newest transfer statistics", K.QEMU_STATS)
        if prev is None or sample["transferred"] is None or sample["transferred"] != prev.get("transferred"):
            mig.stalled_since = None
        elif mig.stalled_since is None and prev.get("line") is not None:
            mig.stalled_since = Evidence.of(rec, "QEMU's statistics: nothing more transferred since the reply before",
                                           K.QEMU_STATS_STALLED)
        if len(mig.stats) > MAX_STATS:
            del mig.stats[1::2]     # hours of polling: keep the shape over time, in bounded memory
        sync = sample["dirty_sync_count"]
        if sync is not None and sample["status"] == "active" and (not mig.syncs or mig.syncs[-1].sync_count != sync):
            # the first sample after QEMU synced the dirty bitmap: "remaining" is then what the
            # guest dirtied during the pass before, the measure of convergence
            note = (f"after pass {sync - 1} over guest memory: {sample['remaining']} bytes dirty again"
                    if sync > 1 else "the first pass over guest memory")
            mig.syncs.append(MemoryPass(sync, sample, Evidence.of(rec, note, K.QEMU_MEMORY_PASS)))
            if len(mig.syncs) > MAX_SYNCS:
                del mig.syncs[1]

    def _find_active(self, name):
        if name is None:
            return None
        return self._active.get(("source", name)) or self._active.get(("destination", name))

    # ------------------------------------------------------------ errors
    def _error(self, rec):
        e = ErrorLine.of(rec)
        self.errors.append(e)
        tid = rec.tid
        text = e.text
        d = self._pending_error_death.get(tid)
        if d is not None and "keepalive timeout" in text and rec.line - d.line < 20:
            self._ev(d, rec, K.KEEPALIVE_ERROR)
            del self._pending_error_death[tid]
        elif "connection closed due to keepalive timeout" in text and rec.func and "KeepAlive" in rec.func:
            # no RPC_KEEPALIVE_TIMEOUT before it: RPC probes are filtered out of this log
            d = KeepaliveDeath(self.host, rec.path, rec.line, rec.time, tid, None, None, None,
                               connection=None, confidence="medium")
            d.notes.append("RPC probes are filtered out of this log (no RPC_KEEPALIVE_TIMEOUT line): "
                           "the dead client pointer is not known; the connection is found from the "
                           "close callback that follows")
            self._ev(d, rec, K.KEEPALIVE_DEATH_DECLARED, "keepalive death declared")
            self.deaths.append(d)
            self._pending_error_death[tid] = d
        mig = self._thread_mig.get(tid)
        if mig is not None and mig.ended is not None:
            mig = None          # the worker moved on to other calls
        if mig is None:
            name = self._thread_dom.get(tid)
            mig = self._find_active(name) if name else None
            if mig is None:
                m = _CONTROLLING_CLOSED.search(text)
                if m:
                    mig = self._find_active(m.group(1))
        if mig is not None:
            if rec.level == "error":
                mig.errors.append(e)
            else:
                mig.warnings.append(e)

    # ------------------------------------------------------------ dispatch
    def _dispatch_helper(self, rec):
        client = rec.fields.get("client")
        api = rec.func[: -len("Helper")]
        self._thread_client[rec.tid] = client
        c = self._servers.get(client)
        if c is not None:
            if len(c.apis) < 12 and api not in c.apis:
                c.apis.append(api)
            if c.purpose == "unknown":
                c.purpose = "management"
        if "AbortJob" in api:
            self.aborts.append(AbortRequest(Evidence.of(rec, "a client asked to abort the domain's job", K.ABORT_REQUESTED),
                                            client))
        th = self.threads.get(rec.tid)
        if th is not None:
            th.jobs.append({"api": api, "line": rec.line, "time": rec.time, "client": client, "ret": None})

    def _func(self, rec, func):
        h = getattr(self, "_f_" + func, None)
        if h is not None:
            h(rec)
            return
        kind = rec.kind
        if kind == "job":
            self._job(rec)
        elif kind == "phase":
            self._phase(rec)
        elif kind == "thread_job":
            self._thread_job(rec)
        elif func in SOURCE_APIS:
            self._api_source(rec)
        elif func in DEST_APIS:
            self._api_dest(rec)
        elif func in CLIENT_APIS:
            self._api_client(rec)
        elif func in P2P_FUNCS:
            self._p2p(rec)
        elif func in P2P3_FUNCS:
            self._p2p3(rec)
        elif func in SRC_PERFORM_FUNCS:
            self._src_perform(rec)
        elif func in CONN_CLOSED_FUNCS:
            self._conn_closed(rec)

    # -- migrations
    def _params_line(self, rec) -> bool:
        """params["key"]=(type)value lines logged by the *Params APIs after their entry line."""
        msg = rec.message
        if not msg.startswith("params["):
            return False
        mig = self._thread_mig.get(rec.tid)
        if mig is None:
            return True
        key, _, rest = msg[len('params["'):].partition('"]=')
        value = rest.split(")", 1)[1] if rest.startswith("(") and ")" in rest else rest
        if key == "migrate_uri":
            mig.migrate_uri = mig.migrate_uri or value
        elif key == "bandwidth":
            mig.bandwidth = mig.bandwidth or value
        elif key == "destination_name":
            mig.notes.append(f"renamed on the destination to {value}")
        elif key == "destination_xml" and mig.uuid is None:
            m = _XML_UUID.search(value)
            if m:
                mig.uuid = m.group(1)
            m = _XML_NAME.search(value)
            if m and mig.domain is None:
                mig.domain = m.group(1)
        return True

    def _api_source(self, rec):
        if self._params_line(rec):
            return
        f = rec.fields
        tid = rec.tid
        mig = self._thread_mig.get(tid)
        name = f.get("domain")
        active = self._active.get(("source", name)) if name else None
        if active is not None and active.ended is None:
            # client-managed migrations call Begin3, Perform3 and Confirm3 from different
            # worker threads: they are one migration while its async job lives
            mig = active
            self._thread_mig[tid] = mig
        elif mig is None or mig.ended is not None or (name and mig.domain and name != mig.domain):
            mig = self._new_migration(rec, "source")
            self._thread_mig[tid] = mig
        mig.api = mig.api or rec.func
        mig.domain = mig.domain or name
        mig.uuid = mig.uuid or f.get("uuid")
        if f.get("flags"):
            mig.flags = _int(f.get("flags"))
        uri = f.get("dconnuri")
        if uri and uri not in ("<null>", "(null)"):
            mig.dconnuri = uri
        if mig.controlling_client is None:
            mig.controlling_client = self._thread_client.get(tid)
            mig.controlling_conn = self._servers.get(mig.controlling_client)
        self._ev(mig, rec, K.MIGRATION_API_CALLED, "migration API called")
        if mig.domain:
            self._active[("source", mig.domain)] = mig
            self._thread_dom[tid] = mig.domain

    def _api_dest(self, rec):
        if self._params_line(rec):
            return
        f = rec.fields
        tid = rec.tid
        mig = self._new_migration(rec, "destination")
        self._thread_mig[tid] = mig
        mig.api = rec.func
        if f.get("flags"):
            mig.flags = _int(f.get("flags"))
        mig.controlling_client = self._thread_client.get(tid)
        c = mig.controlling_conn = self._servers.get(mig.controlling_client)
        if c is not None:
            c.migration = mig.id
            # a peer-to-peer Prepare comes from the source daemon; otherwise from the
            # management client that drives the migration (virsh, nova)
            c.purpose = "peer-daemon" if mig.p2p else "management"
        self._ev(mig, rec, K.MIGRATION_API_CALLED, "incoming migration API called")

    def _api_client(self, rec):
        if self._params_line(rec):
            return
        f = rec.fields
        mig = self._new_migration(rec, "client")
        self._thread_mig[rec.tid] = mig
        mig.api = rec.func
        mig.domain, mig.uuid = f.get("domain"), f.get("uuid")
        mig.flags = _int(f.get("flags"))
        uri = f.get("dconnuri") or f.get("duri")
        if uri and uri not in ("<null>", "(null)"):
            mig.dconnuri = uri
        self._ev(mig, rec, K.MIGRATION_API_CALLED, "migration requested by this client")
        if mig.domain:
            self._active[("client", mig.domain)] = mig

    def _p2p(self, rec):
        f = rec.fields
        mig = self._thread_mig.get(rec.tid)
        if mig is None:
            return
        mig.vm = f.get("vm") or mig.vm
        uri = f.get("uri")
        if uri and uri not in ("<null>", "(null)"):
            mig.migrate_uri = uri
        if f.get("resource") not in (None, "0"):
            mig.bandwidth = f.get("resource")
        if mig.flags is None and f.get("flags"):
            mig.flags = _int(f.get("flags"))
        if not mig.dconnuri and f.get("dconnuri"):
            mig.dconnuri = f.get("dconnuri")

    def _p2p3(self, rec):
        f = rec.fields
        mig = self._thread_mig.get(rec.tid)
        msg = rec.message
        if mig is None:
            return
        d = f.get("dconn")
        if d:
            c = self._conns.get(d)
            if c is None and mig.dconn is not None and mig.dconn.conn is None:
                c = mig.dconn
                c.conn = d
                self._conns[d] = c
            if c is None:
                # keepalive/RPC lines missing: the dconn is known only by its virConnect pointer
                c = self._new_conn(rec, "outgoing", None)
                c.conn, c.uri, c.purpose = d, f.get("dconnuri") or mig.dconnuri, "dconn"
                c.created = mig.dconn_open or Place.of(rec)
                c.notes.append("RPC probes missing: the virNetClient pointer of this connection is not known")
                self._conns[d] = c
            self._link_dconn(mig, c)
            self._ev(mig, rec, K.DCONN_LINKED, f"the migration's destination connection is {d}")
            if f.get("bandwidth") not in (None, "0"):
                mig.bandwidth = mig.bandwidth or f.get("bandwidth")
            uri = f.get("uri")
            if uri and uri not in ("<null>", "(null)") and not mig.migrate_uri:
                mig.migrate_uri = uri
            return
        m = _FINISH3.match(msg)
        if m:
            mig.ret = _int(m.group(2))
            if mig.ret is not None and mig.ret < 0:
                self._ev(mig, rec, K.PERFORM_FAILED, "Perform failed; Finish3 is called with ret=-1")
        elif msg.startswith("Perform3 ") and " uri=" in msg:
            mig.migrate_uri = mig.migrate_uri or msg.split(" uri=", 1)[1].strip()

    def _src_perform(self, rec):
        f = rec.fields
        mig = self._thread_mig.get(rec.tid)
        if mig is None:
            mig = self._new_migration(rec, "source")
            self._thread_mig[rec.tid] = mig
            mig.api = rec.func
        mig.vm = f.get("vm") or mig.vm
        if mig.flags is None and f.get("flags"):
            mig.flags = _int(f.get("flags"))
        if not mig.dconnuri and f.get("dconnuri") not in (None, "<null>", "(null)"):
            mig.dconnuri = f.get("dconnuri")
        uri = f.get("uri")
        if uri and uri not in ("<null>", "(null)") and not mig.migrate_uri:
            mig.migrate_uri = uri
        if f.get("resource") not in (None, "0") and not mig.bandwidth:
            mig.bandwidth = f.get("resource")

    def _link_dconn(self, mig, c):
        if mig.dconn is None or mig.dconn is c:
            mig.dconn = c
            c.purpose = "dconn"
            c.migration = mig.id
            if not c.uri:
                c.uri = mig.dconnuri

    def _conn_closed(self, rec):
        """qemuMigrationSrcConnectionClosed: conn=D, reason=N, vm=NAME."""
        f = rec.fields
        d = f.get("conn")
        reason = _int(f.get("reason"))
        name = f.get("vm")
        c = self._conns.get(d)
        mig = self._active.get(("source", name)) if name else None
        if mig is None and name:
            mig = self._midway(rec, "source", name)
        if c is None and mig is not None and mig.dconn is not None:
            c = mig.dconn
        if c is None:
            # the connection was set up before the log starts: it is the one whose death
            # (or close) was just logged in this thread
            for death in reversed(self.deaths[-3:]):
                if death.tid == rec.tid and rec.line - death.line < 40 and death.connection is not None \
                        and death.connection.conn is None:
                    c = death.connection
                    c.conn = d
                    self._conns[d] = c
                    c.notes.append(f"its virConnect pointer {d} is known from the close callback only")
                    break
        if c is not None:
            if c.close_reason is None:
                c.close_reason = reason
                c.closed = Place.of(rec)
            self._ev(c, rec, K.CLOSE_CALLBACK, "the migration's close callback ran: its destination connection closed")
        if mig is not None:
            self._ev(mig, rec, K.DCONN_CLOSED, f"destination connection closed (reason={reason})")
            if c is not None and mig.dconn is None:
                self._link_dconn(mig, c)
        # a death declared without probes (3:rpc filter) is resolved here
        dd = self._pending_error_death.get(rec.tid)
        if dd is not None and dd.connection is None and reason == 2:
            dd.connection = c
            self._ev(dd, rec, K.DEATH_NAMED_BY_CLOSE_CALLBACK, "the close callback names the dead connection")
            del self._pending_error_death[rec.tid]
        for death in reversed(self.deaths[-3:]):
            if death.connection is not None and death.connection is c:
                self._ev(death, rec, K.DEATH_NAMED_BY_CLOSE_CALLBACK, "the close callback names the connection and domain")
                break

    def _f_virConnectOpenAuth(self, rec):
        name = rec.fields.get("name")
        if name:
            self._open_uri[rec.tid] = (name, Evidence.of(rec))
            mig = self._thread_mig.get(rec.tid)
            if mig is not None and mig.role == "source" and mig.ended is None and mig.p2p \
                    and (not mig.dconnuri or mig.dconnuri == name):
                mig.dconnuri = name
                mig.dconn_open = Place.of(rec)
                self._ev(mig, rec, K.DCONN_OPENING, "opening the connection to the destination daemon")

    _f_virConnectOpen = _f_virConnectOpenAuth
    _f_virConnectOpenReadOnly = _f_virConnectOpenAuth

    def _f_virConnectSetKeepAlive(self, rec):
        f = rec.fields
        d = f.get("conn")
        self._setka[rec.tid] = (d, _int(f.get("interval")), _int(f.get("count")), Evidence.of(rec))
        mig = self._thread_mig.get(rec.tid)
        if mig is not None and mig.role == "source" and mig.dconn is None and mig.dconn_open is not None:
            # without RPC probes this is the only line that shows the dconn being set up
            if not self.saw_rpc_probe:
                c = self._conns.get(d)
                if c is None:
                    c = self._new_conn(rec, "outgoing", None)
                    c.created = mig.dconn_open
                    c.conn, c.uri = d, mig.dconnuri
                    c.keepalive_interval, c.keepalive_count = _int(f.get("interval")), _int(f.get("count"))
                    c.notes.append("RPC probes are filtered out of this log: the connection is known "
                                   "by its virConnect pointer only")
                    self._conns[d] = c
                    self._ev(c, rec, K.CONNECTION_POINTER, "virConnectSetKeepAlive on the destination connection")
                self._link_dconn(mig, c)

    def _f_virKeepAliveNew(self, rec):
        f = rec.fields
        client = f.get("client")
        if client and "interval" in f:
            iv, cnt = _int(f.get("interval")), _int(f.get("count"))
            if iv is not None and iv > 0:
                self._ka_config[client] = (iv, cnt)

    def _f_virNetClientCloseLocked(self, rec):
        f = rec.fields
        c = self._clients.get(f.get("client"))
        if c is not None and "reason" in f:
            c.close_reason = _int(f.get("reason"))
            c.closed = Place.of(rec)
            # the socket errors logged just before the close say how it broke
            if rec.time is not None:
                c.close_errors = [e for e in list(self.errors)[-20:]
                                  if e.time is not None and rec.time - e.time < 0.5]
            if c.close_asked is not None:
                c.notes.append("closed by this side: the peer acknowledged its virConnectClose first")
            self._ev(c, rec, K.CONNECTION_CLOSED, "connection closed")
            for d in reversed(self.deaths[-3:]):
                if d.connection is c:
                    self._ev(d, rec, K.DEATH_CONNECTION_CLOSED,
                             "closed with reason=2 (keepalive)" if c.close_reason == 2 else "closed")
                    break

    def _f_virNetServerClientCloseLocked(self, rec):
        c = self._servers.get(rec.fields.get("client"))
        if c is not None and c.closed is None:
            c.closed = Place.of(rec)
            self._ev(c, rec, K.CONNECTION_CLOSED, "connection closed")
            for d in reversed(self.deaths[-3:]):
                if d.connection is c:
                    self._ev(d, rec, K.DEATH_CONNECTION_CLOSED, "closed")
                    break

    def _f_qemuDomainObjEnterMonitorInternal(self, rec):
        m = _MON.match(rec.message)
        if m:
            mon, vm, name = m.groups()
            self._mons[mon] = name
            self._vms[vm] = name
            if rec.tid is not None:
                self._thread_dom[rec.tid] = name

    def _f_qemuDomainObjEnterRemote(self, rec):
        m = _REMOTE.match(rec.message)
        if m and rec.tid is not None:
            self._thread_dom[rec.tid] = m.group(2)

    def _f_qemuProcessHandleMigrationStatus(self, rec):
        m = _MIGR_STATUS.match(rec.message)
        if not m:
            return
        vm, name, status = m.groups()
        if rec.tid is not None:
            self._thread_dom[rec.tid] = name
        mig = self._find_active(name)
        if mig is not None:
            mig.qemu_status.append(QemuStatus(status, rec.time, rec.line, rec.text))
            if status in ("failed", "cancelled"):
                kind = K.QEMU_MIGRATION_FAILED if status == "failed" else K.QEMU_MIGRATION_CANCELLED
                self._ev(mig, rec, kind, f"QEMU reports the migration {status}")

    def _f_qemuProcessHandleMigrationPass(self, rec):
        m = _MIGR_PASS.match(rec.message)
        if m:
            mig = self._find_active(m.group(2))
            if mig is not None:
                mig.passes = max(mig.passes, int(m.group(3)))

    def _f_qemuProcessAutoDestroy(self, rec):
        m = _AUTODESTROY.match(rec.message)
        if m:
            mig = self._active.get(("destination", m.group(1)))
            if mig is not None:
                if MigrationFact.AUTODESTROYED not in mig.facts:
                    self._ev(mig, rec, K.DOMAIN_AUTODESTROYED,
                             "the incoming domain is destroyed because its controlling connection closed")
                    mig.mark(MigrationFact.AUTODESTROYED)

    def _f_qemuProcessStop(self, rec):
        """'Shutting down vm=0x.. name=NAME id=N pid=P, reason=R, asyncJob=..': a QEMU went away."""
        m = _PROCESS_STOP.search(rec.message)
        if not m:
            return
        name, reason = m.group(1), m.group(2)
        mig = self._find_active(name)
        if mig is not None and reason in QEMU_STOP_KINDS:
            self._ev(mig, rec, QEMU_STOP_KINDS[reason], f"the domain's QEMU process stopped (reason={reason})")
            if reason == "crashed":
                mig.mark(MigrationFact.QEMU_CRASHED)

    def _f_qemuProcessHandleMonitorEOF(self, rec):
        """'Received EOF on 0x.. 'NAME'': the moment QEMU's monitor hung up (the stop that
        libvirt logs for it may come seconds later, from its event thread)."""
        m = _MONITOR_HUP.search(rec.message)
        if m:
            mig = self._find_active(m.group(1))
            if mig is not None:
                self._ev(mig, rec, K.MONITOR_HANGUP, "QEMU's monitor hung up: the QEMU process went away")

    def _f_processMonitorEOFEvent(self, rec):
        m = _MONITOR_EOF.search(rec.message)
        if m:
            mig = self._find_active(m.group(1))
            if mig is not None:
                self._ev(mig, rec, K.MONITOR_EOF, "QEMU's monitor closed without a shutdown: QEMU died")

    def _f_qemuMigrationSrcCancel(self, rec):
        mig = self._thread_mig.get(rec.tid)
        if mig is not None and rec.message.startswith("Cancelling"):
            self._ev(mig, rec, K.MIGRATION_CANCELLING, "libvirt cancels the QEMU migration")

    def _f_qemuMigrationAnyConnectionClosed(self, rec):
        f = rec.fields
        name = f.get("vm")
        mig = self._find_active(name) if name else None
        if name and rec.tid is not None:
            self._thread_dom[rec.tid] = name
        if mig is not None and MigrationFact.CONTROLLING_CONNECTION_CLOSED not in mig.facts:
            self._ev(mig, rec, K.CONTROLLING_CONNECTION_CLOSED, "the connection controlling this migration closed")
            mig.mark(MigrationFact.CONTROLLING_CONNECTION_CLOSED)

    def _f_qemuMigrationDstPrepareFresh(self, rec):
        f = rec.fields
        mig = self._thread_mig.get(rec.tid)
        if mig is not None and mig.role == "destination":
            mig.domain = mig.domain or f.get("name")
            if mig.flags is None and f.get("flags"):
                mig.flags = _int(f.get("flags"))
            if mig.domain:
                self._active[("destination", mig.domain)] = mig
                self._thread_dom[rec.tid] = mig.domain

    def _f_virDomainMigrateFinish3Params(self, rec):
        # destination Finish: runs in another worker; bind it to the migration by its server client
        client = self._thread_client.get(rec.tid)
        for mig in reversed(self.migrations):
            if mig.role == "destination" and mig.ended is None and (
                    mig.controlling_client == client or client is None):
                self._thread_mig[rec.tid] = mig
                self._ev(mig, rec, K.FINISH_CALLED, "Finish called on the destination")
                if rec.fields.get("cancelled") == "1":
                    mig.mark(MigrationFact.FINISH_CANCELLED)
                break

    _f_virDomainMigrateFinish3 = _f_virDomainMigrateFinish3Params

    def _f_virNetServerProgramSendError(self, rec):
        mig = self._thread_mig.get(rec.tid)
        if mig is not None and mig.ended is not None and mig.ret is None:
            mig.ret = -1

    # -- jobs and threads
    def _job(self, rec):
        f = rec.fields
        action = f.get("action", "")
        name = f.get("name")
        vm = f.get("vm")
        tid = rec.tid
        if name and vm:
            self._vms[vm] = name
        if name and tid is not None:
            self._thread_dom[tid] = name
        job = f.get("job")
        if action == "Started async job" and job in ("migration out", "migration in"):
            role = "source" if job == "migration out" else "destination"
            mig = self._thread_mig.get(tid)
            if mig is None or mig.role != role or mig.ended is not None or (mig.domain and mig.domain != name):
                mig = self._new_migration(rec, role)
                self._thread_mig[tid] = mig
                mig.notes.append("started from the async job line (the API entry line is not in the log)")
            mig.domain = mig.domain or name
            mig.vm = vm or mig.vm
            self._active[(role, name)] = mig
            self._ev(mig, rec, K.ASYNC_JOB_STARTED, f"async job '{job}' started")
            self.jobs.append(DomainJob(self.host, rec.path, name, vm, job, True, tid, start=Place.of(rec),
                                       api=f.get("API")))
        elif action == "Stopping async job" and job in ("migration out", "migration in"):
            role = "source" if job == "migration out" else "destination"
            mig = self._active.get((role, name)) or self._midway(rec, role, name)
            self._active.pop((role, name), None)
            if mig is not None:
                mig.end = rec.time
                mig.ended = Place.of(rec)
                self._ev(mig, rec, K.ASYNC_JOB_STOPPED, f"async job '{job}' stopped")
                self._finish(mig)
            for j in reversed(self.jobs):
                if j.job == job and j.domain == name and j.end is None:
                    j.end = Place.of(rec)
                    break
        elif action in ("Started async job", "Started job", "Started agent job"):
            self.jobs.append(DomainJob(self.host, rec.path, name, vm, job or "", action == "Started async job",
                                       tid, start=Place.of(rec)))
        elif action.startswith("Stopping"):
            for j in reversed(self.jobs[-50:]):
                if j.domain == name and j.job == (job or "") and j.end is None:
                    j.end = Place.of(rec)
                    break
        elif action == "Waiting for job" or action == "Waiting for async job":
            mig = self._thread_mig.get(tid)
            if mig is not None:
                self._ev(mig, rec, K.JOB_LOCK_WAIT, "waiting for the domain's job lock")

    def _phase(self, rec):
        f = rec.fields
        if f.get("action") != "set":
            return
        job = f.get("job")
        role = "source" if job == "migration out" else "destination" if job == "migration in" else None
        if role is None:
            return
        mig = self._thread_mig.get(rec.tid)
        if mig is None or mig.role != role:
            name = self._thread_dom.get(rec.tid)
            mig = self._active.get((role, name)) if name else None
            if mig is None:
                # e.g. the event loop running a close callback: the only migration of that role
                live = [m for (r, _), m in self._active.items() if r == role]
                mig = live[0] if len(live) == 1 else None
            if mig is None and name and not live:
                mig = self._midway(rec, role, name)
        if mig is not None:
            mig.phases.append(Phase(f.get("phase"), rec.time, rec.line))

    def _thread_job(self, rec):
        f = rec.fields
        tid = _int(f.get("thread"))
        th = self.threads.get(tid) if tid is not None else None
        if th is None:
            return
        if f.get("worker"):
            th.worker = f.get("worker")
        action = f.get("action")
        if action == "is now running job":
            th.jobs.append({"api": f.get("job"), "line": rec.line, "time": rec.time, "client": None, "ret": None})
        elif action == "finished job":
            ret = _int(f.get("ret"))
            for j in reversed(th.jobs):
                if j["api"] == f.get("job") and j["ret"] is None:
                    j["ret"] = ret
                    j["end_line"] = rec.line
                    break
            mig = self._thread_mig.pop(tid, None)
            if mig is not None and "Migrate" in (f.get("job") or ""):
                if ret is not None and ret < 0:
                    mig.ret = ret
                # a peer-to-peer Perform (or a client's migrate call) is the whole migration;
                # Begin/Prepare/Finish calls are only steps of it
                whole = (mig.role == "source" and mig.p2p and "Perform" in f.get("job", "")) or mig.role == "client"
                if whole and mig.ended is None:
                    mig.ret = ret
                    mig.end, mig.ended = rec.time, Place.of(rec)
                    self._finish(mig)
        elif action == "is running worker":
            th.worker = f.get("job")

    # ------------------------------------------------------------ outcomes
    def _finish(self, mig: Migration):
        """Decide the outcome of a migration whose job has ended."""
        phases = [p.phase for p in mig.phases]
        texts = " | ".join(e.text for e in mig.errors)
        if "canceled by client" in texts or "operation aborted" in texts:
            mig.outcome = "cancelled"
        elif mig.facts & {MigrationFact.CONTROLLING_CONNECTION_CLOSED, MigrationFact.AUTODESTROYED}:
            mig.outcome = "failed"
        elif mig.role == "source" and phases and phases[-1] == "confirm3" and not mig.errors:
            mig.outcome = "succeeded"
        elif mig.role == "source" and any(p in ("confirm3_cancelled",) for p in phases):
            mig.outcome = "failed"
        elif mig.role == "destination" and phases and phases[-1] in ("finish3", "finish") and not mig.errors \
                and MigrationFact.FINISH_CANCELLED not in mig.facts:
            mig.outcome = "succeeded"
        elif mig.errors or (mig.ret is not None and mig.ret < 0) or MigrationFact.FINISH_CANCELLED in mig.facts:
            mig.outcome = "failed"
        elif mig.qemu_status and mig.qemu_status[-1].status == "completed":
            mig.outcome = "succeeded"
        else:
            mig.outcome = "unknown"

    def close(self):
        """End of the stream: migrations still open are decided from what was seen."""
        for mig in self.migrations:
            if mig.ended is None:
                if mig.role == "client":
                    self._finish_client(mig)
                    continue
                st = [q.status for q in mig.qemu_status]
                if mig.errors or "failed" in st or mig.facts & {MigrationFact.FINISH_CANCELLED,
                                                                MigrationFact.AUTODESTROYED}:
                    self._finish(mig)
                    if mig.outcome == "unknown":
                        mig.outcome = "failed"
                elif st and st[-1] == "completed" and mig.role == "destination":
                    mig.outcome = "succeeded"
                else:
                    mig.notes.append("the log ends before this migration's job ended")
                    mig.outcome = "unknown"
                if mig.end is None:
                    mig.end = mig.errors[-1].time if mig.errors else (
                        mig.qemu_status[-1].time if mig.qemu_status else None)
        # who owned each dead connection
        for d in self.deaths:
            c = d.connection
            if c is None:
                d.owner = "unknown"
                continue
            d.owner = c.purpose if c.purpose in ("dconn", "management", "peer-daemon", "internal") else (
                "connection" if c.direction == "outgoing" else "management" if c.direction == "incoming" else "unknown")
            if c.migration:
                d.migration = c.migration
            elif c.direction == "incoming":
                # a management client that drove a migration (non-p2p, or the virsh of a p2p one)
                # the client may be declared dead shortly after the migration failed because of it
                # (the other daemon noticed first): allow one keepalive window after the end
                window = (c.keepalive_interval or 5) * ((c.keepalive_count or 5) + 1) + 5
                for mig in self.migrations:
                    if mig.controlling_client == c.client and mig.start is not None and d.time is not None \
                            and mig.start <= d.time and (mig.end is None or d.time <= mig.end + window):
                        d.migration = mig.id
                        break
            if c.created is None:
                d.notes.append("the connection was created before this log starts")
                d.confidence = "medium"
        # the stream is over: the live maps only served the linking (they would double what a
        # scan worker sends back to its parent, and what analyze keeps)
        for name in self._WORKING:
            getattr(self, name).clear()
        self._last_rec = None

    def _finish_client(self, mig):
        texts = " | ".join(e.text for e in mig.errors)
        if "canceled by client" in texts or "operation aborted" in texts:
            mig.outcome = "cancelled"
        elif mig.errors:
            mig.outcome = "failed"
        else:
            mig.outcome = "unknown"
        if mig.errors:
            mig.end = mig.errors[-1].time


def correlate_records(records, host: str) -> HostCorrelator:
    hc = HostCorrelator(host)
    feed = hc.feed
    for r in records:
        feed(r)
    hc.close()
    return hc
