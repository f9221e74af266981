"""Which records the correlator reads, as one pattern on the first line of a file-form
record: the prefilter's test (prefilter.py), made from the record header (header.py) and
the handlers' own declarations (build.READING), so that it reads what feeding every record
would.

The fast route (prefilter.py) finds these lines in Arrow's RE2, a block of text at a time,
and never builds the other records; the pattern therefore sticks to syntax both engines
read the same way: no lookaround, no backreferences, [0-9] rather than \\d (which is
Unicode-wide in Python).
"""
from __future__ import annotations

import re

from ..header import LEVEL_READ, LEVEL_SEP, LINE_HEAD
from .build import READING

# Besides what the correlator reads, the fast route needs the function-less header lines
# (the log's libvirt version and host name, for the input's facts).
HEADER_LINES = LEVEL_READ + LEVEL_SEP + "(?:libvirt version: |hostname: )"

INTEREST_PATTERN = LINE_HEAD + "(?:" + READING.file_pattern() + "|" + HEADER_LINES + ")"

# A line that is not a record start but shows an error (virsh's own "error: ..." after
# its progress output, a report's decorated copy of an error record): the reader
# glues it to the record before it, and the error catalogue reads it.
FOREIGN_ERROR = r"^(?:[^0-9\n][^\n]*)?(?:error|warning) ?: "
INTEREST_PATTERN = "(?:" + INTEREST_PATTERN + ")|" + FOREIGN_ERROR

INTEREST = re.compile(INTEREST_PATTERN)
FOREIGN_ERROR_RE = re.compile(FOREIGN_ERROR)


# ---------------------------------------------------------------- the compiled scan's sieve
# The compiled scan (_headscan.headers) reads each record's level, function and message start
# anyway; with the sieve it hands RE2 only the lines that can match INTEREST_PATTERN (one in
# 14-20 on the benchmark logs), RE2 still deciding.  A line can match only where (a) it is no record start and
# holds "error" or "warning" (FOREIGN_ERROR), or (b) it is a record start at level warning or
# error, or without FUNC:LINE (HEADER_LINES), or whose function is one a handler names
# (`funcs`) or begins as a handler's function pattern must (`func_prefixes`), or whose message
# begins as a message read after any function must (`msg_prefixes`; a probe's whose pattern
# is `[^\n]*` and a text, such as QEMU's replies that name "ram", only where the line holds one
# of the text's literal starts after it).  None where some declaration cannot be bounded so
# (every line then goes to RE2).
try:
    from re import _parser as _sre             # (Python 3.11 and later)
except ImportError:                             # pragma: no cover
    import sre_parse as _sre                    # type: ignore[no-redef]

_MAX_PREFIXES = 64


def literal_prefixes(pattern: str) -> list[str] | None:
    """Non-empty literal strings one of which begins every match of the pattern (at most
    _MAX_PREFIXES), or None when a match can begin otherwise."""
    try:
        tree = _sre.parse(pattern)
    except re.error:
        return None
    return None if tree.state.flags & re.IGNORECASE else _literal_starts(list(tree))


def _literal_starts(items) -> list[str] | None:
    got, _ = _prefixes(items)
    return None if "" in got else sorted(set(got))


def _prefixes(items) -> tuple[list[str], bool]:
    """(prefixes, whole): the literal starts of a sequence of parsed items; whole when each is
    a whole match of the sequence (so that what follows may be added to them)."""
    acc = [""]
    for op, av in items:
        if op is _sre.LITERAL:
            acc = [a + chr(av) for a in acc]
            continue
        if op is _sre.SUBPATTERN and not av[1] and not av[2]:      # (no inline flags)
            parts = [(list(av[3]))]
        elif op is _sre.BRANCH:
            parts = [list(seq) for seq in av[1]]
        else:
            return acc, False
        subs, whole = [], True
        for part in parts:
            got, w = _prefixes(part)
            subs += got
            whole = whole and w
        if len(acc) * len(subs) > _MAX_PREFIXES:
            return acc, False
        acc = [a + s for a in acc for s in subs]
        if not whole:
            return acc, False
    return acc, True


def held_anywhere(pattern: str) -> list[str] | None:
    """For a pattern `[^\n]*X`: non-empty literal texts one of which every match holds (X's
    literal starts, literal_prefixes); None for any other pattern."""
    try:
        tree = _sre.parse(pattern)
    except re.error:
        return None
    items = list(tree)
    if tree.state.flags & re.IGNORECASE or not items or items[0][0] not in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        return None
    low, _, body = items[0][1]
    if low != 0 or list(body) != [(_sre.NOT_LITERAL, 10)]:
        return None
    return _literal_starts(items[1:])


def sieve(reading) -> tuple[bytes, bytes, bytes] | None:
    """The sieve of a reading list: (funcs, func_prefixes, msg_prefixes), each a list of
    ASCII names or texts joined by line breaks (a message prefix followed by the texts one of
    which the rest of its line must hold, each after a tab); None when a declaration cannot
    be bounded."""
    funcs, func_prefixes = set(), set()
    msg_prefixes: dict[str, set | None] = {}        # prefix -> texts one of which must follow, or None

    def after(prefix: str, texts) -> None:
        if texts is None or (prefix in msg_prefixes and msg_prefixes[prefix] is None):
            msg_prefixes[prefix] = None         # (anything may follow)
        else:
            msg_prefixes[prefix] = msg_prefixes.get(prefix, set()) | set(texts)

    for d in reading.declarations:
        if d.kind == "error":
            continue                            # (every warning and error record is sifted through)
        if d.func:
            funcs.add(d.func)
            continue
        msg = literal_prefixes(d.message) if d.message else None
        if d.func_pattern:
            names = literal_prefixes(d.func_pattern)
            if names is not None:
                func_prefixes.update(names)
                continue
        elif d.probe:
            if not msg:
                after(d.probe + ": ", held_anywhere(d.message) if d.message else None)
                continue
            msg = [d.probe + ": " + m for m in msg]
        if not msg:
            return None
        for m in msg:
            after(m, None)
    func_prefixes = _shortest(dict.fromkeys(func_prefixes))
    msg_starts = _shortest(msg_prefixes)
    texts = list(funcs) + func_prefixes + [t for p in msg_starts for t in [p, *(msg_prefixes[p] or ())]]
    if any(not t.isascii() or "\n" in t or "\t" in t or not t for t in texts):
        return None
    msgs = ["\t".join([p, *sorted(msg_prefixes[p] or ())]) for p in msg_starts]
    return tuple("\n".join(sorted(p)).encode() for p in (funcs, func_prefixes, msgs))


def _shortest(prefixes: dict) -> list:
    """The prefixes (each with the texts one of which must follow it, None: anything may) that
    do not begin with another followed by anything: those let through nothing more."""
    return [p for p in prefixes if not any(q != p and p.startswith(q) and prefixes[q] is None for q in prefixes)]


SIEVE = sieve(READING)
