"""not-converging: memory is dirtied faster than it is sent (QEMU's query-migrate statistics).

Pre-copy migration sends guest memory in passes; at the end of each pass QEMU syncs the dirty
bitmap and "remaining" jumps back to what the guest dirtied meanwhile.  A migration converges
when that amount shrinks from pass to pass until it fits in the downtime limit; it does not when
it stays the same (the guest dirties memory as fast as the link sends it).  Within a pass
"remaining" falls steadily, so samples are compared at the same point of each pass: right after
a sync.  Without sync counts (very old QEMU) the second half of the samples is used.
"""
from __future__ import annotations

from .case import Case
from .causes import Cause
from .verdict import Verdict

MIN_SAMPLES = 4
SHRINK = 0.9     # a pass that leaves less than 90% of the dirty memory of the pass before makes progress


def _rate(s) -> float | None:
    if s.dirty_pages_rate is None or s.page_size is None:
        return None
    return float(s.dirty_pages_rate) * float(s.page_size)


def _link(samples) -> float | None:
    link = [float(s.mbps) * 125000 for s in samples if s.mbps]
    return max(link) if link else None


def not_converging(case: Case) -> Verdict | None:
    src = case.source
    if src is None:
        return None
    return _by_passes(case, src) or _by_samples(case, src)


def _by_passes(case: Case, src) -> Verdict | None:
    after = [p for p in src.syncs if p.sync_count >= 2 and p.sample.remaining]
    if len(after) < 2:
        return None
    dirty = [p.sample.remaining for p in after]
    if any(b < SHRINK * a for a, b in zip(dirty, dirty[1:])):
        return None                                   # some pass made progress: converging, slowly
    last = src.stats[-1] if src.stats else after[-1].sample
    limit = src.downtime_limit.ms if src.downtime_limit else None
    expected = last.expected_downtime_ms
    over = bool(limit and expected and expected > limit)
    link = _link(p.sample for p in after)
    evidence = ([src.downtime_limit.evidence] if src.downtime_limit else []) + [p.evidence for p in after[-4:]]
    if src.last_stats is not None and src.last_stats.line != evidence[-1].line:
        evidence.append(src.last_stats)
    how = [f"after each of the last {len(after)} passes over guest memory QEMU found about "
           f"{after[-1].sample.remaining / 1e6:.1f} MB dirty again ("
           + ", ".join(f"{p.sample.remaining:,} bytes after pass {p.sync_count - 1}" for p in after[-3:]) + ")"]
    if link:
        how.append(f"the link moved {link / 1e6:.1f} MB/s")
    if over:
        how.append(f"the expected downtime stayed at {expected / 1000:.1f} s against a limit of {limit} ms")
    reason = (f"the guest dirtied memory as fast as it was sent: each pass over its memory left about "
              f"{after[-1].sample.remaining / 1e6:.0f} MB dirty again"
              + (f" (expected downtime {expected / 1000:.1f} s, limit {limit:g} ms)" if over else ""))
    return _verdict(case, src, "high" if over or len(after) >= 3 else "medium", evidence, "; ".join(how), reason)


def _by_samples(case: Case, src) -> Verdict | None:
    stats = [s for s in src.stats if s.remaining is not None and s.status == "active"]
    if len(stats) < MIN_SAMPLES:
        return None
    half = stats[len(stats) // 2:]
    first, last = half[0], half[-1]
    sent = (last.transferred or 0) - (first.transferred or 0)
    remaining_drop = (first.remaining or 0) - (last.remaining or 0)
    total = last.total or 0
    dirty = [_rate(s) for s in half if _rate(s) is not None]
    link = _link(half)
    dirtier = bool(dirty and link and min(dirty) >= 0.9 * link)
    plateau = sent > 0.25 * total and remaining_drop < 0.05 * max(first.remaining or 1, 1)
    if not (plateau or dirtier) or sent <= 0:
        return None
    how = []
    if plateau:
        how.append(f"{sent:,} bytes sent while the remaining memory stayed at about {last.remaining:,} bytes")
    if dirtier:
        how.append(f"the guest dirties about {min(dirty) / 1e6:.1f} MB/s while the link moves {link / 1e6:.1f} MB/s")
    how.append(f"over {len(half)} samples up to {case.when(last.time)}")
    evidence = [p.evidence for p in src.syncs[-2:]]
    if src.last_stats is not None and not any(e.line == src.last_stats.line for e in evidence):
        evidence.append(src.last_stats)
    reason = ("the guest dirtied memory as fast as it was sent: "
              + (f"the remaining memory stayed at about {last.remaining / 1e6:.0f} MB" if plateau else
                 f"it dirties about {min(dirty) / 1e6:.1f} MB/s, the link moves {link / 1e6:.1f} MB/s"))
    return _verdict(case, src, "high" if plateau and dirtier else "medium", evidence, "; ".join(how), reason)


def _verdict(case: Case, src, confidence: str, evidence: list, how: str, reason: str) -> Verdict:
    v = Verdict(Cause.NOT_CONVERGING, "", confidence=confidence, detected_by="source", reason=reason)
    v.evidence.extend(evidence)
    v.summary = (f"The migration of domain {case.domain} to {case.dest_name} was not converging: "
                 f"{how}. {_end(case, src)}")
    v.missing.extend(case.missing_common())
    return v


def _end(case: Case, src) -> str:
    how = "was cancelled" if src.outcome == "cancelled" else "failed"
    when = src.end if src.end is not None else (src.stats[-1].time if src.stats else None)
    return f"It {how} at {case.when(when)}." if when is not None else f"It {how}."
