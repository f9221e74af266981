#!/usr/bin/env python3
"""Generate big, realistic libvirtd debug logs by replaying the real sample logs.

The output is built only from the real libvirt 9.0 captures in ``samples/<scenario>/*-libvirtd.log``:

* The file starts with the daemon start-up block of a real sample (``libvirt version:`` /
  ``hostname:`` header + daemon init); the ``hostname:`` value is replaced per generated host.
* **Background traffic**: "client sessions" of the samples (the slices between two
  ``RPC_SERVER_CLIENT_NEW`` records: virsh list/create/destroy, QEMU start-up with its monitor
  chatter, object/event lines, keepalive pings, ...) that contain no migration and no
  keepalive death, replayed in random order.
* **Planted episodes**: the whole scenario (guest start, migration or client death, follow-up
  clients) of a sample's source daemon log, placed at known, evenly spread positions:
  ``p2p-ok``, ``p2p-keepalive-timeout``, ``domjobabort``, ``client-sigstop`` and ``dconn-refused``.

Every replayed block gets
* timestamps shifted so the whole file is monotonically increasing (relative timing inside a block is kept),
* fresh thread ids (the event-loop thread maps to the generated daemon's pid, every other thread
  gets a new id per block),
* pointer values remapped consistently inside the block.  Pointers created during the daemon
  start-up keep one value for the whole file; all other pointers are moved into one of a few
  "allocation slots", so later blocks reuse the same addresses the way glibc hands freed
  (``*_DISPOSE``d) objects out again,
* the domain name ``tiny`` (and its uuid, and the QEMU pid) rewritten to a distinct domain
  (``vm0001`` ...), consistently inside the block, including ``(VM: name=..``, ``name=``, ``vm=``,
  ``<name>`` and ``domain-1-tiny`` paths.

Records are never split, so multi-line records (URI splits, cookie XML, ``\\r``-terminated QMP
lines) stay intact.  Output is streamed (memory is bounded by the size of the samples), and the
same seed always produces a byte-identical file.  A sidecar ``<out>.manifest.json`` lists every
planted episode with its expected outcome, line numbers, domain, pointers and keepalive deaths.

Usage:
    python benchmarks/generate_log.py --lines 1000000 --seed 1 -o /tmp/big-1m.log
    python benchmarks/generate_log.py --files 8 --lines 200000 --seed 1 -o /tmp/bigdir/
    python benchmarks/generate_log.py --verify /tmp/big-1m.log     # re-check a file against its manifest
"""

from __future__ import annotations

import argparse
import calendar
import functools
import hashlib
import heapq
import json
import os
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = REPO / "samples"
MANIFEST_FORMAT = "loganalyzer-benchmark-manifest/1"
GENERATOR_VERSION = 1

# record start: "2026-11-25 20:29:53.724+0000: 13681: "
REC_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\+0000: (\d+): ")
PTR_RE = re.compile(r"\b0x([0-9a-f]{10,16})\b")
NAME_RE = re.compile(r"\btiny\b")
SAMPLE_DOMAIN = "tiny"
SAMPLE_UUID = "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001"
QPID_RE = re.compile(r"\bpid=(\d+)")
HOSTNAME_RE = re.compile(r"^(: \{t\d+\}: info : hostname: )(.*)$")
CLIENT_NEW = "RPC_SERVER_CLIENT_NEW:"
QUIT_MARK = "virNetDaemonQuit:"
# a background block must not contain any of these (no migrations, no keepalive deaths)
EPISODE_MARK_RE = re.compile(
    r"virDomainMigrate|remoteDispatchDomainMigrate|qemuMigrationSrcPerform|qemuMigrationDst"
    r"|countToDeath=0|virDomainAbortJob|remoteDispatchDomainAbortJob|connection closed due to keepalive"
)
CREATE_MARK = "qemuProcessStart"

# scenarios used by default (fixed list so the output for a seed does not change when new
# sample directories are added to the repo; pass --scenarios to use others)
DEFAULT_SCENARIOS = ["p2p-ok", "p2p-keepalive-timeout", "domjobabort", "client-sigstop", "dconn-refused"]
HEADER_SAMPLE = "p2p-keepalive-timeout/src-libvirtd.log"

# What the analyzer is expected to conclude for each planted episode kind.
EPISODE_KINDS = {
    "p2p-ok": {
        "sample": "p2p-ok/src-libvirtd.log",
        "migration": True,
        "expected": {
            "outcome": "success",
            "cause": None,
            "error": None,
            "description": "p2p live migration completed (Finish3 ret=0, Confirm3 cancelled=0); "
                           "dconn closed normally with reason=3 (client)",
        },
    },
    "p2p-keepalive-timeout": {
        "sample": "p2p-keepalive-timeout/src-libvirtd.log",
        "migration": True,
        "expected": {
            "outcome": "failed",
            "cause": "keepalive_timeout",
            "close_reason": 2,
            "error": "internal error: client socket is closed",
            "root_error": "internal error: connection closed due to keepalive timeout",
            "description": "destination daemon stopped answering; the source's keepalive on the dconn "
                           "reached countToDeath=0 idle=30, closed it with reason=2, "
                           "qemuMigrationSrcConnectionClosed -> 'Lost connection to destination host', "
                           "Finish3 on the dead dconn -> 'client socket is closed'; source guest resumed",
        },
    },
    "domjobabort": {
        "sample": "domjobabort/src-libvirtd.log",
        "migration": True,
        "expected": {
            "outcome": "failed",
            "cause": "aborted_by_client",
            "close_reason": 3,
            "error": "operation aborted: job 'migration out' canceled by client",
            "description": "virsh domjobabort (virDomainAbortJob -> migrate_cancel) cancelled the "
                           "migration; no keepalive timeout; dconn closed by the source (reason=3)",
        },
    },
    "client-sigstop": {
        "sample": "client-sigstop/src-libvirtd.log",
        "migration": False,
        "expected": {
            "outcome": None,
            "cause": "client_keepalive_timeout",
            "close_reason": None,
            "error": "internal error: connection closed due to keepalive timeout",
            "description": "not a migration: an incoming virsh client (virNetServerClient) was frozen; "
                           "the daemon's server-side keepalive reached countToDeath=0 idle=30 and "
                           "closed/disposed the client",
        },
    },
    "dconn-refused": {
        "sample": "dconn-refused/src-libvirtd.log",
        "migration": True,
        "expected": {
            "outcome": "failed",
            "cause": "dconn_connect_failed",
            "close_reason": None,
            "error": "unable to connect to server at '127.0.0.1:16599': Connection refused",
            "description": "opening the destination connection failed immediately; no RPC_CLIENT_NEW / "
                           "keepalive for a dconn",
        },
    },
    "not-converging": {
        "sample": "not-converging/src-libvirtd.log",
        "migration": True,
        "expected": {
            "outcome": "failed",
            "cause": "not_converging",
            "close_reason": 3,
            "error": "operation aborted: job 'migration out' canceled by client",
            "description": "the guest dirties its memory faster than the 2 MiB/s link sends it; "
                           "90 query-migrate replies show ram.remaining jump back at every pass; "
                           "virsh domjobabort cancels it after ~45 s",
        },
    },
}
# the kinds planted by default (a fixed list: the standard profile's output for a seed never
# changes when kinds are added)
DEFAULT_KINDS = ["p2p-ok", "p2p-keepalive-timeout", "domjobabort", "client-sigstop", "dconn-refused"]

