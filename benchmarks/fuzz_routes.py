"""Differential fuzz: the fast routes against the reference route, on mutated real captures.

    python benchmarks/fuzz_routes.py FORM [--seed N] [--count K] [--workdir DIR]

FORM: json, export (journald, from samples/*/src-journal.json.xz), syslog, short (rsyslog and
journal text of samples/forms-concurrent-keepalive), file (the daemon logs of every sample:
the prefilter), events (the event table's Arrow route against its Records route).  Each case
applies one to five mutations a hostile or broken host could make (entries of other processes,
hosts and transports; fields given twice; text holding another field's needle; cut, joined,
duplicated or moved lines; control and invalid bytes; missing or unreadable fields), picks a
block size, and compares `analyze(fast=True)` with `analyze(fast=False)` on every correlator
result (tests/test_prefilter.py's comparison).  A case that differs is kept in --workdir and
printed with its mutations; exit 1 when any differed.  Not a test: it runs for minutes, and
what it finds becomes a test (tests/test_forms.py) once understood.
"""
from __future__ import annotations

import argparse
import json
import lzma
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
SAMPLES = ROOT / "samples"
DUAL = SAMPLES / "forms-concurrent-keepalive"


# ------------------------------------------------------------------ journald entries (dicts)
def _journal_mutation(ents, i, rng, pid, host):
    e = ents[i] if isinstance(ents[i], dict) else {}
    e = dict(e)
    m = rng.choice(["objpid", "stdout", "otherhost", "nosrc", "bytes", "null", "dup", "garbage", "msgneedle",
                    "syslogtr", "pidarray", "shuffle", "blank", "otherpid", "kernel", "drophost", "badtime",
                    "badprio", "badline", "unicode", "nomsg", "funcarr", "bigmsg"])
    t = e.get("__REALTIME_TIMESTAMP", "1")
    insert = {
        "objpid": {"__CURSOR": "x", "__REALTIME_TIMESTAMP": t, "_PID": "1", "OBJECT_PID": pid, "_TRANSPORT": "journal",
                   "_HOSTNAME": host, "SYSLOG_IDENTIFIER": "systemd", "MESSAGE": "libvirtd.service: Main process exited",
                   "CODE_FUNC": "unit_log_failure", "PRIORITY": "3"},
        "stdout": dict(e, _TRANSPORT="stdout", MESSAGE="2023-01-05 05:07:36.721+0000: 114785: error : "
                       "virNetClientIOEventLoop:1234 : internal error: connection closed due to keepalive timeout"),
        "otherhost": dict(e, _HOSTNAME="other"), "dup": e, "garbage": f"not json {rng.random()}", "blank": "",
        "msgneedle": dict(e, _PID="999", MESSAGE=f'x "_PID":"{pid}" _TRANSPORT=journal\n_PID={pid}'),
        "syslogtr": dict(e, _TRANSPORT="syslog"), "pidarray": dict(e, _PID=[pid, "5"]),
        "otherpid": dict(e, _PID=str(int(pid) + 1)),
        "kernel": {"__CURSOR": "k", "__REALTIME_TIMESTAMP": t, "_TRANSPORT": "kernel", "MESSAGE": "kvm: something",
                   "PRIORITY": "4", "_HOSTNAME": host},
    }
    if m in insert:
        ents.insert(i, insert[m])
        return m
    msg = e.get("MESSAGE")
    if m == "nosrc":
        e.pop("_SOURCE_REALTIME_TIMESTAMP", None)
    elif m == "bytes" and isinstance(msg, str):
        e["MESSAGE"] = list((msg + "\r\nerror : x").encode())
    elif m == "null":
        e["MESSAGE"] = None
    elif m == "shuffle":
        items = list(e.items())
        rng.shuffle(items)
        e = dict(items)
    elif m == "drophost":
        e.pop("_HOSTNAME", None)
    elif m == "badtime":
        e["_SOURCE_REALTIME_TIMESTAMP"] = rng.choice(["-1", "abc", "1" * 25, "", "17965884322903170"])
    elif m == "badprio":
        e["PRIORITY"] = rng.choice(["9", "x", "", "-1", "3 "])
    elif m == "badline":
        e["CODE_LINE"] = rng.choice(["x", "-5", "9" * 30, ""])
    elif m == "unicode" and isinstance(msg, str):
        e["MESSAGE"] = msg + ' \u00e9\u202e\U0001F600 "quoted" \\ back'
    elif m == "nomsg":
        e.pop("MESSAGE", None)
    elif m == "funcarr":
        e["CODE_FUNC"] = [e.get("CODE_FUNC", "x"), "virConnectOpenAuth"]
    elif m == "bigmsg" and isinstance(msg, str):
        e["MESSAGE"] = msg + " " + "y" * rng.choice([5000, 100000])
    ents[i] = e
    return m


