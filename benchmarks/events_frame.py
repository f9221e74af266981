#!/usr/bin/env python3
"""The event table in a notebook: `loganalyzer.events_frame(path)` timed in one process.

run_benchmarks.py times the `events -o x.parquet` command (start-up and the Parquet writer
included); a notebook pays neither, so this times the call itself, pinned to one core, on the
generated logs (by default the standard and the busy 1M-line logs of run_benchmarks.py, which
must exist: run it, or generate_log.py, first).  It prints, per log, the median of --repeat
runs: the seconds of the whole call, of building the Arrow tables and of turning them into
pandas, and the lines per second (the file's lines, as run_benchmarks counts them).

    python benchmarks/events_frame.py [LOG ...] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

DEFAULT = [Path("/tmp/loganalyzer-bench/big-1m.log"), Path("/tmp/loganalyzer-bench/busy-1m.log")]


def _lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            n += chunk.count(b"\n")
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})     # one core, as `events` is timed
    import loganalyzer
    from loganalyzer import frame
    loganalyzer.events_frame(str(Path(__file__).resolve().parent.parent / "samples" / "p2p-ok" / "src-libvirtd.log"))
    for path in args.logs:
        if not path.exists():
            print(f"{path}: missing (run benchmarks/run_benchmarks.py first)", file=sys.stderr)
            return 1
        lines = _lines(path)
        whole, tables, pandas = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            loganalyzer.events_frame(str(path))
            whole.append(time.perf_counter() - t0)
            with frame._system_pool():          # (the two steps of the call, apart)
                t0 = time.perf_counter()
                parts = list(frame.iter_event_tables(str(path)))
                t1 = time.perf_counter()
                frame._concat_frame(parts)
                t2 = time.perf_counter()
            del parts
            tables.append(t1 - t0)
            pandas.append(t2 - t1)
        s = statistics.median(whole)
        print(f"{path.name}: {lines:,} lines  events_frame {s:.2f} s  {lines / s / 1000:,.0f} k lines/s  "
              f"(tables {statistics.median(tables):.2f} s, pandas {statistics.median(pandas):.2f} s; "
              f"median of {args.repeat}, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
