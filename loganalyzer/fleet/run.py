"""Running the per-stream work: in this process, in a process pool, or on a Dask cluster.

A stream's work (run_stream) is the correlator of one host's logs; it returns the picklable
HostLogs of the daemons in it (one, or several in a syslog file or journal export).  A worker that fails becomes an error of its stream, never the end of the scan."""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

from ..sources import InputError, shown
from .members import ARCHIVE_READ_ERRORS, human, open_error, short
from .table import ScanError

# what a defect met while reading one stream can raise: that stream becomes an error row
# (kind "internal"), the other hosts of the fleet are still analysed
STREAM_FAULTS = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError,
                 RecursionError, MemoryError, OSError)


def run_stream(task):
    """The per-host work (runs in a worker): correlate one stream.
    Returns (index, [HostLog] (one per daemon in the stream; empty when it failed), [ScanError], bytes)."""
    from ..analysis import read_streams
    errors: list[ScanError] = []
    members = list(task.members)
    by_name = {m.display: m for m in members}
    hosts = []

    def opener(name):
        try:
            return by_name[name].open()
        except ARCHIVE_READ_ERRORS as e:
            raise InputError(f"{name}: {open_error(name, e).reason}") from None

    for _ in range(len(members) + 1):
        if not members:
            break
        try:
            # one core per stream: the parallelism of a scan is its processes (--jobs)
            hosts = read_streams([m.display for m in members], task.label, None,
                                 opener=opener, read_ahead=False)
            break
        except InputError as e:
            msg = str(e)
            bad = next((m for m in members if msg.startswith(m.display + ":")), None)
            errors.append(ScanError(bad.display if bad else task.label,
                                    msg[len(bad.display) + 1:].strip() if bad else msg, "corrupt"))
            if bad is None:
                break
            members.remove(bad)
        except STREAM_FAULTS as e:
            errors.append(ScanError(task.label, f"internal error while reading this host's logs: "
                                                f"{type(e).__name__}: {short(e)}", "internal"))
            hosts = []
            break
    for host in hosts:
        for f in host.facts:
            # a member cut short, or corrupt from some point on: its records before are analysed
            # a record over recordcut.CAP read only in part (a flood without line breaks)
            for kind, msg in f.problems + ([("corrupt", f.error)] if f.error else []):
                prefix = shown(f.path) + ": "
                errors.append(ScanError(f.path, msg[len(prefix):] if msg.startswith(prefix) else msg, kind))
    if hosts:
        for m in members:
            h = m.handle
            if h is not None and h.over_limit:
                errors.append(ScanError(m.display, f"decompressed size exceeds the {human(m.max_bytes)} limit "
                                                   f"(--max-bytes); only the first part was read", "too-large"))
            m.handle = None
    return task.index, hosts, errors, task.size


def worker_count(jobs: int | None, streams: int) -> int:
    """Processes to start: --jobs, never more than the cores or the streams."""
    cores = os.cpu_count() or 1
    return max(1, min(jobs or cores, cores, streams))


