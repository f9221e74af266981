"""Keepalive deaths: of the connection between the daemons (dconn), of a
management client's connection, and a daemon that stalled long enough for
its peer to declare it dead."""
from __future__ import annotations

from ..correlate.objects import Evidence, EvidenceKind as K
from . import remedies
from .case import Case
from .headline import quoted
from .causes import Cause
from .verdict import Verdict


# a daemon silent this long in the middle of a migration: with libvirt's default
# keepalive (5 s x 5) its peer gives up after 30 s, and most of that is silence
STALL_SECONDS = 15

# the source's lines that show its connections closing (and its QEMU's monitor closing)
SOURCE_CLOSED = {K.DCONN_CLOSED, K.CONTROLLING_CONNECTION_CLOSED, K.DOMAIN_AUTODESTROYED, K.MONITOR_EOF}
# what the death of a migration's controlling client does to it
CLIENT_GONE = {K.DOMAIN_AUTODESTROYED, K.QEMU_STOPPED_DESTROYED}


def _deaths_for(case: Case):
    """(side, death, correlator) of the migration's daemon-to-daemon connection, earliest first."""
    out = []
    src = case.source
    if src is not None:
        hc = case.hc_of(src)
        for d in (hc.deaths if hc else []):
            if d.connection is not None and d.connection is src.dconn or (
                    d.migration == src.id and d.owner == "dconn"):
                out.append(("source", d, hc))
    dst = case.destination
    if dst is not None:
        hc = case.hc_of(dst)
        for d in (hc.deaths if hc else []):
            c = d.connection
            if c is not None and c.purpose == "peer-daemon" and (d.migration == dst.id or c.migration == dst.id):
                out.append(("destination", d, hc))
    out.sort(key=lambda x: x[1].time if x[1].time is not None else float("inf"))
    return out


def _ka(c) -> str:
    if c is None or c.keepalive_interval is None:
        return "keepalive settings not in the log"
    return f"keepalive {c.keepalive_interval} s x {c.keepalive_count}"


def dconn_keepalive_timeout(case: Case) -> Verdict | None:
    deaths = _deaths_for(case)
    src = case.source
    if deaths:
        side, d, hc = deaths[0]
        return _from_death(case, side, d, hc, deaths)
    # no death object: the close callback's reason=2, or the error text alone
    if src is not None and src.dconn is not None and src.dconn.close_reason == 2:
        c = src.dconn
        v = Verdict(Cause.DCONN_KEEPALIVE_TIMEOUT, "", confidence="medium", detected_by="source")
        v.evidence.extend(e for e in c.evidence)
        v.summary = (f"The source's connection to the destination daemon {c.uri or src.dconnuri} was closed by "
                     f"keepalive timeout (reason=2) at {case.when(c.closed.time if c.closed else None)} during "
                     f"the migration of domain {case.domain}.")
        v.reason = ("the source's keepalive closed its connection to the destination daemon (close reason 2; "
                    "the keepalive timer lines are not in the log)")
        v.missing.append("the keepalive timer lines (RPC_KEEPALIVE_TIMEOUT): the death itself is not logged")
        v.missing.extend(case.missing_common())
        return v
    roots = [(e, h) for e, h in case.roots(include_peer=True) if h.id == "keepalive-timeout"]
    if roots and case.mig.role in ("source", "client"):
        err, hit = roots[0]
        v = Verdict(Cause.DCONN_KEEPALIVE_TIMEOUT, "", confidence="low", detected_by=case.mig.role)
        v.evidence.append(err.evidence("the keepalive error text, with no connection to tie it to"))
        v.summary = (f"Migration of domain {case.domain} failed with 'connection closed due to keepalive "
                     f"timeout' at {case.when(err.time)}; which connection died is inferred from the text alone.")
        v.reason = (f"a connection died of a keepalive timeout ({quoted(err.text)}); which one is inferred "
                    f"from the error text alone")
        v.missing.append("the lines that name the dead connection (RPC probes or the migration's close callback)")
        v.missing.extend(case.missing_common())
        return v
    return None


