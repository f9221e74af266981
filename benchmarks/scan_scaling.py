#!/usr/bin/env python3
"""`loganalyzer scan --jobs 1` vs `--jobs 2` on an 8-file directory (and the same files in a .tar).

The files come from generate_log.py --files (one host each, real sample blocks replayed).  Each
command runs --repeat times in a fresh process (CLI start-up included); the best wall time counts.
Target: jobs1/jobs2 >= 1.7 on a 2-core machine.

    python benchmarks/scan_scaling.py                        # 8 x 1M lines (run_benchmarks' default)
    python benchmarks/scan_scaling.py --file-lines 200000    # 8 x 200k lines: start-up weighs more
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "loganalyzer.cli"]     # the code in this checkout (PYTHONPATH below)


def run(cmd) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed (rc={r.returncode}): {' '.join(cmd)}\n{r.stderr.decode()[-2000:]}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="/tmp/loganalyzer-scan-bench")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--file-lines", type=int, default=1_000_000)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-tar", action="store_true", help="only the directory")
    args = ap.parse_args()
    work = Path(args.workdir)
    d = work / f"dir-{args.files}x{args.file_lines}"
    if not d.is_dir() or len(list(d.glob("*.log"))) != args.files:
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate_log.py"), "--files", str(args.files),
                        "--lines", str(args.file_lines), "--seed", args.seed, "-o", str(d)], check=True)
    inputs = [("directory", d)]
    if not args.no_tar:
        t = work / f"{d.name}.tar"
        if not t.exists():
            with tarfile.open(t, "w") as tf:
                for f in sorted(d.glob("*.log")):
                    tf.add(f, arcname=f"{d.name}/{f.name}")
        inputs.append(("tar", t))
    nbytes = sum(f.stat().st_size for f in d.glob("*.log"))
    print(f"# {args.files} files x {args.file_lines:,} lines, {nbytes / 1e6:.0f} MB; {os.cpu_count()} cores; "
          f"best of {args.repeat}")
    ok = True
    for label, path in inputs:
        best = {}
        for jobs in (1, 2):
            out = work / f"scan-{label}-j{jobs}.csv"
            cmd = CLI + ["scan", str(path), "--jobs", str(jobs), "-o", str(out)]
            best[jobs] = min(run(cmd) for _ in range(args.repeat))
            print(f"{label:9} --jobs {jobs}: {best[jobs]:6.2f} s  {nbytes / 1e6 / best[jobs]:6.1f} MB/s", flush=True)
        a, b = (work / f"scan-{label}-j1.csv").read_bytes(), (work / f"scan-{label}-j2.csv").read_bytes()
        ratio = best[1] / best[2]
        print(f"{label:9} jobs1/jobs2 = {ratio:.2f}  (target >= 1.7: {'met' if ratio >= 1.7 else 'MISSED'}); "
              f"tables {'identical' if a == b else 'DIFFER'}")
        ok = ok and a == b
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
