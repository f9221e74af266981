"""Connections opened through the public API (virConnectOpen*, virConnectSetKeepAlive) and the
API calls the daemon's workers run for their clients."""
from __future__ import annotations

from .migrations import finish
from .objects import AbortRequest, Evidence, EvidenceKind as K, Place
from .reading import Handlers
from .state import as_int, ev, noted
from ..signatures import DISPATCH_UNNAMED
from .threadless import PAIRING_WINDOW

handles = Handlers()

# the calls that say what a client is doing: migrating, aborting, listening for events
# (a debug log has one dispatch line per call of every client: the rest are not read), and
# signatures.DISPATCH_UNNAMED: journal text's dispatch lines do not name their call
DISPATCH_READ = (r"remoteDispatch(?:DomainMigrate[A-Za-z0-9]*|DomainAbortJob[A-Za-z0-9]*|ConnectOpen|"
                 r"ConnectDomainEventCallbackRegisterAny|ConnectDomainEventRegisterAny|DomainGetJobInfo|"
                 r"DomainGetJobStats|)Helper")


@handles(func=("virConnectOpenAuth", "virConnectOpen", "virConnectOpenReadOnly"))
def connect_open(st, rec):
    name = rec.fields.get("name")
    if name:
        t = st.live.thread_of(rec)
        t.open_uri = (name, Evidence.of(rec))
        if rec.tid is None:
            # no thread id: its client is found in order (rpc._client_opened)
            st.live.opens.append((name, t.open_uri[1], st.nread))
        mig = t.migration
        if mig is not None and mig.role == "source" and mig.ended is None and mig.p2p \
                and (not mig.dconnuri or mig.dconnuri == name):
            mig.dconnuri = name
            mig.dconn_open = Place.of(rec)
            ev(mig, rec, K.DCONN_OPENING, "opening the connection to the destination daemon")


@handles(func="virConnectSetKeepAlive")
def set_keepalive(st, rec):
    f = rec.fields
    d = f.get("conn")
    t = st.live.thread_of(rec)
    t.setka = (d, as_int(f.get("interval")), as_int(f.get("count")), Evidence.of(rec))
    if rec.tid is None:
        # no thread id: paired with the keepalive that starts next (see _bridge_threadless)
        st.live.setkas.append(t.setka + (st.nread,))
    mig = t.migration
    if mig is not None and mig.role == "source" and mig.dconn is None and mig.dconn_open is not None:
        # without RPC probes this is the only line that shows the dconn being set up
        if not st.saw_rpc_probe:
            conns = st.live.conns
            c = conns.get(d)
            if c is None:
                c = st.new_conn(rec, "outgoing", None)
                c.created = mig.dconn_open
                c.conn, c.uri = d, mig.dconnuri
                c.keepalive_interval, c.keepalive_count = as_int(f.get("interval")), as_int(f.get("count"))
                c.notes.append("RPC probes are filtered out of this log: the connection is known "
                               "by its virConnect pointer only")
                conns[d] = c
                ev(c, rec, K.CONNECTION_POINTER, "virConnectSetKeepAlive on the destination connection")
            st.link_dconn(mig, c)


def bridge(st, rec, c) -> None:
    """RPC_KEEPALIVE_START/STOP of client c right after virConnectSetKeepAlive(conn=D) in the
    same thread: D is c's virConnect pointer.  Without thread ids: the oldest
    virConnectSetKeepAlive not yet bridged, of the last few records read."""
    if rec.tid is None:
        _bridge_threadless(st, rec, c)
        return
    t = st.live.peek(rec)
    pend = t.setka
    if pend is None:
        return
    t.setka = None
    d, interval, count, sev = pend
    if rec.time is not None and sev.time is not None and rec.time - sev.time > 1.0:
        return
    _bridge(st, c, d, interval, count, sev)
    mig = t.migration
    if mig is not None and mig.role == "source" and (mig.dconn is None or mig.dconn is c):
        st.link_dconn(mig, c)