def _from_death(case: Case, side: str, d, hc, deaths) -> Verdict:
    c = d.connection
    src = case.source
    v = Verdict(Cause.DCONN_KEEPALIVE_TIMEOUT, "", detected_by=side)
    v.confidence = d.confidence
    # the chain: creation, link to the migration, keepalive start, last reply, silence, death, close
    if c is not None:
        v.evidence.extend(c.evidence[:6])
        if c.last_received_line and c.ticks:
            v.evidence.append(Evidence(d.path, c.last_received_line, c.last_received,
                                       (c.last_received_text or "").split("\n", 1)[0].rstrip("\r")[:400],
                                       "the last message received from the peer"))
        silent = [t for t in c.ticks if c.last_received is None or (t.time or 0) >= c.last_received]
        if silent:
            t0 = silent[0]
            v.evidence.append(Evidence(t0.path, t0.line, t0.time, t0.text,
                                       "first keepalive tick with no reply since"))
    v.evidence.extend(d.evidence)
    if src is not None and side == "source":
        for e in src.evidence:
            if e.kind in SOURCE_CLOSED:
                v.evidence.append(e)
    uri = (c.uri if c is not None else None) or (src.dconnuri if src else None) or "the peer"
    idle = f"{d.idle} s" if d.idle is not None else "too long"
    opened = ""
    if c is not None and c.created is not None:
        opened = f", opened at {c.created.path}:{c.created.line}"
        if src is not None and side == "source":
            opened += f" by the migration of domain {case.domain}" + (f" (uuid {src.uuid})" if src.uuid else "")
            opened += f" started at {case.when(src.start)}"
    elif c is not None:
        opened = ", created before this log starts"
    ptrs = ", ".join(x for x in (f"client {d.client}" if d.client else "",
                                 f"conn {c.conn}" if c is not None and c.conn else "",
                                 f"ka {d.ka}" if d.ka else "") if x)
    if side == "source":
        who = f"The source daemon ({case.host_name(src) if src else case.host_name()})"
        what = f"its connection to the destination daemon {uri}"
        implies = ("the destination daemon stopped answering (hung or stopped) or the control path "
                   "between the daemons broke")
    else:
        who = f"The destination daemon ({case.host_name(case.mig if case.mig.role == 'destination' else case.peer)})"
        what = "the source daemon's incoming migration connection"
        implies = "the source daemon stopped answering or the control path between the daemons broke"
    v.summary = (f"{who} declared {what} ({ptrs}; {_ka(c)}{opened}) dead at {case.when(d.time)}: no reply for "
                 f"{idle} (countToDeath=0). That killed the migration of domain {case.domain}; "
                 f"it means {implies}.")
    peer = "destination" if side == "source" else "source"
    idle_words = (f"{d.idle} s" if d.idle is not None else
                  f"{c.keepalive_interval * (c.keepalive_count + 1)} s" if c is not None and c.keepalive_interval
                  and c.keepalive_count is not None else "its keepalive timeout")
    conn_name = "the dconn" if side == "source" else "the source daemon's connection"
    peer_view = (case.destination if side == "source" else case.source) or case.peer
    peer_daemon = case.daemon_name(peer_view) if peer_view is not None else "daemon"
    v.reason = (f"the {side}'s keepalive heard nothing from the {peer} daemon for {idle_words} and killed "
                f"{conn_name} (the {peer} hung or the network broke: its log tells which)")
    # what the other host shows during the silent stretch
    other = case.peer_hc if hc is case.hc else case.hc
    if other is not None and other is not hc and d.time is not None:
        # the other daemon stalled if its log is silent through most of the dead stretch
        idle = d.idle or 30
        stall = [g for g in other.gaps if g.time_before <= d.time - 0.5 * idle and g.time_after >= d.time - 1
                 and g.seconds >= 0.5 * idle]
        if stall:
            g = stall[0]
            v.summary += (f" The {peer} daemon's own log is silent from "
                          f"{case.when(g.time_before)} to {case.when(g.time_after)} ({g.seconds:.0f} s): that "
                          f"daemon was stopped or hung, so this is not a network failure.")
            v.evidence.extend(_gap_evidence(g, f"the peer daemon logs nothing for {g.seconds:.0f} s after this",
                                            "the peer daemon logs again"))
            v.reason = (f"the {peer} {peer_daemon} hung for {g.seconds:.0f} s (its log is silent), so the "
                        f"{side}'s keepalive killed {conn_name} after {idle_words}")
            v.remedies = remedies.keepalive_hung_peer(peer, peer_daemon)
        else:
            v.summary += (" The other daemon kept logging meanwhile, so the control path between the hosts "
                          "(network, firewall) is the suspect.")
            v.reason = (f"the network between the daemons broke: the {peer} {peer_daemon} kept running, but the "
                        f"{side}'s keepalive heard nothing from it for {idle_words} and killed {conn_name}")
            v.remedies = remedies.keepalive_network(peer)
    if src is not None and len(src.stats) >= 2:
        v.summary += f" QEMU had transferred {src.stats[-1].transferred or 0:,} bytes by then."
    if len(deaths) > 1:
        told = {side}
        for side2, d2, _ in deaths[1:]:
            v.evidence.extend(d2.evidence[:1])
            if side2 not in told:       # (one ka can time out in two threads at once: said once)
                told.add(side2)
                v.summary += f" The {side2} also declared its side dead at {case.when(d2.time)}."
    v.missing.extend(case.missing_common())
    if c is not None and c.created is None:
        v.missing.append("the connection's creation: it happened before this log starts")
        v.confidence = "medium"
    v.missing.extend(n for n in d.notes if n not in v.missing)
    return v


