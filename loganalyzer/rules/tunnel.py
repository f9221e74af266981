"""Tunnelled-migration context for any verdict: with VIR_MIGRATE_TUNNELLED the guest's memory
travels through the daemons' own connection as a stream, not over a QEMU-to-QEMU socket, so
advice about migration ports and --migrateuri does not apply, and a stream error on the source
is the other end of the tunnel failing, not the daemons' connection."""
from __future__ import annotations

from .case import Case
from .remedies import Topic, about
from .verdict import Verdict


def add_tunnel_context(case: Case, v: Verdict) -> None:
    src = case.source
    if src is None or "tunnelled" not in src.flag_names:
        return
    v.remedies = [r for r in v.remedies if not about(r, Topic.DIRECT_PATH)] or v.remedies
    hc = case.hc_of(src)
    if hc is None or src.start is None:
        return
    end = src.end if src.end is not None else float("inf")
    broke = next((e for e in hc.errors if e.func == "virNetClientStreamRaiseError" and e.time is not None
                  and src.start <= e.time <= end + 1), None)
    if broke is None:
        return
    v.evidence.append(broke.evidence("the tunnel, a stream over the daemons' connection, failed at the "
                                     "destination's end"))
    v.summary += (f" The migration was tunnelled: its data went through the daemons' connection as a "
                  f"stream, and the source's stream error at {case.when(broke.time)} "
                  f"({broke.text.strip()[:120]}) is the destination's end of the tunnel failing.")
