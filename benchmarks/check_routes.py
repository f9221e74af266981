"""Check that analyze's fast route gives the same answers as the reference route
whose records are built by the lark grammar alone, on one (big, generated) log.

    python benchmarks/check_routes.py /tmp/big-1m.log

Prints both times and 'same' or the first differences; exit 1 when they differ.
The grammar route parses every record with lark (about 80 us each), so a 1M-line
log takes a minute or two.
"""
from __future__ import annotations

import json
import sys
import time


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    if not argv:
        print(__doc__)
        return 2
    from loganalyzer.analysis import analyze
    from loganalyzer.report.jsonout import analysis_to_dict

    def run(**kw):
        t = time.perf_counter()
        d = analysis_to_dict(analyze(argv, **kw))
        for i in d["inputs"]:
            i.pop("warnings", None)
        return d, time.perf_counter() - t

    fast, t_fast = run()
    ref, t_ref = run(grammar=True)
    print(f"fast route {t_fast:.2f} s, grammar route {t_ref:.2f} s "
          f"({len(fast['migrations'])} migrations, {len(fast['keepalive_deaths'])} keepalive deaths)")
    if fast == ref:
        print("same answers")
        return 0
    for k in fast:
        if fast[k] != ref[k]:
            print(f"DIFFERENT {k}:\n  fast    {json.dumps(fast[k])[:400]}\n  grammar {json.dumps(ref[k])[:400]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
