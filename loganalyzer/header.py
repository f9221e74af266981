"""The record header, written once: the grammar's terminals DATETIME | CLOCK, TID,
LEVEL | LEVEL_ERR, the level separator and FUNCLOC, and every form of them a reader needs:
the record-start rule (fastpath, formats, the Arrow rows, the prefilter), the header with
its parts as groups, and the pieces the correlator's reading list is built from.

The header terminals spell digits [0-9], so each pattern here means the same in Python's
`re` and in RE2 (Arrow's engine, used by the prefilter).  tests/test_grammar.py ties every
form to the grammar.
"""
from __future__ import annotations

import re

from .terminals import TERMINALS as T
from .values import to_int

DATETIME = T["DATETIME"]                  # '2026-11-25 20:29:53.724+0000: '
CLOCK = T["CLOCK"]                        # '20:29:53.724: ' (≈0.6: local time, no date)
TID = T["TID"]                            # '13681: '
LEVEL_READ = T["LEVEL"]                   # debug | info | unknown
LEVEL_ERROR = T["LEVEL_ERR"]              # error | warning
LEVEL = f"(?:{LEVEL_READ}|{LEVEL_ERROR})"
LEVEL_SEP = T["_LSEP"]                    # ' : '
FUNCLOC = T["FUNCLOC"]                    # 'virKeepAliveTimerInternal:126 : '
STAMP = f"(?:{DATETIME}|{CLOCK})"
# the stamp and the thread id end with this separator (cut off where their values are read)
TERMINAL_END = ": "

# A record starts at a line that matches the header (libvirt's own VIR_LOG_REGEX, widened to
# the older formats); the rest of the line and the lines up to the next start are its message.
RECORD_START_PATTERN = f"{STAMP}(?:{TID})?{LEVEL}{LEVEL_SEP}"
RECORD_START = re.compile("^" + RECORD_START_PATTERN, re.M)
RECORD_ANYWHERE = re.compile(RECORD_START_PATTERN)      # libvirt lines pasted inside other text

# The header with its parts as groups: DATETIME, CLOCK, TID, level, FUNCLOC (each None when
# absent; FUNCLOC is absent on the function-less header lines).
HEAD = re.compile(f"(?:({DATETIME})|({CLOCK}))({TID})?({LEVEL}){LEVEL_SEP}(?:({FUNCLOC}))?")
# The same after the time stamp (a syslog message): TID, level, FUNCLOC.
AFTER_STAMP = re.compile(f"({TID})({LEVEL}){LEVEL_SEP}(?:({FUNCLOC}))?")
# After the thread id: level, FUNCLOC (the Arrow rows look up this part of a record).
AFTER_TID = re.compile(f"({LEVEL}){LEVEL_SEP}(?:({FUNCLOC}))?")
# For re.split of a block: a record start after a newline (a literal first character lets re
# skip ahead fast) with DATETIME and TID as groups, so that the text between two starts is
# "LEVEL : FUNC:LINE : message".
SPLIT_AT_START = re.compile(f"\n(?:({DATETIME})|{CLOCK})({TID})?(?={LEVEL}{LEVEL_SEP})")

# The start of a record's first line up to its level (the prefilter's reading list follows).
LINE_HEAD = f"^{STAMP}(?:{TID})?"

# FUNCLOC is a function name, ':' and the source line: the name part is cut off here, so that
# a pattern can name the functions it wants (funcloc("virConnectOpen|virConnectOpenAuth")).
FUNC_NAME, _colon, _LINE_TAIL = FUNCLOC.partition(":")


def funcloc(names: str) -> str:
    """FUNCLOC restricted to the functions whose names match `names` (a pattern)."""
    return f"(?:{names}):{_LINE_TAIL}"


def split_funcloc(funcloc_text: str) -> tuple[str, int | None]:
    """'virKeepAliveTimerInternal:126 : ' -> ('virKeepAliveTimerInternal', 126).  A line
    number too large for 64 bits is None, not counted as a bad value: the fast analysis
    route never reads the line numbers of the records it skips."""
    func, _, rest = funcloc_text.partition(":")
    return func, to_int(rest.split(" ", 1)[0])
