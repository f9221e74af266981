"""How much of libvirt's and QEMU's migration path the catalogue knows:

    python -m loganalyzer.rules.coverage [--unplaced] [--generic]

For every version read from the sources: the wordings reported on the migration path, how
many the catalogue recognises (a hand-written pattern or the generated index), how many the
reviewed table places (a cause, a consequence, or 'names no cause'), and the reporting calls
whose text is not a literal (passed through from elsewhere: no wording of their own).
"""
from __future__ import annotations

import sys
from collections import Counter

from . import generated


def coverage_rows(cat: generated.Catalogue | None = None) -> list[dict]:
    """One row per (origin, version): the counts the report prints."""
    cat = cat or generated.load()
    hand = _hand_written(cat)
    rows = []
    for origin, versions in cat.versions.items():
        for v in versions:
            msgs = [(i, m) for i, m in enumerate(cat.messages) if m.origin == origin and v in m.versions]
            n = len(msgs)
            generic = [m for i, m in msgs if i in cat.generic]
            by_hand = [m for i, m in msgs if m.id in hand]
            placed = [m for _, m in msgs if m.placed is not None]
            kinds = Counter(_kind(m) for _, m in msgs if m.placed is not None)
            dynamic = sum(d["sites"] for d in cat.dynamic if d["origin"] == origin and v in d["versions"])
            rows.append({
                "origin": origin, "version": v, "messages": n,
                "recognised": n - len([m for m in generic if m.id not in hand]),
                "hand_written": len(by_hand), "generic": len(generic), "placed": len(placed),
                "cause": kinds["cause"], "consequence": kinds["consequence"], "none": kinds["none"],
                "dynamic_sites": dynamic,
            })
    return rows


def _kind(m: generated.Message) -> str:
    if m.cause is not None:
        return "cause"
    return "none" if m.placed == generated.NONE else "consequence"


def _hand_written(cat) -> set[str]:
    """The generated messages whose example a hand-written pattern recognises as the same
    text, not as a wrapper around it (the hand-written meaning and remedies apply)."""
    from .catalogue import PATTERNS
    out = set()
    for i, m in enumerate(cat.messages):
        ex = cat.example(m)
        gm = cat.regex(i).search(ex)
        if gm is None:
            continue
        for p in PATTERNS:
            hm = p.regex.search(ex)
            if hm is not None and generated.same_text(gm, hm):
                out.add(m.id)
                break
    return out


def report(out=sys.stdout, unplaced: bool = False, generic: bool = False) -> int:
    cat = generated.load()
    rows = coverage_rows(cat)
    w = out.write
    w("Error messages on the migration path, read from the released sources "
      "(tools/catalogue_build.py; path and causes: loganalyzer/rules/data/)\n\n")
    w(f"{'source':<8} {'version':<9} {'wordings':>8} {'recognised':>10} {'placed':>7} "
      f"{'cause':>6} {'conseq.':>7} {'none':>5} {'hand':>5} {'generic':>7} {'pass-through calls':>18}\n")
    for r in rows:
        w(f"{r['origin']:<8} {r['version']:<9} {r['messages']:>8} {r['recognised']:>10} {r['placed']:>7} "
          f"{r['cause']:>6} {r['consequence']:>7} {r['none']:>5} {r['hand_written']:>5} {r['generic']:>7} "
          f"{r['dynamic_sites']:>18}\n")
    total = len(cat.messages)
    not_placed = [m for m in cat.messages if m.placed is None]
    w(f"\nall versions: {total} wordings, {total - len(not_placed)} placed, {len(not_placed)} not placed, "
      f"{len(cat.generic)} too generic to recognise alone\n")
    w("recognised: a hand-written pattern or the generated index finds the message in text; "
      "placed: causes.tsv gives it a cause, a consequence or 'names no cause'; hand: a "
      "hand-written pattern (with its own meaning and remedies) covers it; generic: fewer than "
      f"{generated.MIN_LETTERS} letters of its own words; pass-through calls: reporting calls "
      "whose text comes from elsewhere (\"%s\", msg)\n")
    if unplaced:
        w(f"\nnot placed by causes.tsv ({len(not_placed)}):\n")
        for m in not_placed:
            w(f"  {m.code:<28} {m.files[0]:<40} {m.format}\n")
    if generic:
        w(f"\ntoo generic to recognise alone ({len(cat.generic)}):\n")
        for i in sorted(cat.generic):
            m = cat.messages[i]
            w(f"  {m.code:<28} {m.files[0]:<40} {cat.text_format(m)!r}\n")
    return 1 if not_placed else 0


def main(argv=None) -> int:
    import argparse
    import signal
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `| head` ends the output quietly
    ap = argparse.ArgumentParser(prog="python -m loganalyzer.rules.coverage",
                                 description="The error catalogue's coverage of libvirt's and QEMU's migration path.")
    ap.add_argument("--unplaced", action="store_true", help="also list the messages causes.tsv does not place")
    ap.add_argument("--generic", action="store_true", help="also list the messages too generic to recognise alone")
    args = ap.parse_args(argv)
    return report(unplaced=args.unplaced, generic=args.generic)


if __name__ == "__main__":
    sys.exit(main())
