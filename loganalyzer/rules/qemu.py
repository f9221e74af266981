"""qemu-failed from the correlated objects, where the error messages mislead.

source_qemu_died: when the source QEMU goes away in the middle of a migration (killed, OOM, a
crash), the libvirt log has no error message of its own for it: the monitor closes without a
SHUTDOWN event, the process stops with reason=crashed, and the errors that follow ("domain is not
running" on the source, "qemu unexpectedly closed the monitor ... Read section footer failed" on
the destination, whose incoming stream was cut) are consequences.  A destination QEMU that dies
first is told by its own error message (rules/messages.py).

stream_stalled: QEMU's counters stand still while the job stays active (the data connection went
to another listener, or a firewall drops it); the broken pipe, or the operator's cancel, that
ends it is a consequence."""
from __future__ import annotations

from ..correlate.objects import Evidence, EvidenceKind as K, MigrationFact
from . import remedies
from .case import Case
from .causes import Cause
from .verdict import Verdict

# the lines that show a QEMU going away: its monitor hung up or closed, its process stopped crashed
QEMU_DIED = {K.MONITOR_HANGUP, K.MONITOR_EOF, K.QEMU_STOPPED_CRASHED}


def source_qemu_died(case: Case) -> Verdict | None:
    src = case.source
    if src is None or MigrationFact.QEMU_CRASHED not in src.facts:
        return None
    died = [e for e in src.evidence if e.kind in QEMU_DIED]
    if not died:
        return None
    t = min((e.time for e in died if e.time is not None), default=None)
    v = Verdict(Cause.QEMU_FAILED, "", confidence="high", detected_by="source")
    v.evidence.extend(died)
    v.remedies = remedies.source_qemu_died(case.domain)
    v.summary = (f"The source QEMU of domain {case.domain} died during the migration to {case.dest_name} "
                 f"at {case.when(t)}: its monitor closed without a SHUTDOWN event and libvirt stopped the "
                 f"domain with reason=crashed, so the migration failed and the guest is gone on both hosts. "
                 f"The libvirt log does not say why QEMU died: look at the domain's QEMU log "
                 f"(/var/log/libvirt/qemu/{case.domain}.log) and the kernel log (OOM killer, segfault, "
                 f"a kill) of the source host around that time.")
    v.reason = ("the source QEMU died in the middle of the migration (its monitor closed without a SHUTDOWN "
                "event, stopped with reason=crashed); the guest is gone on both hosts")
    v.missing.extend(case.missing_common())
    return v


STALL_SECONDS = 10   # a running migration whose counters stand still this long is not moving


def stream_stalled(case: Case) -> Verdict | None:
    """qemu-failed, told apart: the migration stream made no progress before the job ended (the
    data connection went somewhere else, or nowhere: a port taken on the destination, a firewall
    that drops, a wrong migration address)."""
    src = case.source
    if src is None or src.stalled_since is None or not src.stats:
        return None
    last = src.stats[-1]
    t0 = src.stalled_since.time
    # (not QEMU's mbps: it keeps its last value while the migration thread is blocked on a socket)
    if last.status != "active" or t0 is None or last.time is None or last.time - t0 < STALL_SECONDS:
        return None
    c = src.dconn
    hc = case.hc_of(src)
    by = last.time + 1
    if c is not None and ((c.close_reason in (1, 2) and c.close_asked is None and c.closed is not None
                           and c.closed.time is not None and c.closed.time <= by)
                          or any(d.connection is c and d.time is not None and d.time <= by
                                 for d in (hc.deaths if hc is not None else []))):
        return None   # the daemons' connection broke while it stalled: the connection rules tell that
    dst = case.destination
    v = Verdict(Cause.QEMU_FAILED, "", confidence="high", detected_by="source")
    v.evidence.extend([src.stalled_since, src.last_stats])
    told = [f"QEMU's statistics show nothing more sent (transferred stayed at {last.transferred or 0:,} "
            f"bytes) from {case.when(t0)} to {case.when(last.time)} ({last.time - t0:.1f} s)"]
    if dst is not None and dst.qemu_status and all(q.status == "setup" for q in dst.qemu_status):
        q = dst.qemu_status[-1]
        v.evidence.append(Evidence(dst.path, q.line, q.time, q.text, "the destination's incoming migration never "
                                                                     "left 'setup': no stream reached its QEMU"))
        told.append("the destination's incoming migration never left 'setup', so the stream never reached "
                    "the destination QEMU")
    end = next((e for e in src.errors if e.time is not None and e.time >= last.time), None)
    port = (src.migrate_uri or "").rsplit(":", 1)[-1] if (src.migrate_uri or "").count(":") >= 2 else None
    v.summary = (f"The migration stream of domain {case.domain} to {case.dest_name} made no progress: "
                 f"{'; '.join(told)}."
                 + (f" It was then {'cancelled' if src.outcome == 'cancelled' else 'failed'} at "
                    f"{case.when(end.time)}: {end.text.strip()[:200]}." if end else ""))
    v.reason = (f"the migration stream stopped moving: QEMU sent nothing for {last.time - t0:.0f} s"
                + (" and the destination's incoming migration never left 'setup' (the data connection went "
                   "elsewhere)" if len(told) > 1 else " (the data path between the QEMUs is blocked)"))
    v.remedies = remedies.stream_stalled(src.migrate_uri, port)
    v.missing.extend(case.missing_common())
    return v
