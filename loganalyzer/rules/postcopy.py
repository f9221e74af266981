"""Post-copy context for any verdict: once QEMU has switched a migration to post-copy, the guest
runs on the destination while the source still holds the pages not yet sent.  A failure then
leaves the source domain paused, and what can still be saved depends on the destination QEMU:
alive, `virsh migrate --postcopy-resume` recovers the guest; gone, the guest's state is lost."""
from __future__ import annotations

from ..correlate.objects import Evidence
from .case import Case
from .verdict import Verdict

def add_postcopy_context(case: Case, v: Verdict) -> None:
    src = case.source
    if src is None:
        return
    switched = next(((t, line, text) for s, t, line, text in src.qemu_status if s == "postcopy-active"), None)
    paused = next((w for w in src.warnings + src.errors if "failed during post-copy" in w.text), None)
    if switched is None and paused is None:
        return
    dst = case.destination
    after = switched[0] if switched is not None and switched[0] is not None else float("-inf")
    dst_died = (dst is not None and ("qemu-crashed" in dst.notes or any(
        "qemu unexpectedly closed the monitor" in e.text for e in dst.errors))) or any(
        # the destination daemon's answer, in the source log, once its QEMU is gone
        e.func == "virNetClientProgramDispatchError" and "domain is not running" in e.text
        and (e.time is None or e.time >= after) for e in src.errors)
    told = []
    if switched is not None:
        t, line, text = switched
        v.evidence.append(Evidence(src.path, line, t, text, "the migration switched to post-copy: from here "
                                                            "the guest runs on the destination"))
        told.append(f"The migration had switched to post-copy at {case.when(t)}, so from then on the guest "
                    f"ran on the destination and the source held the pages not yet sent")
    if paused is not None:
        v.evidence.append(paused.evidence("the source left the domain paused"))
        told.append("the source domain was left paused (post-copy failed)")
    if dst_died:
        told.append("the destination QEMU is gone, so --postcopy-resume cannot recover the guest: its state "
                    "since the switch is lost")
        remedy = (f"The guest cannot be recovered: destroy the paused domain on the source (virsh destroy "
                  f"{case.domain}) and start it again; find out why the destination QEMU died before "
                  f"migrating with --postcopy again.")
        v.remedies = [remedy] + [r for r in v.remedies if "postcopy-resume" not in r]
    else:
        told.append("both hosts hold part of the guest: do not destroy either side")
        remedy = "Recover with virsh migrate --postcopy-resume once the cause is fixed; do not destroy either side."
        if not any("postcopy-resume" in r for r in v.remedies):
            v.remedies.insert(0, remedy)
    v.summary = f"{v.summary} {'; '.join(told)}."