def _bridge_threadless(st, rec, c) -> None:
    """Without thread ids: the newest virConnectSetKeepAlive not yet bridged, of the last few
    records read (its keepalive starts right after it, with no network round trip between:
    another thread's pair rarely falls in between, while two threads' pairs often overlap)."""
    pending = st.live.setkas
    while pending:
        d, interval, count, sev, seq = pending.pop()
        if st.nread - seq > PAIRING_WINDOW or (rec.time is not None and sev.time is not None
                                               and rec.time - sev.time > 1.0):
            pending.clear()         # the older ones are older still
            return
        _bridge(st, c, d, interval, count, sev)
        # (the migration is linked by the pointer: qemuMigrationSrcPerformPeer2Peer3's dconn=)
        return


def _bridge(st, c, d, interval, count, sev) -> None:
    """The keepalive's connection c is the virConnect d that virConnectSetKeepAlive (sev) set."""
    c.conn = d
    st.live.conns[d] = c
    if c.direction == "outgoing":
        c.keepalive_interval, c.keepalive_count = interval, count
    c.evidence.append(noted(sev, f"virConnectSetKeepAlive: the connection's virConnect pointer is {d}",
                            K.CONNECTION_POINTER))


@handles(func_pattern=DISPATCH_READ)
def dispatch(st, rec):
    """remoteDispatch<Api>Helper: a worker runs a client's call."""
    client = rec.fields.get("client")
    api = rec.func[: -len("Helper")] if rec.func != DISPATCH_UNNAMED else None
    st.live.thread_of(rec).client = client
    c = st.live.servers.get(client)
    if c is not None:
        if api and len(c.apis) < 12 and api not in c.apis:
            c.apis.append(api)
        if c.purpose == "unknown":
            c.purpose = "management"
    if api and "AbortJob" in api:
        st.aborts.append(AbortRequest(Evidence.of(rec, "a client asked to abort the domain's job", K.ABORT_REQUESTED),
                                      client))
    th = st.threads.get(rec.tid)
    if th is not None and api:
        th.jobs.append({"api": api, "line": rec.line, "time": rec.time, "client": client, "ret": None})


@handles(kind="thread_job", message=r"Thread [0-9]+ [^\n]*(?:job remoteDispatchDomainMigrate|is running worker )")
def thread_job(st, rec):
    """'Thread N (worker) is now running job API' / 'finished job API with ret=R' of the
    migration calls, and the worker pools' names."""
    f = rec.fields
    st.saw_util_debug = True        # util.threadjob's debug lines pass this log's filters
    tid = as_int(f.get("thread"))
    th = st.threads.get(tid) if tid is not None else None
    if th is None:
        return
    if f.get("worker"):
        th.worker = f.get("worker")
    action = f.get("action")
    if action == "is now running job":
        th.jobs.append({"api": f.get("job"), "line": rec.line, "time": rec.time, "client": None, "ret": None})
    elif action == "finished job":
        ret = as_int(f.get("ret"))
        for j in reversed(th.jobs):
            if j["api"] == f.get("job") and j["ret"] is None:
                j["ret"] = ret
                j["end_line"] = rec.line
                break
        t = st.live.threads.get(tid)
        mig = t.migration if t is not None else None
        if mig is not None:
            t.migration = None
            if "Migrate" in (f.get("job") or ""):
                if ret is not None and ret < 0:
                    mig.ret = ret
                # a peer-to-peer Perform (or a client's migrate call) is the whole migration;
                # Begin/Prepare/Finish calls are only steps of it
                whole = (mig.role == "source" and mig.p2p and "Perform" in f.get("job", "")) or mig.role == "client"
                if whole and mig.ended is None:
                    mig.ret = ret
                    mig.end, mig.ended = rec.time, Place.of(rec)
                    finish(mig)
    elif action == "is running worker":
        th.worker = f.get("job")
