"""A catalogued error message and its occurrence in text: the types the hand-written
catalogue (catalogue.py) and the generated one (generated.py) both produce."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Pattern, Tuple

from .causes import Cause

ROOT = "root"
SYMPTOM = "symptom"
ROLES: Tuple[str, ...] = (ROOT, SYMPTOM)



@dataclass(frozen=True)
class ErrorPattern:
    """One catalogued message.

    ``regex`` is searched anywhere in a line; its named groups (``domain``,
    ``uuid``, ``uri``, ``host``, ``port``, ``reason``, ``owner``, ``features`` …)
    end up in :attr:`Hit.groups`.  ``anchors`` are literal substrings of which
    every match contains at least one (the prefilter relies on that).
    ``example`` is a realistic instance of the message (self-check).
    """

    id: str
    regex: Pattern[str]
    cause: Optional[Cause]
    role: str
    meaning: str
    remedies: Tuple[str, ...]
    versions: str
    ambiguous_with: Tuple[Cause, ...] = ()
    anchors: Tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class Hit:
    """One occurrence of a pattern in a string."""

    pattern: ErrorPattern
    start: int
    end: int
    groups: Mapping[str, str] = field(hash=False)
    text: str = ""

    @property
    def id(self) -> str:
        return self.pattern.id

    @property
    def cause(self) -> Optional[Cause]:
        return self.pattern.cause

    @property
    def role(self) -> str:
        return self.pattern.role

    @property
    def is_root(self) -> bool:
        return self.pattern.role == ROOT and self.pattern.cause is not None
