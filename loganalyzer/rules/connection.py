"""connect-failed and dconn-closed: the connection between the daemons never
opened, or was closed by the peer or an I/O error."""
from __future__ import annotations

from ..correlate.objects import Evidence
from .case import Case, close_reason_text
from .headline import quoted
from .causes import Cause
from .verdict import Verdict


def connect_failed(case: Case) -> Verdict | None:
    mig = case.source
    if mig is None or mig.dconn is not None:
        return None
    roots = [(e, h) for e, h in case.roots(Cause.CONNECT_FAILED, include_peer=True)]
    if not roots:
        return None
    err, hit = roots[0]
    v = Verdict(Cause.CONNECT_FAILED, "", confidence="high" if mig.dconn_open else "medium", detected_by="source")
    if mig.dconn_open is not None:
        v.evidence.append(_place_ev(case, mig, mig.dconn_open, "the source opens its connection to the destination daemon"))
    v.evidence.append(err.evidence(hit.pattern.meaning))
    v.summary = (f"The source {case.host_name(mig)} could not open its connection to the destination daemon "
                 f"{mig.dconnuri or ''} for domain {case.domain} at {case.when(err.time)}: "
                 f"{err.text.strip()[:200]}.")
    v.reason = f"the source could not connect to the destination daemon: {quoted(err.text)}"
    if mig.dconn_open is None:
        v.missing.append("the virConnectOpenAuth line of the destination connection")
    return v


def dconn_closed(case: Case) -> Verdict | None:
    mig = case.source
    if mig is None or mig.dconn is None:
        return None
    c = mig.dconn
    if c.close_reason not in (0, 1) or c.closed is None:
        return None
    if mig.end is not None and c.closed.time is not None and c.closed.time > mig.end + 1:
        return None
    if c.close_asked is not None and c.close_asked.line <= c.closed.line:
        return None        # the source closed it itself once the migration had ended
    v = Verdict(Cause.DCONN_CLOSED, "", confidence="high", detected_by="source")
    v.evidence.extend(_creation(c))
    for e in c.evidence:
        if e.line >= c.closed.line - 30 and e.line <= c.closed.line + 30:
            v.evidence.append(e)
    for e in c.close_errors:
        if c.closed.time is not None and e.time is not None and abs(e.time - c.closed.time) < 0.5 \
                and ("End of file" in e.text or "hangup" in e.text or "Cannot recv" in e.text
                     or "error event" in e.text or "Connection reset" in e.text):
            v.evidence.append(e.evidence("the socket to the destination daemon broke"))
    reason = close_reason_text(c.close_reason)
    v.summary = (f"The source {case.host_name(mig)}'s connection to the destination daemon {c.uri or mig.dconnuri} "
                 f"(client {c.client or '?'}) was closed by {reason} at {case.when(c.closed.time)} during "
                 f"the migration of domain {case.domain}: the destination daemon went away (crashed, was "
                 f"killed or restarted) or the network reset the connection.")
    v.reason = (f"the source's connection to the destination daemon was closed by {reason}: the destination "
                f"daemon went away (crashed, killed, restarted) or the network reset the connection")
    peer_hc = case.peer_hc if mig is case.mig else case.hc
    if peer_hc is not None and peer_hc.migrations:
        last_t = peer_hc.last_time
        if last_t and c.closed.time and last_t < c.closed.time + 1 and not peer_hc.deaths:
            v.summary += (f" The destination's log ends at {case.when(last_t)}, right before the close: "
                          f"its daemon stopped logging (killed or crashed).")
            dst = case.destination
            v.reason = (f"the destination {case.daemon_name(dst) if dst is not None else 'daemon'} died: its log "
                        f"stops {c.closed.time - last_t:.1f} s before the source's connection to it closed "
                        f"by {reason}")
            v.evidence.append(Evidence(peer_hc.migrations[-1].path, peer_hc.last_line, last_t,
                                       "(last line of the destination daemon's log)",
                                       "the destination daemon logs nothing after this"))
    elif case.peer is None:
        v.missing.append("the destination daemon's log: it tells a crash or restart from a network reset")
    return v


def _creation(c):
    out = []
    for e in c.evidence:
        if c.created is not None and e.line == c.created.line:
            out.append(e)
            break
    return out


def _place_ev(case, mig, place, note):
    for e in mig.evidence:
        if e.line == place.line:
            return Evidence(e.path, e.line, e.time, e.text, note)
    return Evidence(place.path, place.line, place.time, "", note)
