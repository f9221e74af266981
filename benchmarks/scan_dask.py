#!/usr/bin/env python3
"""`loganalyzer scan` on a Dask cluster of worker processes, next to `--jobs`, on 8 and 32 files.

For each directory (generate_log.py --files N, one host per file) and each worker count, a
distributed.LocalCluster with worker *processes* (one thread each) is started here and the CLI
is pointed at its scheduler address, as at an existing cluster:

    loganalyzer scan DIR --jobs 1 -o WORKDIR/j1.csv
    loganalyzer scan DIR --jobs 2 -o WORKDIR/j2.csv
    loganalyzer scan DIR --dask tcp://127.0.0.1:PORT -o WORKDIR/dask-W.csv      (W workers)
    loganalyzer scan DIR --dask local -o WORKDIR/dask-local.csv                 (its own cluster)

Each runs --repeat times in a fresh process (median wall time).  A cluster's workers run one
untimed scan first: the workers of a running cluster have the package imported already.
Every table must equal the `--jobs 1` table (exit 1 otherwise).

    python benchmarks/scan_dask.py                              # 8 and 32 files x 200k lines
    python benchmarks/scan_dask.py --files 8 --file-lines 1000000
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _benchlib as B  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--workdir", default="/tmp/loganalyzer-dask-bench")
    ap.add_argument("--files", default="8,32", help="file counts (default %(default)s)")
    ap.add_argument("--file-lines", type=int, default=200_000)
    ap.add_argument("--workers", default="1,2", help="Dask worker processes (default %(default)s)")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import dask
    from distributed import LocalCluster

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # the cluster's worker processes import this checkout's package, byte code cached as the
    # timed commands have it
    os.environ.update(B.child_env())
    os.environ["PYTHONPATH"] = str(B.REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    # and so does the scheduler (in this process): it unpickles the tasks
    sys.path.insert(0, str(B.REPO))
    from loganalyzer.fleet.run import WORKER_ENVIRON
    cli = B.loganalyzer_base()
    rows, ok = [], True
    print(f"# {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; median of {args.repeat}")
    for nfiles in (int(x) for x in args.files.split(",")):
        d = work / f"dir-{nfiles}x{args.file_lines}"
        man = B.ensure_dir(d, nfiles, args.file_lines, args.seed)
        lines, nbytes = man["lines"], man["bytes"]
        B.warm_cache([d])
        label = f"{nfiles} x {args.file_lines:,} lines"
        print(f"\n== {label}: {d} ({nbytes / 1e6:.0f} MB)", flush=True)

        def timed(what, scan_args, out):
            r = B.run_repeated(cli + ["scan", str(d)] + scan_args + ["-o", str(out)], args.repeat)
            if not r["ok"]:
                sys.exit(f"{what} failed (rc={r['rc']}):\n{r['stderr'][-2000:]}")
            rows.append((label, what, r["seconds"], lines, nbytes, r["peak_rss_mb"], out))
            print(f"  {what:<34} {r['seconds']:7.2f} s", flush=True)

        timed("scan --jobs 1", ["--jobs", "1"], work / "j1.csv")
        timed("scan --jobs 2", ["--jobs", "2"], work / "j2.csv")
        for w in (int(x) for x in args.workers.split(",")):
            # configured as the README asks of a cluster scan uses (the workers keep glibc's
            # own malloc trimming)
            with dask.config.set(WORKER_ENVIRON), \
                    LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster:
                addr = cluster.scheduler_address
                B.run_once(cli + ["scan", str(d), "--dask", addr, "-o", str(work / "warm.csv")])
                timed(f"scan --dask <{w} worker process{'es' if w > 1 else ''}>", ["--dask", addr],
                      work / f"dask-{w}.csv")
        timed("scan --dask local (its own cluster)", ["--dask", "local"], work / "dask-local.csv")
        base = (work / "j1.csv").read_bytes()
        for row in rows:
            if row[0] == label and row[6].read_bytes() != base:
                ok = False
                print(f"  TABLE DIFFERS: {row[1]} ({row[6]}) against scan --jobs 1")

    print(f"\n{'input':<22} {'command':<36} {'seconds':>8} {'lines/s':>11} {'x jobs 1':>9} {'peak RSS MB':>12}")
    for label, what, s, lines, nbytes, rss, _ in rows:
        j1 = next(r[2] for r in rows if r[0] == label and r[1] == "scan --jobs 1")
        print(f"{label:<22} {what:<36} {s:8.2f} {lines / s:11,.0f} {j1 / s:9.2f} {rss:12.0f}")
    print("tables: " + ("every table equals scan --jobs 1" if ok else "SOME TABLES DIFFER"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
