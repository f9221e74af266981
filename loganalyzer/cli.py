"""The `loganalyzer` command: a thin typer layer over the library."""
from __future__ import annotations

import sys
from collections import Counter
from typing import List, Optional

import typer

from .sources import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn libvirtd debug logs into events, timelines and root-cause verdicts.")

PATHS_HELP = "Log files, directories (rotated sets read oldest first), compressed files (.gz .xz .bz2 .zst) or - for stdin."
FORMAT_HELP = "Force the input format instead of detecting it per file (file, pasted, text, journal, syslog, journal-json, kubevirt)."


@app.callback()
def _root():
    """Turn libvirtd debug logs into events, timelines and root-cause verdicts."""


def fail(msg: str, code: int = 2):
    typer.echo(f"loganalyzer: {msg}", err=True)
    raise typer.Exit(code)


@app.command()
def events(paths: List[str] = typer.Argument(..., help=PATHS_HELP),
           output: Optional[str] = typer.Option(None, "-o", "--output",
                                                help="Write the event table to FILE (.parquet, .csv or .jsonl) instead of printing a summary."),
           since: Optional[str] = typer.Option(None, help="Keep records at or after this UTC time ('2026-11-25 20:29:53')."),
           until: Optional[str] = typer.Option(None, help="Keep records at or before this UTC time."),
           tid: Optional[int] = typer.Option(None, help="Keep the records of this thread id only."),
           grep: Optional[str] = typer.Option(None, help="Keep records whose text matches this regular expression."),
           input_format: Optional[str] = typer.Option(None, "--input-format", help=FORMAT_HELP)):
    """Parse logs into the event table; print per-file facts and counts by kind, or write it with -o."""
    from .frame import EventFilter, iter_event_frames, write_frames
    try:
        flt = EventFilter(since, until, tid, grep)
    except (ValueError, Exception) as e:  # bad time or regex
        fail(str(e).splitlines()[0])
    facts: list = []
    kinds: Counter = Counter()
    try:
        frames = iter_event_frames(paths, input_format, flt if flt.active else None, facts_out=facts)
        if output:
            n = write_frames(frames, output)
        else:
            n = 0
            for df in frames:
                kinds.update(df["kind"].astype(str).value_counts().to_dict())
                n += len(df)
    except InputError as e:
        fail(str(e))
    except ValueError as e:
        fail(str(e).splitlines()[0])
    from .report.text import print_facts
    print_facts(facts, kinds if not output else None, n, output)
    if any(f.error for f in facts):
        raise typer.Exit(2)


@app.command()
def analyze(paths: List[str] = typer.Argument(..., help=PATHS_HELP + " Give the source and destination logs together to pair them."),
            fmt: str = typer.Option("text", "--format", "-f", help="Report format: text, json, markdown or html."),
            output: Optional[str] = typer.Option(None, "-o", "--output", help="Write the report to FILE instead of standard output."),
            timeline: Optional[str] = typer.Option(None, "--timeline", help="Also draw the timeline to FILE (.png or .svg)."),
            input_format: Optional[str] = typer.Option(None, "--input-format", help=FORMAT_HELP)):
    """Why did the migration fail? Verdicts with their evidence lines and remedies."""
    from .analysis import analyze as run
    if fmt not in ("text", "json", "markdown", "md", "html"):
        fail(f"unknown --format {fmt!r}: use text, json, markdown or html")
    try:
        a = run(paths, input_format=input_format)
    except InputError as e:
        fail(str(e))
    except ValueError as e:
        fail(str(e).splitlines()[0])
    from .report import render
    try:
        render(a, fmt, output, timeline)
    except OSError as e:
        fail(f"{output or timeline}: cannot write ({e.strerror or e})")
    if any(f.error for f in a.inputs):
        raise typer.Exit(2)


def main():
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
