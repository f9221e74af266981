"""RPC clients (outgoing), server clients (incoming) and their keepalives: the connections'
lives, their keepalive timers and deaths, and their closes."""
from __future__ import annotations

import re

from .connections import bridge
from .objects import Connection, Evidence, EvidenceKind as K, KeepaliveDeath, Place, Tick
from .reading import Handlers
from .state import as_int, ev, noted
from .threadless import PAIRING_WINDOW

handles = Handlers()

MAX_TICKS = 500
REMOTE_PROGRAM = str(0x20008086)   # remote_protocol.x: the program of the libvirt RPC calls
REMOTE_PROC_CONNECT_CLOSE = "2"
_REMOTE_URI = re.compile(r"[a-z0-9]+\+[a-z]+:|[a-z0-9]+://[^/]")   # qemu+tcp://..., qemu://host/...

# (no *_DISPOSE of sockets and keepalive objects is read: a socket's addresses go to the
# client that takes it, a keepalive object lives as long as its client, and a busy daemon
# writes thousands of them)


@handles(probe="RPC_SOCKET_NEW")
def socket_new(st, rec):
    f = rec.fields
    st.live.sockets[f.get("sock")] = f


def _new_client(st, rec, direction: str, table: dict) -> Connection:
    f = rec.fields
    client = f.get("client")
    c = table[client] = st.new_conn(rec, direction, client, f.get("sock"))
    ev(c, rec, K.CONNECTION_CREATED, f"{direction} connection created")
    return c


@handles(probe="RPC_CLIENT_NEW")
def client_new(st, rec):
    c = _new_client(st, rec, "outgoing", st.live.clients)
    if rec.tid is None:
        _client_opened(st, rec, c)
        return
    t = st.live.peek(rec)
    opened = t.open_uri
    if opened is not None:
        t.open_uri = None
        c.uri = opened[0]
        c.purpose = "connection"
        c.evidence.append(noted(opened[1], "the URI this connection was opened for", K.CONNECTION_URI))
        mig = t.migration
        if mig is not None and mig.role == "source" and mig.ended is None and mig.p2p \
                and mig.dconnuri and opened[0] == mig.dconnuri:
            st.link_dconn(mig, c)
    else:
        c.purpose = "internal"
        c.notes.append("not opened through virConnectOpen*: a daemon-internal client (virtlogd, virtlockd, ...)")


def _client_opened(st, rec, c) -> None:
    """Without thread ids: the virConnectOpen* this client was opened for is the oldest of
    the last few records read not yet taken by a client, preferring a URI that names a
    transport or a host (a daemon opens its own local driver, qemu:///system, without a client)."""
    pending = st.live.opens
    while pending and (st.nread - pending[0][2] > PAIRING_WINDOW or (
            rec.time is not None and pending[0][1].time is not None and rec.time - pending[0][1].time > 2.0)):
        pending.popleft()
    if pending:
        pick = next((p for p in pending if _REMOTE_URI.match(p[0])), pending[0])
        pending.remove(pick)
        uri, oev, _ = pick
        c.uri = uri
        c.purpose = "connection"
        c.evidence.append(noted(oev, "the URI this connection was opened for", K.CONNECTION_URI))
        # (a migration's dconn is linked by its pointer, qemuMigrationSrcPerformPeer2Peer3's dconn=)
        return
    c.purpose = "internal"
    c.notes.append("not opened through virConnectOpen*: a daemon-internal client (virtlogd, virtlockd, ...)")


@handles(probe="RPC_SERVER_CLIENT_NEW")
def server_client_new(st, rec):
    _new_client(st, rec, "incoming", st.live.servers)


def _dispose(st, rec, table):
    live = st.live
    client = rec.fields.get("client")
    c = table.pop(client, None)
    if c is not None:
        c.disposed = Place.of(rec)
        if c.migration is None and c.purpose not in ("dconn", "peer-daemon") and not any(
                t.count_to_death == 0 for t in c.ticks):
            st.uneventful(c)
        if c.ka and live.kas.get(c.ka) is c:
            del live.kas[c.ka]
        if c.conn and live.conns.get(c.conn) is c:
            del live.conns[c.conn]
    live.ka_config.pop(client, None)


@handles(probe="RPC_CLIENT_DISPOSE")
def client_dispose(st, rec):
    _dispose(st, rec, st.live.clients)


@handles(probe="RPC_SERVER_CLIENT_DISPOSE")
def server_client_dispose(st, rec):
    _dispose(st, rec, st.live.servers)


@handles(probe="RPC_CLIENT_MSG_RX")
def client_msg_rx(st, rec):
    f = rec.fields
    c = st.live.clients.get(f.get("client"))
    if c is not None:
        c.last_received, c.last_received_line, c.last_received_text = rec.time, rec.line, rec.text
        if f.get("proc") == REMOTE_PROC_CONNECT_CLOSE and f.get("type") == "1" and f.get("prog") == REMOTE_PROGRAM:
            # the reply to our own virConnectClose: the end of file that follows is the
            # peer closing the socket as asked, not a failure
            c.close_asked = Evidence.of(rec, "the peer's reply to this side's own virConnectClose",
                                        K.CLOSE_ACKNOWLEDGED)


@handles(func="virNetClientCloseLocked")
def client_close(st, rec):
    f = rec.fields
    c = st.live.clients.get(f.get("client"))
    if c is not None and "reason" in f:
        c.close_reason = as_int(f.get("reason"))
        c.closed = Place.of(rec)
        # the socket errors logged just before the close say how it broke
        if rec.time is not None:
            c.close_errors = [e for e in list(st.errors)[-20:]
                              if e.time is not None and rec.time - e.time < 0.5]
        if c.close_asked is not None:
            c.notes.append("closed by this side: the peer acknowledged its virConnectClose first")
        ev(c, rec, K.CONNECTION_CLOSED, "connection closed")
        for d in reversed(st.deaths[-3:]):
            if d.connection is c:
                ev(d, rec, K.DEATH_CONNECTION_CLOSED,
                   "closed with reason=2 (keepalive)" if c.close_reason == 2 else "closed")
                break


