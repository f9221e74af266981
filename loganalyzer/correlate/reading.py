"""What the correlator reads, declared by its handlers.

Each handler module keeps a `Handlers` table and declares every handler with what it reads:

    handles = Handlers()

    @handles(probe="RPC_KEEPALIVE_TIMEOUT")          # a probe line (the record's kind)
    @handles(func="virConnectSetKeepAlive")          # every line of a function (or of several)
    @handles(kind="job", message="Started async job")  # a message family, narrowed
    @handles(func_pattern="remoteDispatch...Helper")   # functions whose names match

`message` narrows any of them to the records whose message starts with that pattern (after
`NAME: ` for a probe), on its first line.  `Reading` puts the tables together: it is the
reading list as data (probes, funcs, kinds, func patterns, message patterns), the dispatch
(`handler_for`, one dict lookup for a record's kind and one for its function), the
predicate on a parsed Record (`reads`), and the file-form pattern the prefilter matches
against a record's first line (`file_pattern`), so that the two routes read the same
records by construction.

Patterns are written in the syntax Python's `re` and RE2 (the prefilter's Arrow engine) read
the same way: no lookaround, no backreferences, [0-9] rather than \\d.
"""
from __future__ import annotations

import re
from typing import Callable, NamedTuple

from ..header import FUNCLOC, LEVEL_ERROR, LEVEL_READ, LEVEL_SEP, funcloc

# message families keyed by kind (a probe's kind is its own name)
FAMILIES = ("job", "phase", "thread_job", "error")


class Declaration(NamedTuple):
    """One handler and what it reads."""
    handler: Callable
    probe: str | None = None
    func: str | None = None
    kind: str | None = None
    func_pattern: str | None = None
    message: str | None = None

    @property
    def message_offset(self) -> int:
        """Where `message` is matched in a record's message: after `NAME: ` for a probe."""
        return len(self.probe) + 2 if self.probe else 0


class Handlers:
    """One module's handlers, each declared with what it reads."""

    def __init__(self):
        self.declarations: list[Declaration] = []

    def __call__(self, *, probe: str | None = None, func=None, kind: str | None = None,
                 func_pattern: str | None = None, message: str | None = None):
        if sum(x is not None for x in (probe, func, kind, func_pattern)) != 1:
            raise ValueError("a handler reads one of: probe, func, kind, func_pattern")
        if kind is not None and kind not in FAMILIES:
            raise ValueError(f"unknown message family {kind!r} (known: {', '.join(FAMILIES)})")

        funcs = (func,) if func is None or isinstance(func, str) else tuple(sorted(func))

        def register(fn):
            for name in funcs:
                self.declarations.append(Declaration(fn, probe, name, kind, func_pattern, message))
            return fn
        return register


class Reading:
    """The reading list of all handler tables, and the dispatch that follows it."""

    def __init__(self, *tables: Handlers):
        self.declarations = [d for t in tables for d in t.declarations]
        # kind (probe name or family) -> (handler, message match or None)
        self._by_kind: dict[str, tuple] = {}
        # function -> its (handler, message match) entries, () when no handler reads it;
        # filled on first sight of a function from its own handler and the func patterns
        self._by_func: dict[str | None, tuple] = {None: ()}
        self._by_func_plain: dict[str, tuple] = {}
        self._func_patterns: list[tuple] = []
        for d in self.declarations:
            entry = (d.handler, _message_match(d))
            if d.probe or d.kind:
                key = d.probe or d.kind
                table = self._by_kind
            elif d.func:
                key, table = d.func, self._by_func_plain
            else:
                self._func_patterns.append((re.compile(f"(?:{d.func_pattern})$"), entry))
                continue
            if key in table:
                raise ValueError(f"two handlers read {key!r}")
            table[key] = entry
        self.probes = frozenset(d.probe for d in self.declarations if d.probe)
        self.funcs = frozenset(d.func for d in self.declarations if d.func)
        self.kinds = frozenset(d.kind for d in self.declarations if d.kind)
        self.func_patterns = tuple(d.func_pattern for d in self.declarations if d.func_pattern)

    def handler_for(self, rec):
        """The handler that reads this record, or None.  A record's kind decides first
        (a probe, a message family), then its function: its own handler, then the function
        patterns it matches, the first whose message pattern (if any) matches."""
        entry = self._by_kind.get(rec.kind)
        if entry is not None:
            handler, match = entry
            return handler if match is None or match(rec.message) else None
        func = rec.func
        try:
            entries = self._by_func[func]
        except KeyError:
            entries = self._by_func[func] = self._entries_for(func)
        if not entries:
            return None
        for handler, match in entries:
            if match is None or match(rec.message):
                return handler
        return None

    def reads(self, rec) -> bool:
        """Does the correlator read this record?  (The predicate the prefilter's pattern
        stands for, on any parsed Record: file-form or unwrapped from syslog, journald,
        JSON.)"""
        return self.handler_for(rec) is not None

    def _entries_for(self, func: str) -> tuple:
        """The (handler, message match) entries of a function: its own, then its patterns'."""
        own = self._by_func_plain.get(func)
        out = [own] if own is not None else []
        out += [entry for rx, entry in self._func_patterns if rx.match(func)]
        return tuple(out)

    def file_pattern(self) -> str:
        """The reading list as one pattern on a file-form record's first line, to follow
        its header's time stamp and thread id: `LEVEL : FUNC:LINE : MESSAGE`.  Error and
        warning records are all of the error family; the others are read by function
        (plain, then by name pattern) or, after any function, by probe and family."""
        plain, by_func, after_any, errors = [], [], [], []
        for d in self.declarations:
            msg = d.message or ""
            if d.kind == "error":
                errors.append(msg)
            elif d.func and not msg:
                plain.append(re.escape(d.func))
            elif d.func:
                by_func.append(funcloc(re.escape(d.func)) + msg)
            elif d.func_pattern:
                by_func.append(funcloc(d.func_pattern) + msg)
            elif d.probe:
                after_any.append(d.probe + ": " + msg)
            else:
                after_any.append(msg)
        alts = []
        if plain:
            alts.append(funcloc("|".join(sorted(plain))))
        alts += by_func
        if after_any:
            alts.append(FUNCLOC + "(?:" + "|".join(after_any) + ")")
        out = [LEVEL_READ + LEVEL_SEP + "(?:" + "|".join(alts) + ")"] if alts else []
        if errors:
            any_message = "" in errors
            out.append(LEVEL_ERROR + LEVEL_SEP + FUNCLOC + ("" if any_message else "(?:" + "|".join(errors) + ")"))
        return "(?:" + "|".join(out) + ")"


def _message_match(d: Declaration):
    """A callable(message) -> bool for the declaration's message pattern, or None."""
    if d.message is None:
        return None
    rx = re.compile(d.message)
    off = d.message_offset
    match = rx.match
    return lambda message: match(message, off) is not None
