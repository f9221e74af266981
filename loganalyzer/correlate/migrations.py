"""Migrations: the API calls that start them (by role), the qemu driver's lines that carry
their parameters and their destination connection, their async jobs and phases, and the
outcome decided when their job ends (or the log does)."""
from __future__ import annotations

import re

from .objects import DomainJob, Evidence, EvidenceKind as K, Migration, MigrationFact, Phase, Place
from .reading import Handlers
from .state import as_int, ev
from .threadless import pending_death

handles = Handlers()

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
CONN_CLOSED_FUNCS = {"qemuMigrationSrcConnectionClosed", "qemuMigrationConnectionClosed"}
MIGRATION_JOBS = {"migration out": "source", "migration in": "destination"}
# The RPC procedures of the migration calls, by number (remote_protocol.x; numbers are
# never reused; tests check them against the numbers the catalogue read from the sources)
MIGRATION_PROCS = {
    61: "DOMAIN_MIGRATE_PREPARE", 62: "DOMAIN_MIGRATE_PERFORM", 63: "DOMAIN_MIGRATE_FINISH",
    108: "DOMAIN_MIGRATE_PREPARE2", 109: "DOMAIN_MIGRATE_FINISH2", 148: "DOMAIN_MIGRATE_PREPARE_TUNNEL",
    213: "DOMAIN_MIGRATE_BEGIN3", 214: "DOMAIN_MIGRATE_PREPARE3", 215: "DOMAIN_MIGRATE_PREPARE_TUNNEL3",
    216: "DOMAIN_MIGRATE_PERFORM3", 217: "DOMAIN_MIGRATE_FINISH3", 218: "DOMAIN_MIGRATE_CONFIRM3",
    302: "DOMAIN_MIGRATE_BEGIN3_PARAMS", 303: "DOMAIN_MIGRATE_PREPARE3_PARAMS",
    304: "DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS", 305: "DOMAIN_MIGRATE_PERFORM3_PARAMS",
    306: "DOMAIN_MIGRATE_FINISH3_PARAMS", 307: "DOMAIN_MIGRATE_CONFIRM3_PARAMS",
}
# the phases a job can end in without anything having been migrated
BEFORE_PERFORM = {"source": ("begin3",), "destination": ("prepare",)}
NULL_URIS = (None, "<null>", "(null)")

_FINISH3 = re.compile(r"^Finish3 (0x[0-9a-fA-F]+) ret=(-?\d+)")
_XML_UUID = re.compile(r"<uuid>([0-9a-fA-F-]{32,36})</uuid>")
_XML_NAME = re.compile(r"<name>([^<]+)</name>")


# ------------------------------------------------------------ the API calls, by role
def _params_line(st, rec) -> bool:
    """params["key"]=(type)value lines logged by the *Params APIs after their entry line."""
    msg = rec.message
    if not msg.startswith("params["):
        return False
    mig = st.live.peek(rec).migration
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


@handles(func=SOURCE_APIS)
def api_source(st, rec):
    if _params_line(st, rec):
        return
    f = rec.fields
    live = st.live
    t = live.thread_of(rec)
    mig = t.migration
    name = f.get("domain")
    active = live.active.get(("source", name)) if name else None
    if active is not None and active.ended is None:
        # client-managed migrations call Begin3, Perform3 and Confirm3 from different
        # worker threads: they are one migration while its async job lives
        mig = t.migration = active
    elif mig is None or mig.ended is not None or (name and mig.domain and name != mig.domain):
        mig = t.migration = st.new_migration(rec, "source")
    mig.api = mig.api or rec.func
    mig.domain = mig.domain or name
    mig.uuid = mig.uuid or f.get("uuid")
    if f.get("flags"):
        mig.flags = as_int(f.get("flags"))
    uri = f.get("dconnuri")
    if uri and uri not in NULL_URIS:
        mig.dconnuri = uri
    if mig.controlling_client is None:
        mig.controlling_client = t.client
        mig.controlling_conn = live.servers.get(mig.controlling_client)
    ev(mig, rec, K.MIGRATION_API_CALLED, "migration API called")
    if mig.domain:
        live.active[("source", mig.domain)] = mig
        t.domain = mig.domain