# the busy profile (--profile busy): an evacuation day, client sessions running concurrently
BUSY_SCENARIOS = DEFAULT_SCENARIOS + ["not-converging"]
BUSY_DEATHS_PER_MILLION = 180
# sessions of other kinds per migration that dies of a dconn keepalive timeout
BUSY_MIX = {"p2p-ok": 1.0, "domjobabort": 0.2, "dconn-refused": 0.2, "not-converging": 0.2}
BUSY_WAVE = (4, 10)               # sessions started together
BUSY_STAGGER_MS = (50, 4000)      # between two session starts of a wave
BUSY_WAVE_GAP_MS = (120_000, 480_000)   # quiet minutes before a wave: dozens of migrations an hour
BUSY_SLOTS = 16                   # allocation slots (concurrent sessions need distinct ones)

PTR_SLOTS = 4            # allocation slots for per-block pointers (-> address reuse across blocks)
PTR_SLOT_STRIDE = 0x1000000
PID_MAX = 4194304


# --------------------------------------------------------------------------------------------
# sample compilation
# --------------------------------------------------------------------------------------------

def _esc(s: str) -> str:
    return s.replace("{", "{{").replace("}", "}}")


class Sample:
    """One real libvirtd log compiled into format templates.

    ``lines[i] = (ts_ms | None, fmt)``; ``fmt`` is the physical line without its timestamp
    (continuation lines: the whole line) with placeholders ``{t<tid>}``, ``{p<hex>}``, ``{N}``
    (domain name), ``{U}`` (domain uuid), ``{q<pid>}`` (QEMU pid) and ``{H}`` (hostname),
    and ends with ``\\n``.
    """

    def __init__(self, root: Path, rel: str, qemu_pids: set[str]):
        self.rel = rel
        path = root / rel
        raw = path.read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        text = raw.decode("utf-8", "surrogateescape")
        phys = text.split("\n")
        if phys and phys[-1] == "":
            phys.pop()
        self.lines: list[tuple[int | None, str]] = []
        self.rec_start: list[bool] = []
        self.tids_per_line: list[str | None] = []
        ptrs: dict[str, None] = {}
        self.main_tid = None
        quit_at = None

        def sub_body(body: str) -> str:
            body = _esc(body)
            if SAMPLE_UUID in body:
                body = body.replace(SAMPLE_UUID, "{U}")
            if "tiny" in body:
                body = NAME_RE.sub("{N}", body)
            if "0x" in body:
                def p(m):
                    ptrs[m.group(1)] = None
                    return "{p" + m.group(1) + "}"
                body = PTR_RE.sub(p, body)
            if "pid=" in body and qemu_pids:
                body = QPID_RE.sub(lambda m: ("pid={q%s}" % m.group(1)) if m.group(1) in qemu_pids
                                   else m.group(0), body)
            return body

        for line in phys:
            m = REC_RE.match(line)
            if m:
                y, mo, d, hh, mi, ss, ms, tid = m.groups()
                ts = calendar.timegm((int(y), int(mo), int(d), int(hh), int(mi), int(ss))) * 1000 + int(ms)
                if self.main_tid is None:
                    self.main_tid = tid
                rest = line[m.end():]
                if quit_at is None and QUIT_MARK in rest:
                    quit_at = len(self.lines)
                fmt = ": {t" + tid + "}: " + sub_body(rest) + "\n"
                hm = HOSTNAME_RE.match(fmt)
                if hm:
                    fmt = hm.group(1) + "{H}\n"
                self.lines.append((ts, fmt))
                self.rec_start.append(True)
                self.tids_per_line.append(tid)
            else:
                if not self.lines:
                    raise ValueError(f"{path}: first line is not a record")
                self.lines.append((None, sub_body(line) + "\n"))
                self.rec_start.append(False)
                self.tids_per_line.append(None)
        if quit_at is not None:          # drop the daemon shutdown at the end of the capture
            del self.lines[quit_at:], self.rec_start[quit_at:], self.tids_per_line[quit_at:]
        self.ptrs = list(ptrs)
        n = len(self.lines)
        starts = [i for i in range(n) if self.rec_start[i] and CLIENT_NEW in self.lines[i][1]]
        self.startup_end = starts[0] if starts else n
        bounds = starts + [n]
        self.segments = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
        # pointers first seen during daemon start-up are "global" (never slot-shifted)
        glob: set[str] = set()
        for _, fmt in self.lines[: self.startup_end]:
            for h in re.findall(r"\{p([0-9a-f]+)\}", fmt):
                glob.add(h)
        self.global_ptrs = glob
        hws = sorted({int(h, 16) >> 32 for h in self.ptrs})
        low = [h for h in hws if h < 0x7000]
        high = [h for h in hws if h >= 0x7000]
        self.heap_hw = low[0] if low else 0x5600
        self.top_hw = high[-1] if high else 0x7fff

    @functools.lru_cache(maxsize=None)
    def records(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """(first line, end line, time) of the records of lines [a, b)."""
        starts = [i for i in range(a, b) if self.rec_start[i]] + [b]
        return [(i, j, self.lines[i][0]) for i, j in zip(starts, starts[1:])]

    @functools.lru_cache(maxsize=None)
    def local_ptrs(self, a: int, b: int) -> list[str]:
        """The pointers of lines [a, b) that are not the daemon's start-up objects."""
        return [h for h in dict.fromkeys(re.findall(r"\{p([0-9a-f]+)\}", self.text_in(a, b)))
                if h not in self.global_ptrs]

    def tids_in(self, a: int, b: int) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.tids_per_line[a:b]:
            if t is not None and t not in seen:
                seen[t] = None
        return list(seen)

    def text_in(self, a: int, b: int) -> str:
        return "".join(f for _, f in self.lines[a:b])


def load_samples(root: Path, scenarios: list[str]) -> dict[str, Sample]:
    samples: dict[str, Sample] = {}
    for sc in scenarios:
        d = root / sc
        if not d.is_dir():
            raise SystemExit(f"generate_log: no sample directory {d}")
        qpids: set[str] = set()
        tl = d / "TIMELINE.txt"
        if tl.exists():
            qpids = set(re.findall(r"qemu pid (\d+)", tl.read_text(errors="replace")))
        for f in sorted(d.glob("*libvirtd.log")):
            rel = f"{sc}/{f.name}"
            samples[rel] = Sample(root, rel, qpids)
    return samples


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------

class Writer:
    def __init__(self, path: Path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.h = hashlib.sha256()
        self.lines = 0
        self.bytes = 0

    def write(self, parts: list[str], nlines: int):
        data = "".join(parts).encode("utf-8", "surrogateescape")
        self.f.write(data)
        self.h.update(data)
        self.lines += nlines
        self.bytes += len(data)

    def close(self):
        self.f.close()


class TsFmt:
    """epoch ms -> 'YYYY-mm-dd HH:MM:SS.mmm+0000' (cached per second)."""

    def __init__(self):
        self.sec = None
        self.prefix = ""

    def __call__(self, ms: int) -> str:
        sec, frac = divmod(ms, 1000)
        if sec != self.sec:
            self.sec = sec
            self.prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
        return f"{self.prefix}.{frac:03d}+0000"


class Host:
    """One generated daemon: its pid, hostname, address-space layout, id counters."""

    def __init__(self, rng: random.Random, hostname: str):
        self.rng = rng
        self.hostname = hostname
        self.pid = rng.randint(1200, 60000)
        self.next_tid = self.pid + rng.randint(3, 20)
        self.heap_hw = rng.randint(0x5580, 0x5650)
        self.heap_lo = rng.randrange(0, 0x10000000, 0x1000)
        self.top_hw = rng.randint(0x7ffa, 0x7fff)
        self.mmap_lo = rng.randrange(0, 0x10000000, 0x1000)
        self._ptrmaps: dict[tuple[str, int], dict[str, str]] = {}

    def new_tid(self) -> str:
        t = self.next_tid
        self.next_tid += self.rng.randint(1, 4)
        if self.next_tid >= PID_MAX:
            self.next_tid = 300 + self.rng.randint(0, 1000)
        return str(t)

    def ptrmap(self, s: Sample, slot: int) -> dict[str, str]:
        key = (s.rel, slot)
        m = self._ptrmaps.get(key)
        if m is None:
            m = {}
            heap_delta = ((self.heap_hw - s.heap_hw) << 32) + self.heap_lo
            top_delta = ((self.top_hw - s.top_hw) << 32) - self.mmap_lo
            for h in s.ptrs:
                p = int(h, 16)
                q = p + (heap_delta if (p >> 32) < 0x7000 else top_delta)
                if h not in s.global_ptrs:
                    q += slot * PTR_SLOT_STRIDE
                m["p" + h] = "0x%x" % q
            self._ptrmaps[key] = m
        return m


def host_names(rng: random.Random, n: int) -> list[str]:
    site = rng.choice(["fra", "ams", "par", "lon", "waw", "mad", "sto", "dub"])
    rack = rng.randint(1, 9)
    return [f"{site}{rack}-kvm{i + 1:02d}" for i in range(n)]


class Generator:
    def __init__(self, samples: dict[str, Sample], kinds: list[str], rng: random.Random, host: Host,
                 start_ms: int):
        self.samples = samples
        self.rng = rng
        self.host = host
        self.kinds = kinds
        self.tsf = TsFmt()
        self.clock = start_ms
        self.vm_counter = 0
        self.bg_names: list[tuple[str, str]] = []
        self.uuids: dict[str, str] = {}
        # background pool: (sample, a, b, has_name, is_create)
        self.pool = []
        for rel in sorted(samples):
            s = samples[rel]
            for a, b in s.segments:
                txt = s.text_in(a, b)
                if EPISODE_MARK_RE.search(txt):
                    continue
                self.pool.append((s, a, b, "{N}" in txt or "{U}" in txt, CREATE_MARK in txt))
        if not self.pool:
            raise SystemExit("generate_log: no background segments found in the samples")
        self.bg_blocks = 0
        self.bg_lines = 0

    # -- helpers --------------------------------------------------------------------------
    def new_domain(self) -> tuple[str, str]:
        self.vm_counter += 1
        name = f"vm{self.vm_counter:04d}"
        r = self.rng.getrandbits(128)
        u = "%08x-%04x-4%03x-%04x-%012x" % (r >> 96, (r >> 80) & 0xFFFF, (r >> 68) & 0xFFF,
                                            0x8000 | ((r >> 52) & 0x3FFF), r & 0xFFFFFFFFFFFF)
        return name, u

    def mapping(self, s: Sample, a: int, b: int, name: str, uuid: str, slot: int) -> dict[str, str]:
        m = dict(self.host.ptrmap(s, slot))
        for t in s.tids_in(a, b):
            m["t" + t] = str(self.host.pid) if t == s.main_tid else self.host.new_tid()
        for q in sorted(set(re.findall(r"\{q(\d+)\}", s.text_in(a, b)))):
            m["q" + q] = self.host.new_tid()
        m["N"] = name
        m["U"] = uuid
        m["H"] = self.host.hostname
        return m

    def render(self, s: Sample, a: int, b: int, m: dict[str, str], base_ms: int, t0: int,
               w: Writer, limit: int | None = None) -> int:
        """Write lines [a, b) of s; returns the number of lines written.  With ``limit`` only
        whole records that fit are written (multi-line records that do not fit are skipped)."""
        lines = s.lines
        tsf = self.tsf
        out = []
        last = base_ms
        n = 0
        if limit is None:
            for ts, fmt in lines[a:b]:
                if ts is None:
                    out.append(fmt.format_map(m))
                else:
                    last = base_ms + ts - t0
                    out.append(tsf(last) + fmt.format_map(m))
            n = b - a
        else:
            i = a
            while i < b and n < limit:
                j = i + 1
                while j < b and not s.rec_start[j]:
                    j += 1
                if n + (j - i) <= limit:
                    for ts, fmt in lines[i:j]:
                        if ts is None:
                            out.append(fmt.format_map(m))
                        else:
                            last = base_ms + ts - t0
                            out.append(tsf(last) + fmt.format_map(m))
                    n += j - i
                i = j
        w.write(out, n)
        self.clock = max(self.clock, last)
        return n

    def gap(self):
        self.clock += self.rng.randint(5, 1500)

    # -- blocks ---------------------------------------------------------------------------
    def startup(self, w: Writer, header_sample: Sample):
        s = header_sample
        a, b = 0, s.startup_end
        m = self.mapping(s, a, b, SAMPLE_DOMAIN, SAMPLE_UUID, 0)
        self.render(s, a, b, m, self.clock, s.lines[0][0], w)

    def background(self, w: Writer, limit: int | None = None) -> int:
        s, a, b, has_name, is_create = self.rng.choice(self.pool)
        name, uuid = SAMPLE_DOMAIN, SAMPLE_UUID
        if has_name:
            if is_create or not self.bg_names:
                name, uuid = self.new_domain()
                self.bg_names.append((name, uuid))
                if len(self.bg_names) > 32:
                    self.bg_names.pop(0)
            else:
                name, uuid = self.rng.choice(self.bg_names)
        slot = self.rng.randrange(PTR_SLOTS)
        m = self.mapping(s, a, b, name, uuid, slot)
        self.gap()
        n = self.render(s, a, b, m, self.clock, s.lines[a][0], w, limit)
        self.bg_blocks += 1
        self.bg_lines += n
        return n

    def episode(self, w: Writer, kind: str, ep_id: int) -> dict:
        spec = EPISODE_KINDS[kind]
        s = self.samples[spec["sample"]]
        a, b = s.startup_end, len(s.lines)
        name, uuid = self.new_domain()
        slot = self.rng.randrange(PTR_SLOTS)
        m = self.mapping(s, a, b, name, uuid, slot)
        self.gap()
        first_line = w.lines + 1
        start_ms = self.clock
        self.render(s, a, b, m, start_ms, s.lines[a][0], w)

        def L(i):  # sample line index -> output line number (1-based)
            return None if i is None else first_line + (i - a)

        return self.episode_entry(kind, ep_id, s, a, b, m, L, start_ms, self.clock, w.lines)

    def episode_entry(self, kind: str, ep_id: int, s: Sample, a: int, b: int, m: dict[str, str],
                      L, start_ms: int, end_ms: int, last_line: int) -> dict:
        """The manifest entry of an episode: lines [a, b) of s written with mapping m, from
        start_ms to end_ms; L(i) is the output line of sample line i."""
        spec = EPISODE_KINDS[kind]
        info = describe_episode(s, a, b, m)
        name, uuid = m["N"], m["U"]
        mig = None
        if info["migration"] is not None:
            mi = info["migration"]
            mig = {
                "first_line": L(mi["first_idx"]),
                "api_line": L(mi["api_idx"]),
                "worker_tid": int(m["t" + mi["tid"]]) if mi["tid"] else None,
                "vm": mi["vm"],
                "dconnuri": mi["dconnuri"],
                "dconn_conn": mi["dconn_conn"],
                "dconn_client": mi["dconn_client"],
                "dconn_ka": mi["dconn_ka"],
                "finish3_line": L(mi["finish3_idx"]),
                "confirm3_line": L(mi["confirm3_idx"]),
            }
        deaths = []
        for d in info["deaths"]:
            deaths.append({
                "line": L(d["idx"]),
                "client": d["client"],
                "ka": d["ka"],
                "tid": int(m["t" + d["tid"]]),
                "client_kind": d["client_kind"],
                "client_new_line": L(d["client_new_idx"]),
                "domain": name if d["client_kind"] == "dconn" else None,
                "time": self.tsf(start_ms + s.lines[d["idx"]][0] - s.lines[a][0]),
            })
        return {
            "id": ep_id,
            "kind": kind,
            "sample": f"samples/{s.rel}",
            "first_line": L(a),
            "last_line": last_line,
            "start_time": self.tsf(start_ms),
            "end_time": self.tsf(end_ms),
            "domain": {"name": name, "uuid": uuid},
            "expected": spec["expected"],
            "migration": mig,
            "keepalive_deaths": deaths,
        }

    # -- the busy profile: client sessions running at the same time ------------------------
    def wave(self, w: Writer, kinds: list[str], first_id: int) -> list[dict]:
        """Start one session of each kind a few seconds apart and write their records merged
        by time, as a daemon running them concurrently logs them.  Concurrent sessions get
        allocation slots whose addresses do not overlap (two live objects never share an
        address); later sessions reuse the slots (and so the addresses) of finished ones."""
        cursors = []
        live: set[str] = set()
        t = self.clock + self.rng.randint(*BUSY_WAVE_GAP_MS)
        for kind in kinds:
            s = self.samples[EPISODE_KINDS[kind]["sample"]]
            a, b = session_range(s, kind)
            name, uuid = self.new_domain()
            slots = list(range(BUSY_SLOTS))
            self.rng.shuffle(slots)
            for slot in slots:
                pm = self.host.ptrmap(s, slot)
                mine = {pm["p" + h] for h in s.local_ptrs(a, b)}
                if not mine & live:
                    break
            else:
                raise ValueError("generate_log: no free allocation slot for a concurrent session; "
                                 "use smaller waves")
            live |= mine
            cursors.append(Cursor(s, a, b, self.mapping(s, a, b, name, uuid, slot), t, kind))
            t += self.rng.randint(*BUSY_STAGGER_MS)
        merge_cursors(cursors, w, self.tsf)
        self.clock = max([self.clock] + [c.last_ms for c in cursors])
        out = []
        for i, c in enumerate(cursors):
            out.append(self.episode_entry(c.kind, first_id + i, c.s, c.a, c.b, c.m, c.line_of.get,
                                          c.base_ms, c.last_ms, c.last_line))
        return out


class Cursor:
    """One session of a wave: where its lines come from and where they went."""

    def __init__(self, s: Sample, a: int, b: int, m: dict[str, str], base_ms: int, kind: str):
        self.s, self.a, self.b, self.m, self.kind = s, a, b, m, kind
        self.base_ms = base_ms
        self.line_of: dict[int, int] = {}     # sample line index -> output line (record starts)
        self.last_line = 0
        self.last_ms = base_ms

    def records(self, k: int):
        """(time, k, first line, end line) of each record, in the sample's order."""
        shift = self.base_ms - self.s.lines[self.a][0]
        return ((ts + shift, k, i, j) for i, j, ts in self.s.records(self.a, self.b))


def merge_cursors(cursors: list[Cursor], w: Writer, tsf) -> None:
    """Write the records of all cursors in time order (ties: the session started first)."""
    out: list[str] = []
    n = start = w.lines
    for t, k, i, j in heapq.merge(*(c.records(k) for k, c in enumerate(cursors))):
        c = cursors[k]
        m, lines = c.m, c.s.lines
        out.append(tsf(t) + lines[i][1].format_map(m))
        for q in range(i + 1, j):
            out.append(lines[q][1].format_map(m))
        c.line_of[i] = n + 1
        n += j - i
        c.last_line = n
        c.last_ms = t
        if len(out) > 4096:
            w.write(out, n - start)
            out, start = [], n
    w.write(out, n - start)


def session_range(s: Sample, kind: str) -> tuple[int, int]:
    """The sample lines [a, b) of an episode's client session: from the RPC_SERVER_CLIENT_NEW of
    the client that asked for the migration (or of the client that dies, for a client death)
    up to the next client after that client's RPC_SERVER_CLIENT_DISPOSE.  Everything other
    clients did in between (a domjobabort's virsh) stays in."""
    key = s.rel, kind
    if key in _SESSIONS:
        return _SESSIONS[key]
    recs = [i for i in range(s.startup_end, len(s.lines)) if s.rec_start[i]]
    client = None
    for i in recs:
        f = s.lines[i][1]
        if "remoteDispatchDomainMigratePerform3ParamsHelper" in f or "countToDeath=0" in f:
            client = re.search(r"client=\{p([0-9a-f]+)\}", f).group(1)
            at = i
            break
    if client is None:
        raise ValueError(f"generate_log: no migration or client death in {s.rel}")
    new = "RPC_SERVER_CLIENT_NEW: client={p%s}" % client
    gone = "RPC_SERVER_CLIENT_DISPOSE: client={p%s}" % client
    a = max(i for i in recs if i <= at and new in s.lines[i][1])
    disposed = next((i for i in recs if i > at and gone in s.lines[i][1]), len(s.lines) - 1)
    b = next((i for i, _ in s.segments if i > disposed), len(s.lines))
    _SESSIONS[key] = a, b
    return a, b


_SESSIONS: dict[tuple[str, str], tuple[int, int]] = {}


def describe_episode(s: Sample, a: int, b: int, m: dict[str, str]) -> dict:
    """Find the key records of an episode in the sample templates; pointers returned mapped."""
    def P(key):
        return m.get("p" + key) if key else None

    recs = [(i, s.tids_per_line[i], s.lines[i][1]) for i in range(a, b) if s.rec_start[i]]
    res = {"migration": None, "deaths": []}
    api = next(((i, t, f) for i, t, f in recs if "virDomainMigratePerform3Params:" in f), None)
    if api is not None:
        ai, tid, _ = api
        first = next((i for i, t, f in recs if t == tid and i <= ai
                      and "remoteDispatchDomainMigratePerform3ParamsHelper" in f), ai)
        worker = [(i, f) for i, t, f in recs if t == tid and i >= ai]

        def find(pat, after=ai):
            for i, f in worker:
                if i >= after:
                    mm = re.search(pat, f)
                    if mm:
                        return i, mm
            return None, None

        _, mvm = find(r"qemuMigrationSrcPerformPeer2Peer:\d+ : .*?vm=\{p([0-9a-f]+)\}")
        _, muri = find(r"virConnectOpenAuth:\d+ : name=([^,]+),")
        ci, mcl = find(r"RPC_CLIENT_NEW: client=\{p([0-9a-f]+)\}")
        _, mconn = find(r"virConnectSetKeepAlive:\d+ : conn=\{p([0-9a-f]+)\}")
        ka = None
        if mcl:
            mk = re.search(r"RPC_KEEPALIVE_NEW: ka=\{p([0-9a-f]+)\} client=\{p%s\}" % mcl.group(1),
                           s.text_in(a, b))
            ka = mk.group(1) if mk else None
        fi, _ = find(r"qemuMigrationSrcPerformPeer2Peer3:\d+ : Finish3 ")
        co, _ = find(r"qemuMigrationSrcPerformPeer2Peer3:\d+ : Confirm3 ")
        res["migration"] = {
            "first_idx": first, "api_idx": ai, "tid": tid,
            "vm": P(mvm.group(1)) if mvm else None,
            "dconnuri": muri.group(1) if muri else None,
            "dconn_client": P(mcl.group(1)) if mcl else None,
            "dconn_conn": P(mconn.group(1)) if mconn else None,
            "dconn_ka": P(ka),
            "finish3_idx": fi, "confirm3_idx": co,
        }
        res["_dconn_client_key"] = mcl.group(1) if mcl else None
    for i, t, f in recs:
        if "countToDeath=0" in f:
            mm = re.search(r"ka=\{p([0-9a-f]+)\} client=\{p([0-9a-f]+)\}", f)
            ck = mm.group(2)
            new_idx, kind = None, None
            for j, _, g in recs:
                if j > i:
                    break
                if ("RPC_CLIENT_NEW: client={p%s}" % ck) in g:
                    new_idx, kind = j, "dconn" if ck == res.get("_dconn_client_key") else "client"
                elif ("RPC_SERVER_CLIENT_NEW: client={p%s}" % ck) in g:
                    new_idx, kind = j, "server_client"
            res["deaths"].append({"idx": i, "tid": t, "client": P(ck), "ka": P(mm.group(1)),
                                  "client_kind": kind, "client_new_idx": new_idx})
    return res


def default_rounds(lines: int) -> int:
    return max(1, round(lines / 250_000))


def busy_plan(rng: random.Random, lines: int, deaths_per_million: float) -> list[list[str]]:
    """The sessions of an evacuation day, in waves of concurrent ones: one keepalive death per
    ~1e6/deaths_per_million lines (half of them a migration's dconn, half a frozen client), and
    the other migrations of the day (BUSY_MIX per dconn death)."""
    deaths = max(1, round(deaths_per_million * lines / 1_000_000))
    dconn = (deaths + 1) // 2
    kinds = ["p2p-keepalive-timeout"] * dconn + ["client-sigstop"] * (deaths - dconn)
    for kind, per_death in BUSY_MIX.items():
        kinds += [kind] * max(1, round(per_death * dconn))
    rng.shuffle(kinds)
    waves = []
    while kinds:
        n = rng.randint(*BUSY_WAVE)
        waves.append(kinds[:n])
        kinds = kinds[n:]
    return waves


def generate_one(out: Path, lines: int, seed, samples: dict[str, Sample], kinds: list[str],
                 rounds: int, hostname: str | None, rng: random.Random,
                 write_manifest: bool = True, profile: str = "standard",
                 deaths_per_million: float = BUSY_DEATHS_PER_MILLION) -> dict:
    t_start = time.time()
    if hostname is None:
        hostname = host_names(random.Random(f"hosts:{seed}"), 1)[0]
    host = Host(rng, hostname)
    start_ms = (calendar.timegm((2026, 11, 20, 0, 0, 0)) + rng.randint(0, 3 * 86400)) * 1000
    gen = Generator(samples, kinds, rng, host, start_ms)
    header = samples.get(HEADER_SAMPLE) or samples[sorted(samples)[0]]
    if profile == "busy":
        # waves of concurrent client sessions, evenly spread over the file
        plan = busy_plan(rng, lines, deaths_per_million)

        def size(unit):
            return sum(b - a for a, b in (session_range(samples[EPISODE_KINDS[k]["sample"]], k)
                                          for k in unit))
    else:
        # `rounds` rounds of every kind (each round in a shuffled order), evenly spread over
        # the file, one episode after another
        plan = []
        for _ in range(rounds):
            order = list(kinds)
            rng.shuffle(order)
            plan.extend([k] for k in order)

        def size(unit):
            s = samples[EPISODE_KINDS[unit[0]]["sample"]]
            return len(s.lines) - s.startup_end
    sizes = [size(u) for u in plan]
    ep_total = sum(sizes)
    if ep_total + header.startup_end > lines:
        raise ValueError(f"generate_log: --lines {lines} is too small for {sum(map(len, plan))} "
                         f"episodes ({ep_total} lines); use more lines, fewer --kinds or --rounds 0")
    targets = [int((i + 0.5) * lines / len(plan)) for i in range(len(plan))] if plan else []
    w = Writer(out)
    gen.startup(w, header)
    episodes = []
    for i, unit in enumerate(plan):
        # reserve room for the episodes still to come
        remaining = sum(sizes[i:])
        target = min(targets[i], lines - remaining)
        while w.lines < target:
            room = lines - remaining - w.lines
            gen.background(w, limit=room if room < 4000 else None)
        if profile == "busy":
            episodes.extend(gen.wave(w, unit, len(episodes) + 1))
        else:
            episodes.append(gen.episode(w, unit[0], i + 1))
    while w.lines < lines:
        gen.background(w, limit=lines - w.lines)
    w.close()
    elapsed = time.time() - t_start
    deaths = [dict(d, episode=e["id"], kind=e["kind"]) for e in episodes for d in e["keepalive_deaths"]]
    manifest = {
        "format": MANIFEST_FORMAT,
        "generator": {"script": "benchmarks/generate_log.py", "version": GENERATOR_VERSION},
        "seed": seed,
        "log": str(out),
        "lines": w.lines,
        "bytes": w.bytes,
        "sha256": w.h.hexdigest(),
        "host": {"hostname": host.hostname, "daemon_pid": host.pid, "libvirt_version": "9.0.0"},
        "start_time": gen.tsf(start_ms),
        "end_time": gen.tsf(gen.clock),
        "samples": {f"samples/{r}": samples[r].sha256 for r in sorted(samples)},
        "background": {"blocks": gen.bg_blocks, "lines": gen.bg_lines,
                       "pool_segments": len(gen.pool)},
        "profile": profile,
        "episode_count": len(episodes),
        "episodes": episodes,
        "keepalive_death_count": len(deaths),
        "keepalive_deaths": deaths,
    }
    if profile == "busy":
        hours = (gen.clock - start_ms) / 3.6e6
        migrations = sum(1 for e in episodes if e["migration"] is not None)
        manifest["busy"] = {"waves": len(plan), "largest_wave": max(map(len, plan)),
                            "migrations": migrations, "hours": round(hours, 2),
                            "migrations_per_hour": round(migrations / hours, 1) if hours else None,
                            "deaths_per_million_lines": round(len(deaths) * 1e6 / w.lines, 1)}
    mpath = Path(str(out) + ".manifest.json")
    if write_manifest:
        mpath.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"generate_log: wrote {out}: {w.lines} lines, {w.bytes / 1e6:.1f} MB, "
          f"{len(episodes)} episodes, {len(deaths)} keepalive deaths in {elapsed:.1f} s "
          f"({w.lines / max(elapsed, 1e-9):,.0f} lines/s)"
          + (f"; manifest {mpath}" if write_manifest else ""), file=sys.stderr)
    return manifest


def _gen_file_job(args):
    out, lines, seed, idx, scenarios, kinds, rounds, hostname, samples_root, profile, dpm = args
    samples = load_samples(Path(samples_root), scenarios)
    rng = random.Random(f"{seed}:file{idx}" if profile == "standard" else f"{seed}:{profile}:file{idx}")
    m = generate_one(Path(out), lines, seed, samples, kinds, rounds, hostname, rng,
                     write_manifest=False, profile=profile, deaths_per_million=dpm)
    m["file_index"] = idx
    return m


# --------------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------------

def load_manifest(log: Path) -> dict:
    """The manifest of a generated file: <log>.manifest.json, or its entry in <dir>.manifest.json."""
    mpath = Path(str(log) + ".manifest.json")
    if mpath.exists():
        return json.loads(mpath.read_text())
    dpath = Path(str(log.resolve().parent) + ".manifest.json")
    if dpath.exists():
        for m in json.loads(dpath.read_text()).get("manifests", []):
            if Path(m["log"]).resolve() == log.resolve():
                return m
    raise SystemExit(f"no manifest for {log} ({mpath} or {dpath})")


BACKSTEP_MS = 10


def _ms(stamp: str) -> int:
    y, mo, d, hh, mi, ss, ms = (int(x) for x in re.findall(r"\d+", stamp)[:7])
    return (calendar.timegm((y, mo, d, hh, mi, ss)) * 1000) + ms


def verify(log: Path) -> int:
    """Stream a generated file and check it against its manifest."""
    man = load_manifest(log)
    deaths = {d["line"]: d for d in man["keepalive_deaths"]}
    eps_first = {e["first_line"]: e for e in man["episodes"]}
    errors = []
    h = hashlib.sha256()
    n = 0
    prev_ts = ""
    found_deaths = 0
    ctd0 = 0
    new_re = re.compile(r"RPC_(?:SERVER_)?CLIENT_NEW: client=(0x[0-9a-f]+)")
    disp_re = re.compile(r"RPC_(?:SERVER_)?CLIENT_DISPOSE: client=(0x[0-9a-f]+)")
    last_new: dict[str, int] = {}       # client pointer -> line of its latest *_NEW
    n_new: dict[str, int] = {}          # client pointer -> how many *_NEW (address reuse)
    disposed: set[str] = set()          # disposed since the latest *_NEW
    reused = 0
    backsteps = 0
    with open(log, "rb") as f:
        for raw in f:
            h.update(raw)
            n += 1
            line = raw.decode("utf-8", "surrogateescape")
            m = REC_RE.match(line)
            if m:
                ts = line[:23]
                if ts < prev_ts:
                    # threads of a real daemon take their stamps before they write: a record
                    # may be a few ms older than the one before it (one sample has such a step)
                    if _ms(prev_ts) - _ms(ts) > BACKSTEP_MS:
                        errors.append(f"line {n}: timestamp goes backwards ({prev_ts} -> {ts})")
                    backsteps += 1
                prev_ts = ts
            elif n == 1:
                errors.append("line 1 is not a record")
            if "CLIENT_NEW: " in line:
                mm = new_re.search(line)
                if mm:
                    c = mm.group(1)
                    last_new[c] = n
                    n_new[c] = n_new.get(c, 0) + 1
                    disposed.discard(c)
            elif "CLIENT_DISPOSE: " in line:
                mm = disp_re.search(line)
                if mm:
                    disposed.add(mm.group(1))
            if "countToDeath=0" in line:
                ctd0 += 1
                d = deaths.get(n)
                if d is None:
                    errors.append(f"line {n}: unplanned countToDeath=0")
                elif f"client={d['client']} " not in line:
                    errors.append(f"line {n}: client {d['client']} not on the death line")
                else:
                    found_deaths += 1
                    c = d["client"]
                    if last_new.get(c) != d.get("client_new_line"):
                        errors.append(f"line {n}: latest *_NEW of {c} is line {last_new.get(c)}, "
                                      f"manifest says {d.get('client_new_line')}")
                    if c in disposed:
                        errors.append(f"line {n}: {c} was disposed before its keepalive death")
                    if n_new.get(c, 0) > 1:
                        reused += 1
            if n in eps_first and not m:
                errors.append(f"line {n}: episode {eps_first[n]['id']} does not start at a record")
            if len(errors) > 20:
                break
    if n != man["lines"]:
        errors.append(f"line count {n} != manifest {man['lines']}")
    if h.hexdigest() != man["sha256"]:
        errors.append("sha256 differs from the manifest")
    if found_deaths != len(deaths):
        errors.append(f"found {found_deaths} of {len(deaths)} planted keepalive deaths")
    for e in errors:
        print("verify: " + e, file=sys.stderr)
    print(f"verify: {log}: {n} lines, {ctd0} countToDeath=0 lines, {len(deaths)} planted "
          f"({reused} on a reused client address), {backsteps} stamps a few ms older than the "
          f"record before, {'OK' if not errors else 'FAILED'}", file=sys.stderr)
    return 1 if errors else 0


# --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per file (exact)")
    ap.add_argument("--seed", default="1", help="random seed (same seed -> byte-identical output)")
    ap.add_argument("-o", "--output", help="output file, or directory with --files")
    ap.add_argument("--files", type=int, default=0,
                    help="write N files (each a different host) into the directory given by -o")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of planted episodes (one episode of every kind per round); "
                         "default: lines/250000, at least 1")
    ap.add_argument("--kinds", default=",".join(DEFAULT_KINDS),
                    help="episode kinds to plant (comma list; default: %(default)s)")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help="sample scenarios to replay (default: %(default)s)")
    ap.add_argument("--samples", default=str(DEFAULT_SAMPLES), help="samples directory")
    ap.add_argument("--hostname", default=None, help="hostname for the single-file mode")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="parallel processes for --files (does not change the output)")
    ap.add_argument("--profile", choices=("standard", "busy"), default="standard",
                    help="standard: episodes one after another (the default); busy: an evacuation "
                         "day, waves of concurrent migrations and a keepalive death every few "
                         "thousand lines (--kinds and --rounds do not apply)")
    ap.add_argument("--deaths-per-million", type=float, default=BUSY_DEATHS_PER_MILLION,
                    help="busy profile: keepalive deaths per million lines (default %(default)s)")
    ap.add_argument("--verify", metavar="LOG", help="verify LOG against LOG.manifest.json and exit")
    args = ap.parse_args(argv)
    try:
        return _main(ap, args)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2


