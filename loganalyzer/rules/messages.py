"""Causes named by a libvirt error message on the migration's path: domain
exists, CPU, storage, unsupported configuration, lock timeout, QEMU failure.
The earliest root message wins; symptoms never decide."""
from __future__ import annotations

from ..correlate.objects import Evidence, EvidenceKind as K
from .case import Case
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
    # the message's own remedies first, then the cause's general ones (five at most)
    v.remedies = (list(hit.pattern.remedies) + [r for r in v.remedies if r not in hit.pattern.remedies])[:5]
    v.missing.extend(case.missing_common())
    return v


def _src_name(case: Case) -> str:
    s = case.source
    return case.host_name(s) if s is not None else "the source"