@handles(func=DEST_APIS)
def api_destination(st, rec):
    if _params_line(st, rec):
        return
    f = rec.fields
    t = st.live.thread_of(rec)
    mig = t.migration = st.new_migration(rec, "destination")
    mig.api = rec.func
    if f.get("flags"):
        mig.flags = as_int(f.get("flags"))
    mig.controlling_client = t.client
    c = mig.controlling_conn = st.live.servers.get(mig.controlling_client)
    if c is not None:
        c.migration = mig.id
        # a peer-to-peer Prepare comes from the source daemon; otherwise from the
        # management client that drives the migration (virsh, nova)
        c.purpose = "peer-daemon" if mig.p2p else "management"
    ev(mig, rec, K.MIGRATION_API_CALLED, "incoming migration API called")


@handles(func=CLIENT_APIS)
def api_client(st, rec):
    if _params_line(st, rec):
        return
    f = rec.fields
    mig = st.live.thread_of(rec).migration = st.new_migration(rec, "client")
    mig.api = rec.func
    mig.domain, mig.uuid = f.get("domain"), f.get("uuid")
    mig.flags = as_int(f.get("flags"))
    uri = f.get("dconnuri") or f.get("duri")
    if uri and uri not in NULL_URIS:
        mig.dconnuri = uri
    ev(mig, rec, K.MIGRATION_API_CALLED, "migration requested by this client")
    if mig.domain:
        st.live.active[("client", mig.domain)] = mig


@handles(func=("virDomainMigrateFinish3Params", "virDomainMigrateFinish3"))
def api_finish(st, rec):
    # destination Finish: runs in another worker; bind it to the migration by its server client
    t = st.live.thread_of(rec)
    client = t.client
    for mig in reversed(st.migrations):
        if mig.role == "destination" and mig.ended is None and (
                mig.controlling_client == client or client is None):
            t.migration = mig
            ev(mig, rec, K.FINISH_CALLED, "Finish called on the destination")
            if rec.fields.get("cancelled") == "1":
                mig.mark(MigrationFact.FINISH_CANCELLED)
            break


# ------------------------------------------------------------ the qemu driver's lines
@handles(func=P2P_FUNCS)
def peer2peer(st, rec):
    f = rec.fields
    mig = st.live.peek(rec).migration
    if mig is None:
        return
    mig.vm = f.get("vm") or mig.vm
    uri = f.get("uri")
    if uri and uri not in NULL_URIS:
        mig.migrate_uri = uri
    if f.get("resource") not in (None, "0"):
        mig.bandwidth = f.get("resource")
    if mig.flags is None and f.get("flags"):
        mig.flags = as_int(f.get("flags"))
    if not mig.dconnuri and f.get("dconnuri"):
        mig.dconnuri = f.get("dconnuri")


@handles(func=P2P3_FUNCS)
def peer2peer3(st, rec):
    f = rec.fields
    mig = st.live.peek(rec).migration
    msg = rec.message
    if mig is None:
        return
    d = f.get("dconn")
    if d:
        conns = st.live.conns
        c = conns.get(d)
        if c is None and mig.dconn is not None and mig.dconn.conn is None:
            c = mig.dconn
            c.conn = d
            conns[d] = c
        if c is None:
            # keepalive/RPC lines missing: the dconn is known only by its virConnect pointer
            c = st.new_conn(rec, "outgoing", None)
            c.conn, c.uri, c.purpose = d, f.get("dconnuri") or mig.dconnuri, "dconn"
            c.created = mig.dconn_open or Place.of(rec)
            c.notes.append("RPC probes missing: the virNetClient pointer of this connection is not known")
            conns[d] = c
        st.link_dconn(mig, c)
        if mig.dconn_open is None and rec.tid is None:
            # no thread id: the open this migration made is the one its connection was opened for
            opened = next((e for e in c.evidence if e.kind == K.CONNECTION_URI), None)
            if opened is not None:
                mig.dconn_open = Place(opened.path, opened.line, opened.time)
        ev(mig, rec, K.DCONN_LINKED, f"the migration's destination connection is {d}")
        if f.get("bandwidth") not in (None, "0"):
            mig.bandwidth = mig.bandwidth or f.get("bandwidth")
        uri = f.get("uri")
        if uri and uri not in NULL_URIS and not mig.migrate_uri:
            mig.migrate_uri = uri
        return
    m = _FINISH3.match(msg)
    if m:
        mig.ret = as_int(m.group(2))
        if mig.ret is not None and mig.ret < 0:
            ev(mig, rec, K.PERFORM_FAILED, "Perform failed; Finish3 is called with ret=-1")
    elif msg.startswith("Perform3 ") and " uri=" in msg:
        mig.migrate_uri = mig.migrate_uri or msg.split(" uri=", 1)[1].strip()


