"""Helpers shared by the renderers: which incident to show, clock offsets,
re-reading a window of records from the logs, short texts."""
from __future__ import annotations

import os
import re

from ..records import fmt_time as _fmt_time
from ..rules.causes import Cause
from ..sources import InputError
from . import ReportWarning  # noqa: F401 (re-exported)

# The order in which verdicts make the headline: a real failure before a cancel.
_CAUSE_RANK = {Cause.CANCELLED: 5, Cause.UNDETERMINED: 4}


def fmt_time(t: float | None, date: bool = True) -> str:
    """records.fmt_time, optionally without the date."""
    s = _fmt_time(t)
    return s if date or t is None else s[11:]


def fmt_duration(s: float) -> str:
    """3 h 12 min, 4 min 5 s, 32 s, 1.2 s."""
    s = abs(float(s))
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    if s < 3600:
        m, sec = divmod(int(round(s)), 60)
        return f"{m} min {sec} s" if sec and m < 10 else f"{m} min"
    h, rest = divmod(int(round(s)), 3600)
    return f"{h} h {rest // 60} min" if rest // 60 else f"{h} h"


def short(s, n: int) -> str:
    s = " ".join(str(s or "").split())
    return s if len(s) <= n else s[: max(1, n - 1)] + "…"


def one_line(summary: str, n: int = 170) -> str:
    """The first sentence of a summary, without its parentheticals, cut to n chars."""
    s = " ".join((summary or "").split())
    # first sentence: a '. ' that is not inside a number or a path
    m = re.search(r"(?<=[a-z0-9\)\]'])\.\s+(?=[A-Z])", s)
    if m:
        s = s[: m.start() + 1]
    # drop (...) asides, innermost first
    for _ in range(3):
        s2 = re.sub(r"\s*\([^()]*\)", "", s)
        if s2 == s:
            break
        s = s2
    return short(s, n)


def input_notes(a) -> list[tuple[str, str]]:
    """(kind, text) lines every report ends its inputs with: the clock offsets between the
    hosts, each input's warnings and errors."""
    out = []
    for p in a.pairs:
        if p.get("clock_offset") is not None:
            out.append(("clock", f"clock offset {p['destination_host']} - {p['source_host']}: "
                                 f"{p['clock_offset'] * 1000:+.0f} ms (from {len(p['samples'])} paired events)"))
    for f in a.inputs:
        out.extend(("warning", w) for w in f.warnings)
        if f.error:
            out.append(("error", f.error))
    return out


def base(path: str) -> str:
    return os.path.basename(path) if path else path


# -- hosts and clocks
def host_shift(a, label: str | None) -> float:
    """Seconds to ADD to a host's times to put them on the reference (source) clock."""
    for p in getattr(a, "pairs", []) or []:
        off = p.get("clock_offset")
        if off is None:
            continue
        if p.get("destination_host") == label:
            return -float(off)
    return 0.0


def host_of_path(a, path: str) -> str | None:
    for h in a.hosts:
        if path in h.paths or any(os.path.abspath(path) == os.path.abspath(p) for p in h.paths):
            return h.label
        for f in h.facts:
            if f.path == path:
                return h.label
    return None


def conn_by_id(a) -> dict:
    return {c.id: c for c in a.connections}


def log_extent(a, label: str) -> tuple:
    """First and last record time of one host's logs (its own clock)."""
    for h in a.hosts:
        if h.label == label:
            ts = [f.first_time for f in h.facts if f.first_time is not None]
            te = [f.last_time for f in h.facts if f.last_time is not None]
            return (min(ts) if ts else None, max(te) if te else None)
    return (None, None)


# -- what to show
def ranked_failures(a) -> list:
    """Failed migrations with a verdict, the headline first (one view per incident)."""
    out = []
    seen = set()
    ms = [m for m in a.migrations if m.verdict is not None]
    ms.sort(key=lambda m: (_CAUSE_RANK.get(m.verdict.cause, 0),
                           {"source": 0, "destination": 1}.get(m.role, 2),
                           m.start if m.start is not None else float("inf")))
    for m in ms:
        group = {m.id, m.peer, m.peer_client} - {None}
        if group & seen:
            continue
        seen |= group
        out.append(m)
    out.sort(key=lambda m: (_CAUSE_RANK.get(m.verdict.cause, 0),
                            m.start if m.start is not None else float("inf")))
    return out


