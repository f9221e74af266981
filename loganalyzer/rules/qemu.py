"""qemu-failed from the correlated objects: the source QEMU died while it sent the guest.

When the source QEMU goes away in the middle of a migration (killed, OOM, a crash), the libvirt
log has no error message of its own for it: the monitor closes without a SHUTDOWN event, the
process stops with reason=crashed, and the errors that follow ("domain is not running" on the
source, "qemu unexpectedly closed the monitor ... Read section footer failed" on the destination,
whose incoming stream was cut) are consequences.  A destination QEMU that dies first is told by
its own error message (rules/messages.py)."""
from __future__ import annotations

from .case import Case
from .verdict import Verdict


def source_qemu_died(case: Case) -> Verdict | None:
    src = case.source
    if src is None or "qemu-crashed" not in src.notes:
        return None
    died = [e for e in src.evidence if "monitor hung up" in e.note or "QEMU died" in e.note
            or "reason=crashed" in e.note]
    if not died:
        return None
    t = min((e.time for e in died if e.time is not None), default=None)
    v = Verdict("qemu-failed", "", confidence="high", detected_by="source")
    v.evidence.extend(died)
    v.remedies = [
        f"Find why the source QEMU died: /var/log/libvirt/qemu/{case.domain}.log on the source host, "
        f"journalctl -k for the OOM killer or a segfault, coredumpctl for a core dump, and whatever may "
        f"have killed it (an operator, a monitoring agent, systemd).",
        "Start the domain again (its memory state is lost) and retry the migration once the cause is "
        "removed.",
    ]
    v.summary = (f"The source QEMU of domain {case.domain} died during the migration to {case.dest_name} "
                 f"at {case.when(t)}: its monitor closed without a SHUTDOWN event and libvirt stopped the "
                 f"domain with reason=crashed, so the migration failed and the guest is gone on both hosts. "
                 f"The libvirt log does not say why QEMU died: look at the domain's QEMU log "
                 f"(/var/log/libvirt/qemu/{case.domain}.log) and the kernel log (OOM killer, segfault, "
                 f"a kill) of the source host around that time.")
    v.missing.extend(case.missing_common())
    return v
