"""What every report opens with: the failures grouped into distinct verdicts (one section
each, however many migrations share it), and a summary by cause and host (counts, first and
last time).  Text, markdown and html render the same overview."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..rules.headline import endpoints
from .common import ranked_failures

_POINTER = re.compile(r"\b0x[0-9a-fA-F]+\b")


@dataclass
class Item:
    """One failed migration (its headline view) or one finding."""
    verdict: object                 # Verdict or Finding
    migration: object = None        # the Migration, None for a finding
    time: float | None = None       # when it failed (its end), or its first evidence line
    where: str = ""                 # "src->dst" for a migration, the host for a finding

    @property
    def label(self) -> str:
        m = self.migration
        return m.id if m is not None else (self.verdict.evidence[0].path if self.verdict.evidence else "finding")


@dataclass
class Section:
    """Migrations (or findings) with the same verdict: same cause, same reason."""
    number: int
    items: list = field(default_factory=list)
    remedies_as_in: "Section | None" = None   # an earlier section of this cause with the same remedies

    @property
    def verdict(self):
        return self.items[0].verdict

    @property
    def cause(self):
        return self.verdict.cause

    @property
    def is_finding(self) -> bool:
        return self.items[0].migration is None


@dataclass
class CauseRow:
    cause: str
    migrations: int
    findings: int
    where: list
    first: float | None
    last: float | None


def items(a) -> list[Item]:
    out = [Item(m.verdict, m, m.end if m.end is not None else m.start, endpoints(a, m)) for m in ranked_failures(a)]
    for f in a.findings:
        t = min((e.time for e in f.evidence if e.time is not None), default=None)
        out.append(Item(f, None, t, f.host or ""))
    return out


def _key(it: Item) -> tuple:
    v = it.verdict
    reason = getattr(v, "reason", "") or v.summary
    return (it.migration is None, v.cause, _POINTER.sub("0x", reason), tuple(v.remedies))


def sections(a) -> list[Section]:
    """One section per distinct verdict, in the order of their first item (the headline first)."""
    by_key: dict = {}
    out: list[Section] = []
    for it in items(a):
        k = _key(it)
        sec = by_key.get(k)
        if sec is None:
            sec = by_key[k] = Section(len(out) + 1)
            out.append(sec)
        sec.items.append(it)
    first_of: dict = {}
    for sec in out:
        k = (sec.cause, tuple(sec.verdict.remedies))
        if sec.verdict.remedies and k in first_of:
            sec.remedies_as_in = first_of[k]
        first_of.setdefault(k, sec)
    return out


def by_cause(secs: list[Section]) -> list[CauseRow]:
    """Counts, hosts and first/last time per cause, in the order the sections come."""
    rows: dict = {}
    for sec in secs:
        for it in sec.items:
            r = rows.get(sec.cause)
            if r is None:
                r = rows[sec.cause] = CauseRow(str(sec.cause), 0, 0, [], None, None)
            if it.migration is None:
                r.findings += 1
            else:
                r.migrations += 1
            if it.where and it.where not in r.where:
                r.where.append(it.where)
            if it.time is not None:
                r.first = it.time if r.first is None else min(r.first, it.time)
                r.last = it.time if r.last is None else max(r.last, it.time)
    return list(rows.values())


def when(t) -> str:
    """A failure's time in a summary: to the second."""
    from .common import fmt_time
    return fmt_time(t)[:19] if t is not None else "-"


def meta_text(sec: Section) -> str:
    """What follows the cause id under a headline: how sure, who detected it, which view, when."""
    it = sec.items[0]
    v, m = it.verdict, it.migration
    parts = [f"confidence {v.confidence}"]
    if getattr(v, "detected_by", None):
        parts.append(f"detected by the {v.detected_by}")
    if m is not None:
        also = [x for x in (m.peer, m.peer_client) if x]
        parts.append(f"{m.id} ({m.role}, domain {m.domain or '?'}, {m.outcome} at {when(it.time)} UTC"
                     + (f"; also seen as {', '.join(also)}" if also else "") + ")")
    else:
        parts.append("not a migration in these logs")
    return " · ".join(parts)


def count_words(r: CauseRow) -> str:
    """'8 migrations', '1 migration, 2 findings'."""
    parts = []
    if r.migrations:
        parts.append(f"{r.migrations} migration{'s' if r.migrations != 1 else ''}")
    if r.findings:
        parts.append(f"{r.findings} finding{'s' if r.findings != 1 else ''}")
    return ", ".join(parts)


def where_words(where: list, n: int = 3) -> str:
    return ", ".join(where[:n]) + (f" and {len(where) - n} more" if len(where) > n else "")


def opening(a, secs: list[Section]) -> str:
    """The first line of a report with several failures: how many, of what."""
    n_mig = sum(len(s.items) for s in secs if not s.is_finding)
    n_find = sum(len(s.items) for s in secs if s.is_finding)
    parts = []
    if n_mig:
        parts.append(f"{n_mig} failed or cancelled migration{'s' if n_mig != 1 else ''}")
    if n_find:
        parts.append(f"{n_find} other failure{'s' if n_find != 1 else ''} (not a migration in these logs)")
    distinct = f", {len(secs)} distinct verdicts" if len(secs) > 1 else ""
    return f"{' and '.join(parts)}{distinct}"