def _main(ap, args) -> int:
    if args.verify:
        return verify(Path(args.verify))
    if not args.output:
        ap.error("-o/--output is required")
    seed = int(args.seed) if re.fullmatch(r"-?\d+", args.seed) else args.seed
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in EPISODE_KINDS:
            ap.error(f"unknown episode kind {k!r} (known: {', '.join(EPISODE_KINDS)})")
    scenarios = [s for s in args.scenarios.split(",") if s]
    if args.profile == "busy":
        kinds = list(EPISODE_KINDS)
        scenarios += [s for s in BUSY_SCENARIOS if s not in scenarios]
    for k in kinds:
        sc = EPISODE_KINDS[k]["sample"].split("/")[0]
        if sc not in scenarios:
            scenarios.append(sc)
    rounds = args.rounds if args.rounds is not None else default_rounds(args.lines)

    if args.files:
        outdir = Path(args.output)
        outdir.mkdir(parents=True, exist_ok=True)
        names = host_names(random.Random(f"hosts:{seed}"), args.files)
        jobs = [(str(outdir / f"libvirtd-{names[i]}.log"), args.lines, seed, i, scenarios, kinds,
                 rounds, names[i], args.samples, args.profile, args.deaths_per_million)
                for i in range(args.files)]
        t0 = time.time()
        if args.jobs > 1 and args.files > 1:
            import multiprocessing as mp
            with mp.Pool(min(args.jobs, args.files)) as pool:
                mans = pool.map(_gen_file_job, jobs)
        else:
            mans = [_gen_file_job(j) for j in jobs]
        # one manifest for the whole directory, written *outside* it (<dir>.manifest.json) so a
        # directory scan does not pick it up; it embeds the full manifest of every file
        dman = {
            "format": MANIFEST_FORMAT,
            "seed": seed,
            "directory": str(outdir),
            "files": [{"log": m["log"], "hostname": m["host"]["hostname"], "lines": m["lines"],
                       "bytes": m["bytes"], "sha256": m["sha256"],
                       "episode_count": m["episode_count"],
                       "keepalive_death_count": m["keepalive_death_count"]} for m in mans],
            "manifests": mans,
            "lines": sum(m["lines"] for m in mans),
            "bytes": sum(m["bytes"] for m in mans),
            "keepalive_death_count": sum(m["keepalive_death_count"] for m in mans),
        }
        dpath = Path(str(outdir).rstrip("/") + ".manifest.json")
        dpath.write_text(json.dumps(dman, indent=1) + "\n")
        print(f"generate_log: {args.files} files, {dman['lines']} lines, {dman['bytes'] / 1e6:.1f} MB "
              f"in {time.time() - t0:.1f} s; directory manifest {dpath}", file=sys.stderr)
        return 0

    samples = load_samples(Path(args.samples), scenarios)
    rng = random.Random(f"{seed}:single" if args.profile == "standard" else f"{seed}:{args.profile}")
    generate_one(Path(args.output), args.lines, seed, samples, kinds, rounds, args.hostname, rng,
                 profile=args.profile, deaths_per_million=args.deaths_per_million)
    return 0


if __name__ == "__main__":
    sys.exit(main())