@handles(func=SRC_PERFORM_FUNCS)
def source_perform(st, rec):
    f = rec.fields
    t = st.live.thread_of(rec)
    mig = t.migration
    if mig is None:
        mig = t.migration = st.new_migration(rec, "source")
        mig.api = rec.func
    mig.vm = f.get("vm") or mig.vm
    if mig.flags is None and f.get("flags"):
        mig.flags = as_int(f.get("flags"))
    if not mig.dconnuri and f.get("dconnuri") not in NULL_URIS:
        mig.dconnuri = f.get("dconnuri")
    uri = f.get("uri")
    if uri and uri not in NULL_URIS and not mig.migrate_uri:
        mig.migrate_uri = uri
    if f.get("resource") not in (None, "0") and not mig.bandwidth:
        mig.bandwidth = f.get("resource")


@handles(func=CONN_CLOSED_FUNCS)
def dconn_closed(st, rec):
    """qemuMigrationSrcConnectionClosed: conn=D, reason=N, vm=NAME."""
    f = rec.fields
    d = f.get("conn")
    reason = as_int(f.get("reason"))
    name = f.get("vm")
    conns = st.live.conns
    c = conns.get(d)
    mig = st.live.active.get(("source", name)) if name else None
    if mig is None and name:
        mig = st.midway(rec, "source", name)
    if c is None and mig is not None and mig.dconn is not None:
        c = mig.dconn
    if c is None:
        # the connection was set up before the log starts: it is the one whose death
        # (or close) was just logged in this thread
        recent = st.deaths[-3:] if rec.tid is not None else [x for x, _ in st.live.pending_deaths]
        for death in reversed(recent):
            if (rec.tid is None or (death.tid == rec.tid and rec.line - death.line < 40)) \
                    and death.connection is not None and death.connection.conn is None:
                c = death.connection
                c.conn = d
                conns[d] = c
                c.notes.append(f"its virConnect pointer {d} is known from the close callback only")
                break
    if c is not None:
        if c.close_reason is None:
            c.close_reason = reason
            c.closed = Place.of(rec)
        ev(c, rec, K.CLOSE_CALLBACK, "the migration's close callback ran: its destination connection closed")
    if mig is not None:
        ev(mig, rec, K.DCONN_CLOSED, f"destination connection closed (reason={reason})")
        if c is not None and mig.dconn is None:
            st.link_dconn(mig, c)
    # a death declared without probes (3:rpc filter) is resolved here
    t = st.live.peek(rec)
    dd = t.pending_death if rec.tid is not None else pending_death(st)
    if dd is not None and dd.connection is None and reason == 2:
        dd.connection = c
        ev(dd, rec, K.DEATH_NAMED_BY_CLOSE_CALLBACK, "the close callback names the dead connection")
        if rec.tid is None:
            st.live.pending_deaths.clear()
        else:
            t.pending_death = None
    for death in reversed(st.deaths[-3:]):
        if death.connection is not None and death.connection is c:
            ev(death, rec, K.DEATH_NAMED_BY_CLOSE_CALLBACK, "the close callback names the connection and domain")
            break


