"""Where the fast route spends its scan of a block (issues 13 and 17's figures).

    python benchmarks/scan_stages.py /tmp/loganalyzer-bench/big-1m.log.journal.json [--blocks 12] [--repeat 4]
    python benchmarks/scan_stages.py /tmp/loganalyzer-bench/big-1m.log.journal.export
    python benchmarks/scan_stages.py /tmp/loganalyzer-bench/big-1m.log

A file-form log: prefilter's scan of each block (prefilter.BLOCK bytes, whole records) with
the compiled header scan (_headscan) and with the RE2 and NumPy reading it stands in for.

Reads the first --blocks blocks of the input as `analyze` cuts them (wrapfilter.BLOCK bytes,
whole items), then prints, per block, the process time of the whole scan (wrapfilter's
_Scan, or _EntryScan for `-o export`) by the compiled field walk (fieldscan.py, when built) and
by the Arrow searches, the walk alone, and each of the Arrow route's searches alone: the
reading list (one search per pattern), the further-error search, each of the daemon's needles
(the first is found, the others matched) and the time probe; the minimum over --repeat runs.
One thread: `analyze` runs two such scans beside its main thread. Not a test.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np                      # noqa: E402
import pyarrow as pa                    # noqa: E402
import pyarrow.compute as pc            # noqa: E402

from loganalyzer import fieldscan, formats, wrapfilter   # noqa: E402
from loganalyzer.sources import open_binary   # noqa: E402


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def _file_form(args) -> int:
    from loganalyzer import prefilter
    from loganalyzer.recordcut import record_blocks
    with open_binary(args.path) as f:
        blocks = [bytes(b) for _, (b, _) in zip(range(args.blocks), record_blocks(f, prefilter.BLOCK))]
    nbytes = sum(len(b) for b in blocks)
    print(f"{args.path}: file form, {len(blocks)} blocks of {nbytes / len(blocks) / 1e6:.1f} MB, "
          f"min of {args.repeat} runs, ms a block (process time, one thread)")
    compiled = prefilter._headers
    if compiled is not None:
        whole = _best(lambda: [prefilter.BlockScan(b) for b in blocks], args.repeat) / len(blocks)
        print(f"  {'the whole scan, by the header scan (C)':44s} {whole * 1e3:6.2f}")
    else:
        print("  (loganalyzer._headscan is not built: RE2 and NumPy alone)")
    prefilter._headers = None
    whole = _best(lambda: [prefilter.BlockScan(b) for b in blocks], args.repeat) / len(blocks)
    prefilter._headers = compiled
    print(f"  {'the whole scan, by RE2 and NumPy':44s} {whole * 1e3:6.2f}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=4)
    args = ap.parse_args(argv)
    with open_binary(args.path) as f:
        head = f.read(1 << 16)
    fmt = formats.detect_bytes(head)
    if fmt == "file":
        return _file_form(args)
    if fmt not in ("journal-json", "journal-export"):
        print(f"{args.path}: {fmt}: not libvirt's file form, journalctl -o json or -o export")
        return 2
    reader = wrapfilter.FastWrappedReader(args.path, fmt, head)
    profile = reader.profile
    export = fmt == "journal-export"
    cut = wrapfilter._entry_cut if export else wrapfilter._line_cut
    with open_binary(args.path) as f:
        blocks = [bytes(b) for _, b in zip(range(args.blocks), wrapfilter._blocks(f, wrapfilter.BLOCK, cut))]
    scan = wrapfilter._EntryScan if export else wrapfilter._Scan
    nbytes = sum(len(b) for b in blocks)
    print(f"{args.path}: {fmt}, {len(blocks)} blocks of {nbytes / len(blocks) / 1e6:.1f} MB, "
          f"min of {args.repeat} runs, ms a block (process time, one thread)")
    fields = profile.fields
    if fields is not None:
        whole = _best(lambda: [scan(b, profile) for b in blocks], args.repeat) / len(blocks)
        print(f"  {'the whole scan, by the field walk':44s} {whole * 1e3:6.2f}")
        keys, times = fieldscan.KEYS, (fieldscan._SENT, fieldscan._RECEIVED)
        walk = _best(lambda: [fieldscan._scan(b, keys, fields.expect, export, *times, fieldscan._FUNC, fieldscan._CODE_LINE) for b in blocks],
                     args.repeat) / len(blocks)
        print(f"  {'  the walk alone (C)':44s} {walk * 1e3:6.2f}")
    else:
        print("  (loganalyzer._fieldscan is not built: the Arrow searches alone)")
    profile.fields = None
    whole = _best(lambda: [scan(b, profile) for b in blocks], args.repeat) / len(blocks)
    print(f"  {'the whole scan, by the Arrow searches':44s} {whole * 1e3:6.2f}")
    # each search alone, on the block's items (lines; entries for -o export)
    items = []
    for b in blocks:
        s = scan(b, profile)
        off = np.ascontiguousarray(np.append(s.starts, len(b)) if export else s.offsets, np.int64)
        items.append(pa.Array.from_buffers(pa.large_binary() if export else pa.large_string(), len(off) - 1,
                                           [None, pa.py_buffer(off), pa.py_buffer(b)]))
    searches = [("newline positions", None)]
    searches += [(f"reading list {i}: {p[:24]!r}", ("match", p)) for i, p in enumerate(profile.candidates)]
    searches.append((f"further error: {profile.further_error[:22]!r}", ("match", profile.further_error)))
    for i, nd in enumerate(profile.needles):
        searches.append((f"needle {i}: {nd[:24]!r}", ("find" if i == 0 and not export else "match", nd)))
    probe = getattr(profile, "time_probe", None)
    if probe:
        searches.append((f"time probe: {probe.decode()!r}", ("find", probe.decode())))
    for name, what in searches:
        kind = ""
        if what is None:
            t = _best(lambda: [wrapfilter._newlines(np.frombuffer(b, np.uint8)) for b in blocks], args.repeat)
        else:
            kind, pattern = what
            fn = pc.find_substring_regex if kind == "find" else pc.match_substring_regex
            t = _best(lambda: [fn(it, pattern) for it in items], args.repeat)
        print(f"  {kind:5s} {name:38s} {t / len(blocks) * 1e3:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
