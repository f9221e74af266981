"""Terminal output (rich)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..records import fmt_time  # noqa: F401 (re-exported)
from ..rules.causes import Cause
from . import overview
from .common import input_notes
from .console import PIPE_WIDTH, UNLIMITED, TextOut, _t, print_facts, report_console  # noqa: F401 (re-exported)


_REC = re.compile(r"^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d\.\d{3})[+-]\d{4}: (\d+): (\w+) : ([\w.]+):\d+ : (.*)$")


def _ev_line(e, width: int = 200) -> str:
    """path:line  time  tid  level  func: message  # note   (rich markup, escaped)"""
    text = e.text.replace("\r", " ").replace("\n", " ")
    m = _REC.match(text)
    if m:
        t, tid, lvl, func, msg = m.groups()
        colour = {"error": "red", "warning": "yellow"}.get(lvl, "")
        lv = f"[{colour}]{lvl:<5}[/]" if colour else f"{lvl:<5}"
        body = f"[dim]{t} {tid:>6}[/] {lv} [cyan]{_t(func)}[/]: {_t(msg[:width])}"
    else:
        body = _t(text[:width])
    note = f"  [dim]# {_t(e.note)}[/]" if getattr(e, "note", "") else ""
    return f"  [bold]{_t(e.path)}:{e.line}[/]  {body}{note}"


def _print_verdict(out: TextOut, a, sec, max_evidence: int, numbered: bool) -> None:
    """One distinct verdict: its headline, who and how sure, the summary, evidence, what the user
    saw, what is missing, remedies (or where they were printed), the other migrations it covers."""
    it = sec.items[0]
    v, m = it.verdict, it.migration
    colour = "yellow" if v.cause == Cause.CANCELLED else "red"
    if numbered:
        n = len(sec.items)
        many = f": {n} {'findings' if sec.is_finding else 'migrations'}" if n > 1 else ""
        out.line(f"[bold]\\[{sec.number}] {_t(str(v.cause))}{_t(many)}[/]")
    out.prose(v.headline or v.summary, hang=2, style=f"bold {colour}")
    out.prose(f"cause {v.cause} · " + overview.meta_text(sec), indent=2, hang=2, style="dim")
    out.line()
    out.prose(v.summary, indent=2)
    out.line("  [bold]evidence[/]")
    for e in v.evidence[:max_evidence]:
        out.line("  " + _ev_line(e))
    if len(v.evidence) > max_evidence:
        out.line(f"    [dim]... {len(v.evidence) - max_evidence} more evidence lines (--format json shows all)[/]")
    cons = getattr(v, "consequences", None)
    if cons:
        out.line("  [bold]what the user saw (consequences, not the cause)[/]")
        for e in cons[:4]:
            out.line(f"    [bold]{_t(e.path)}:{e.line}[/]: {_t(_one_line(e.text))}")
    if v.missing:
        out.line("  [bold]missing[/]")
        for x in v.missing:
            out.prose(x, indent=4, prefix="- ")
    if v.remedies:
        if sec.remedies_as_in is not None:
            out.line(f"  [bold]remedies[/]: as in \\[{sec.remedies_as_in.number}] above")
        else:
            out.line("  [bold]remedies[/]")
            for r in v.remedies[:6]:
                out.prose(r, indent=4, prefix="- ")
    rest = sec.items[1:]
    if rest:
        what = "findings" if sec.is_finding else "migrations"
        out.line(f"  [bold]the same verdict for {len(rest)} more {what}[/]")
        t = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        for c in (("where", "host", "time (UTC)") if sec.is_finding else ("id", "domain", "hosts", "failed (UTC)")):
            t.add_column(c, no_wrap=True)
        for x in rest:
            if sec.is_finding:
                t.add_row(_t(x.label), _t(x.where or "-"), overview.when(x.time))
            else:
                t.add_row(_t(x.migration.id), _t(x.migration.domain or "?"), _t(x.where), overview.when(x.time))
        _indented(out, t, 4)
    out.line()


def _one_line(text: str) -> str:
    return " ".join(str(text).replace("\r", " ").split())


