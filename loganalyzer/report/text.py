"""Terminal output (rich)."""
from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def print_facts(facts, kinds=None, rows: int = 0, output: str | None = None, console: Console | None = None):
    """One short block per input: what it is and how much of it was understood."""
    console = console or Console()
    for f in facts:
        console.print(f"[bold]{escape(f.path)}[/]  {f.format}  {f.lines} lines  {f.records} records  "
                      f"{f.unparsed} unparsed", highlight=False)
        ver = f"libvirt {f.libvirt_version}" + (f" ({f.package})" if f.package else "") if f.libvirt_version else "libvirt version unknown"
        console.print(f"    {fmt_time(f.first_time)} .. {fmt_time(f.last_time)}  {escape(ver)}  "
                      f"host {escape(f.hostname or '-')}  daemon {f.daemon or '-'}", highlight=False)
        for w in f.warnings:
            console.print(f"    [yellow]warning:[/] {escape(w)}", highlight=False)
        if f.error:
            console.print(f"    [red]error:[/] {escape(f.error)}", highlight=False)
    if kinds is not None:
        k = Table(title=f"{rows} records by kind")
        k.add_column("kind")
        k.add_column("records", justify="right")
        for name, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            k.add_row(name, str(n))
        console.print(k)
    elif output:
        console.print(f"wrote {rows} records to {output}", highlight=False)


def _short_path(p: str) -> str:
    return p


def print_analysis(a, console: Console | None = None, max_evidence: int = 14):
    """Verdicts first, then their evidence (path:line), then the rest in short tables."""
    console = console or Console()
    failed = [m for m in a.migrations if m.verdict is not None]
    seen_causes = set()
    if not failed and not a.findings:
        ok = [m for m in a.migrations if m.outcome == "succeeded"]
        console.print(f"[bold green]No failed migration found[/] ({len(a.migrations)} migration views, "
                      f"{len(ok)} succeeded; {len(a.keepalive_deaths)} keepalive deaths).", highlight=False)
    shown = set()
    for m in failed:
        v = m.verdict
        key = (v.cause, v.summary)
        if key in shown:
            console.print(f"[dim]{escape(m.id)} ({m.role}): same verdict as above ({v.cause}).[/]", highlight=False)
            continue
        shown.add(key)
        seen_causes.add(v.cause)
        colour = "yellow" if v.cause == "cancelled" else "red"
        console.print(f"[bold {colour}]{v.cause}[/]  confidence {v.confidence}"
                      + (f", detected by the {v.detected_by}" if v.detected_by else "")
                      + f"  [dim]({escape(m.id)}, {m.role}, outcome {m.outcome})[/]", highlight=False)
        console.print(escape(v.summary), highlight=False)
        console.print("[bold]evidence[/]", highlight=False)
        for e in v.evidence[:max_evidence]:
            note = f"  [dim]# {escape(e.note)}[/]" if e.note else ""
            console.print(f"  {escape(e.path)}:{e.line}: {escape(e.text[:220])}{note}", highlight=False, soft_wrap=True)
        if len(v.evidence) > max_evidence:
            console.print(f"  [dim]... {len(v.evidence) - max_evidence} more evidence lines (--format json shows all)[/]")
        if v.consequences:
            console.print("[bold]what the user saw (consequences, not the cause)[/]", highlight=False)
            for e in v.consequences[:4]:
                console.print(f"  {escape(e.path)}:{e.line}: {escape(e.text[:200])}", highlight=False, soft_wrap=True)
        if v.missing:
            console.print("[bold]missing[/]", highlight=False)
            for x in v.missing:
                console.print(f"  - {escape(x)}", highlight=False)
        console.print("[bold]remedies[/]", highlight=False)
        for r in v.remedies[:5]:
            console.print(f"  - {escape(r)}", highlight=False)
        console.print()
    if a.findings:
        t = Table(title="findings (not a migration in these logs)", show_lines=False)
        t.add_column("cause")
        t.add_column("confidence")
        t.add_column("summary", overflow="fold")
        for f in a.findings:
            t.add_row(f.cause, f.confidence, escape(f.summary))
        console.print(t)
    if a.migrations:
        t = Table(title="migrations", show_lines=False)
        for c in ("id", "role", "domain", "mode", "start", "outcome", "cause"):
            t.add_column(c, overflow="fold")
        for m in a.migrations:
            t.add_row(escape(m.id), m.role, escape(m.domain or "-"), m.mode or "-", fmt_time(m.start),
                      m.outcome, m.verdict.cause if m.verdict else "-")
        console.print(t)
    for p in a.pairs:
        if p.get("clock_offset") is not None:
            console.print(f"clock offset {escape(p['destination_host'])} - {escape(p['source_host'])}: "
                          f"{p['clock_offset'] * 1000:+.0f} ms (from {len(p['samples'])} paired events)",
                          highlight=False)
    n_unparsed = sum(f.unparsed for f in a.inputs)
    n_lines = sum(f.lines for f in a.inputs)
    console.print(f"[dim]{len(a.inputs)} inputs, {n_lines} lines, {sum(f.records for f in a.inputs)} records, "
                  f"{n_unparsed} lines not libvirt records[/]", highlight=False)
    for f in a.inputs:
        for w in f.warnings:
            console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
        if f.error:
            console.print(f"[red]error:[/] {escape(f.error)}", highlight=False)
