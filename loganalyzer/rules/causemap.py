"""The reviewed table that gives every generated catalogue message its cause:
``data/causes.tsv``, rows of ``code | file | cause | words``, the first matching row wins.

* code: a VIR_ERR_* name (libvirt) or the QEMU call (``error_setg``...), glob (``*`` = any);
* file: the source file that reports it, glob over the path in the release tarball;
* cause: a cause id, or ``consequence`` (the message follows a failure named elsewhere; it
  decides nothing), optionally ``consequence:<cause>,<cause>`` with the causes to look for,
  or ``none`` (the message names no cause of its own: internal bookkeeping, warnings);
* words: a regex searched (case-insensitive) in the message's format, ``*`` = any.

Lines starting with ``#`` are comments.  ``tools/catalogue_build.py`` applies the table when
it writes the data; a test proves the data agrees with the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Optional, Pattern

TABLE = Path(__file__).with_name("data") / "causes.tsv"
CONSEQUENCE = "consequence"
NONE = "none"


@dataclass(frozen=True)
class Row:
    number: int               # line number in the table: the id the data records
    code: str
    file: str
    cause: str                # cause id or consequence[:causes]
    words: Optional[Pattern[str]]

    @property
    def is_consequence(self) -> bool:
        return self.cause.split(":", 1)[0] == CONSEQUENCE

    @property
    def decides(self) -> bool:
        """Does the row give a cause (not a consequence, not 'none')?"""
        return not self.is_consequence and self.cause != NONE

    @property
    def cause_id(self) -> Optional[str]:
        """The cause, or None for a consequence or a message that names none."""
        return self.cause if self.decides else None

    @property
    def look_for(self) -> tuple[str, ...]:
        """For a consequence: the causes it usually follows."""
        if not self.is_consequence or ":" not in self.cause:
            return ()
        return tuple(c.strip() for c in self.cause.split(":", 1)[1].split(",") if c.strip())

    def matches(self, code: str, files, fmt: str) -> bool:
        if self.code != "*" and not fnmatchcase(code, self.code):
            return False
        if self.file != "*" and not any(fnmatchcase(f, self.file) for f in files):
            return False
        return self.words is None or self.words.search(fmt) is not None


class Table:
    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.by_number = {r.number: r for r in rows}

    def place(self, code: str, files, fmt: str) -> Optional[Row]:
        for r in self.rows:
            if r.matches(code, files, fmt):
                return r
        return None


def parse(text: str, known_causes=None) -> Table:
    """The table from its text; ValueError names the line of a malformed row."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        cols = [c.strip() for c in s.split("|", 3)]
        if len(cols) != 4 or not all(cols):
            raise ValueError(f"causes.tsv:{n}: want 'code | file | cause | words', got {s!r}")
        code, file, cause, words = cols
        if known_causes is not None:
            for c in ([] if cause == NONE else [cause] if not cause.startswith(CONSEQUENCE) else
                      [x for x in cause.split(":", 1)[1:] for x in x.split(",")]):
                if c.strip() and c.strip() not in known_causes:
                    raise ValueError(f"causes.tsv:{n}: unknown cause {c.strip()!r}")
        try:
            rx = None if words == "*" else re.compile(words, re.I)
        except re.error as e:
            raise ValueError(f"causes.tsv:{n}: bad regex {words!r}: {e}") from None
        rows.append(Row(n, code, file, cause, rx))
    return Table(rows)


def load(path: Path = TABLE) -> Table:
    from .causes import CAUSES
    return parse(path.read_text(encoding="utf-8"), set(CAUSES))
