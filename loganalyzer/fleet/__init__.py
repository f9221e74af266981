"""scan(paths) -> ScanResult: every migration and keepalive death in a fleet's logs, in one table.

Inputs are directories (searched recursively), tarballs (.tar, .tar.gz/.tgz, .tar.xz, .tar.bz2,
.tar.zst), zip files and sosreports (unpacked or archived, recognised by their `sos_commands/`
folder), nested one inside the other up to MAX_DEPTH levels.  The steps, one module each:

1. discovery.py (in the calling process): find the libvirt daemon logs (archives.py reads
   tarballs and zips as one kind of entry, safety.py keeps everything inside what was given,
   hosts.py names the hosts), peek at the first 64 KiB of each, and group them into streams:
   one stream per host and daemon, its rotated files oldest first;
2. run.py, per stream (in-process, a process pool, or a Dask cluster): the correlator of
   `analysis.read_streams`, returning the picklable HostLogs (one per daemon);
3. here: pair the hosts, judge, and build the table (table.py), one row per migration view
   and per finding; reports.py writes one report per failed migration.

Members are read as streams.  Only two things are ever written to disk, and only into a private
temporary directory (spool.py) under generated names: the log members of a *compressed* tarball
(it has no random access, so it is decompressed once, sequentially) and archives nested inside
archives.  The directory lives as long as the ScanResult (reports re-read the members from it)
and is removed by ScanResult.close(), at garbage collection, or when the scan itself fails.
`max_bytes` (default DEFAULT_MAX_BYTES = 16 GiB) bounds both the decompressed size of any one
member and the total written into the temporary directory (decompression bombs).

Faults never stop the scan: each becomes a ScanError (path, reason, kind) in `.errors`, and a row
with outcome "error" in `.table()` / the written file.
"""
from __future__ import annotations

import os
import weakref

from ..sources import InputError
from .discovery import MAX_DEPTH, Discovery  # noqa: F401 (MAX_DEPTH: documented above)
from .hosts import group_streams
from .members import DEFAULT_MAX_BYTES
from .reports import write_reports
from .run import Stopped, run_all, stop_on_signals
from .spool import Spool, parse_size
from .table import ROW_COLUMNS, ScanError, ScanResult, result_rows

__all__ = ["scan", "ScanResult", "ScanError", "ROW_COLUMNS", "write_reports", "parse_size",
           "DEFAULT_MAX_BYTES", "Stopped"]


def scan(paths, jobs: int | None = None, dask=None, max_bytes: int = DEFAULT_MAX_BYTES,
         progress: bool = False, tmpdir: str | None = None, judge: bool = True) -> ScanResult:
    """Scan directories, archives, sosreports and log files; see the package documentation.

    jobs: worker processes (None = all cores; 1 = in this process); never more than the
          cores or the host streams.
    dask: None, a scheduler address, "local" (a LocalCluster is started for this call), or a
          distributed.Client.  The files must be readable by the workers (a shared filesystem).
    max_bytes: limit for one member's decompressed size and for the total written to the
          private temporary directory.
    progress: show a progress bar (files, bytes, rate, time left) on standard error.
    tmpdir: where the private temporary directory is made (default: $TMPDIR).

    SIGTERM and SIGHUP (in the main thread) stop the scan like Ctrl-C: the workers are
    terminated, the temporary directory removed, and Stopped (or KeyboardInterrupt) raised.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    spool = Spool(max_bytes, tmpdir)
    try:
        with stop_on_signals():
            result = _scan(paths, spool, jobs, dask, progress, judge)
    except BaseException:      # Stopped, KeyboardInterrupt or an error: nothing is left behind
        spool.cleanup()
        raise
    weakref.finalize(result, spool.cleanup)
    return result


def _scan(paths, spool, jobs, dask, progress, judge) -> ScanResult:
    disc = Discovery(spool)
    for p in paths:
        disc.add_input(p)
    tasks = group_streams(disc.members)
    errors = list(disc.errors)
    bar = None
    if progress and tasks:
        from ..report.text import ScanProgress
        bar = ScanProgress(tasks)
    stats = {}
    try:
        results = run_all(tasks, jobs, dask, bar, scratch=spool.directory() if dask == "local" else None,
                          stats=stats)
    finally:
        if bar is not None:
            bar.close()
    hosts = []
    names = {}
    for task in tasks:
        _, task_hosts, errs, _ = results[task.index]
        errors.extend(errs)
        for host in task_hosts:         # one per daemon in the stream
            hosts.append(host)
            # a syslog file or journal export of several hosts names each daemon's host
            several = len({h.hostname for h in task_hosts}) > 1
            names[host.label] = host.hostname if several and host.origin else task.host
    analysis = None
    if hosts:
        from ..analysis import Analysis
        from ..correlate.pair import pair_migrations
        pairs = pair_migrations([h.correlator for h in hosts])
        analysis = Analysis(hosts, pairs, opener=_opener(tasks))
        if judge:
            from ..rules import judge as judge_all
            judge_all(analysis)
    rows = result_rows(analysis, names) if analysis is not None else []
    stats.update(files=sum(len(t.members) for t in tasks), bytes=sum(t.size for t in tasks),
                 streams=len(tasks), spooled_bytes=spool.written, skipped=len(disc.skipped))
    return ScanResult(rows, errors, analysis, names,
                      [(t.label, [m.display for m in t.members]) for t in tasks], stats, spool,
                      disc.skipped)


def _opener(tasks):
    """How the reports read a member again: by the name the rows and evidence show."""
    members = {m.display: m for t in tasks for m in t.members}

    def open_member(name: str):
        m = members.get(name)
        if m is None:
            raise InputError(f"{name}: not one of the scanned logs")
        return m.open()
    return open_member
