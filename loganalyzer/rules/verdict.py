"""Verdict: the cause of one failed migration, how sure we are, what proves it,
what is missing, and what to change."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..correlate.objects import Evidence
from .causes import Cause
from .remedies import REMEDIES

CONFIDENCE = ("high", "medium", "low")


@dataclass
class Verdict:
    cause: Cause
    summary: str
    confidence: str = "high"
    detected_by: str | None = None          # source | destination | client | None
    evidence: list = field(default_factory=list)   # Evidence, in time order
    missing: list = field(default_factory=list)
    remedies: list = field(default_factory=list)
    consequences: list = field(default_factory=list)  # symptoms explained by this cause
    rule: str = ""
    # the cause in plain words and the decisive fact, free of names and times that differ
    # from one migration to the next ("the destination libvirtd hung for 32 s (...)")
    reason: str = ""
    # the one sentence a report opens with: "<domain> <src>-><dst> failed: <reason>"
    headline: str = ""

    def __post_init__(self):
        if not self.remedies:
            self.remedies = list(REMEDIES.get(self.cause, []))

    def sort_evidence(self):
        seen = set()
        out = []
        for e in self.evidence:
            key = (e.path, e.line)
            if key in seen:
                continue
            seen.add(key)
            out.append(e)
        out.sort(key=lambda e: (e.time if e.time is not None else float("inf"), e.path, e.line))
        self.evidence = out
        return self

    def as_dict(self) -> dict:
        return {"cause": self.cause, "headline": self.headline, "summary": self.summary,
                "detected_by": self.detected_by,
                "confidence": self.confidence,
                "evidence": [e.as_dict() for e in self.evidence],
                "missing": list(self.missing), "remedies": list(self.remedies),
                "consequences": [e.as_dict() for e in self.consequences]}


def ev(e) -> Evidence:
    """Evidence from an Evidence, an ErrorLine, or a record."""
    if isinstance(e, Evidence):
        return e
    if hasattr(e, "evidence") and callable(e.evidence):
        return e.evidence()
    return Evidence.of(e)