@handles(func="qemuMigrationAnyConnectionClosed")
def controlling_connection_closed(st, rec):
    name = rec.fields.get("vm")
    mig = st.find_active(name) if name else None
    if name and rec.tid is not None:
        st.live.thread_of(rec).domain = name
    if mig is not None and MigrationFact.CONTROLLING_CONNECTION_CLOSED not in mig.facts:
        ev(mig, rec, K.CONTROLLING_CONNECTION_CLOSED, "the connection controlling this migration closed")
        mig.mark(MigrationFact.CONTROLLING_CONNECTION_CLOSED)


@handles(func="qemuMigrationSrcCancel")
def source_cancel(st, rec):
    mig = st.live.peek(rec).migration
    if mig is not None and rec.message.startswith("Cancelling"):
        ev(mig, rec, K.MIGRATION_CANCELLING, "libvirt cancels the QEMU migration")


@handles(func="qemuMigrationDstPrepareFresh")
def destination_prepare(st, rec):
    f = rec.fields
    t = st.live.peek(rec)
    mig = t.migration
    if mig is not None and mig.role == "destination":
        mig.domain = mig.domain or f.get("name")
        if mig.flags is None and f.get("flags"):
            mig.flags = as_int(f.get("flags"))
        if mig.domain:
            st.live.active[("destination", mig.domain)] = mig
            t.domain = mig.domain


# ------------------------------------------------------------ jobs and phases
# Only async jobs are read: a domain's other jobs (queries, virsh's own job polls) run in
# other threads, and reading them would tie those threads' errors to the migration
# (samples/lock-timeout: virsh's GetJobInfo times out on the same lock 0.5 s later).
@handles(kind="job", message="(?:Started|Stopping) async job")
def async_job(st, rec):
    f = rec.fields
    action = f.get("action", "")
    name = f.get("name")
    vm = f.get("vm")
    tid = rec.tid
    live = st.live
    if name and vm:
        live.vms[vm] = name
    if name and tid is not None:
        live.thread_of(rec).domain = name
    job = f.get("job")
    role = MIGRATION_JOBS.get(job)
    started = action == "Started async job"
    if role is not None and started:
        t = live.thread_of(rec)
        mig = t.migration
        if mig is None or mig.role != role or mig.ended is not None or (mig.domain and mig.domain != name):
            mig = t.migration = st.new_migration(rec, role)
            mig.notes.append("started from the async job line (the API entry line is not in the log)")
        mig.domain = mig.domain or name
        mig.vm = vm or mig.vm
        live.active[(role, name)] = mig
        ev(mig, rec, K.ASYNC_JOB_STARTED, f"async job '{job}' started")
        st.jobs.append(DomainJob(st.host, rec.path, name, vm, job, True, tid, start=Place.of(rec),
                                 api=f.get("API")))
    elif role is not None:
        mig = live.active.get((role, name)) or st.midway(rec, role, name)
        live.active.pop((role, name), None)
        if mig is not None:
            mig.end = rec.time
            mig.ended = Place.of(rec)
            ev(mig, rec, K.ASYNC_JOB_STOPPED, f"async job '{job}' stopped")
            finish(mig)
        for j in reversed(st.jobs):
            if j.job == job and j.domain == name and j.end is None:
                j.end = Place.of(rec)
                break
    elif started:
        st.jobs.append(DomainJob(st.host, rec.path, name, vm, job or "", True, tid, start=Place.of(rec)))
    else:
        for j in reversed(st.jobs[-50:]):
            if j.domain == name and j.job == (job or "") and j.end is None:
                j.end = Place.of(rec)
                break


@handles(kind="phase", message="Setting '")
def phase(st, rec):
    """"Setting 'migration out' phase to 'perform3'": the migration's phases, in order."""
    f = rec.fields
    role = MIGRATION_JOBS.get(f.get("job"))
    if role is None:
        return
    live = st.live
    t = live.peek(rec)
    mig = t.migration
    if mig is None or mig.role != role:
        name = t.domain
        mig = live.active.get((role, name)) if name else None
        if mig is None:
            # e.g. the event loop running a close callback: the only migration of that role
            running = [m for (r, _), m in live.active.items() if r == role]
            mig = running[0] if len(running) == 1 else None
            if mig is None and name and not running:
                mig = st.midway(rec, role, name)
    if mig is not None:
        mig.phases.append(Phase(f.get("phase"), rec.time, rec.line))


