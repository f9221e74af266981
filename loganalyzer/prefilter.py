"""The fast route for analysis: find the records the correlator reads without
building the others.

A file-format log is read in large byte blocks cut at record boundaries.  For
each block, NumPy finds the line offsets, Arrow (RE2, GIL released) marks the
lines that start a record and the lines the correlator is interested in (the
same pattern as correlate/interest.py), and NumPy turns the record-start time
stamps into seconds for the silence detector.  Only the interesting records
(a few per cent of a debug log) are decoded and parsed in Python, by the same
fastpath.parse_record as everywhere else.  While Python parses one block, a
reader thread reads the next ones and two worker threads scan them (scan_ahead).

tests/test_prefilter.py proves the route gives the same analysis as feeding
every record, on every sample.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import compiled
from .correlate.build import GAP_SECONDS
from .correlate.interest import INTEREST_PATTERN, SIEVE
from .fastpath import parse_record
from .header import HEAD, RECORD_START_PATTERN
from .reader import FileFacts, daemon_from_name, daemon_from_worker
from .records import LEVELS, Foreign, Record
from .recordcut import record_blocks
from .sources import STREAM_ERRORS, InputError, check_head, looks_binary, note_end, open_binary, shown
from .values import EPOCH_MAX, EPOCH_MIN, byte_rows, header_values, stamp_numbers, stamp_times, to_int

_headers = compiled.headers     # (None: RE2 and NumPy alone)
_heads = compiled.heads
_records = compiled.build_records
_SIEVE = SIEVE or ()        # (none: RE2 reads every line)

# bytes per block: 2 MB costs no more CPU than 8 MB (measured on 1M lines) and keeps the
# blocks in flight, their line offsets and masks small (peak RSS of analyze on a 5 GB log:
# 311 MB with 8 MB blocks, 226 MB with 2 MB)
BLOCK = 2 << 20
# blocks scanned at once ahead of the parser: two scanners keep both cores busy while Python
# parses and correlates
SCAN_THREADS = 2
# the GIL's switch interval while blocks are scanned ahead (scan_ahead), in seconds: a scan
# thread coming back from the scan or RE2 waits up to this long for the correlator's thread
# (0.5 ms -> 0.1 ms: the 5M-line log 2.85 -> 2.77 s, busy 1M 1.38 -> 1.22 s, medians of 4)
SWITCH_INTERVAL = 0.0001


_ASCII_DIGIT0 = 48
# the characters of a record start read for its time stamp and thread id: the dated stamp
# (30) and 19 digits of a thread id after it
STAMP_READ = 49
_RECORD_START_LINE = "^" + RECORD_START_PATTERN


def iter_blocks(stream, blocksize: int | None = None):
    """Byte blocks that each begin at a record start (except perhaps the first), every
    record cut to recordcut.CAP bytes (record_blocks, which FastHostReader reads)."""
    for block, _ in record_blocks(stream, blocksize or BLOCK):
        yield block


def true_positions(mask) -> np.ndarray:
    """Positions of the true values of a boolean Arrow array, as int64 NumPy
    (read from the buffer: Array.to_numpy would import pandas)."""
    idx = pc.indices_nonzero(mask)
    if len(idx) == 0:
        return np.empty(0, np.int64)
    buf = idx.buffers()[1]
    return np.frombuffer(buf, np.uint64, count=len(idx), offset=idx.offset * 8).astype(np.int64)


def mask_positions(mask) -> np.ndarray:
    """true_positions of a boolean Arrow array without nulls, read with NumPy alone (in a scan
    thread, an Arrow call would hand the GIL away and wait to take it back)."""
    if mask.null_count:
        return true_positions(mask)
    n = len(mask)
    bits = np.unpackbits(np.frombuffer(mask.buffers()[1], np.uint8), count=mask.offset + n, bitorder="little")
    return np.flatnonzero(bits[mask.offset:]).astype(np.int64)


def valid_utf8(b: np.ndarray, lines: pa.Array) -> bool:
    """Are the block's bytes (b; lines, a string array of them) valid UTF-8?  Plain ASCII, as a
    debug log nearly always is, is told by its largest byte: a third of the time of Arrow's
    validation, which reads the others."""
    if not len(b) or b.max() < 128:
        return True
    try:
        lines.validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


class BlockScan:
    """What one block holds: line offsets, record starts, interesting records, times; and the
    records the correlator reads (`candidates`)."""

    __slots__ = ("buf", "offsets", "nlines", "starts", "interest", "interest_heads", "times", "has_date",
                 "valid_utf8", "bad", "cut", "candidates")

    def __init__(self, buf: bytes, cut=None):
        self.buf = buf
        self.cut = cut                  # recordcut.Cut of the block's last record, or None
        self.interest_heads = None      # (the compiled sieve's: their headers, as _headscan.heads reads them)
        if _headers is not None:
            ascii = self._compiled(buf)
        else:
            self._numpy(buf)
            ascii = False
        self.candidates = Candidates(self, ascii)

    def _numpy(self, buf: bytes):
        b = np.frombuffer(buf, np.uint8)
        nl = np.flatnonzero(b == 10)
        ends_nl = buf.endswith(b"\n")
        n = len(nl) + (0 if ends_nl or not buf else 1)
        off = np.empty(n + 1, np.int64)
        off[0] = 0
        k = min(len(nl), n)
        off[1:k + 1] = nl[:k] + 1
        if not ends_nl and buf:
            off[n] = len(buf)
        self.offsets = off
        self.nlines = n
        lines = pa.LargeStringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(buf))
        self.valid_utf8 = valid_utf8(b, lines)
        self.starts = true_positions(pc.match_substring_regex(lines, _RECORD_START_LINE))
        self.interest = true_positions(pc.match_substring_regex(lines, INTEREST_PATTERN))
        # time stamps of the record starts that carry a date (seconds + ms as float), read
        # from the first STAMP_READ characters of each start, taken in one gather (a read
        # past the block's end reads its last byte)
        o = off[self.starts]
        if len(o):
            top = len(b) - 1
            padded = np.concatenate((b, np.full(STAMP_READ, b[top], np.uint8)))
            chars = byte_rows(padded, o, STAMP_READ)

            def col(k):
                return chars[:, k].astype(np.int32) - _ASCII_DIGIT0

            has_date = chars[:, 4] == ord("-")
            self.times, real = stamp_times(*stamp_numbers(chars))
            # a stamp that is not a real date and time (month 13, year 0000) counts as none
            self.has_date = has_date & real
            bad = has_date & ~real
            # a thread id too large for 64 bits: 19 digits or more at the tid's place
            # (after the dated stamp or the clock), checked exactly in Python
            at = np.where(has_date, 30, 14)

            def tid_col(k):
                return np.where(has_date, col(30 + k), col(14 + k))

            digit = (tid_col(0) >= 0) & (tid_col(0) <= 9) & (tid_col(9) >= 0) & (tid_col(9) <= 9) \
                & (tid_col(18) >= 0) & (tid_col(18) <= 9)
            for i in np.flatnonzero(digit & ~bad).tolist():
                bad[i] = _tid_overflows(buf, int(o[i] + at[i]))
            self.bad = np.flatnonzero(bad)
        else:
            self.times = np.empty(0)
            self.has_date = np.empty(0, bool)
            self.bad = np.empty(0, np.int64)

    def _compiled(self, buf: bytes):
        """The same, with the line starts, record starts and stamps found by _headscan in one
        pass (the RE2 match and the NumPy reading above took ~10 ms a 2 MB block), and RE2
        matching only the lines the sieve lets through (interest.SIEVE), copied out by the same
        pass with their headers read.  Two calls release the GIL, the scan and RE2: each time a
        scan thread takes it back, it waits for the correlator's thread to let it go."""
        offsets, starts, times, dated, bad, long_tid, ascii, sifted = _headers(buf, EPOCH_MIN, EPOCH_MAX,
                                                                               *_SIEVE)
        off = self.offsets = np.frombuffer(offsets, np.int64)
        n = self.nlines = len(off) - 1
        # (every line as Arrow strings: only to validate UTF-8, or for RE2 without a sieve)
        lines = (pa.LargeStringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(buf))
                 if not ascii or sifted is None else None)
        self.valid_utf8 = ascii or valid_utf8(np.frombuffer(buf, np.uint8), lines)
        self.starts = np.frombuffer(starts, np.int64)
        if sifted is None:
            self.interest = true_positions(pc.match_substring_regex(lines, INTEREST_PATTERN))
        else:
            maybe, heads, moff, mdata = sifted
            maybe = np.frombuffer(maybe, np.int64)
            if len(maybe):
                sub = pa.LargeStringArray.from_buffers(len(maybe), pa.py_buffer(moff), pa.py_buffer(mdata))
                at = mask_positions(pc.match_substring_regex(sub, INTEREST_PATTERN))
            else:
                at = maybe
            self.interest = maybe[at]
            self.interest_heads = np.frombuffer(heads, np.int64).reshape(-1, 6)[at]
        self.times = np.frombuffer(times, np.float64)
        self.has_date = np.frombuffer(dated, np.bool_)
        bad = np.frombuffer(bad, np.bool_).copy()
        # a thread id of 19 digits or more: too large for 64 bits? (as above)
        o = off[self.starts]
        for i in np.flatnonzero(np.frombuffer(long_tid, np.bool_) & ~bad).tolist():
            bad[i] = _tid_overflows(buf, int(o[i]) + (30 if self.has_date[i] else 14))
        self.bad = np.flatnonzero(bad)
        return ascii


