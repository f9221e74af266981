"""Renderers: text (terminal), markdown, html, json and the timeline."""
from __future__ import annotations

import sys


class ReportWarning(UserWarning):
    """A part of a report that could not be made (the library's callers see it on standard
    error; the CLI prints Analysis.report_problems instead).  (Here, not in common.py: the CLI
    filters it before any report module is imported.)"""


def render(analysis, fmt: str = "text", output: str | None = None, timeline: str | None = None,
           migration: str | None = None) -> None:
    """Write the analysis in one format to output (a path) or standard output.
    timeline: also draw the timeline picture there; migration: which one it draws."""
    if timeline:
        from .timeline import draw_timeline
        draw_timeline(analysis, timeline, migration=migration)
    if fmt == "json":
        from .jsonout import write_json
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                write_json(analysis, fh)
        else:
            write_json(analysis, sys.stdout)
    elif fmt in ("markdown", "md"):
        from .markdown import to_markdown
        _write(to_markdown(analysis, output=output, timeline=timeline, migration=migration), output)
    elif fmt == "html":
        from .html import to_html
        _write(to_html(analysis, migration=migration), output)
    else:
        from .text import print_analysis, report_console
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                print_analysis(analysis, report_console(fh))
        else:
            print_analysis(analysis)


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