def _indented(out: TextOut, t: Table, n: int) -> None:
    from rich.padding import Padding
    out.table(Padding(t, (0, 0, 0, n)))


def _print_overview(out: TextOut, a, secs) -> None:
    """What happened, in the first lines: how many failures, a summary by cause and host
    (counts, first and last time), then each distinct verdict's headline."""
    out.prose(overview.opening(a, secs) + ":", style="bold")
    t = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for c in ("cause", "count", "hosts", "first (UTC)", "last (UTC)"):
        t.add_column(c, no_wrap=True)
    for r in overview.by_cause(secs):
        t.add_row(_t(r.cause), overview.count_words(r), _t(overview.where_words(r.where)),
                  overview.when(r.first), overview.when(r.last))
    _indented(out, t, 2)
    for sec in secs:
        n = len(sec.items)
        more = f" ({n} {'findings' if sec.is_finding else 'migrations'})" if n > 1 else ""
        out.prose(sec.verdict.headline + more, indent=2, prefix=f"\\[{sec.number}] ")
    out.line()


def print_analysis(a, console: Console | None = None, max_evidence: int = 14):
    """The answer first: with several failures a summary by cause and host, then one section
    per distinct verdict (headline, evidence, remedies), then the migrations and the inputs."""
    out = TextOut(console or report_console())
    secs = overview.sections(a)
    if not secs:
        ok = [m for m in a.migrations if m.outcome == "succeeded"]
        out.line(f"[bold green]No failed migration found[/] ({len(a.migrations)} migration views, "
                 f"{len(ok)} succeeded; {len(a.keepalive_deaths)} keepalive deaths).")
        out.line()
    numbered = len(secs) > 1 or (secs and len(secs[0].items) > 1)
    if numbered:
        _print_overview(out, a, secs)
    for sec in secs:
        _print_verdict(out, a, sec, max_evidence, numbered)
    if a.migrations:
        day = {fmt_time(m.start)[:10] for m in a.migrations if m.start is not None}
        one_day = len(day) == 1
        t = Table(title="migrations" + (f" ({day.pop()}, UTC)" if one_day else " (UTC)"), show_lines=False)
        for c in ("id", "role", "domain", "start", "end", "outcome", "cause"):
            t.add_column(c, no_wrap=c in ("id", "start", "end", "cause"), overflow="fold")
        for m in a.migrations:
            st = (fmt_time(m.start)[11:] if one_day else fmt_time(m.start)) if m.start is not None else "-"
            en = (fmt_time(m.end)[11:] if one_day else fmt_time(m.end)) if m.end is not None else "-"
            t.add_row(_t(m.id), m.role, _t(m.domain or "-"), st, en, m.outcome,
                      _t(m.verdict.cause) if m.verdict else "-")
        out.table(t)
    n_unparsed = sum(f.unparsed for f in a.inputs)
    n_lines = sum(f.lines for f in a.inputs)
    out.line(f"[dim]{len(a.inputs)} inputs, {n_lines} lines, {sum(f.records for f in a.inputs)} records, "
             f"{n_unparsed} lines not libvirt records[/]")
    for kind, text in input_notes(a):
        label = {"warning": "[yellow]warning:[/] ", "error": "[red]error:[/] "}.get(kind, "")
        out.line(label + _t(text))


# -- scan
class ScanProgress:
    """files and bytes done, rate and time left, on standard error (advances per host stream)."""

    def __init__(self, tasks):
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)
        self.sizes = {t.index: len(t.members) for t in tasks}
        self.p = Progress(TextColumn("scan"), BarColumn(),
                          TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
                          DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True), transient=True)
        self.task = self.p.add_task("scan", total=sum(t.size for t in tasks), files=0,
                                    total_files=sum(self.sizes.values()))
        self.n = 0
        self.p.start()

    def done(self, r):
        index, _, _, nbytes = r
        self.n += self.sizes.get(index, 0)
        self.p.update(self.task, advance=nbytes, files=self.n)

    def close(self):
        self.p.stop()


def _second(t: float | None) -> str:
    """A scan row's time as the table shows it: UTC, to the second (of the time rounded to the
    millisecond, as -o writes it)."""
    if t is None or t != t:
        return "-"
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=round(t * 1000))).strftime(
        "%Y-%m-%d %H:%M:%S")


