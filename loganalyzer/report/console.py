"""Terminal output that needs no analysis: the console, log text made safe for rich, wrapped
prose and tables (TextOut), and the per-input facts `events` prints.  text.py builds the
analysis and scan reports on these; `events` imports only this (no rules, no catalogue)."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..records import fmt_time
from ..visible import visible


def _t(text) -> str:
    """Log-derived text for rich: control and bidi characters made visible, markup escaped."""
    return escape(visible(text))


def print_facts(facts, kinds=None, rows: int = 0, output: str | None = None, console: Console | None = None,
                problems: bool = True):
    """One short block per input: what it is and how much of it was understood.
    problems=False leaves out the warnings and errors (the caller printed them)."""
    out = TextOut(console or report_console())
    console = out.console
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
        out.table(k)
    elif output:
        console.print(f"wrote {rows} records to {output}", highlight=False)


# Prose written to a pipe or a file is wrapped at this width (tables and evidence lines are
# never wrapped there); on a terminal, at the terminal's width.
PIPE_WIDTH = 100
# A pipe or a file has no width: a table takes the width its cells need, nothing is cut.
UNLIMITED = 100_000


def report_console(file=None, stderr: bool = False) -> Console:
    """A terminal gets its width and colours; a pipe or a file gets no width limit and no colour."""
    # force_jupyter=False: in a notebook rich would display the lines itself instead of writing them
    c = Console(file=file, stderr=stderr, force_jupyter=False)
    if c.is_terminal and file is None:
        return c
    return Console(file=file, stderr=stderr, width=UNLIMITED, color_system=None, force_jupyter=False,
                   highlight=False, soft_wrap=True)


class TextOut:
    """Lines of the text report: prose wrapped at whitespace only (a pointer, path or URI is
    never broken), with its indentation kept on every line; evidence lines and tables whole."""

    def __init__(self, console: Console):
        self.console = console
        self.width = max(40, console.width - 1) if console.is_terminal else PIPE_WIDTH

    def prose(self, text: str, indent: int = 0, hang: int = 0, style: str | None = None,
              prefix: str = "") -> None:
        """text wrapped at the width, every line indented by `indent`; `prefix` (markup, such as
        '- ') starts the first line and the lines after it align under the text, `hang` further."""
        import textwrap
        pre = Text.from_markup(prefix).plain
        # (made visible before the wrap: an escaped control character takes its width)
        lines = textwrap.wrap(" ".join(visible(str(text)).split()), width=max(20, self.width - indent),
                              break_long_words=False, break_on_hyphens=False,
                              initial_indent=" " * len(pre), subsequent_indent=" " * (len(pre) + hang))
        for i, ln in enumerate(lines or [""]):
            lead, body = (prefix, ln[len(pre):]) if i == 0 else ("", ln)
            body = _t(body)
            if style:
                body = f"[{style}]{body}[/]"
            self.line(" " * indent + lead + body)

    def line(self, markup: str = "") -> None:
        self.console.print(markup, highlight=False, soft_wrap=True)

    def table(self, t: Table) -> None:
        if self.console.is_terminal:
            self.console.print(t)
            return
        with self.console.capture() as cap:
            self.console.print(t)
        for ln in cap.get().splitlines():
            self.console.print(_t(ln.rstrip()), highlight=False, soft_wrap=True)
