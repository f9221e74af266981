"""Helpers for the correlator / verdict / CLI tests (issues 3 and 4).

* `analyzed(*rel)`: `loganalyzer.analysis.analyze` on sample files, cached for the whole
  session (each scenario is read once, whichever test file asks first);
* `quote(rel, n, expected)`: the real line n of a sample, asserted to contain `expected` -
  every line number a test relies on is checked against the log text itself;
* independent re-implementations of the pointer rules, by grep over the raw text, used to
  check the correlator's links (latest `..._NEW` before a line, no `..._DISPOSE` in between);
* makers of derived logs (RPC-filtered, truncated, concatenated) from real samples.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

HEADER = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: ")
HEADER_FULL = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}): (\d+): (\w+) : ([A-Za-z_0-9]+):\d+ : (.*)$")


def sample(rel: str) -> Path:
    return SAMPLES / rel


@lru_cache(maxsize=None)
def lines_of(path: str) -> tuple:
    return tuple(Path(path).read_text(errors="replace").splitlines())


def file_lines(rel_or_path) -> tuple:
    p = Path(rel_or_path)
    if not p.is_absolute():
        p = SAMPLES / rel_or_path
    return lines_of(str(p))


def quote(rel: str, lineno: int, expected: str) -> str:
    """Line `lineno` (1-based) of a sample, asserted to contain `expected`."""
    ln = file_lines(rel)[lineno - 1]
    assert expected in ln, f"{rel}:{lineno} does not contain {expected!r}: {ln!r}"
    return ln


@lru_cache(maxsize=None)
def _analyze_cached(paths: tuple):
    from loganalyzer.analysis import analyze
    return analyze(list(paths))


def analyzed(*rels):
    """analyze() on sample files (paths relative to samples/, or absolute), cached."""
    paths = tuple(str(p if Path(p).is_absolute() else SAMPLES / p) for p in rels)
    return _analyze_cached(paths)


def src(scenario: str):
    return analyzed(f"{scenario}/src-libvirtd.log")


def dst(scenario: str):
    return analyzed(f"{scenario}/dst-libvirtd.log")


def both(scenario: str):
    return analyzed(f"{scenario}/src-libvirtd.log", f"{scenario}/dst-libvirtd.log")


def same_file(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def on(objs, rel_or_path):
    """The objects whose .path is the given file."""
    p = Path(rel_or_path)
    if not p.is_absolute():
        p = SAMPLES / rel_or_path
    return [o for o in objs if same_file(o.path, p)]


def migrations_in(a, rel, role=None):
    return [m for m in on(a.migrations, rel) if role is None or m.role == role]


def deaths_in(a, rel):
    return on(a.keepalive_deaths, rel)


def connections_in(a, rel_or_path):
    p = Path(rel_or_path)
    if not p.is_absolute():
        p = SAMPLES / rel_or_path
    out = []
    for c in a.connections:
        places = [x for x in (c.created, c.disposed, c.closed) if x is not None]
        places += [e for e in c.evidence]
        if any(same_file(x.path, p) for x in places):
            out.append(c)
    return out


# ---------------------------------------------------------------- independent pointer rules
_NEW = re.compile(r"RPC_(?:SERVER_)?CLIENT_NEW: client=(0x[0-9a-f]+)\b")
_DISPOSE = re.compile(r"RPC_(?:SERVER_)?CLIENT_DISPOSE: client=(0x[0-9a-f]+)\b")


def lifetimes(rel_or_path, client: str) -> list[tuple]:
    """[(new_line, dispose_line|None)] of every object at address `client`, from the raw text."""
    out = []
    cur = None
    for i, ln in enumerate(file_lines(rel_or_path), 1):
        m = _NEW.search(ln)
        if m and m.group(1) == client:
            if cur is not None:
                out.append((cur, None))
            cur = i
            continue
        m = _DISPOSE.search(ln)
        if m and m.group(1) == client and cur is not None:
            out.append((cur, i))
            cur = None
    if cur is not None:
        out.append((cur, None))
    return out


def live_object_at(rel_or_path, client: str, line: int):
    """(new_line, dispose_line) of the object `client` means at `line`: its latest NEW before
    the line with no DISPOSE in between; None when no such object is alive there."""
    best = None
    for new, disp in lifetimes(rel_or_path, client):
        if new < line and (disp is None or disp >= line):
            best = (new, disp)
    return best


# ---------------------------------------------------------------- derived logs
RPC_FUNC = re.compile(r"^vir(Net|KeepAlive)")


def records(lines):
    """Group physical lines into records: a record starts at a timestamped line."""
    cur = []
    for ln in lines:
        if HEADER.match(ln) and cur:
            yield cur
            cur = []
        cur.append(ln)
    if cur:
        yield cur


def rpc_filtered_text(rel: str) -> tuple[str, int]:
    """The log as libvirt's kbase filter `3:rpc` would have written it: every record that
    carries an `RPC_*` probe, and every debug/info record of the rpc category (functions
    virNet*, virKeepAlive*), is dropped; warnings and errors of that category stay."""
    out, dropped = [], 0
    for rec in records(file_lines(rel)):
        m = HEADER_FULL.match(rec[0])
        drop = any("RPC_" in ln for ln in rec)
        if m and m.group(3) in ("debug", "info") and RPC_FUNC.match(m.group(4)):
            drop = True
        if drop:
            dropped += len(rec)
        else:
            out.extend(rec)
    return "\n".join(out) + "\n", dropped


def truncated_text(rel: str, first_line: int) -> str:
    """The log from line `first_line` on (a rotated or `tail`ed log)."""
    return "\n".join(file_lines(rel)[first_line - 1:]) + "\n"


def shift_times(lines, seconds: int):
    """Every record timestamp moved by `seconds` (same format)."""
    from datetime import datetime, timedelta
    out = []
    for ln in lines:
        if HEADER.match(ln):
            t = datetime.strptime(ln[:23], "%Y-%m-%d %H:%M:%S.%f") + timedelta(seconds=seconds)
            ln = t.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] + ln[23:]
        out.append(ln)
    return out


def iso_prefix(stamp: str) -> str:
    """'2026-11-25 20:29:53.724+0000' -> '2026-11-25T20:29:53.724'"""
    return stamp[:10] + "T" + stamp[11:23]

