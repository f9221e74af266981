"""Terminal output (rich)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.console import Console

from ..records import fmt_time  # noqa: F401 (re-exported)
from ..rules.causes import Cause
from rich.markup import escape
from rich.table import Table

from ..visible import visible


def _t(text) -> str:
    """Log-derived text for rich: control and bidi characters made visible, markup escaped."""
    return escape(visible(text))


def print_facts(facts, kinds=None, rows: int = 0, output: str | None = None, console: Console | None = None,
                problems: bool = True):
    """One short block per input: what it is and how much of it was understood.
    problems=False leaves out the warnings and errors (the caller printed them)."""
    console = console or Console()
    for f in facts:
        console.print(f"[bold]{_t(f.path)}[/]  {f.format}  {f.lines} lines  {f.records} records  "
                      f"{f.unparsed} unparsed", highlight=False)
        ver = f"libvirt {f.libvirt_version}" + (f" ({f.package})" if f.package else "") if f.libvirt_version else "libvirt version unknown"
        console.print(f"    {fmt_time(f.first_time)} .. {fmt_time(f.last_time)}  {_t(ver)}  "
                      f"host {_t(f.hostname or '-')}  daemon {f.daemon or '-'}", highlight=False)
        if problems:
            for w in f.warnings:
                console.print(f"    [yellow]warning:[/] {_t(w)}", highlight=False)
            if f.error:
                console.print(f"    [red]error:[/] {_t(f.error)}", highlight=False)
    if kinds is not None:
        k = Table(title=f"{rows} records by kind")
        k.add_column("kind")
        k.add_column("records", justify="right")
        for name, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            k.add_row(name, str(n))
        console.print(k)
    elif output:
        console.print(f"wrote {rows} records to {output}", highlight=False)


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


def _print_judgement(console, v, where: str, max_evidence: int, colour: str):
    side = f", detected by the {v.detected_by}" if getattr(v, "detected_by", None) else ""
    console.print(f"[bold {colour}]{_t(v.cause)}[/]  confidence {_t(v.confidence)}{_t(side)}"
                  + (f"  [dim]{_t(where)}[/]" if where else ""), highlight=False)
    console.print(_t(v.summary), highlight=False)
    console.print("[bold]evidence[/]", highlight=False)
    for e in v.evidence[:max_evidence]:
        console.print(_ev_line(e), highlight=False, soft_wrap=True)
    if len(v.evidence) > max_evidence:
        console.print(f"  [dim]... {len(v.evidence) - max_evidence} more evidence lines (--format json shows all)[/]")
    cons = getattr(v, "consequences", None)
    if cons:
        console.print("[bold]what the user saw (consequences, not the cause)[/]", highlight=False)
        for e in cons[:4]:
            console.print(f"  [bold]{_t(e.path)}:{e.line}[/]: {_t(e.text[:200])}", highlight=False, soft_wrap=True)
    if v.missing:
        console.print("[bold]missing[/]", highlight=False)
        for x in v.missing:
            console.print(f"  - {_t(x)}", highlight=False)
    if v.remedies:
        console.print("[bold]remedies[/]", highlight=False)
        for r in v.remedies[:5]:
            console.print(f"  - {_t(r)}", highlight=False)
    console.print()


def print_analysis(a, console: Console | None = None, max_evidence: int = 14, max_findings: int = 3):
    """Verdicts first, then their evidence (path:line), then the rest in short tables."""
    from .common import ranked_failures
    console = console or Console()
    failed = ranked_failures(a)
    if not failed and not a.findings:
        ok = [m for m in a.migrations if m.outcome == "succeeded"]
        console.print(f"[bold green]No failed migration found[/] ({len(a.migrations)} migration views, "
                      f"{len(ok)} succeeded; {len(a.keepalive_deaths)} keepalive deaths).", highlight=False)
    for m in failed:
        v = m.verdict
        colour = "yellow" if v.cause == Cause.CANCELLED else "red"
        peer = f", same as {m.peer}" if m.peer else ""
        _print_judgement(console, v, f"({m.id}, {m.role}, domain {m.domain or '?'}, outcome {m.outcome}{peer})",
                         max_evidence, colour)
    for f in a.findings[:max_findings]:
        _print_judgement(console, f, "(finding: not a migration in these logs)", max_evidence, "red")
    if len(a.findings) > max_findings:
        t = Table(title="more findings (not a migration in these logs)", show_lines=False)
        t.add_column("cause", no_wrap=True)
        t.add_column("confidence")
        t.add_column("summary", overflow="fold")
        for f in a.findings[max_findings:]:
            t.add_row(_t(f.cause), f.confidence, _t(f.summary[:300]))
        console.print(t)
    if a.migrations:
        day = {fmt_time(m.start)[:10] for m in a.migrations if m.start is not None}
        t = Table(title="migrations" + (f" ({day.pop()}, UTC)" if len(day) == 1 else " (UTC)"), show_lines=False)
        t.add_column("id", no_wrap=True)
        t.add_column("role")
        t.add_column("domain", overflow="fold")
        t.add_column("start", no_wrap=True)
        t.add_column("outcome")
        t.add_column("cause", no_wrap=True)
        one_day = len({fmt_time(m.start)[:10] for m in a.migrations if m.start is not None}) == 1
        for m in a.migrations:
            st = fmt_time(m.start)[11:] if one_day and m.start is not None else fmt_time(m.start)
            t.add_row(_t(m.id), m.role, _t(m.domain or "-"), st, m.outcome,
                      _t(m.verdict.cause) if m.verdict else "-")
        console.print(t)
    for p in a.pairs:
        if p.get("clock_offset") is not None:
            console.print(f"clock offset {_t(p['destination_host'])} - {_t(p['source_host'])}: "
                          f"{p['clock_offset'] * 1000:+.0f} ms (from {len(p['samples'])} paired events)",
                          highlight=False)
    n_unparsed = sum(f.unparsed for f in a.inputs)
    n_lines = sum(f.lines for f in a.inputs)
    console.print(f"[dim]{len(a.inputs)} inputs, {n_lines} lines, {sum(f.records for f in a.inputs)} records, "
                  f"{n_unparsed} lines not libvirt records[/]", highlight=False)
    for f in a.inputs:
        for w in f.warnings:
            console.print(f"[yellow]warning:[/] {_t(w)}", highlight=False)
        if f.error:
            console.print(f"[red]error:[/] {_t(f.error)}", highlight=False)


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


def print_scan(result, console: Console | None = None, table: bool = True, show_all: bool = False,
               max_rows: int = 500) -> None:
    """The rows (failed, cancelled, findings; all with show_all), totals by cause and by host,
    and the errors (on standard error)."""
    import os
    import pandas as pd
    console = console or Console()
    err_console = Console(stderr=True)
    df = result.rows
    if table and not df.empty:
        shown = df if show_all else df[df["outcome"] != "succeeded"]
        t = Table(title=f"{len(shown)} of {len(df)} rows" + ("" if show_all else " (succeeded migrations: --all)"))
        # second lines (dim): the role under the host, outcome and confidence under the cause
        for c in ("host", "domain", "start", "cause", "evidence", "peer host"):
            t.add_column(c, overflow="fold")

        def cell(x):
            return "-" if x is None or (isinstance(x, float) and pd.isna(x)) else _t(str(x))

        for r in shown.head(max_rows).itertuples(index=False):
            start = r.start.strftime("%Y-%m-%d %H:%M:%S") if not pd.isna(r.start) else "-"
            # the file's name and line: the host column says whose it is, -o keeps the whole path
            ev = os.path.basename(r.evidence) if isinstance(r.evidence, str) else r.evidence
            t.add_row(f"{cell(r.host)}\n[dim]{cell(r.role)}[/]", cell(r.domain), start,
                      f"{cell(r.cause)}\n[dim]{cell(r.outcome)}, {cell(r.confidence)}[/]", cell(ev),
                      cell(r.peer_host))
        console.print(t)
        if len(shown) > max_rows:
            console.print(f"[dim]... {len(shown) - max_rows} more rows (write them all with -o)[/]")
    if not df.empty:
        causes = df[df["cause"].notna()].groupby("cause").size().sort_values(ascending=False)
        if len(causes):
            tc = Table(title="by cause")
            tc.add_column("cause")
            tc.add_column("rows", justify="right")
            for cause, n in causes.items():
                tc.add_row(_t(str(cause)), str(n))
            console.print(tc)
        th = Table(title="by host")
        for c in ("host", "migrations", "failed", "findings", "keepalive deaths"):
            th.add_column(c, justify="left" if c == "host" else "right")
        deaths: dict = {}
        for d in result.analysis.keepalive_deaths:
            h = result.hosts.get(d.host, d.host)
            deaths[h] = deaths.get(h, 0) + 1
        for host, g in df.groupby("host", sort=True):
            mig = g[g["kind"] == "migration"]
            th.add_row(_t(str(host)), str(len(mig)), str(int(mig["outcome"].isin(["failed", "cancelled"]).sum())),
                       str(int((g["kind"] == "finding").sum())), str(deaths.get(host, 0)))
        console.print(th)
    elif result.usable:
        console.print(f"No migration or finding in {result.stats['files']} files "
                      f"({len(result.hosts)} host streams).", highlight=False)
    if result.skipped:
        from ..sources import skipped_summary
        err_console.print(f"loganalyzer: warning: {escape(skipped_summary(result.skipped))}", highlight=False,
                          soft_wrap=True)
    if result.errors:
        err_console.print(f"[bold red]{len(result.errors)} input error(s):[/]", highlight=False)
        for e in result.errors:
            err_console.print(f"  {_t(e.path)}: {_t(e.reason)} [dim]({e.kind})[/]", highlight=False, soft_wrap=True)
    if not result.usable:
        err_console.print("[bold red]nothing usable was found in the inputs[/]", highlight=False)
