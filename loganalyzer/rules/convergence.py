"""not-converging: memory is dirtied faster than it is sent (query-migrate stats)."""
from __future__ import annotations

from ..correlate.objects import Evidence
from .case import Case
from .verdict import Verdict

MIN_SAMPLES = 4


def _rate(s) -> float | None:
    if s.get("dirty_pages_rate") is None or s.get("page_size") is None:
        return None
    return float(s["dirty_pages_rate"]) * float(s["page_size"])


def not_converging(case: Case) -> Verdict | None:
    src = case.source
    if src is None or len(src.stats) < MIN_SAMPLES:
        return None
    stats = [s for s in src.stats if s.get("remaining") is not None and s.get("status") == "active"]
    if len(stats) < MIN_SAMPLES:
        return None
    half = stats[len(stats) // 2:]
    first, last = half[0], half[-1]
    sent = (last.get("transferred") or 0) - (first.get("transferred") or 0)
    remaining_drop = (first["remaining"] or 0) - (last["remaining"] or 0)
    total = last.get("total") or 0
    dirty = [_rate(s) for s in half if _rate(s) is not None]
    link = [float(s["mbps"]) * 125000 for s in half if s.get("mbps")]
    dirtier = bool(dirty and link and min(dirty) >= 0.9 * max(link))
    plateau = sent > 0.25 * total and remaining_drop < 0.05 * max(first["remaining"] or 1, 1)
    if not (plateau or dirtier) or sent <= 0:
        return None
    v = Verdict("not-converging", "", confidence="high" if plateau and dirtier else "medium", detected_by="source")
    for s in (first, last):
        v.evidence.append(Evidence(src.path, s["line"], s["time"],
                                   f"query-migrate: transferred={s.get('transferred')} remaining={s.get('remaining')} "
                                   f"mbps={s.get('mbps')} dirty-pages-rate={s.get('dirty_pages_rate')} "
                                   f"expected-downtime={s.get('expected_downtime_ms')}",
                                   "QEMU's own transfer statistics"))
    how = []
    if plateau:
        how.append(f"{sent:,} bytes sent while the remaining memory stayed at about {last['remaining']:,} bytes")
    if dirtier and dirty and link:
        how.append(f"the guest dirties about {min(dirty) / 1e6:.1f} MB/s while the link moves {max(link) / 1e6:.1f} MB/s")
    end = "it was cancelled" if src.outcome == "cancelled" else "it failed"
    v.summary = (f"The migration of domain {case.domain} to {case.dest_name} was not converging ({'; '.join(how)}) "
                 f"over {len(half)} samples up to {case.when(last['time'])}, and {end}.")
    v.missing.extend(case.missing_common())
    return v
