"""Where `analyze` spends its time, in one process (no start-up): reading (scan, records,
correlator) on one thread pinned to one core, the same with the scan threads on every core,
then the verdicts (rules.judge) and the JSON report, on each log given.

    python benchmarks/analyze_stages.py /tmp/loganalyzer-bench/busy-1m.log /tmp/loganalyzer-bench/big-5m.log

The one-thread CPU is the work, and the figure to compare code by (this machine's wall times
drift between minutes); compare two versions of the code side by side with PYTHONPATH=<tree>.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import statistics
import sys
import time


def _median(runs) -> float:
    return statistics.median(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each stage; the median is printed")
    args = ap.parse_args()
    from loganalyzer import analysis, rules
    from loganalyzer.report import render
    print(f"# loganalyzer from {os.path.dirname(analysis.__file__)}")
    print(f"{'log':28s} {'lines':>10s} {'1 thread CPU s':>15s} {'lines/s':>10s} {'threads wall s':>15s}"
          f" {'lines/s':>10s} {'judge s':>8s} {'json s':>7s}")
    cores = os.sched_getaffinity(0)
    for path in args.logs:
        one, ahead, judged, rendered = [], [], [], []
        lines = 0
        for _ in range(args.repeat):
            gc.collect()
            gc.disable()
            os.sched_setaffinity(0, {min(cores)})
            c = time.process_time()
            hosts = analysis.read_streams([path], "x", read_ahead=False)
            one.append(time.process_time() - c)
            lines = sum(f.lines for h in hosts for f in h.facts)
            os.sched_setaffinity(0, cores)
            t = time.perf_counter()
            analysis.read_streams([path], "x")
            ahead.append(time.perf_counter() - t)
            a = analysis.analyze([path], judge=False)
            t = time.perf_counter()
            rules.judge(a)
            judged.append(time.perf_counter() - t)
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                render(a, "json", None, None, migration=None)
            rendered.append(time.perf_counter() - t)
            del a, hosts
            gc.enable()
        o, w = _median(one), _median(ahead)
        print(f"{os.path.basename(path):28s} {lines:>10,d} {o:>15.3f} {lines / o:>10,.0f} {w:>15.3f}"
              f" {lines / w:>10,.0f} {_median(judged):>8.3f} {_median(rendered):>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
