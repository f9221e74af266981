"""cancelled: the job was aborted on request (domjobabort, client interrupt, a --timeout action)."""
from __future__ import annotations

from ..correlate.objects import Evidence
from .case import Case
from .headline import quoted
from .causes import Cause
from .verdict import Verdict


def cancelled(case: Case) -> Verdict | None:
    roots = case.roots(Cause.CANCELLED, include_peer=case.mig.role != "source")
    if not roots:
        return None
    err, hit = roots[0]
    mig = case.mig
    src = case.source or mig
    v = Verdict(Cause.CANCELLED, "", confidence="high", detected_by=_side(case, err))
    v.evidence.append(err.evidence("the job was cancelled on request"))
    who = ""
    hc = case.hc_of(src)
    if hc is not None:
        for a in hc.aborts:
            t = a.evidence.time
            if src.start is not None and t is not None and src.start <= t <= (err.time or t):
                v.evidence.append(a.evidence)
                who = f" by the client on connection {a.client}" if a.client else ""
                break
    for q in src.qemu_status:
        if q.status in ("cancelling", "cancelled"):
            v.evidence.append(Evidence(src.path, q.line, q.time, q.text, f"QEMU reports the migration {q.status}"))
    when = case.when(err.time)
    v.summary = (f"Migration of domain {case.domain} from {case.host_name(src)} to {case.dest_name} was "
                 f"cancelled on request{who} at {when} ({err.text.strip()[:160]}); nothing failed.")
    v.reason = f"on request{who} ({quoted(err.text, 80)}); nothing failed"
    if not who:
        v.missing.append("who asked for the abort: the virDomainAbortJob call is not in these logs "
                         "(virsh domjobabort, Ctrl-C on virsh migrate, or an orchestrator timeout)")
    return v


def _side(case, err) -> str:
    for m in (case.mig, case.peer):
        if m is not None and any(e.path == err.path and e.line == err.line for e in m.errors + m.warnings):
            return m.role
    return case.mig.role