def _export_value(name: str, v) -> bytes:
    if isinstance(v, list) and not (v and isinstance(v[0], int)):
        return b"".join(_export_value(name, x) for x in v)
    b = bytes(v) if isinstance(v, list) else ("x" * 5000 if v is None else str(v)).encode()
    if any(c < 32 and c != 9 or c == 127 for c in b):
        return name.encode() + b"\n" + len(b).to_bytes(8, "little") + b + b"\n"
    return name.encode() + b"=" + b + b"\n"


def _journal_case(form, rng, path):
    src = rng.choice(sorted(SAMPLES.glob("*/src-journal.json.xz")))
    ents = [json.loads(ln) for ln in lzma.open(src, "rt") if ln.strip()]
    daemon = next(e for e in ents if "LIBVIRT_SOURCE" in e)
    done = [_journal_mutation(ents, rng.randrange(len(ents)), rng, daemon["_PID"], daemon.get("_HOSTNAME"))
            for _ in range(rng.randint(1, 4))]
    if form == "json":
        data = "".join((e if isinstance(e, str) else json.dumps(e, separators=(",", ":"), ensure_ascii=False)) + "\n"
                       for e in ents).encode()
    else:
        head = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP")
        data = b"".join(e.encode() + b"\n\n" if isinstance(e, str) else
                        b"".join(_export_value(k, e[k]) for k in head if k in e)
                        + b"".join(_export_value(k, v) for k, v in e.items() if k not in head) + b"\n"
                        for e in ents)
    path.write_bytes(data)
    return done


# ------------------------------------------------------------------ lines (text forms)
def _wrapped_mutation(ls, i, rng):
    ln = ls[i]
    m = rng.choice(["host", "ident", "pid", "kernel", "garbage", "dup", "blank", "cut", "bytes", "back", "jump",
                    "escape", "indent", "swap"])
    head = rb"(libvirtd(\[\d+\])?: )"
    new = {"host": re.sub(rb"^(\S+ +\S+ +\S+ |\S+ )(\S+)", lambda x: x.group(1) + b"otherhost", ln, count=1),
           "ident": ln.replace(b" libvirtd", b" virtqemud", 1),
           "pid": re.sub(rb"libvirtd(\[\d+\])?:", b"libvirtd[999]:", ln, count=1),
           "kernel": re.sub(head + rb".*", b"kernel: kvm: internal error: connection closed", ln, count=1),
           "garbage": re.sub(head + rb".*", rb"\1 garbage here : : :", ln, count=1),
           "dup": ln, "blank": b"", "back": ls[max(0, i - 150)], "jump": ls[min(len(ls) - 1, i + 3000)],
           "escape": ln + b"#012error : virNetClientIOEventLoop:1 : internal error: connection closed",
           "indent": b"    internal error: an indented further line"}
    if m in new:
        ls.insert(i, new[m])
    elif m == "cut":
        ls[i] = ln[:rng.randrange(1, max(2, len(ln)))]
    elif m == "bytes":
        ls[i] = ln + b" \xff\xfe tail"
    elif m == "swap" and i + 1 < len(ls):
        ls[i], ls[i + 1] = ls[i + 1], ln
    return m


