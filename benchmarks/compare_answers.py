"""The same answers before and after a change: `analyze --format json` of every sample.

    python benchmarks/compare_answers.py snapshot OUTDIR [--repo PATH]
    python benchmarks/compare_answers.py diff BEFORE_DIR AFTER_DIR

`snapshot` writes one JSON file per scenario of samples/ (lab scenarios and public excerpts)
into OUTDIR.  A lab scenario's file holds the analysis of its daemon logs together (source
and destination, as the tests read them, `both`), of each daemon log alone and of each
client (virsh) debug log and output alone; an excerpt's file holds the analysis of each of its files.
`--repo` takes the code (and the samples) of another checkout, so that a baseline can be
written from an unmodified tree.  Paths are written relative to the checkout.

`diff` compares two snapshot directories and prints, scenario by scenario, every value that
differs (as a path into the JSON: `both.migrations[0].verdict.cause: 'a' -> 'b'`); volatile
fields (--ignore, default: timings, version, elapsed) are left out.  Exit 0 when the answers
are the same, 1 when they differ.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VOLATILE = ("timings", "version", "elapsed")


# ------------------------------------------------------------------------ snapshot
def scenarios(samples: Path) -> dict[str, dict[str, list[str]]]:
    """scenario -> {view name -> [paths relative to the checkout]}."""
    out: dict[str, dict[str, list[str]]] = {}
    root = samples.parent
    for d in sorted(p for p in samples.iterdir() if p.is_dir() and p.name not in ("lab", "excerpts")):
        daemons = sorted(d.glob("*-libvirtd.log*"))
        others = sorted(p for p in d.glob("*.log*") if p.name.endswith(("d.log", "d.log.gz"))
                        and p not in daemons)
        clients = sorted(d.glob("virsh-*.log")) + sorted(d.glob("virsh-*.out"))
        views: dict[str, list[str]] = {}
        if daemons:
            views["both"] = [str(p.relative_to(root)) for p in daemons]
        for p in daemons + others + clients:
            views[p.name] = [str(p.relative_to(root))]
        if views:
            out[d.name] = views
    excerpts = samples / "excerpts"
    if excerpts.is_dir():
        for d in sorted(p for p in excerpts.iterdir() if p.is_dir()):
            files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix != ".md")
            if files:
                out[f"excerpts/{d.name}"] = {p.name: [str(p.relative_to(root))] for p in files}
    return out


def snapshot(outdir: Path, repo: Path, only: list[str] | None = None) -> int:
    sys.path.insert(0, str(repo))
    os.chdir(repo)          # relative paths: the answers do not depend on where the checkout is
    from loganalyzer.analysis import analyze
    from loganalyzer.report.jsonout import analysis_to_dict
    from loganalyzer.sources import InputError

    outdir.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, views in scenarios(repo / "samples").items():
        if only and name not in only:
            continue
        doc = {}
        for view, paths in views.items():
            try:
                doc[view] = analysis_to_dict(analyze(paths))
            except InputError as e:
                doc[view] = {"input_error": str(e)}
        (outdir / (name.replace("/", "__") + ".json")).write_text(
            json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        n += 1
    print(f"{n} scenarios written to {outdir} (code of {repo})")
    return 0


# ------------------------------------------------------------------------ diff
def _walk(a, b, path: str, ignore: set, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k in ignore:
                continue
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"{p}: (absent) -> {_short(b[k])}")
            elif k not in b:
                out.append(f"{p}: {_short(a[k])} -> (absent)")
            else:
                _walk(a[k], b[k], p, ignore, out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            p = f"{path}[{i}]"
            if i >= len(a):
                out.append(f"{p}: (absent) -> {_short(b[i])}")
            elif i >= len(b):
                out.append(f"{p}: {_short(a[i])} -> (absent)")
            else:
                _walk(a[i], b[i], p, ignore, out)
    elif a != b:
        out.append(f"{path}: {_short(a)} -> {_short(b)}")


def _short(v, width: int = 160) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= width else s[:width - 5] + " ...]"


def diff(before: Path, after: Path, ignore: set) -> int:
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    changed = 0
    for name in names:
        scenario = name[:-len(".json")].replace("__", "/")
        pa, pb = before / name, after / name
        if not pa.exists() or not pb.exists():
            print(f"== {scenario}: only in {'before' if pa.exists() else 'after'}")
            changed += 1
            continue
        a = json.loads(pa.read_text(encoding="utf-8"))
        b = json.loads(pb.read_text(encoding="utf-8"))
        out: list = []
        _walk(a, b, "", ignore, out)
        if out:
            changed += 1
            print(f"== {scenario}: {len(out)} difference(s)")
            for line in out:
                print(f"   {line}")
    print(f"{len(names)} scenarios compared, {changed} with differences")
    return 1 if changed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot", help="write one JSON per sample scenario")
    s.add_argument("outdir", type=Path)
    s.add_argument("--repo", type=Path, default=HERE.parent, help="checkout whose code and samples to use")
    s.add_argument("--only", nargs="*", help="only these scenarios (names as in the output)")
    d = sub.add_parser("diff", help="compare two snapshot directories")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    d.add_argument("--ignore", nargs="*", default=list(VOLATILE), help="keys left out at any depth")
    args = ap.parse_args(argv)
    if args.cmd == "snapshot":
        return snapshot(args.outdir.resolve(), args.repo.resolve(), args.only)
    return diff(args.before, args.after, set(args.ignore))


if __name__ == "__main__":
    sys.exit(main())