def pick_incident(a, migration: str | None = None) -> dict:
    """The one incident a picture shows: {kind, migration, verdict, deaths, finding, others}."""
    inc = {"kind": "none", "migration": None, "verdict": None, "deaths": [], "finding": None, "others": []}
    if migration:
        m = a.migration(migration)
        if m is None:
            raise ValueError(f"no migration {migration!r} (known: {', '.join(x.id for x in a.migrations) or 'none'})")
        cands = [m]
    else:
        cands = ranked_failures(a)
        if not cands:
            cands = [m for m in a.migrations if m.role == "source"] or list(a.migrations)
            cands.sort(key=lambda m: (m.outcome == "succeeded", m.start or 0))
    if cands:
        m = cands[0]
        # draw from the source's point of view when both are known
        if m.role != "source" and m.peer and a.migration(m.peer) is not None and a.migration(m.peer).role == "source":
            m = a.migration(m.peer)
        inc.update(kind="migration", migration=m, verdict=m.verdict or (a.migration(m.peer).verdict if m.peer and a.migration(m.peer) else None))
        inc["deaths"] = [d for d in a.keepalive_deaths if d.migration is not None and d.migration in {m.id, m.peer}]
        inc["others"] = [x for x in cands[1:] if x.id not in {m.id, m.peer}] if not migration else []
        if not migration:
            inc["others"] = [x for x in ranked_failures(a) if x.id not in {m.id, m.peer, m.peer_client}
                             and x.peer != m.id]
        return inc
    if a.keepalive_deaths:
        d = sorted(a.keepalive_deaths, key=lambda d: d.time or 0)[0]
        f = next((f for f in a.findings if any(e.line == d.line and e.path == d.path for e in f.evidence)), None)
        inc.update(kind="death", deaths=[d], finding=f or (a.findings[0] if a.findings else None))
        inc["others"] = [x for x in a.keepalive_deaths if x is not d]
        return inc
    if a.findings:
        inc.update(kind="finding", finding=a.findings[0])
    return inc


# -- re-reading records
class Row:
    __slots__ = ("path", "line", "time", "tid", "level", "func", "message", "kind", "host")

    def __init__(self, rec, host=None):
        self.path = rec.path
        self.line = rec.line
        self.time = rec.time
        self.tid = rec.tid
        self.level = rec.level
        self.func = rec.func
        self.message = rec.message if rec.message is not None else rec.text
        self.kind = rec.kind
        self.host = host


def records_in_window(a, label: str, t0: float, t1: float, limit: int = 400_000) -> list:
    """Records of one host whose own-clock time is within [t0, t1] (stops reading
    once a file is well past t1).  An input that cannot be read again is noted
    (report_problem) and left out."""
    cache = a.__dict__.setdefault("_report_windows", {})
    key = (label, round(t0, 3), round(t1, 3))
    if key in cache:
        return cache[key]
    out = []
    for h in a.hosts:
        if h.label != label:
            continue
        for p in h.paths:
            try:
                past = 0
                for rec in a.reader(p):
                    t = rec.time
                    if t is None:
                        continue
                    if t < t0:
                        continue
                    if t > t1:
                        past += 1
                        if t > t1 + 300 or past > 20000:
                            break
                        continue
                    out.append(Row(rec, label))
                    if len(out) >= limit:
                        break
            except (InputError, OSError) as e:
                report_problem(a, f"{p}: not read again for the timeline ({_why(e)})")
                unreadable(a).add(label)
    cache[key] = out
    return out


def unreadable(a) -> set:
    """Labels of the hosts whose logs could not be read again (a scan's temporary copies are
    removed when its result is closed): their timeline lacks thread rows and activity."""
    return a.__dict__.setdefault("_report_unreadable", set())


def report_problem(a, msg: str) -> None:
    """A part of a report that could not be made: the report says so, and the CLI prints
    a.report_problems on standard error."""
    if msg not in a.report_problems:
        a.report_problems.append(msg)


def _why(e: Exception) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:200]


def records_around(a, spots, before: int = 6, after: int = 6, limit: int = 1500) -> list:
    """Records near each (path, line) in spots: `before` records before it and `after` after,
    merged, in file order per path.  Every row keeps its path and line.  An input that
    cannot be read again is noted (report_problem) and left out."""
    by_path: dict = {}
    for path, line in spots:
        if path and line:
            by_path.setdefault(path, set()).add(int(line))
    rows = []
    for path, lines in by_path.items():
        label = host_of_path(a, path)
        wanted = sorted(lines)
        hist: list = []
        keep_after = 0
        nxt = 0
        last_line = wanted[-1]
        try:
            for rec in a.reader(path):
                # the record that contains a wanted line (multi-line records)
                hit = False
                while nxt < len(wanted) and wanted[nxt] <= rec.line + rec.raw.count("\n"):
                    if wanted[nxt] >= rec.line:
                        hit = True
                    nxt += 1
                if hit:
                    rows.extend(hist)
                    hist = []
                    rows.append(Row(rec, label))
                    keep_after = after
                elif keep_after > 0:
                    rows.append(Row(rec, label))
                    keep_after -= 1
                else:
                    hist.append(Row(rec, label))
                    if len(hist) > before:
                        hist.pop(0)
                    if nxt >= len(wanted) and rec.line > last_line:
                        break
                if len(rows) > limit:
                    break
        except (InputError, OSError) as e:
            report_problem(a, f"{path}: not read again for the events around the incident ({_why(e)})")
    return rows


def key_spots(verdict_or_finding, n: int = 40) -> list:
    """The (path, line) of the evidence lines that carry a real line number."""
    out = []
    for e in list(getattr(verdict_or_finding, "evidence", []))[:n]:
        if e.path and e.line:
            out.append((e.path, e.line))
    return out
