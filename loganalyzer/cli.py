"""The `loganalyzer` command: a thin typer layer over the library."""
from __future__ import annotations

import copy
import gc
import os
import sys
from collections import Counter
from typing import List, Optional

import typer

from .sources import InputError

# NumPy's OpenBLAS starts a thread per core that spins for a while after the import: 0.1 s of
# CPU taken from the scans, which need both cores.  loganalyzer makes no BLAS call (its one
# matrix product is of integers); a user's setting stands.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _no_flag_types(params):
    """Help shows an option's value name (FILE, FORMAT ...), nothing ('<bool>') after a flag,
    and an argument as its metavar alone (LOG..., not '{LOG...}... <list[str]>')."""
    for p in params:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""
        elif isinstance(p, typer.core.TyperArgument) and p.metavar:
            # typer 0.28 shows the type's metavar in help, '{LOG...}' in the usage line
            p.type = copy.copy(p.type)
            p.type.get_metavar = lambda *a, **k: ""
            p.make_metavar = lambda ctx, usage=False, p=p: p.metavar
            # (typer 0.29's names for the same)
            p.display_type_rich = lambda ctx: None
            p._usage_display_name = lambda p=p: p.metavar
    return params


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx):
        return _no_flag_types(super().get_params(ctx))


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx):
        return _no_flag_types(super().get_params(ctx))


app = typer.Typer(cls=_Group, no_args_is_help=True, rich_markup_mode="rich",
                  help="Turn libvirtd debug logs into events, timelines and root-cause verdicts.\n\n"
                       "Results go to standard output (or to -o FILE); progress, notes and warnings to "
                       "standard error.\n\n[bold]Example:[/] loganalyzer analyze src-libvirtd.log dst-libvirtd.log")

PATHS_HELP = "Log files, directories (rotated sets read oldest first), compressed files (.gz .xz .bz2 .zst) or - for stdin."
FORMAT_HELP = "Force the input format instead of detecting it per file (file, pasted, text, journal, syslog, journal-json, kubevirt)."
QUIET_HELP = "No progress bar and no 'wrote ...' notes on standard error (warnings and errors still)."


def _analysis(paths, input_format):
    """analyze(), with unusable input turned into the one-line error and exit code 2."""
    from .analysis import analyze
    try:
        return analyze(paths, input_format=input_format)
    except InputError as e:
        fail(str(e))
    except ValueError as e:
        fail(str(e).splitlines()[0])