class Candidates:
    """The records of a block the correlator reads (interesting lines that start a record) and
    the error text glued to records (interesting lines that do not), found in the scan's
    thread.  In an ASCII block the compiled scan also reads their headers (the sieve's pass;
    without a sieve, _headscan.heads), from which the correlator's thread builds their Records
    in C (_tablescan.records, which leaves what is not plain to parse_record); `slow` marks
    the records with a stamp that is no date, which it cannot tell."""

    __slots__ = ("glued", "lines", "at", "ends", "stamps", "heads", "slow")

    def __init__(self, scan: BlockScan, ascii: bool):
        starts, interest, off = scan.starts, scan.interest, scan.offsets
        nstarts = len(starts)
        if nstarts:
            at = np.minimum(np.searchsorted(starts, interest), nstarts - 1)
            is_start = starts[at] == interest
        else:
            is_start = np.zeros(len(interest), bool)
        first = int(starts[0]) if nstarts else scan.nlines
        self.glued = interest[~is_start & (interest >= first)]
        lines = self.lines = interest[is_start]
        # where each record is and its stamp's time
        nxt_start = np.searchsorted(starts, lines, side="right")
        self.at = off[lines]
        self.ends = np.append(off[starts], len(scan.buf))[nxt_start]
        k = nxt_start - 1
        self.stamps = np.where(scan.has_date[k], scan.times[k], np.nan)
        self.heads = self.slow = None
        if ascii and _heads is not None and _records is not None and len(lines):
            if scan.interest_heads is not None:
                self.heads = scan.interest_heads[is_start]
            else:
                self.heads = np.frombuffer(_heads(scan.buf, self.at, self.ends), np.int64).reshape(-1, 6)
            bad = np.zeros(nstarts, bool)
            bad[scan.bad] = True
            self.slow = bad[k]