class Stopped(BaseException):
    """The scan was told to stop (SIGTERM, SIGHUP): its workers and its temporary directory are
    gone when this reaches the caller.  exit_code: the shell's 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


@contextmanager
def stop_on_signals():
    """SIGTERM and SIGHUP raise Stopped in the scan (as SIGINT raises KeyboardInterrupt), so
    that every `finally` of the scan runs: workers stopped, temporary directory removed.
    Only the main thread can take signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        for s in STOP_SIGNALS:          # the clean-up is not interrupted by a second signal
            signal.signal(s, signal.SIG_IGN)
        raise Stopped(signum)

    old = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _worker_signals():
    """In a pool worker: the default action for the stop signals (the parent stops the
    workers), and SIGINT left to the parent too."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_all(tasks, jobs, dask, progress=None, scratch=None, stats=None) -> dict:
    """{task index: run_stream's result} for every task; progress.done(result) as each ends.
    scratch: a folder for Dask's local workers (inside the scan's temporary directory);
    stats["workers"]: the processes used."""
    results = {}
    n = worker_count(jobs, len(tasks))
    if stats is not None:
        stats["workers"] = n
    if dask is not None:
        for r in _run_dask(tasks, dask, n, scratch):
            results[r[0]] = r
            progress and progress.done(r)
    elif n <= 1:
        for t in tasks:
            r = run_stream(t)
            results[r[0]] = r
            progress and progress.done(r)
    else:
        for r in _run_pool(tasks, n):
            results[r[0]] = r
            progress and progress.done(r)
    return results


def _warm_worker():
    from .. import analysis  # noqa: F401
    from .. import prefilter  # noqa: F401
    return os.getpid()


def _run_pool(tasks, n: int):
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    ctx = None
    if "fork" in multiprocessing.get_all_start_methods():
        # fork after importing the per-stream code: the workers start with it loaded
        _warm_worker()
        ctx = multiprocessing.get_context("fork")
    others = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_signals)
    gc_was_on = gc.isenabled()
    done = False
    try:
        # largest first: the workers finish together
        futs = {pool.submit(run_stream, t): t for t in sorted(tasks, key=lambda t: -t.size)}
        _warm_imports()   # what pairing, judging and the table need, while the workers run
        # unpickling a host's objects (tens of thousands) would set off full collections
        # of an ever larger heap, several times per result, on the cores the workers need
        gc.disable()
        for f in as_completed(futs):
            yield _result(f, futs[f])
        done = True
    finally:
        if gc_was_on:
            gc.enable()
        if not done:
            # stopped (a signal, Ctrl-C, an error here): the workers go now, not after their stream
            for p in set(multiprocessing.active_children()) - others:
                p.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _lost_worker_errors() -> tuple:
    """What a future raises when its worker process is gone (killed, out of memory, a lost
    Dask worker or connection)."""
    from concurrent.futures.process import BrokenProcessPool
    errs = [BrokenProcessPool, OSError, *STREAM_FAULTS]
    try:
        from distributed.scheduler import KilledWorker
        errs.append(KilledWorker)
    except ImportError:
        pass
    return tuple(errs)


def _result(future, task):
    """A worker's result; a worker that died becomes an error of its stream."""
    try:
        return future.result()
    except _lost_worker_errors() as e:
        return (task.index, None, [ScanError(task.label, f"worker failed: {type(e).__name__}: {short(e)}",
                                             "internal")], task.size)


def _warm_imports():
    from .. import analysis  # noqa: F401
    from .. import rules  # noqa: F401
    from ..correlate import pair  # noqa: F401


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536: glibc then hands memory back
# after every large free and faults it in again, and a stream's NumPy and Arrow blocks take
# about twice the CPU (8 generated hosts of 200k lines: 2.15 s against 1.16 s).  None unsets it.
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def _run_dask(tasks, dask, n: int, scratch=None):
    from distributed import Client, LocalCluster, as_completed
    own = []
    if isinstance(dask, Client):
        client = dask
    elif dask == "local":
        import dask as dask_config
        # its scheduler's and workers' dask-scratch-space goes inside the scan's temporary
        # directory, removed with it (else each run leaves one in $TMPDIR); and the workers
        # keep glibc's own malloc trimming (WORKER_ENVIRON)
        with dask_config.config.set({"temporary-directory": scratch, **WORKER_ENVIRON}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   local_directory=scratch)
        client = Client(cluster)
        own = [client, cluster]
    else:
        client = Client(dask)
        own = [client]
    # a worker's working directory is not this process's: it opens the files by absolute paths
    for t in tasks:
        for m in t.members:
            m.source = os.path.abspath(m.source)
    import gc
    gc_was_on = gc.isenabled()
    try:
        order = sorted(tasks, key=lambda t: -t.size)
        futs = client.map(run_stream, order, pure=False)
        task_of = {f.key: t for f, t in zip(futs, order)}
        _warm_imports()   # what pairing, judging and the table need, while the workers run
        gc.disable()      # results are unpickled here too (as for the pool)
        for f in as_completed(futs):
            yield _result(f, task_of[f.key])
    finally:
        if gc_was_on:
            gc.enable()
        for o in own:
            o.close()
