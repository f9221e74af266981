"""undetermined: it failed, and the logs do not say why; say what is missing."""
from __future__ import annotations

from .case import Case
from .catalogue import likely_cause
from .headline import quoted
from .causes import Cause
from .verdict import Verdict


def undetermined(case: Case) -> Verdict:
    mig = case.mig
    v = Verdict(Cause.UNDETERMINED, "", confidence="low", detected_by=None)
    v.evidence.extend(e.evidence() for e in mig.errors[:4])
    v.evidence.extend(mig.evidence[:2])
    guess = likely_cause(case.hits + case.peer_hits)
    when = case.when(mig.end or mig.start)
    v.summary = (f"Migration of domain {case.domain} ({mig.role}) {mig.outcome} around {when} and the logs do not "
                 f"say why" + (f"; its errors are symptoms that usually follow {guess}" if guess != Cause.UNDETERMINED else "")
                 + ".")
    last = mig.errors[-1] if mig.errors else None
    v.reason = ("the logs do not say why"
                + (f" (the {mig.role} logged {quoted(last.text, 80)})" if last is not None else "")
                + (f"; such errors usually follow {guess}" if guess != Cause.UNDETERMINED else ""))
    v.missing.extend(case.missing_common())
    if not mig.errors:
        v.missing.append("any error logged on the migration's path (log level above debug, or filtered categories)")
    if mig.ended is None and mig.role != "client":
        # (a client has no job of its own: its view ends with the error the API returned)
        v.missing.append("the end of the migration's job: the log ends first (truncated or rotated)")
    return v