def _tid_overflows(buf: bytes, at: int) -> bool:
    """Is the thread id at `at` in buf (a long run of digits, then ':') too large for 64 bits?"""
    head = buf[at:at + 48]
    return to_int(head[:head.find(b":")].decode()) is None


class FastHostReader:
    """Feed one file-format log into a HostCorrelator through the prefilter.

    Yields nothing; fills `facts` (as LogReader would) and calls
    correlator.note_time/feed exactly as the reference route does, and hands
    foreign text (lines before the first record) to on_foreign."""

    def __init__(self, path: str, display: str | None = None, stream=None, read_ahead: bool = True):
        self.read_ahead = read_ahead
        self.path = path
        self.display = display or path
        self.stream = stream
        self.facts = FileFacts(self.display)

    def run(self, correlator, on_foreign=None, on_text=None) -> FileFacts:
        facts = self.facts
        facts.format = "file"
        facts.daemon = daemon_from_name(self.display)
        stream = self.stream or open_binary(self.path)
        line0 = 1
        last_time = None
        try:
            head = stream.read(65536)
            check_head(stream, head, self.display)
            if looks_binary(head):
                raise InputError(f"{shown(self.display)}: binary data, not a text log")
            cuts = []
            scans = scan_ahead(record_blocks(_Prepend(stream, head), BLOCK), lambda bc: BlockScan(*bc),
                               self.read_ahead)
            try:
                for scan in scans:
                    last_time = self._block(scan, line0, correlator, on_foreign, on_text, last_time)
                    line0 += scan.nlines
                    if scan.cut is not None:
                        # the block's last record (or text before the first) lost lines
                        scan.cut.line = line0 - scan.nlines + (int(scan.starts[-1]) if len(scan.starts) else 0)
                        cuts.append(scan.cut)
                        line0 += scan.cut.nlines
                        facts.lines += scan.cut.nlines
            finally:
                scans.close()
                facts.note_cuts(cuts)
            note_end(stream, facts)
        except STREAM_ERRORS as e:
            facts.stream_broke(e)
        finally:
            if self.stream is None:
                stream.close()
        facts.warn_bad()
        return facts

    def _block(self, scan: BlockScan, line0: int, hc, on_foreign, on_text, last_time):
        facts = self.facts
        buf, off, starts = scan.buf, scan.offsets, scan.starts
        facts.note_block(len(buf), scan.nlines, len(starts), scan.valid_utf8, line0)
        if len(scan.bad):
            facts.note_bad(line0 + int(starts[scan.bad[0]]), _bad_value(buf, off[starts[scan.bad[0]]]),
                           len(scan.bad))
        if len(starts) == 0 or starts[0] > 0:
            # text before the first record (a cut first line of a .tailed copy, a banner)
            end = off[starts[0]] if len(starts) else len(buf)
            text = buf[:end].decode("utf-8", "replace")
            facts.unparsed += scan.nlines if not len(starts) else int(starts[0])
            if on_foreign is not None and text:
                on_foreign(Foreign(self.display, line0, text))
        # silences: every dated record, in order
        dated = np.flatnonzero(scan.has_date)
        times = scan.times
        if len(dated):
            t_first = float(times[dated[0]])
            if facts.first_time is None:
                facts.first_time = t_first
            facts.last_time = float(times[dated[-1]])
            secs = np.floor(times[dated]).astype(np.int64)
            if last_time is not None:
                prev_sec = np.concatenate(([int(last_time[0] // 1)], secs[:-1]))
            else:
                prev_sec = np.concatenate(([secs[0]], secs[:-1]))
            gap_idx = np.flatnonzero(secs - prev_sec >= GAP_SECONDS)

            def first_line(s):
                return buf[off[s]:off[s + 1]].decode("utf-8", "replace").rstrip("\n").rstrip("\r")

            for g in gap_idx:
                i = dated[g]
                if g == 0:
                    t_prev, l_prev, text_prev = last_time
                else:
                    j = dated[g - 1]
                    t_prev, l_prev, text_prev = float(times[j]), line0 + int(starts[j]), first_line(starts[j])
                hc.add_gap(l_prev, line0 + int(starts[i]), t_prev, float(times[i]), self.display,
                           text_prev, first_line(starts[i]))
            j = dated[-1]
            last_time = (float(times[j]), line0 + int(starts[j]), first_line(starts[j]))
            hc.seen_until(last_time[0], last_time[1])
        # the records the correlator reads, and error text glued to records
        cand = scan.candidates
        for li in cand.glued.tolist():
            ln = buf[off[li]:off[li + 1]].decode("utf-8", "replace").rstrip("\n").rstrip("\r")
            if on_text is not None:
                on_text(self.display, line0 + li, ln)
        display = self.display
        lines = cand.lines + line0
        # the plain ones built in C from the headers the scan read; the others (None) here
        built = (_records(buf, cand.at, cand.ends, cand.heads, cand.stamps, lines, cand.slow, display, Record,
                          LEVELS) if cand.heads is not None else [None] * len(lines))
        for rec, li, a, b, t in zip(built, lines.tolist(), cand.at.tolist(), cand.ends.tolist(),
                                    cand.stamps.tolist()):
            if rec is None:
                raw = buf[a:b].decode("utf-8", "replace")
                text = raw[:-1].removesuffix("\r") if raw.endswith("\n") else raw
                rec = parse_record(text, display, li, raw, stamp_time=None if t != t else t)
                if rec is None:
                    continue
            kind = rec.kind
            if kind == "version" or kind == "hostname":
                facts.note_header(kind, rec.fields)
                continue
            if kind == "thread_job" and facts.daemon is None:
                facts.daemon = daemon_from_worker(rec.fields.get("worker") or "")
            hc.feed(rec)
        return last_time


def _bad_value(buf: bytes, start: int) -> str:
    """What could not be read in the header of the record at start (values.header_values)."""
    end = buf.find(b"\n", start, start + 200)
    m = HEAD.match(buf[start:end if end >= 0 else start + 200].decode("utf-8", "replace"))
    return header_values(m[1], m[3][:-2] if m[3] else None)[2]


def scan_ahead(blocks, scan, ahead: bool = True):
    """scan(block) of each block, in order.  ahead: a reader thread takes the blocks (reading
    and decompressing release the GIL) and hands each to SCAN_THREADS workers (Arrow and NumPy
    release it too), while the caller parses the current one; an error while reading reaches
    the caller after the blocks read before it.  ahead=False keeps to one thread (one core),
    for callers that parallelise by process."""
    if not ahead:
        for b in blocks:
            yield scan(b)
        return
    import queue
    import sys
    import threading
    ready = queue.Queue(maxsize=SCAN_THREADS + 1)       # futures of scans, in block order
    stop = threading.Event()

    def hand(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    with ThreadPoolExecutor(max_workers=SCAN_THREADS) as pool:
        def read():
            try:
                for b in blocks:
                    if not hand(pool.submit(scan, b)):
                        return
            except BaseException as e:          # (handed to the caller, raised there)
                hand(_ReadFailed(e))
                return
            hand(None)

        reader = threading.Thread(target=read, name="loganalyzer-read", daemon=True)
        # a scan takes the GIL back after each of its ~100 Arrow and NumPy calls a block: at
        # the default switch interval (5 ms) each could wait that long while the caller
        # parses, and the scans (the bottleneck of a plain log) stalled
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
        reader.start()
        try:
            while True:
                item = ready.get()
                if item is None:
                    return
                if isinstance(item, _ReadFailed):
                    raise item.error
                yield item.result()
        finally:
            stop.set()
            reader.join()
            sys.setswitchinterval(switch)


class _ReadFailed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error


class _Prepend:
    def __init__(self, stream, head: bytes):
        self._s = stream
        self._h = head

    def read(self, n=-1):
        if self._h:
            h, self._h = self._h, b""
            more = self._s.read(max(0, n - len(h))) if n and n > len(h) else b""
            return h + (more or b"")
        return self._s.read(n)
