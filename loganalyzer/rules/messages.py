"""Causes named by a libvirt error message on the migration's path: domain
exists, CPU, storage, unsupported configuration, lock timeout, QEMU failure.
The earliest root message wins; symptoms never decide."""
from __future__ import annotations

from ..correlate.objects import Evidence, EvidenceKind as K
from .case import Case
from .headline import meaning_words, quoted
from .causes import Cause
from .verdict import Verdict

HANDLED_ELSEWHERE = {Cause.CANCELLED, Cause.DCONN_KEEPALIVE_TIMEOUT, Cause.CLIENT_KEEPALIVE_TIMEOUT}
# a QEMU that went away: not libvirt's own clean-up of a failed incoming migration (reason=failed)
QEMU_GONE = {K.DOMAIN_AUTODESTROYED, K.MONITOR_EOF, K.QEMU_STOPPED_CRASHED, K.QEMU_STOPPED_DESTROYED,
             K.QEMU_STOPPED_SHUTDOWN}


def from_error_messages(case: Case) -> Verdict | None:
    own = [(e, h) for e, h in case.roots() if h.cause not in HANDLED_ELSEWHERE]
    peer = [(e, h) for e, h in case.roots(include_peer=True)[len(case.roots()):]
            if h.cause not in HANDLED_ELSEWHERE]
    # the destination's own root (e.g. its CPU check) explains the source's relayed copy
    pick = None
    for e, h in sorted(own + peer, key=lambda eh: (eh[0].time if eh[0].time is not None else 0, eh[0].line)):
        pick = (e, h)
        break
    if pick is None:
        return None
    err, hit = pick
    if hit.cause == Cause.LOCK_TIMEOUT:
        # headline the error the user saw; the earlier 'Cannot start job' warning names the owner
        for e, h in own + peer:
            if h.id.startswith("state-change-lock"):
                err, hit = e, h
                break
    from_peer = (err, hit) in peer
    side = (case.peer.role if from_peer else case.mig.role)
    conf = "high" if side in ("source", "destination") else "medium"
    v = Verdict(hit.cause, "", confidence=conf, detected_by=side)
    v.evidence.append(err.evidence(hit.pattern.meaning))
    # the same message seen on the other side (relayed over the connection)
    for e, h in (case.hits if from_peer else case.peer_hits):
        if h.pattern.id == hit.pattern.id and (e.path, e.line) != (err.path, err.line):
            v.evidence.append(e.evidence("the same error, as the other side saw it"))
            break
    if hit.cause == Cause.LOCK_TIMEOUT:
        for e, h in case.hits + case.peer_hits:
            if h.id == "cannot-start-job" and (e.path, e.line) != (err.path, err.line):
                v.evidence.append(e.evidence("who held the job, and for how long"))
                break
    if hit.cause == Cause.QEMU_FAILED:
        for m in (case.mig, case.peer):
            if m is None:
                continue
            for q in m.qemu_status:
                if q.status == "failed":
                    v.evidence.append(Evidence(m.path, q.line, q.time, q.text,
                                               f"QEMU on the {m.role} reports the migration failed"))
                    break
            for e in m.evidence:
                # not what an operator did to the domain well after the migration ended
                if e.kind in QEMU_GONE and (m.end is None or e.time is None or e.time <= m.end + 5):
                    v.evidence.append(e)
    detail = ", ".join(f"{k}={val}" for k, val in hit.groups.items() if val)[:160]
    v.summary = (f"Migration of domain {case.domain} from {_src_name(case)} to {case.dest_name} failed at "
                 f"{case.when(err.time)} on the {side}: {err.text.strip()[:220]}"
                 f"{' (' + detail + ')' if detail else ''}. {hit.pattern.meaning}")
    v.reason = f"{meaning_words(hit.pattern.meaning)}: the {side} logged {quoted(err.text)}"
    # the message's own remedies first, then the cause's general ones (five at most)
    v.remedies = (list(hit.pattern.remedies) + [r for r in v.remedies if r not in hit.pattern.remedies])[:5]
    v.missing.extend(case.missing_common())
    return v


def _src_name(case: Case) -> str:
    s = case.source
    return case.host_name(s) if s is not None else "the source"


# root causes a message names that the loss of the daemons' connection only follows: the
# refusal ends the migration, and its clean-up (or a peer giving up) breaks the connection
REFUSALS = {Cause.UNSUPPORTED_CONFIG, Cause.STORAGE_MISSING, Cause.CPU_INCOMPATIBLE, Cause.LOCK_TIMEOUT,
            Cause.DOMAIN_EXISTS}


def cause_before_connection_loss(case: Case) -> Verdict | None:
    """A refusal logged before the daemons' connection broke (a keepalive death, an EOF or
    reset, 'client socket is closed') is the cause; the loss that follows is its consequence."""
    roots = sorted(case.roots(include_peer=True), key=lambda eh: (eh[0].time if eh[0].time is not None else 0,
                                                                  eh[0].line))
    first = next(((e, h) for e, h in roots if h.cause not in HANDLED_ELSEWHERE), None)
    if first is None or first[1].cause not in REFUSALS:
        return None
    loss = _connection_loss(case)
    if loss is None or first[0].time is None or loss.time is None or first[0].time > loss.time:
        return None     # no loss (the message rule decides later), or the loss came first
    v = from_error_messages(case)
    if v is None or v.cause not in REFUSALS:
        return None
    v.consequences.append(Evidence(loss.path, loss.line, loss.time, loss.text,
                                   "the daemons' connection broke after the refusal: a consequence", loss.kind))
    return v


def _connection_loss(case: Case):
    """The first line that shows the migration's daemon-to-daemon connection breaking: a
    keepalive death of it, or its close by EOF, I/O error or keepalive (not the source's own
    close after the migration ended)."""
    out = []
    src = case.source
    if src is not None and src.dconn is not None:
        c = src.dconn
        if c.closed is not None and c.close_reason in (0, 1, 2) and not (
                c.close_asked is not None and c.close_asked.line <= c.closed.line):
            out.append(next((e for e in c.evidence if e.line == c.closed.line),
                            Evidence(c.closed.path, c.closed.line, c.closed.time, "(the connection's close)")))
        hc = case.hc_of(src)
        for d in (hc.deaths if hc is not None else []):
            if d.connection is c and d.evidence:
                out.append(d.evidence[-1])
    for e, h in case.hits + case.peer_hits:
        if not h.is_root and h.pattern.ambiguous_with and set(h.pattern.ambiguous_with) & {
                Cause.DCONN_CLOSED, Cause.DCONN_KEEPALIVE_TIMEOUT}:
            out.append(e.evidence(h.pattern.meaning))
    out = [e for e in out if e.time is not None]
    return min(out, key=lambda e: e.time) if out else None