def print_scan(result, console: Console | None = None, table: bool = True, show_all: bool = False,
               max_rows: int = 500, summary: bool = True) -> None:
    """The rows (failed, cancelled, findings; all with show_all), totals by cause and by host
    (summary), and the errors (on standard error).  Made from the rows as dicts: printing a
    scan does not import pandas (a third of a second, and 35 MB)."""
    import os
    out = TextOut(console or report_console())
    console = out.console
    err_console = report_console(stderr=True)
    rows = result.row_dicts
    if table and rows:
        shown = rows if show_all else [r for r in rows if r["outcome"] != "succeeded"]
        t = Table(title=f"{len(shown)} of {len(rows)} rows" + ("" if show_all else " (succeeded migrations: --all)"))
        # second lines (dim): the role under the host, outcome and confidence under the cause
        for c in ("host", "domain", "start", "cause", "evidence", "peer host"):
            t.add_column(c, overflow="fold")

        def cell(x):
            return "-" if x is None or (isinstance(x, float) and x != x) else _t(str(x))

        for r in shown[:max_rows]:
            start = _second(r["start"])
            # the file's name and line: the host column says whose it is, -o keeps the whole path
            ev = os.path.basename(r["evidence"]) if isinstance(r["evidence"], str) else r["evidence"]
            t.add_row(f"{cell(r['host'])}\n[dim]{cell(r['role'])}[/]", cell(r["domain"]), start,
                      f"{cell(r['cause'])}\n[dim]{cell(r['outcome'])}, {cell(r['confidence'])}[/]", cell(ev),
                      cell(r["peer_host"]))
        out.table(t)
        if len(shown) > max_rows:
            console.print(f"[dim]... {len(shown) - max_rows} more rows (write them all with -o)[/]")
    if summary and rows:
        counts: dict = {}
        for r in rows:
            if r["cause"] is not None:
                counts[r["cause"]] = counts.get(r["cause"], 0) + 1
        if counts:
            tc = Table(title="by cause")
            tc.add_column("cause")
            tc.add_column("rows", justify="right")
            # most rows first; equal counts in the causes' name order
            for cause, n in sorted(sorted(counts.items()), key=lambda kv: -kv[1]):
                tc.add_row(_t(str(cause)), str(n))
            out.table(tc)
        th = Table(title="by host")
        for c in ("host", "migrations", "failed", "findings", "keepalive deaths"):
            th.add_column(c, justify="left" if c == "host" else "right")
        deaths: dict = {}
        for d in result.analysis.keepalive_deaths:
            h = result.hosts.get(d.host, d.host)
            deaths[h] = deaths.get(h, 0) + 1
        by_host: dict = {}
        for r in rows:
            if r["host"] is not None:
                by_host.setdefault(r["host"], []).append(r)
        for host in sorted(by_host):
            mig = [r for r in by_host[host] if r["kind"] == "migration"]
            th.add_row(_t(str(host)), str(len(mig)), str(sum(r["outcome"] in ("failed", "cancelled") for r in mig)),
                       str(sum(r["kind"] == "finding" for r in by_host[host])), str(deaths.get(host, 0)))
        out.table(th)
    elif summary and result.usable:
        console.print(f"No migration or finding in {result.stats['files']} files "
                      f"({len(result.hosts)} host streams).", highlight=False)
    from ..sources import shown, skipped_summary
    if result.skipped:
        err_console.print(f"loganalyzer: warning: {escape(skipped_summary(result.skipped))}", highlight=False,
                          soft_wrap=True)
    if result.errors:
        err_console.print(f"[bold red]{len(result.errors)} input error(s):[/]", highlight=False)
        for e in result.errors:
            # the name quoted like `ls --quoting-style=shell-escape`: one error, one line
            err_console.print(f"  {_t(shown(e.path))}: {_t(e.reason)} [dim]({e.kind})[/]", highlight=False,
                              soft_wrap=True)
    if not result.usable:
        err_console.print("[bold red]nothing usable was found in the inputs[/]", highlight=False)
