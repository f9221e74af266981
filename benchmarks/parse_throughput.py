#!/usr/bin/env python3
"""Parse throughput of `loganalyzer events` next to `grep -c` on the same generated log.

Builds (via generate_log.py, reused when it already exists with the same seed/size) a log of
--lines lines (default and minimum 1,000,000), then runs --repeat times each:

  grep -c countToDeath=0 FILE
  loganalyzer events FILE -o WORKDIR/out.parquet

and prints median seconds, lines/s, MB/s, peak RSS and the ratio to grep.
Target: loganalyzer events >= 250,000 lines/s.
Exit status: 0 target met, 1 target missed or command failed, 3 loganalyzer events not available.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _benchlib as B  # noqa: E402

TARGET_LINES_PER_S = 250_000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines (>= 1,000,000; default 1M)")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--workdir", default="/tmp/loganalyzer-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--allow-small", action="store_true", help="allow --lines < 1,000,000 (smoke tests)")
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args(argv)
    if args.lines < 1_000_000 and not args.allow_small:
        ap.error("--lines must be >= 1,000,000 (use --allow-small for a smoke test)")

    work = Path(args.workdir)
    n = args.lines
    name = f"big-{n // 1_000_000}m.log" if n % 1_000_000 == 0 else f"big-{n}.log"
    log = work / name
    man = B.ensure_log(log, n, args.seed, args.regen)
    lines, nbytes = man["lines"], man["bytes"]
    B.warm_cache([log])
    print(f"# input: {log}  {lines:,} lines  {nbytes / 1e6:.1f} MB")

    rows = []
    g = B.run_repeated(B.grep_cmd(log), args.repeat, args.timeout, ok_rcs=(0, 1))
    rows.append(("grep -c countToDeath=0", g))
    base = B.loganalyzer_base()
    ev = None
    if base and B.loganalyzer_has("events"):
        out = work / "out.parquet"
        ev = B.run_repeated(base + ["events", str(log), "-o", str(out)], args.repeat, args.timeout)
        rows.append(("loganalyzer events -o out.parquet", ev))
    else:
        rows.append(("loganalyzer events -o out.parquet", None))

    print(f"\n{'command':<36} {'seconds':>9} {'lines/s':>12} {'MB/s':>8} {'peak RSS MB':>11} {'x grep':>8}")
    for label, r in rows:
        if r is None:
            print(f"{label:<36} {'not available':>9}")
            continue
        if not r["ok"]:
            print(f"{label:<36} failed rc={r['rc']}: {(r['stderr'] or r['stdout']).strip()[-300:]}")
            continue
        s = r["seconds"]
        ratio = s / g["seconds"] if g["ok"] and g["seconds"] > 0 else float("nan")
        print(f"{label:<36} {s:9.3f} {lines / s:12,.0f} {nbytes / 1e6 / s:8.1f} {r['peak_rss_mb']:11.1f} "
              f"{ratio:8.2f}")
    if ev is None:
        print("\nloganalyzer events: not available")
        return 3
    if not ev["ok"]:
        return 1
    lps = lines / ev["seconds"]
    ok = lps >= TARGET_LINES_PER_S
    print(f"\ntarget: events >= {TARGET_LINES_PER_S:,} lines/s: {lps:,.0f} -> {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
