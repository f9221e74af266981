#!/usr/bin/env python3
"""Time loganalyzer against grep (I/O floor) and lnav (baseline) on generated libvirtd logs.

Inputs (generated with benchmarks/generate_log.py into --workdir, reused when they already match):
  big-<N>.log          N = --lines (default 1,000,000), the standard profile
  big-<5N>.log         5 x N lines (skipped with --skip-5m)
  busy-<N>.log         the busy profile (an evacuation day: waves of concurrent migrations,
  busy-<5N>.log        ~180 keepalive deaths per million lines); --profiles picks the profiles
  bigdir-<F>x<L>/      --files files x --file-lines lines (default: --lines), one host each (for `scan`)

Commands timed (each --repeat times, median wall time, peak RSS = max ru_maxrss of the child):
  grep -c countToDeath=0 FILE
  lnav -n -c ';SELECT count(*) FROM libvirtd_log WHERE log_body LIKE "%countToDeath=0%"' FILE
  taskset -c 0 loganalyzer events FILE -o WORKDIR/x.parquet     (one core; then on every core)
  loganalyzer analyze FILE --format json -o WORKDIR/x.json
  loganalyzer scan DIR --jobs 1 -o WORKDIR/s1.csv   and   --jobs 2 -o WORKDIR/s2.csv
  loganalyzer analyze on the 1x file re-emitted in other forms (--forms, default syslog,
  journal-json, journal-short and journal-export: the file as rsyslog, `journalctl -o json`,
  `journalctl -o short-precise` and `journalctl -o export` would keep the same records), each
  run in turn with the file form (A B A B ...): its ratio is to the file form's median beside it
  python -X importtime -m loganalyzer analyze samples/p2p-ok/src-libvirtd.log   (start-up)

loganalyzer is this checkout's code (`python -m loganalyzer` run in the repository), byte code
cached outside the repository as an installed package has it.  Subcommands that do not exist
yet are reported as "not available".
Exit status: 0 = all sanity checks passed (targets are only reported, use --strict to make a
missed target fail), 1 = a sanity check failed (lnav count != grep count != manifest, planted
keepalive deaths missing from analyze's JSON, a command crashed), 2 = usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _benchlib as B  # noqa: E402

STARTUP_SAMPLE = "samples/p2p-ok/src-libvirtd.log"


def human_lines(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def find_key(obj, key):
    """First value stored under `key` anywhere in a JSON document."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def check_deaths(manifest: dict, json_path: Path) -> tuple[bool, list[str]]:
    """Compare the planted keepalive deaths with analyze's `keepalive_deaths` (line + client)."""
    msgs = []
    try:
        doc = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        return False, [f"cannot read {json_path}: {e}"]
    found = find_key(doc, "keepalive_deaths")
    if not isinstance(found, list):
        return False, [f"{json_path}: no 'keepalive_deaths' list in the analyze JSON"]
    planted = {int(d["line"]): d for d in manifest["keepalive_deaths"]}
    got = {}
    for d in found:
        if not isinstance(d, dict) or "line" not in d:
            msgs.append(f"malformed keepalive_deaths entry: {d!r}"[:200])
            continue
        try:
            got[int(d["line"])] = d
        except (TypeError, ValueError):
            msgs.append(f"non-integer line in keepalive_deaths entry: {d!r}"[:200])
    ok = True
    for line, d in sorted(planted.items()):
        g = got.get(line)
        if g is None:
            ok = False
            msgs.append(f"MISSING  line {line} client {d['client']} ({d['kind']}, episode {d['episode']})")
        elif str(g.get("client", "")).lower() != d["client"].lower():
            ok = False
            msgs.append(f"CLIENT   line {line}: expected {d['client']}, analyze says {g.get('client')}")
    for line, g in sorted(got.items()):
        if line not in planted:
            ok = False
            msgs.append(f"EXTRA    line {line} client {g.get('client')} (not planted)")
    msgs.insert(0, f"keepalive deaths: planted {len(planted)}, reported {len(got)}, "
                   f"{'all match' if ok else 'MISMATCH'}")
    return ok, msgs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the base file (default 1M)")
    ap.add_argument("--seed", default="1", help="generator seed (default 1)")
    ap.add_argument("--skip-5m", action="store_true", help="skip the 5x files")
    ap.add_argument("--profiles", default="standard,busy",
                    help="generator profiles of the single-file inputs (default: %(default)s)")
    ap.add_argument("--workdir", default="/tmp/loganalyzer-bench",
                    help="where the generated logs and outputs go (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the median is reported")
    ap.add_argument("--files", type=int, default=8, help="files in the scan directory (default 8)")
    ap.add_argument("--file-lines", type=int, default=None,
                    help="lines per scan file (default: --lines, the size of the base file)")
    ap.add_argument("--skip-scan", action="store_true", help="skip the directory scan benchmark")
    ap.add_argument("--skip-lnav", action="store_true", help="do not run lnav")
    ap.add_argument("--regen", action="store_true", help="regenerate the inputs even if they exist")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per command run")
    ap.add_argument("--tools", default="grep,lnav,events,analyze,scan,startup",
                    help="comma list of what to run (default: %(default)s)")
    ap.add_argument("--skip-routes", action="store_true",
                    help="skip checking the fast route against the grammar route on the 1x file")
    ap.add_argument("--forms", default="syslog,journal-json,journal-short,journal-export",
                    help="forms of the 1x file to time analyze on (tests/forms.py names; '' for none)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json-out", help="also write all results as JSON here")
    args = ap.parse_args(argv)

    tools = set(t.strip() for t in args.tools.split(",") if t.strip())
    if "lnav" not in tools:
        args.skip_lnav = True
    if "scan" not in tools:
        args.skip_scan = True
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    failures: list[str] = []
    results: list[dict] = []

    # ---- inputs -------------------------------------------------------------------------
    n1 = args.lines
    n5 = 5 * args.lines
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    datasets = []  # (label, path, manifest)
    for profile in profiles:
        stem, tag = ("big", "") if profile == "standard" else (profile, profile + " ")
        for n in (n1,) if args.skip_5m else (n1, n5):
            f = work / f"{stem}-{human_lines(n)}.log"
            datasets.append((tag + human_lines(n), f, B.ensure_log(f, n, args.seed, args.regen, profile)))
    form_ds = []  # (label, path, manifest) of the first 1x file in other forms
    for form in (x.strip() for x in args.forms.split(",") if x.strip()):
        p, m = B.ensure_form(datasets[0][1], datasets[0][2], form, args.regen)
        form_ds.append((f"{datasets[0][0]} {form}", p, m))
    dir_ds = None
    if not args.skip_scan:
        args.file_lines = args.file_lines or args.lines
        d = work / f"bigdir-{args.files}x{human_lines(args.file_lines)}"
        dm = B.ensure_dir(d, args.files, args.file_lines, args.seed, args.regen)
        dir_ds = (f"dir {args.files}x{human_lines(args.file_lines)}", d, dm)
    for label, path, m in datasets + form_ds + ([dir_ds] if dir_ds else []):
        gen = m.get("_generation_seconds")
        print(f"# input {label}: {path}  {m['lines']:,} lines  {m['bytes'] / 1e6:.1f} MB  "
              f"{m['keepalive_death_count']} planted keepalive deaths"
              + (f"  (generated in {gen:.1f} s)" if gen else ""), flush=True)

    B.warm_cache([p for _, p, _ in datasets + form_ds] + ([dir_ds[1]] if dir_ds else []))

    # ---- tools --------------------------------------------------------------------------
    lnav_err = None if args.skip_lnav else B.lnav_ensure_format()
    if lnav_err:
        print(f"# lnav: {lnav_err}")
        failures.append(lnav_err)
    base = B.loganalyzer_base()
    print(f"# loganalyzer: {' '.join(base) if base else 'not found (no loganalyzer on PATH, no loganalyzer/__main__.py)'}")
    avail = {sub: B.loganalyzer_has(sub) for sub in ("events", "analyze", "scan") if sub in tools}
    for sub, ok in avail.items():
        if not ok:
            print(f"# loganalyzer {sub}: not available")

    def record(label, dataset, name, cmd, res, lines, nbytes):
        row = {"dataset": dataset, "name": name, "label": label, "lines": lines, "bytes": nbytes,
               "cmd": cmd}
        if res is None:
            row["status"] = "not available"
        else:
            row.update({k: res[k] for k in ("ok", "rc", "times", "seconds", "cpu_seconds", "peak_rss_mb",
                                            "timed_out")})
            row["status"] = "ok" if res["ok"] else ("timeout" if res["timed_out"] else f"rc={res['rc']}")
            if not res["ok"]:
                tail = (res["stderr"] or res["stdout"]).strip().splitlines()[-5:]
                row["error"] = "\n".join(tail)
        results.append(row)
        print(f"  {label:<58} {row['status']:<14} "
              + (f"{row['seconds']:.3f} s  (cpu {row['cpu_seconds']:.3f} s)  {row['peak_rss_mb']:.0f} MB"
                 if res is not None else ""),
              flush=True)
        if res is not None and not res["ok"]:
            for ln in row.get("error", "").splitlines():
                print(f"      | {ln}")
        return row

    def grep_and_lnav(label, target, planted, lines, nbytes, what):
        """grep (the I/O floor and the reference count) and lnav's search on a file or a
        directory; both counts must equal the planted keepalive deaths."""
        cmd = B.grep_cmd(target)
        g = B.run_repeated(cmd, args.repeat, args.timeout, ok_rcs=(0, 1))
        record(f"grep -c countToDeath=0{what}", label, "grep", cmd, g, lines, nbytes)
        gcount = B.grep_total(g["stdout"]) if g["ok"] else None
        if gcount is not None and gcount != planted:
            failures.append(f"{label}: grep counts {gcount} countToDeath=0 lines, manifest plants {planted}")
            print(f"  FAIL: grep count {gcount} != planted {planted}")
        if args.skip_lnav or lnav_err:
            return
        cmd = B.lnav_count_cmd(target, 'log_body LIKE "%countToDeath=0%"')
        r = B.run_repeated(cmd, args.repeat, args.timeout)
        record(f"lnav -n (count countToDeath=0{', directory' if what else ''})", label, "lnav", cmd, r,
               lines, nbytes)
        lcount = B.parse_last_int(r["stdout"]) if r["ok"] else None
        if lcount != gcount:
            msg = f"{label}: lnav counted {lcount}, grep counted {gcount} -- lnav format not applied?"
            failures.append(msg)
            print(f"  FAIL: {msg}")
            print("      | " + "\n      | ".join((r["stdout"] + r["stderr"]).strip().splitlines()[-5:]))

    # ---- per-file benchmarks ------------------------------------------------------------
    for label, path, man in datasets:
        lines, nbytes = man["lines"], man["bytes"]
        planted = man["keepalive_death_count"]
        print(f"\n== {label}: {path}")
        grep_and_lnav(label, path, planted, lines, nbytes, "")
        out_pq = work / "x.parquet"
        # the event table's target is for one core: pinned to one
        cmd = B.one_core() + (base or ["loganalyzer"]) + ["events", str(path), "-o", str(out_pq)]
        if "events" in tools:
            r = B.run_repeated(cmd, args.repeat, args.timeout) if avail["events"] else None
            record("loganalyzer events -o x.parquet" + (" (one core)" if B.one_core() else ""),
                   label, "events", cmd, r, lines, nbytes)
            if r is not None and not r["ok"]:
                failures.append(f"{label}: loganalyzer events failed (rc={r['rc']})")
            if B.one_core():
                # (and on every core: the Parquet writer's thread runs beside the reading)
                cmd = (base or ["loganalyzer"]) + ["events", str(path), "-o", str(out_pq)]
                r = B.run_repeated(cmd, args.repeat, args.timeout) if avail["events"] else None
                record("loganalyzer events -o x.parquet (every core)", label, "events-all", cmd, r, lines, nbytes)
        out_js = work / "x.json"
        cmd = (base or ["loganalyzer"]) + ["analyze", str(path), "--format", "json", "-o", str(out_js)]
        if "analyze" not in tools:
            continue
        r = B.run_repeated(cmd, args.repeat, args.timeout) if avail["analyze"] else None
        row = record("loganalyzer analyze --format json", label, "analyze", cmd, r, lines, nbytes)
        if r is not None:
            if r["ok"]:
                ok, msgs = check_deaths(man, out_js)
                row["deaths_check"] = {"ok": ok, "messages": msgs}
                for m in msgs[:30]:
                    print(f"      {m}")
                if len(msgs) > 30:
                    print(f"      ... {len(msgs) - 30} more")
                if not ok:
                    failures.append(f"{label}: analyze keepalive_deaths do not match the manifest")
            else:
                failures.append(f"{label}: loganalyzer analyze failed (rc={r['rc']})")
            if label == datasets[0][0] and not args.skip_routes:
                # the fast route's answers against the reference built by the lark grammar alone
                import subprocess
                chk = subprocess.run([sys.executable, str(Path(__file__).with_name("check_routes.py")), str(path)],
                                     capture_output=True, text=True)
                for ln in (chk.stdout + chk.stderr).strip().splitlines()[:12]:
                    print(f"      routes: {ln}")
                if chk.returncode != 0:
                    failures.append(f"{label}: fast route and grammar route differ")

    # ---- the 1x file in other forms: analyze only --------------------------------------
    # (each form's runs alternate with runs of the file form, whose median beside it is the
    # ratio's base: this machine's speed drifts more between minutes than the ratio's target)
    file_cmd = (base or ["loganalyzer"]) + ["analyze", str(datasets[0][1]), "--format", "json", "-o",
                                            str(work / "x-file.json")]
    for label, path, man in form_ds if "analyze" in tools else ():
        print(f"\n== {label}: {path}")
        out_js = work / "x.json"
        cmd = (base or ["loganalyzer"]) + ["analyze", str(path), "--format", "json", "-o", str(out_js)]
        r = rf = None
        if avail["analyze"]:
            r, *beside = B.run_interleaved([cmd, file_cmd], args.repeat, args.timeout)
            rf = beside[0] if beside and beside[0]["ok"] else None
        row = record("loganalyzer analyze --format json", label, "analyze", cmd, r, man["lines"], man["bytes"])
        if rf is not None:
            row["file_form_seconds_beside"] = rf["seconds"]
            print(f"      the file form, run in turn with it: {rf['seconds']:.3f} s (median)")
        if r is not None and r["ok"]:
            ok, msgs = check_deaths(man, out_js)
            row["deaths_check"] = {"ok": ok, "messages": msgs}
            for m in msgs[:10]:
                print(f"      {m}")
            if not ok:
                failures.append(f"{label}: analyze keepalive_deaths do not match the manifest")
        elif r is not None:
            failures.append(f"{label}: loganalyzer analyze failed (rc={r['rc']})")

    # ---- directory scan -----------------------------------------------------------------
    if dir_ds:
        label, d, dm = dir_ds
        lines, nbytes = dm["lines"], dm["bytes"]
        print(f"\n== {label}: {d}/")
        grep_and_lnav(label, d, dm["keepalive_death_count"], lines, nbytes, " (all files)")
        for jobs in ((1, 2) if "scan" in tools else ()):
            out = work / f"s{jobs}.csv"
            cmd = (base or ["loganalyzer"]) + ["scan", str(d), "--jobs", str(jobs), "-o", str(out)]
            r = B.run_repeated(cmd, args.repeat, args.timeout) if avail["scan"] else None
            record(f"loganalyzer scan --jobs {jobs} -o s{jobs}.csv", label, f"scan-j{jobs}", cmd, r,
                   lines, nbytes)
            if r is not None and not r["ok"]:
                failures.append(f"{label}: loganalyzer scan --jobs {jobs} failed (rc={r['rc']})")

    # ---- table --------------------------------------------------------------------------
    def get(dataset, name):
        for row in results:
            if row["dataset"] == dataset and row["name"] == name and row.get("ok"):
                return row
        return None

    print("\n" + "=" * 127)
    print(f"load average at the end (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"load at the start: {load_at_start}")
    hdr = (f"{'input':<14} {'command':<44} {'seconds':>9} {'cpu s':>8} {'lines/s':>12} {'MB/s':>8} "
           f"{'peak RSS MB':>11} {'x grep':>8} {'x lnav':>8}")
    print(hdr)
    print("-" * len(hdr))
    for row in results:
        if row["status"] != "ok":
            print(f"{row['dataset']:<14} {row['label']:<44} {row['status']:>9}")
            continue
        s = row["seconds"]
        g = get(row["dataset"], "grep")
        ln = get(row["dataset"], "lnav")
        row["lines_per_s"] = row["lines"] / s if s > 0 else None
        row["mb_per_s"] = row["bytes"] / 1e6 / s if s > 0 else None
        row["ratio_grep"] = s / g["seconds"] if g and g["seconds"] > 0 else None
        row["ratio_lnav"] = s / ln["seconds"] if ln and ln["seconds"] > 0 else None
        fr = lambda v: f"{v:8.2f}" if v is not None else f"{'-':>8}"  # noqa: E731
        print(f"{row['dataset']:<14} {row['label']:<44} {s:9.3f} {row['cpu_seconds']:8.3f} "
              f"{row['lines_per_s']:12,.0f} "
              f"{row['mb_per_s']:8.1f} {row['peak_rss_mb']:11.1f} {fr(row['ratio_grep'])} "
              f"{fr(row['ratio_lnav'])}")

    # ---- start-up -----------------------------------------------------------------------
    startup = None
    if "startup" in tools and base:
        startup = B.import_seconds(base + ["analyze", STARTUP_SAMPLE], args.repeat)
        print(f"\nstart-up: imports of `analyze {STARTUP_SAMPLE}` (python -X importtime, median of "
              f"{args.repeat}): {startup:.3f} s")

    # ---- targets (issue 17) -------------------------------------------------------------
    targets = []

    def target(name, value, op, limit):
        if value is None:
            targets.append((name, None, op, limit, "n/a"))
            return
        ok = value <= limit if op == "<=" else value >= limit
        targets.append((name, value, op, limit, "PASS" if ok else "MISS"))

    def rate(row):
        return row["lines"] / row["seconds"] if row else None

    by_profile: dict[str, list] = {}
    for label, _, man in datasets:
        by_profile.setdefault(man.get("profile", "standard"), []).append(label)
    for labels in by_profile.values():
        d1 = labels[0]
        d5 = labels[1] if len(labels) > 1 else None
        a1, l1 = get(d1, "analyze"), get(d1, "lnav")
        target(f"analyze/lnav on {d1}", a1["seconds"] / l1["seconds"] if a1 and l1 else None, "<=", 0.5)
        target(f"events lines/s on {d1}, one core", rate(get(d1, "events")), ">=", 1_000_000)
        if d5:
            target(f"analyze lines/s on {d5}", rate(get(d5, "analyze")), ">=", 2_500_000)
            for name in ("events", "analyze"):
                r5 = get(d5, name)
                target(f"{name} peak RSS MB on {d5}", r5["peak_rss_mb"] if r5 else None, "<=", 300)
    d1 = datasets[0][0]
    a1 = get(d1, "analyze")
    for label, _, _ in form_ds:
        af = get(label, "analyze")
        base_s = af.get("file_form_seconds_beside") if af else None
        base_s = base_s or (a1["seconds"] if a1 else None)
        target(f"analyze {label}/analyze {d1}", af["seconds"] / base_s if af and base_s else None, "<=", 2.0)
    if dir_ds:
        s1, s2 = get(dir_ds[0], "scan-j1"), get(dir_ds[0], "scan-j2")
        target(f"scan jobs1/jobs2 on {dir_ds[0]}", s1["seconds"] / s2["seconds"] if s1 and s2 else None,
               ">=", 1.7)
    if "startup" in tools:
        target("start-up imports of analyze (s)", startup, "<=", 0.3)
    print("\ntargets:")
    missed = 0
    for name, value, op, limit, status in targets:
        v = "-" if value is None else (f"{value:,.0f}" if value >= 1000 else f"{value:.2f}")
        print(f"  {name:<52} {v:>12} {op} {limit:<10,} {status}")
        missed += status == "MISS"

    if failures:
        print("\nSANITY FAILURES:")
        for f in failures:
            print(f"  FAIL: {f}")
    if args.json_out:
        for row in results:
            row.pop("stdout", None)
        Path(args.json_out).write_text(json.dumps({
            "results": results,
            "targets": [{"name": n, "value": v, "op": o, "limit": l, "status": s}
                        for n, v, o, l, s in targets],
            "startup_seconds": startup,
            "load_at_start": load_at_start, "load_at_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "cpus": os.cpu_count(),
            "failures": failures}, indent=1) + "\n")
    if failures:
        return 1
    if args.strict and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