def _file_mutation(ls, i, rng, other):
    ln = ls[i]
    m = rng.choice(["cut", "garbage", "blank", "dup", "back", "cr", "crlf", "nul", "ff", "long", "join", "other",
                    "tid", "cont", "level", "dupblock", "drop"])
    p = rng.randrange(0, len(ln) + 1)
    if m == "cut":
        ls[i] = ln[:p]
    elif m == "garbage":
        ls.insert(i, b"garbage " + bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 80))))
    elif m in ("blank", "dup", "back", "other", "cont"):
        ls.insert(i + (m == "cont"), {"blank": b"", "dup": ln, "back": ls[max(0, i - rng.randrange(1, 500))],
                                      "other": rng.choice(other),
                                      "cont": b"  continuation text: error : internal error: nope"}[m])
    elif m in ("cr", "nul", "ff"):
        ls[i] = ln[:p] + {"cr": b"\r", "nul": b"\x00", "ff": b"\xff\xc3"}[m] + ln[p:]
    elif m == "crlf":
        ls[i] = ln + b"\r"
    elif m == "long":
        ls[i] = ln + b"x" * rng.choice([5000, 70000, 300000])
    elif m == "join" and i + 1 < len(ls):
        ls[i:i + 2] = [ln + ls[i + 1]]
    elif m == "tid":
        parts = ln.split(b": ", 2)
        if len(parts) == 3:
            ls[i] = parts[0] + b": " + str(rng.randrange(1, 99999)).encode() + b": " + parts[2]
    elif m == "level":
        ls[i] = ln.replace(b": debug : ", b": error : ", 1)
    elif m == "dupblock":
        j = rng.randrange(max(1, i - 300), i + 1)
        ls[i:i] = ls[j:i]
    elif m == "drop":
        del ls[i]
    return m


def _lines_case(form, rng, path):
    if form in ("syslog", "short"):
        names = (["src-syslog.log.xz", "src-syslog-precise.log.xz"] if form == "syslog" else
                 ["src-journal-short-precise.txt.xz", "src-stderr-journal-short-precise.txt.xz"])
        ls = lzma.open(DUAL / rng.choice(names)).read().split(b"\n")
        done = [_wrapped_mutation(ls, rng.randrange(200, len(ls)), rng) for _ in range(rng.randint(1, 4))]
    else:
        logs = sorted(SAMPLES.glob("*/src-libvirtd.log")) + sorted(SAMPLES.glob("*/dst-libvirtd.log"))
        ls = rng.choice(logs).read_bytes().split(b"\n")
        other = rng.choice(logs).read_bytes().split(b"\n")
        done = [_file_mutation(ls, rng.randrange(1, len(ls)), rng, other) for _ in range(rng.randint(1, 5))]
    path.write_bytes(b"\n".join(ls))
    return done


# ------------------------------------------------------------------ comparing
def _differs(form, path, rng):
    import loganalyzer.prefilter as prefilter
    import loganalyzer.wrapfilter as wrapfilter
    prefilter.BLOCK = rng.choice([4096, 65536, 2 << 20])
    wrapfilter.BLOCK = rng.choice([64 << 10, 8 << 20])
    if form == "events":
        import pandas as pd
        from loganalyzer import LogReader, events_frame
        from loganalyzer.frame import records_to_frame
        facts: list = []
        fast = events_frame(str(path), facts_out=facts)
        r = LogReader(str(path), with_fields=True)
        try:
            pd.testing.assert_frame_equal(fast.reset_index(drop=True), records_to_frame(list(r)),
                                          check_categorical=False)
        except AssertionError as e:
            return str(e).splitlines()[0]
        return None if facts == [r.facts] else "facts"
    from loganalyzer.sources import InputError
    from test_prefilter import _dict

    def analysis(fast):
        try:
            return _dict([str(path)], fast)
        except InputError as e:             # (refused: both routes must refuse it alike)
            return {"refused": str(e)}
    a, b = analysis(True), analysis(False)
    return None if a == b else "differ in " + ", ".join(k for k in a if a[k] != b.get(k))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("form", choices=["json", "export", "syslog", "short", "file", "events"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--workdir", default="/tmp/loganalyzer-fuzz")
    args = ap.parse_args(argv)
    from loganalyzer.sources import InputError
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    bad = 0
    suffix = {"json": ".json", "export": ".export", "syslog": ".log", "short": ".txt"}.get(args.form, ".log")
    for seed in range(args.seed, args.seed + args.count):
        rng = random.Random(seed)
        path = work / f"{args.form}-{seed}{suffix}"
        done = (_journal_case if args.form in ("json", "export") else _lines_case)(args.form, rng, path)
        try:
            why = _differs(args.form, path, rng)
        except InputError as e:             # (the event table refuses it: e.g. a NUL near the start)
            why = None
            print(f"{seed}: {done}: refused: {e}")
        if why:
            bad += 1
            print(f"{seed}: {done}: {why} ({path})", flush=True)
        else:
            path.unlink()
    print(f"{args.form}: {args.count} cases, {bad} with differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