def client_keepalive_timeout(case: Case) -> Verdict | None:
    """A management client's connection (virsh, virt-manager, nova) died by keepalive
    while it drove this migration (client-managed), killing it."""
    found = []
    for m, hc in ((case.mig, case.hc), (case.peer, case.peer_hc)):
        if m is None or hc is None:
            continue
        for d in hc.deaths:
            c = d.connection
            if c is None or c.direction != "incoming" or c.purpose == "peer-daemon":
                continue
            if d.migration != m.id and not (c.client == m.controlling_client and c.migration == m.id):
                continue
            found.append((d, c, m))
    if not found:
        return None
    found.sort(key=lambda x: x[0].time if x[0].time is not None else float("inf"))
    d, c, m = found[0]
    end = case.mig.end
    conf = d.confidence
    after = end is not None and d.time is not None and d.time > end + 0.5
    v = Verdict(Cause.CLIENT_KEEPALIVE_TIMEOUT, "", confidence="medium" if after else conf, detected_by=m.role)
    v.evidence.extend(c.evidence[:3])
    v.evidence.extend(d.evidence)
    for e in m.evidence:
        if e.kind in CLIENT_GONE or "controlling connection" in e.text:
            v.evidence.append(e)
    apis = ", ".join(a.replace("remoteDispatch", "") for a in c.apis[:8]) or "none logged"
    v.summary = (f"The management client that drove the migration of domain {case.domain} (incoming connection "
                 f"{c.client} on {case.host_name(m)}, calls: {apis}) stopped answering keepalives and was declared "
                 f"dead at {case.when(d.time)} after {d.idle} s; "
                 + ("a client-managed (non-p2p) migration cannot go on without the client that drives it."
                    if not m.p2p else "the migration failed with it."))
    v.reason = (f"the management client that drove it stopped answering keepalives and the {m.role} "
                f"{case.daemon_name(m)} dropped it after {d.idle} s"
                + ("; a client-managed migration cannot go on without its client" if not m.p2p else ""))
    if after:
        v.summary += (f" This daemon declared it {d.time - end:.1f} s after the migration had already failed: "
                      "the other daemon, with the same keepalive settings, most likely declared it first and "
                      "tore down its side (give its log to confirm).")
    for d2, c2, m2 in found[1:2]:
        v.evidence.extend(d2.evidence[:1])
        v.summary += f" The {m2.role} also declared it dead at {case.when(d2.time)}."
    v.missing.extend(case.missing_common())
    return v


def daemon_stalled(case: Case) -> Verdict | None:
    """Only this daemon's log, and it went silent mid-migration: its peer most
    likely declared it dead by keepalive (inferred)."""
    mig = case.mig
    if case.peer is not None or case.hc is None or mig.start is None:
        return None
    end = mig.end if mig.end is not None else float("inf")
    for g in case.hc.gaps:
        if g.seconds >= STALL_SECONDS and g.time_after >= mig.start and g.time_before <= end:
            v = Verdict(Cause.DCONN_KEEPALIVE_TIMEOUT, "", confidence="low", detected_by=None)
            v.evidence.extend(_gap_evidence(g, "this daemon logs nothing after this", "this daemon logs again"))
            v.evidence.extend(e.evidence() for e in mig.errors[:2])
            v.summary = (f"This daemon ({case.host_name()}) logged nothing from {case.when(g.time_before)} to "
                         f"{case.when(g.time_after)} ({g.seconds:.0f} s) in the middle of the migration of domain "
                         f"{case.domain}: it was stopped or hung, long enough for its peer to declare the "
                         f"connection dead by keepalive (inferred; the peer's log would show it).")
            v.reason = (f"this {case.daemon_name()} logged nothing for {g.seconds:.0f} s in the middle of the "
                        f"migration (stopped or hung), so its peer most likely killed their connection by keepalive")
            v.remedies = remedies.daemon_stalled(case.daemon_name())
            v.missing.extend(case.missing_common())
            return v
    return None


def _gap_evidence(g, before: str, after: str) -> list[Evidence]:
    """The last line before a silent stretch of a log and the first after it."""
    return [Evidence(g.path, g.line_before, g.time_before, g.text_before, before),
            Evidence(g.path, g.line_after, g.time_after, g.text_after, after)]