# ------------------------------------------------------------ the calls' results
@handles(func="virNetServerProgramSendError")
def api_error_sent(st, rec):
    """'prog=… ver=1 proc=305 type=1 serial=10 …': the worker sends an error reply.  For a
    migration call of the migration this worker runs, the call failed, whether or not the
    error's text was logged (libvirtd logs OPERATION_INVALID and NO_DOMAIN errors at debug
    level under util.error, which a filter such as 3:util drops)."""
    name = MIGRATION_PROCS.get(as_int(rec.fields.get("proc")))
    mig = st.live.peek(rec).migration
    if name is None or mig is None:
        return
    ev(mig, rec, K.API_ERROR_RETURNED, f"its {name} call returned an error to the client")
    mig.mark(MigrationFact.API_ERROR_RETURNED)
    if mig.ended is not None:
        # the reply comes right after the job's end: it is the view's last record
        if mig.outcome == "unknown":
            mig.outcome = "failed"
        if rec.time is not None and (mig.end is None or rec.time > mig.end):
            mig.end = rec.time


# ------------------------------------------------------------ outcomes
def finish(mig: Migration) -> None:
    """Decide the outcome of a migration whose job has ended."""
    phases = [p.phase for p in mig.phases]
    texts = " | ".join(e.text for e in mig.errors)
    if phases and phases[-1] in BEFORE_PERFORM.get(mig.role, ()) and mig.ended is not None:
        mig.mark(MigrationFact.ENDED_BEFORE_PERFORM)
        stop = next((e for e in reversed(mig.evidence) if e.line == mig.ended.line), None)
        mig.evidence.append(Evidence(mig.ended.path, mig.ended.line, mig.end, stop.text if stop else "",
                                     f"the job ended in its {phases[-1]} phase: the migration never started",
                                     K.JOB_ENDED_BEFORE_PERFORM))
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
    elif mig.errors or (mig.ret is not None and mig.ret < 0) or mig.facts & {
            MigrationFact.FINISH_CANCELLED, MigrationFact.API_ERROR_RETURNED, MigrationFact.ENDED_BEFORE_PERFORM}:
        mig.outcome = "failed"
    elif mig.qemu_status and mig.qemu_status[-1].status == "completed":
        mig.outcome = "succeeded"
    else:
        mig.outcome = "unknown"


def _finish_client(mig: Migration) -> None:
    texts = " | ".join(e.text for e in mig.errors)
    if "canceled by client" in texts or "operation aborted" in texts:
        mig.outcome = "cancelled"
    elif mig.errors:
        mig.outcome = "failed"
    else:
        mig.outcome = "unknown"
    if mig.errors:
        mig.end = mig.errors[-1].time


def settle_migrations(st) -> None:
    """End of the stream: migrations still open are decided from what was seen."""
    for mig in st.migrations:
        if mig.ended is not None:
            continue
        if mig.role == "client":
            _finish_client(mig)
            continue
        statuses = [q.status for q in mig.qemu_status]
        if mig.errors or "failed" in statuses or mig.facts & {MigrationFact.FINISH_CANCELLED,
                                                              MigrationFact.AUTODESTROYED}:
            finish(mig)
            if mig.outcome == "unknown":
                mig.outcome = "failed"
        elif statuses and statuses[-1] == "completed" and mig.role == "destination":
            mig.outcome = "succeeded"
        else:
            mig.notes.append("the log ends before this migration's job ended")
            mig.outcome = "unknown"
        # its job's end is not logged: the view ends at its job's last record (a Finish or
        # Confirm, the destroy of the incoming guest by autodestroy), not where QEMU last spoke
        last = last_own_time(mig)
        if last is not None and (mig.end is None or last > mig.end):
            mig.end = last


def last_own_time(mig: Migration) -> float | None:
    """The time of the latest record tied to this migration view."""
    times = [x.time for group in (mig.evidence, mig.errors, mig.qemu_status, mig.phases) for x in group
             if x.time is not None]
    return max(times, default=None)
