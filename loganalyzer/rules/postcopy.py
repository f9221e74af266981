"""Post-copy context for any verdict: once QEMU has switched a migration to post-copy, the guest
runs on the destination while the source still holds the pages not yet sent.  A failure then
leaves the source domain paused, and what can still be saved depends on the destination QEMU:
alive, `virsh migrate --postcopy-resume` recovers the guest; gone, the guest's state is lost."""
from __future__ import annotations

from ..correlate.objects import Evidence, MigrationFact
from . import remedies
from .case import Case
from .headline import cause_words
from .remedies import Topic, about
from .verdict import Verdict

def add_postcopy_context(case: Case, v: Verdict) -> None:
    src = case.source
    if src is None:
        return
    switched = next((q for q in src.qemu_status if q.status == "postcopy-active"), None)
    paused = next((w for w in src.warnings + src.errors if "failed during post-copy" in w.text), None)
    if switched is None and paused is None:
        return
    dst = case.destination
    after = switched.time if switched is not None and switched.time is not None else float("-inf")
    dst_died = (dst is not None and (MigrationFact.QEMU_CRASHED in dst.facts or any(
        "qemu unexpectedly closed the monitor" in e.text for e in dst.errors))) or any(
        # the destination daemon's answer, in the source log, once its QEMU is gone
        e.func == "virNetClientProgramDispatchError" and "domain is not running" in e.text
        and (e.time is None or e.time >= after) for e in src.errors)
    told = []
    if switched is not None:
        v.evidence.append(Evidence(src.path, switched.line, switched.time, switched.text,
                                   "the migration switched to post-copy: from here the guest runs on the destination"))
        told.append(f"The migration had switched to post-copy at {case.when(switched.time)}, so from then on the guest "
                    f"ran on the destination and the source held the pages not yet sent")
    if paused is not None:
        v.evidence.append(paused.evidence("the source left the domain paused"))
        told.append("the source domain was left paused (post-copy failed)")
    if dst_died:
        v.reason = (v.reason or cause_words(v.cause)) + "; it had switched to post-copy and the guest is lost"
        told.append("the destination QEMU is gone, so --postcopy-resume cannot recover the guest: its state "
                    "since the switch is lost")
        v.remedies = [remedies.postcopy_guest_lost(case.domain)] + [r for r in v.remedies
                                                                  if not about(r, Topic.POSTCOPY_RESUME)]
    else:
        if switched is not None or paused is not None:
            v.reason = ((v.reason or cause_words(v.cause))
                        + "; it had switched to post-copy: recover with --postcopy-resume, destroy neither side")
        told.append("both hosts hold part of the guest: do not destroy either side")
        if not any(about(r, Topic.POSTCOPY_RESUME) for r in v.remedies):
            v.remedies.insert(0, remedies.POSTCOPY_RESUME)
    v.summary = f"{v.summary} {'; '.join(told)}."