@handles(func="virNetServerClientCloseLocked")
def server_client_close(st, rec):
    c = st.live.servers.get(rec.fields.get("client"))
    if c is not None and c.closed is None:
        c.closed = Place.of(rec)
        ev(c, rec, K.CONNECTION_CLOSED, "connection closed")
        for d in reversed(st.deaths[-3:]):
            if d.connection is c:
                ev(d, rec, K.DEATH_CONNECTION_CLOSED, "closed")
                break


# ------------------------------------------------------------ keepalive
@handles(func="virKeepAliveNew", message="client=")
def keepalive_config(st, rec):
    """'client=0x.., interval=5, count=5': a server client's keepalive settings (its
    RPC_KEEPALIVE_START prints 0/0)."""
    f = rec.fields
    client = f.get("client")
    if client and "interval" in f:
        iv, cnt = as_int(f.get("interval")), as_int(f.get("count"))
        if iv is not None and iv > 0:
            st.live.ka_config[client] = (iv, cnt)


@handles(probe="RPC_KEEPALIVE_NEW")
def keepalive_new(st, rec):
    f = rec.fields
    c = st.lookup_client(f.get("client"))
    if c is not None:
        c.ka = f.get("ka")
        st.live.kas[c.ka] = c
        cfg = st.live.ka_config.get(c.client)
        if cfg and c.direction == "incoming":
            c.keepalive_interval, c.keepalive_count = cfg


def _ka_conn(st, f) -> Connection | None:
    c = st.lookup_client(f.get("client"))
    if c is None:
        c = st.live.kas.get(f.get("ka"))
    return c


@handles(probe="RPC_KEEPALIVE_START")
def keepalive_start(st, rec):
    st.saw_keepalive_probe = True
    f = rec.fields
    c = _ka_conn(st, f)
    if c is None:
        c = st.orphan(f.get("client"))
    c.ka = c.ka or f.get("ka")
    st.live.kas[c.ka] = c
    c.keepalive_started = Place.of(rec)
    iv, cnt = as_int(f.get("interval")), as_int(f.get("count"))
    if iv:  # the server side prints 0/0; its values come from virKeepAliveNew
        c.keepalive_interval, c.keepalive_count = iv, cnt
    ev(c, rec, K.KEEPALIVE_STARTED, "keepalive started")
    bridge(st, rec, c)


@handles(probe="RPC_KEEPALIVE_STOP")
def keepalive_stop(st, rec):
    c = _ka_conn(st, rec.fields)
    if c is not None:
        c.keepalive_stopped = Place.of(rec)
        bridge(st, rec, c)


@handles(probe="RPC_KEEPALIVE_SEND")
def keepalive_send(st, rec):
    f = rec.fields
    c = _ka_conn(st, f)
    if c is not None and f.get("proc") == "1":
        c.pings_sent += 1


@handles(probe="RPC_KEEPALIVE_RECEIVED")
def keepalive_received(st, rec):
    f = rec.fields
    c = _ka_conn(st, f)
    if c is not None:
        if f.get("proc") == "2":
            c.pongs_received += 1
        else:
            c.pings_received += 1
        c.last_received, c.last_received_line, c.last_received_text = rec.time, rec.line, rec.text


@handles(probe="RPC_KEEPALIVE_TIMEOUT")
def keepalive_timeout(st, rec):
    st.saw_keepalive_probe = True
    f = rec.fields
    ctd, idle = as_int(f.get("countToDeath")), as_int(f.get("idle"))
    client = f.get("client")
    c = _ka_conn(st, f)
    if c is None:
        c = st.orphan(client)
        c.ka = f.get("ka")
        st.live.kas[c.ka] = c
    if len(c.ticks) >= MAX_TICKS and ctd is not None and ctd >= c.ticks[-1].count_to_death:
        # a long-lived connection: keep memory bounded by dropping the ticks of the
        # silences before this one (a new silence: the peer's message reset the counter)
        c.ticks = []
    c.tick_count += 1
    c.ticks.append(Tick(rec.path, rec.line, rec.time, ctd if ctd is not None else -1, idle or 0,
                        rec.text))
    if c.keepalive_interval is None and ctd and idle and len(c.ticks) == 1:
        # the first tick of a silence prints the configured count and one interval of idleness
        # (the server side's START line prints 0/0)
        c.keepalive_interval, c.keepalive_count = idle, ctd
        c.notes.append("keepalive interval and count read from its first timer tick")
    if ctd == 0:
        d = KeepaliveDeath(st.host, rec.path, rec.line, rec.time, rec.tid, client, f.get("ka"),
                           idle, connection=c)
        ev(d, rec, K.KEEPALIVE_DEATH, "keepalive timer reached countToDeath=0: the peer sent nothing for "
                                    f"{idle} s")
        st.deaths.append(d)
        if rec.tid is None:
            st.live.pending_deaths.append((d, st.nread))
        else:
            st.live.thread_of(rec).pending_death = d


# ------------------------------------------------------------ end of the stream
def settle_deaths(st) -> None:
    """Who owned each dead connection, and the migration it served."""
    for d in st.deaths:
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
            for mig in st.migrations:
                if mig.controlling_client == c.client and mig.start is not None and d.time is not None \
                        and mig.start <= d.time and (mig.end is None or d.time <= mig.end + window):
                    d.migration = mig.id
                    break
        if c.created is None:
            d.notes.append("the connection was created before this log starts")
            d.confidence = "medium"