def _version(value: bool):
    if value:
        from . import __version__
        typer.echo(f"loganalyzer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):
    """Turn libvirtd debug logs into events, timelines and root-cause verdicts."""


def _note(msg: str, quiet: bool = False) -> None:
    """Something the user may like to know that is not a result (standard error)."""
    if not quiet:
        typer.echo(msg, err=True)


STDOUT = "standard output"


def fail(msg: str, code: int = 2):
    typer.echo(f"loganalyzer: {msg}", err=True)
    raise typer.Exit(code)


@app.command(cls=_Command)
def events(paths: List[str] = typer.Argument(..., metavar="LOG...", help=PATHS_HELP),
           output: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE",
                                                help="Write the event table to FILE (.parquet, .csv or .jsonl) instead of printing a summary."),
           since: Optional[str] = typer.Option(None, metavar="TIME", help="Keep records at or after this UTC time ('2026-11-25 20:29:53')."),
           until: Optional[str] = typer.Option(None, metavar="TIME", help="Keep records at or before this UTC time."),
           tid: Optional[int] = typer.Option(None, metavar="TID", help="Keep the records of this thread id only."),
           grep: Optional[str] = typer.Option(None, metavar="REGEX", help="Keep records whose text (header and continuation lines) matches this regular expression."),
           input_format: Optional[str] = typer.Option(None, "--input-format", metavar="FORMAT", help=FORMAT_HELP),
           quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """Parse logs into the event table; print per-file facts and counts by kind, or write it with -o.

    Several inputs: an unusable one (missing, unreadable, binary, a directory
    without logs, a truncated compressed file) is reported on standard error
    in one line naming it, the others are still read, and the exit code is 2.

    [bold]Example:[/] loganalyzer events src-libvirtd.log --since '2026-11-25 20:29:50' -o events.parquet
    """
    if "pyarrow" not in sys.modules:
        # Arrow's default (jemalloc/mimalloc) pool keeps freed memory: with the system
        # allocator a streamed `events -o x.parquet` stays under 300 MB peak RSS.
        import os
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from .formats import ITEMS
    from .frame import EventFilter, iter_event_tables, write_frames
    if input_format is not None and input_format not in ITEMS:
        fail(f"unknown --input-format {input_format!r} (known: {', '.join(ITEMS)})")
    if output and not output.endswith((".parquet", ".csv", ".jsonl", ".json")):
        fail(f"{output}: output must end in .parquet, .csv or .jsonl")
    try:
        flt = EventFilter(since, until, tid, grep)
    except (ValueError, OverflowError) as e:  # bad time or regex
        fail(str(e).splitlines()[0])
    import pyarrow as pa
    # glibc malloc hands freed blocks back; Arrow's default pool keeps them (peak RSS)
    pa.set_memory_pool(pa.system_memory_pool())
    from .progress import ReadProgress
    facts: list = []
    skipped: list = []
    kinds: Counter = Counter()
    try:
        with ReadProgress("events", paths, enabled=None if not quiet else False):
            tables = iter_event_tables(paths, input_format, flt if flt.active else None, facts_out=facts,
                                       errors="collect", skipped=skipped)
            if output:
                n = write_frames(tables, output)
            else:
                n = 0
                for tbl in tables:
                    for row in tbl.column("kind").value_counts().to_pylist():
                        kinds[row["values"]] += row["counts"]
                    n += tbl.num_rows
    except InputError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{output or STDOUT}: cannot write ({e.strerror or e})")
    except ValueError as e:
        fail(str(e).splitlines()[0])
    _print_skipped(skipped)
    _print_input_problems(facts)
    from .report.console import print_facts, report_console
    if output:
        # the results are in the file: what was read, and how much, is a note
        if not quiet:
            print_facts([f for f in facts if f.format != "-"], None, n, output, problems=False,
                        console=report_console(stderr=True))
    else:
        print_facts([f for f in facts if f.format != "-"], kinds, n, None, problems=False)
    if any(f.error for f in facts):
        raise typer.Exit(2)


@app.command(cls=_Command)
def analyze(paths: List[str] = typer.Argument(..., metavar="LOG...", help=PATHS_HELP + " Give the source and destination logs together to pair them."),
            fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help="Report format: text, json, markdown or html."),
            output: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE", help="Write the report to FILE instead of standard output."),
            timeline: Optional[str] = typer.Option(None, "--timeline", metavar="FILE", help="Also draw the timeline to FILE (.png, .svg or .pdf)."),
            migration: Optional[str] = typer.Option(None, "--migration", metavar="ID", help="Draw this migration's timeline (an id such as src-libvirtd.log/m2) instead of the headline incident's; the HTML report shows its verdict first."),
            input_format: Optional[str] = typer.Option(None, "--input-format", metavar="FORMAT", help=FORMAT_HELP),
            quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """Why did the migration fail? Verdicts with their evidence lines and remedies.

    Each verdict opens with one sentence: the cause in words and the decisive fact.

    [bold]Example:[/] loganalyzer analyze src-libvirtd.log dst-libvirtd.log --format html -o report.html
    """
    if fmt not in ("text", "json", "markdown", "md", "html"):
        fail(f"unknown --format {fmt!r}: use text, json, markdown or html")
    if timeline and not timeline.lower().endswith((".png", ".svg", ".pdf")):
        fail(f"--timeline {timeline!r}: give a .png, .svg or .pdf file name")
    if _process_ends_after_command:
        # what the analysis builds stays alive until the report is written and the process
        # ends: the cycle collector would only walk it again (three full passes once reading
        # re-enabled it, 0.2 s of 1.5 s on a busy 1M-line log); reading runs without it anyway
        gc.disable()
        global _leave_at_once
        _leave_at_once = True
    from .progress import ReadProgress
    with ReadProgress("analyze", paths, enabled=None if not quiet else False):
        a = _analysis(paths, input_format)
    from .report import render
    try:
        render(a, fmt, output, timeline, migration=migration)
    except OSError as e:
        fail(f"{output or timeline or STDOUT}: cannot write ({e.strerror or e})")
    except ValueError as e:
        fail(str(e).splitlines()[0])
    for out in (output, timeline):
        if out:
            _note(f"wrote {out}", quiet)
    _inputs_on_stderr(a, listed=fmt == "text" and not output)
    _report_problems(a)
    if any(f.error for f in a.inputs) or a.input_errors:
        raise typer.Exit(2)


@app.command(cls=_Command)
def timeline(paths: List[str] = typer.Argument(..., metavar="LOG...", help=PATHS_HELP + " Give the source and destination logs together to draw both hosts."),
             output: str = typer.Option("timeline.png", "-o", "--output", metavar="FILE", help="The picture to write: .png, .svg or .pdf (default: timeline.png in the current folder)."),
             migration: Optional[str] = typer.Option(None, "--migration", metavar="ID", help="Draw this migration (an id such as src-libvirtd.log/m2) instead of the headline incident."),
             context: Optional[float] = typer.Option(None, "--context", metavar="SECONDS", help="Seconds of log to show before and after the incident (default: 10% of it, at least 2 s)."),
             input_format: Optional[str] = typer.Option(None, "--input-format", metavar="FORMAT", help=FORMAT_HELP),
             quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """Draw the incident as a timeline: migration phases, the destination connection and its keepalives, the threads, the clients.

    Without -o the picture is written to timeline.png in the current folder.

    [bold]Example:[/] loganalyzer timeline src-libvirtd.log dst-libvirtd.log -o incident.svg
    """
    if not output.lower().endswith((".png", ".svg", ".pdf")):
        fail(f"-o {output!r}: give a .png, .svg or .pdf file name")
    from .progress import ReadProgress
    with ReadProgress("timeline", paths, enabled=None if not quiet else False):
        a = _analysis(paths, input_format)
    from .report.timeline import draw_timeline
    try:
        fig = draw_timeline(a, output, migration=migration, context=context)
    except OSError as e:
        fail(f"{output}: cannot write ({e.strerror or e})")
    except ValueError as e:
        fail(str(e).splitlines()[0])
    d = fig.loganalyzer
    what = d.get("verdict") or ("migration " + d["migration"] if d.get("migration") else "no incident")
    from .visible import visible     # (the notes name hosts, from the logs)
    _note(f"wrote {output}: {what}; " + (f"{len(d['death_times'])} keepalive death(s); " if d["death_times"] else "")
          + visible("; ".join(d.get("notes") or [])), quiet)
    _inputs_on_stderr(a)
    _report_problems(a)
    if any(f.error for f in a.inputs) or a.input_errors:
        raise typer.Exit(2)


@app.command(cls=_Command)
def scan(paths: List[str] = typer.Argument(..., metavar="PATH...", help="Directories (searched recursively), tarballs (.tar .tar.gz .tgz .tar.xz .tar.bz2 .tar.zst), zip files, sosreports (unpacked or archived) and log files."),
         output: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE", help="Write the table (with one row per error, outcome 'error') to FILE: .csv, .parquet or .jsonl."),
         reports: Optional[str] = typer.Option(None, "--reports", metavar="DIR", help="Also write one report per failed migration into DIR."),
         reports_format: str = typer.Option("json", "--reports-format", metavar="FORMAT", help="Format of the --reports files: json, text, markdown or html."),
         jobs: Optional[int] = typer.Option(None, "--jobs", "-j", metavar="N", help="Worker processes (default: all cores; 1 = no pool; never more than the cores or the host streams)."),
         dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS", help="Run the per-host work on this Dask scheduler (tcp://HOST:PORT), or 'local' for a LocalCluster (needs pip install 'loganalyzer[dask]')."),
         max_bytes: str = typer.Option("16G", "--max-bytes", metavar="SIZE", help="Decompression-bomb limit: most bytes decompressed from one member, and written to the private temp dir in total."),
         show_all: bool = typer.Option(False, "--all", help="Also list succeeded migrations in the printed table."),
         quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """Every migration and keepalive death in a fleet's logs, with verdicts, in one table.

    Exit status: 0 all inputs used, 1 some inputs failed (listed), 2 nothing usable.

    [bold]Example:[/] loganalyzer scan /srv/sosreports/ --jobs 4 -o fleet.parquet --reports reports/
    """
    import os as _os
    from .fleet import parse_size, scan as run, write_reports
    from .report.text import print_scan
    if reports_format not in ("json", "text", "markdown", "md", "html"):
        fail(f"unknown --reports-format {reports_format!r}: use json, text, markdown or html")
    if dask is not None:
        _need_dask()
    if output and not output.lower().endswith((".csv", ".parquet", ".jsonl", ".ndjson")):
        fail(f"{output}: unknown output type (use .csv, .parquet or .jsonl)")
    if jobs is not None and jobs < 1:
        fail("--jobs must be at least 1")
    try:
        limit = parse_size(max_bytes)
    except ValueError as e:
        fail(str(e))
    from .fleet import Stopped
    try:
        res = run(paths, jobs=jobs, dask=dask, max_bytes=limit, progress=sys.stderr.isatty() and not quiet)
    except Stopped as e:
        fail(f"scan {e}: workers stopped, temporary files removed", e.exit_code)
    except (OSError, ValueError, ImportError) as e:
        # no temporary directory, a Dask scheduler that cannot be reached or is not installed
        fail(f"scan failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    with res:
        written = []
        try:
            if output:
                n = res.write(output)
                _note(f"wrote {n} rows to {output}", quiet)
            if reports and res.usable:
                written = write_reports(res, reports, reports_format)
                _note(f"wrote {len(written)} reports to {reports}{_os.sep}", quiet)
        except (OSError, ValueError) as e:
            fail(f"cannot write: {getattr(e, 'strerror', None) or e}")
        _report_problems(res.analysis)
        if output:
            # the results are in the file: the totals by cause and host are a note
            if not quiet:
                from .report.text import report_console
                print_scan(res, console=report_console(stderr=True), table=False, show_all=show_all)
            elif res.errors or not res.usable:
                print_scan(res, table=False, show_all=show_all, summary=False)
        else:
            print_scan(res, table=True, show_all=show_all)
    raise typer.Exit(res.exit_code)


def _print_skipped(skipped) -> None:
    from .sources import skipped_summary
    if skipped:
        typer.echo(f"loganalyzer: warning: {skipped_summary(skipped)}", err=True)


def _print_input_problems(facts, warnings: bool = True) -> None:
    """Each input's warnings and error, one line each (the file named, quoted when odd)."""
    from .visible import visible     # (warnings may quote log text)
    for f in facts:
        for w in (f.warnings if warnings else ()):
            typer.echo(f"loganalyzer: warning: {visible(w)}", err=True)
        if f.error:
            typer.echo(f"loganalyzer: {visible(f.error)}", err=True)


def _inputs_on_stderr(a, listed: bool = False) -> None:
    """What went wrong with the inputs of an analysis, on stderr.  listed: the text report on
    standard output holds the inputs' warnings already; then only damage to an input (cut
    short, corrupt, unusable) is said on stderr too."""
    for e in a.input_errors:
        typer.echo(f"loganalyzer: {e}", err=True)
    _print_skipped(a.skipped)
    if not listed:
        _print_input_problems(a.inputs)
        return
    for f in a.inputs:
        for kind, w in f.problems:
            if kind == "truncated":
                typer.echo(f"loganalyzer: warning: {w}", err=True)
        if f.error:
            typer.echo(f"loganalyzer: {f.error}", err=True)


def _need_dask() -> None:
    """--dask without Dask installed: one line that says what to install."""
    import importlib.util
    if importlib.util.find_spec("dask") is None or importlib.util.find_spec("distributed") is None:
        fail("--dask needs Dask, which is not installed: pip install 'loganalyzer[dask]'")


def _report_problems(a) -> None:
    """The parts of the reports that could not be made, and why (the reports say it too)."""
    for p in (a.report_problems if a is not None else []):
        typer.echo(f"loganalyzer: warning: {p}", err=True)


# True when the command runs as the process (main), not inside a caller's (typer's CliRunner)
_process_ends_after_command = False
# True when the command leaves nothing for the interpreter's exit to do (analyze): the process
# ends at once, without freeing what it built object by object (0.13 s after a busy 1M-line log)
_leave_at_once = False


def main():
    global _process_ends_after_command
    _process_ends_after_command = True
    import warnings
    from .report import ReportWarning
    # the CLI prints Analysis.report_problems itself, once
    warnings.simplefilter("ignore", ReportWarning)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:
        # the report printed to a full disk (the commands catch what they write to files, and
        # what they read): one line, not a traceback
        import errno
        full = e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        where = e.filename or (STDOUT if full else None)
        typer.echo(f"loganalyzer: {where + ': ' if where else ''}{'cannot write' if full else 'error'} "
                   f"({e.strerror or e})", err=True)
        sys.exit(2)
    except SystemExit as e:
        if _leave_at_once:
            _leave(e.code)
        raise
    finally:
        # at exit the interpreter would run full collections over everything still alive
        # (a scan holds every host's objects: half a second); the OS frees it in one go
        gc.freeze()


def _leave(code) -> None:
    """End the process with this exit status now, its output flushed; return (for the usual
    exit) when the status is not a number or the output cannot be flushed (a closed pipe:
    the usual exit reports it)."""
    if code is not None and not isinstance(code, int):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code or 0)


if __name__ == "__main__":
    main()
