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
