"""Detect and unwrap each place libvirt lines live.

Every format turns decoded text blocks into a stream of Record and Foreign
items whose raw texts, joined, give back the input exactly (a Record's `raw`
is always the physical line(s) it came from, wrapper included).

  file          the daemon's own file/stderr output (the grammar's record format)
  pasted        libvirt records inside other text (a bug report, a CI log): a
                record is found wherever it starts on a line; the rest is foreign
  syslog        `Nov 29 12:34:47 host libvirtd[1234]: TID: level : func:line : msg`
                (rsyslog's #012/#015 escapes decoded in the message), also the
                wrapper around a whole file-format record (then the inner record,
                with its own UTC time stamp, is taken)
  journal       journalctl short text: `Nov 29 12:34:47 host virtqemud[1234]: msg`
                (no thread id, level or function); also `ident[pid]: msg` without
                date and host; journalctl's indented continuation lines belong to
                the message before them
  journal-json  `journalctl -o json`: MESSAGE (string or byte array), PRIORITY,
                CODE_FUNC, CODE_LINE, LIBVIRT_SOURCE, __REALTIME_TIMESTAMP, _PID, _COMM
  kubevirt      virt-launcher JSON lines; those with "subcomponent":"libvirt" are
                records (pos = func:line, thread, msg, level, timestamp), the rest foreign
  text          no libvirt records at all: every line is foreign

Wrapped formats (syslog, journal) carry only the daemons' own lines as records:
an ident such as libvirtd, virtqemud, virtproxyd, virtlogd (any `virt…d` or
`libvirt…`) or any ident whose message carries libvirt's `TID: level : func:line :`
prefix.  Lines of other programs are foreign.

Messages of every format go through the same message families
(families.parse_message / grammar.parse_message_with_grammar).
"""
from __future__ import annotations

import functools
import re
import time as _time
from collections import deque

from . import signatures
from .families import parse_message, unlocated
from .fastpath import build_record, parse_record
from .header import AFTER_STAMP, RECORD_ANYWHERE, RECORD_START
from .records import Foreign, Overflow, Record
from .values import JsonFields, civil_epoch, epoch, header_values, json_object, not_a_date, to_int, usec_epoch


class Fallback(Exception):
    """A fast route (wrapfilter.py) found what it does not read in the input (another
    daemon, a record over several wrapper lines): read it through the reference route.
    (Here, not in wrapfilter, so that catching it imports neither NumPy nor Arrow.)"""


FORMATS = ("file", "pasted", "syslog", "journal", "journal-json", "journal-export", "journal-verbose", "kubevirt",
           "text")


class Context:
    """What a format generator may need to know about its input."""

    def __init__(self, year: int | None = None, year_source: str = "the current year",
                 warn=None, mtime: float | None = None):
        self.mtime = mtime
        if year is None and mtime is not None:
            year, year_source = _time.gmtime(mtime).tm_year, "the file's modification year"
        self.year = year if year is not None else _time.gmtime().tm_year
        self.year_source = year_source
        self._warn = warn
        self.year_used = False
        self.zone_assumed = None    # a time zone's abbreviation read as UTC
        self.null_messages = 0      # journal entries whose MESSAGE journalctl left out (null)
        # an entry of libvirt without MESSAGE read (not counted: the fast routes read only some)
        self.no_messages = False
        self.notes: set = set()

    def warn(self, msg: str):
        if msg not in self.notes:
            self.notes.add(msg)
            if self._warn:
                self._warn(msg)


# ---------------------------------------------------------------- wrappers
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

# `Nov 29 12:34:47 host ident[pid]: msg` (BSD syslog / journalctl short),
# `2023-11-07T10:00:00.123+01:00 host ident[pid]: msg` (short-iso, RFC 3339),
# `Sun 2026-12-06 20:20:32 UTC host ident[pid]: msg` (journalctl short-full and with-unit: the
# zone's abbreviation, or its offset where the zone has none),
# `1796588432.290317 host ident[pid]: msg` (journalctl short-unix: epoch seconds),
# `ident[pid]: msg` (no date and host: then the [pid] is required).
_WRAP = re.compile(
    r"(?:(?:(?P<bsd>(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<day>[ \d]\d) "
    r"(?P<hms>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"|(?P<full>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<fday>\d{4}-\d\d-\d\d) (?P<ftime>\d\d:\d\d:\d\d(?:\.\d+)?) "
    r"(?P<zone>[A-Za-z]+|[+-]\d\d(?:\d\d)?))"
    r"|(?P<unix>\d{9,11}\.\d{6}))"
    r" (?P<host>\S+) (?P<ident>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?"
    r"|(?P<ident2>[^\s\[\]:]+)\[(?P<pid2>\d+)\]): ")

_LIBVIRT_IDENT = re.compile(r"(?:libvirt[\w.-]*|virt\w*d)$")

# libvirt's syslog body: "TID: level : func:line : msg" (the record header after its stamp)
_SYSLOG_BODY = AFTER_STAMP

# rsyslog writes each control character of a message as '#' and three octal digits
_RSYSLOG_ESC = re.compile(r"#(?:0[0-3][0-7]|177)")


def _rsyslog_unescape(msg: str) -> str:
    return _RSYSLOG_ESC.sub(lambda e: chr(int(e.group()[1:], 8)), msg)


# journald cuts a stderr line longer than its LineMax (48 KiB) into entries of that size: such a
# piece is continued by the next entry without a newline between them
JOURNAL_LINE_MAX = 48 << 10


def physical_lines(text: str) -> list:
    """text's lines, each with its line break: broken at \\n only (str.splitlines breaks at
    \\r, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029 too, which a line of a log may hold:
    journalctl -o json-seq starts each line with \\x1e)."""
    lines = text.split("\n")
    last = lines.pop()
    lines = [ln + "\n" for ln in lines]
    if last:
        lines.append(last)
    return lines


def _strip_eol(raw: str) -> str:
    if raw.endswith("\n"):
        raw = raw[:-1]
        if raw.endswith("\r"):
            raw = raw[:-1]
    return raw


def _bsd_time(m, ctx: Context) -> float | None:
    """A BSD stamp has no year: take the context's year; a date that would lie
    more than a day after the file's modification time is from the year before.
    None when it is no date (Feb 30, hour 99)."""
    ctx.year_used = True
    mon, day, hms, frac = m.group("mon", "day", "hms", "frac")
    t = _bsd_second(mon, day, hms, ctx.year, ctx.mtime)
    return None if t is None else t + (float(frac) if frac else 0.0)


@functools.lru_cache(maxsize=1024)
def _bsd_second(mon: str, day: str, hms: str, year: int, mtime) -> float | None:
    """The whole second of a BSD stamp (many records share one)."""
    hh, mm, ss = (int(x) for x in hms.split(":"))
    t = civil_epoch(year, _MONTHS[mon], int(day), hh, mm, ss)
    if t is not None and mtime is not None and t > mtime + 86400:
        t = civil_epoch(year - 1, _MONTHS[mon], int(day), hh, mm, ss)
    return t


def _iso_time(s: str) -> float | None:
    from datetime import datetime, timezone
    s = s.replace(",", ".")
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    elif len(s) > 5 and s[-5] in "+-" and s[-3] != ":":
        s = s[:-2] + ":" + s[-2:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return epoch(dt.timestamp())


# the end of a virReportSystemError message ("%s: %s", the text and strerror's): glibc's words
# for the errors a migration meets
_SYSTEM_ERROR = re.compile(
    r": (?:Operation not permitted|No such file or directory|No such process|Input/output error|"
    r"No such device or address|Bad file descriptor|Resource temporarily unavailable|"
    r"Cannot allocate memory|Permission denied|Device or resource busy|File exists|No such device|"
    r"Not a directory|Is a directory|Invalid argument|Too many open files|No space left on device|"
    r"Read-only file system|Broken pipe|Connection refused|Connection reset by peer|"
    r"Connection timed out|No route to host|Network is unreachable|Address already in use|"
    r"Cannot assign requested address|Transport endpoint is not connected|Host is down|"
    r"Operation not supported|Function not implemented|Software caused connection abort|"
    r"Protocol error|Name or service not known|Temporary failure in name resolution)$")


def _level_less(msg: str, located=None):
    """Level, kind, fields of a message that came without a level (journal text):
    a message that starts with a libvirt error prefix, or that ends in a system error's
    strerror text, is an error; the rest is read as a debug/info body ('unknown' level).
    located: unlocated(msg), when the caller has it."""
    kind, fields = located or unlocated(msg)
    if kind != "text":
        return "info", kind, fields
    kind, fields = parse_message("unknown", msg)
    if kind == "text":
        ek, ef = parse_message("error", msg)
        nl = msg.find("\n")
        if ef.get("prefix") or _SYSTEM_ERROR.search(msg if nl < 0 else msg[:nl]):
            return "error", ek, ef
    return "unknown", kind, fields


class _Pending:
    """One item on its way out: a Foreign run or a finished record (item), or a record still
    being assembled from wrapper lines (how: 'file' - a whole file-format record, its lines
    possibly spread over several wrapper lines; 'body' - libvirt's syslog body; 'bare' - a
    journal message without thread, level or function)."""

    __slots__ = ("item", "done", "how", "line", "origin", "raws", "parts", "head")

    def __init__(self, item=None, how=None, line=0, origin=None, raw="", text="", head=None):
        self.item = item
        self.done = item is not None
        self.how = how
        self.line = line
        self.origin = origin
        self.raws = [raw]
        self.parts = [text]
        self.head = head


class _Streams:
    """Records out of wrapper lines, put back together per daemon and handed out in input order.

    Each origin (host, ident, pid) is one daemon.  A file-format record written through a
    per-line wrapper (stderr read back from the journal, or forwarded to syslog) has its
    further lines in further wrapper lines of the same origin, with other daemons' lines
    possibly in between: it is complete when its origin starts its next record.  A journal
    message continues on indented lines right below it.  Items leave in the order their first
    line was read; at most `limit` wait for a record that is still open."""

    def __init__(self, path: str, with_fields: bool, limit: int = 4096):
        self.path = path
        self.with_fields = with_fields
        self.limit = limit
        self.queue: deque = deque()
        self.open: dict = {}          # origin -> its file-format record still taking lines
        self.last = None              # the record an indented line would continue
        self.recognisers: dict = {}   # origin -> signatures.Recogniser of its bare messages

    def recogniser(self, origin) -> signatures.Recogniser:
        r = self.recognisers.get(origin)
        if r is None:
            r = self.recognisers[origin] = signatures.Recogniser()
        return r

    # -- what a physical line is
    def foreign(self, line, raw):
        self.queue.append(_Pending(Foreign(self.path, line, raw)))

    def record(self, rec):
        self.queue.append(_Pending(rec))

    def start(self, how, origin, line, raw, text, head=None):
        if how == "file":
            prev = self.open.get(origin)
            if prev is not None:
                prev.done = True
        p = _Pending(how=how, line=line, origin=origin, raw=raw, text=text, head=head)
        if how == "file":
            self.open[origin] = p
        self.queue.append(p)
        self.last = p

    def continues(self, origin, raw, text) -> bool:
        """A further line of origin's open file-format record (a wrapper line that starts no record)."""
        p = self.open.get(origin)
        if p is None or p.done:
            return False
        prev = p.parts[-1]
        glue = "" if len(prev) >= JOURNAL_LINE_MAX and len(prev.encode()) == JOURNAL_LINE_MAX else "\n"
        p.raws.append(raw)
        p.parts.append(glue + text if glue else text)
        return True

    def indented(self, raw, text):
        p = self.last
        p.raws.append(raw)
        p.parts.append("\n" + text)

    def end_line(self):
        """A line that does not continue the record above it: that record (unless it is a
        file-format record, which waits for its daemon's next record) is complete."""
        p = self.last
        if p is not None and p.how != "file":
            p.done = True
        self.last = None

    # -- handing out
    def ready(self):
        q = self.queue
        while q and (q[0].done or len(q) > self.limit):
            yield self._finish(q.popleft())

    def close(self):
        for p in self.queue:
            p.done = True
        self.last = None
        yield from self.ready()
        self.open.clear()

    def _finish(self, p: _Pending):
        if p.item is not None:
            return p.item
        p.done = True
        if self.open.get(p.origin) is p:
            del self.open[p.origin]
        if self.last is p:
            self.last = None
        raw = "".join(p.raws)
        text = "".join(p.parts)
        path, wf = self.path, self.with_fields
        if p.how == "file":
            rec = parse_record(text, path, p.line, raw, wf)
            if rec is None:
                return Foreign(path, p.line, raw)
        elif p.how == "body":
            t, tid, level, funcloc, bad = p.head
            rec = build_record(path, p.line, t, tid, level, funcloc, text, raw, wf, bad)
        else:
            t, bad = p.head
            rec = bare_record(path, p.line, t, text, raw, recogniser=self.recogniser(p.origin), bad=bad)
        rec.origin = p.origin
        return rec


def bare_record(path, line, t, msg, raw, func=None, src_line=None, level=None, recogniser=None,
                bad=None) -> Record:
    """A record from a message that came without thread id (journald), and perhaps without
    level and function (journal text): then the function is recognised from the message's
    format where libvirt's lines are distinctive (signatures.py; recogniser: the stream's)."""
    if func is None and recogniser is not None:
        sig = recogniser.recognise(msg)
        if sig is not None:
            func, sig_level = sig
            level = level or sig_level
    if func is None:
        kind, fields = located = unlocated(msg)
        if kind == "text":
            if level is None:
                level, kind, fields = _level_less(msg, located)
            else:
                kind, fields = parse_message(level, msg)
        elif level is None:
            level = "info"
    else:
        if level is None:
            # (an unknown level is read as debug: parse_message reads every level but error
            # and warning alike, so the reading _level_less made stands)
            level, kind, fields = _level_less(msg)
        else:
            kind, fields = parse_message(level, msg)
    return Record(path, line, t, None, level, func, src_line, kind, msg, raw, dict(fields), bad)


def _wrapped_line(out: _Streams, m, text: str, phys: str, line: int, ctx: Context, syslog: bool):
    """One wrapper line: a record starts, continues, or the line is foreign."""
    msg = text[m.end():]
    if syslog and "#" in msg:
        msg = _rsyslog_unescape(msg)
    ident = m["ident"] or m["ident2"]
    origin = (m["host"], ident, m["pid"] or m["pid2"])
    if RECORD_START.match(msg):
        # a whole file-format record inside the wrapper: its own UTC time stamp wins
        out.start("file", origin, line, phys, msg)
        return
    if out.continues(origin, phys, msg):
        return
    t, bad = _wrapper_time(m, ctx)
    b = _SYSLOG_BODY.match(msg)
    if b is not None:
        tid_s, level, funcloc = b.groups()
        _, tid, bad_tid = header_values(None, tid_s[:-2])
        out.start("body", origin, line, phys, msg[b.end():], (t, tid, level, funcloc, bad or bad_tid))
    elif _LIBVIRT_IDENT.match(ident):
        out.start("bare", origin, line, phys, msg, (t, bad))
    else:
        out.foreign(line, phys)


def _wrapper_time(m, ctx: Context):
    """(time, bad) of a wrapper line's stamp: bad names a stamp that is not a date."""
    bsd, iso, full, unix = m.group("bsd", "iso", "full", "unix")
    stamp = bsd or iso or full or unix
    if not stamp:
        return None, None
    if bsd:
        t = _bsd_time(m, ctx)
    elif iso:
        t = _iso_time(iso)
    elif full:
        t = _full_time(m, ctx)
    else:
        t = epoch(float(m["unix"]))
    return t, (not_a_date(stamp) if t is None else None)


# zones whose abbreviation says their offset (journalctl --utc writes UTC)
_UTC_ZONES = ("UTC", "GMT", "UCT", "Z")


def _full_time(m, ctx: Context) -> float | None:
    """A short-full stamp: the zone's offset when it names one, else (an abbreviation such as
    CET, which may stand for several zones) the time read as UTC, with a warning."""
    zone = m["zone"]
    if zone[0] in "+-":
        offset = zone[:3] + ":" + (zone[3:] or "00")
    else:
        offset = "+00:00"
        if zone not in _UTC_ZONES:
            ctx.zone_assumed = zone
    return _iso_time(f"{m['fday']}T{m['ftime']}{offset}")


def body_record(text: str, raw: str, path: str, line: int, ctx: Context, syslog: bool = True):
    """The record of one wrapper line holding libvirt's syslog body (`TID: level : func:line :
    msg`), or None for any other line (the fast route reads these lines one at a time)."""
    m = _WRAP.match(text)
    if m is None:
        return None
    msg = text[m.end():]
    if syslog and "#" in msg:
        msg = _rsyslog_unescape(msg)
    b = _SYSLOG_BODY.match(msg)
    if b is None or RECORD_START.match(msg):
        return None
    t, bad = _wrapper_time(m, ctx)
    tid_s, level, funcloc = b.groups()
    _, tid, bad_tid = header_values(None, tid_s[:-2])
    rec = build_record(path, line, t, tid, level, funcloc, msg[b.end():], raw, True, bad or bad_tid)
    rec.origin = (m["host"], m["ident"] or m["ident2"], m["pid"] or m["pid2"])
    return rec


def wrapper_origin(text: str):
    """(host, ident, pid) of a wrapper line, None when it is none; and whether its message is
    a libvirt line (a syslog body or a whole file-format record)."""
    m = _WRAP.match(text)
    if m is None:
        return None, False
    msg = text[m.end():]
    ident = m["ident"] or m["ident2"]
    libvirt = bool(_SYSLOG_BODY.match(msg) or RECORD_START.match(msg) or _LIBVIRT_IDENT.match(ident))
    return (m["host"], ident, m["pid"] or m["pid2"]), libvirt


def _wrapped_items(blocks, path, with_fields, ctx, syslog):
    ctx = ctx or Context()
    out = _Streams(path, with_fields)
    line = 1
    for block in blocks:
        if block.tail:
            out.end_line()
            yield from out.close()
            yield Overflow(path, line - 1, block.text)
            continue
        for phys in physical_lines(block.text):
            _wrapped_phys(out, phys, line, ctx, syslog)
            line += 1
            yield from out.ready()
    out.end_line()
    yield from out.close()


def _wrapped_phys(out: _Streams, phys: str, line: int, ctx: Context, syslog: bool):
    """One physical line of a wrapped form: a record starts, a message goes on, or foreign text."""
    text = _strip_eol(phys)
    m = _WRAP.match(text)
    if m is not None:
        out.end_line()
        _wrapped_line(out, m, text, phys, line, ctx, syslog)
    elif out.last is not None and text[:1] in (" ", "\t"):
        # journalctl indents the further lines of a multi-line message to the width of
        # its prefix (a line of only that indentation is an empty line of the message)
        indent = len(text) - len(text.lstrip(" "))
        head = out.last.raws[0]
        w = head.find(": ") + 2 if head[:1] != " " else 0
        cont = text[w:] if 0 < w <= indent else text.lstrip()
        out.indented(phys, cont)
    else:
        out.end_line()
        out.foreign(line, phys)


class JournalTextRecords:
    """Records of journalctl text built one at a time from their physical lines, as the
    reference route builds them (the fast route, wrapfilter.py, hands over only the records
    the correlator may read); one per input, so each daemon's recogniser keeps its state."""

    def __init__(self, path: str, ctx: Context):
        self.out = _Streams(path, True)
        self.ctx = ctx
        # the last bare line's prefix after its BSD stamp (" host ident[pid]: ") and origin, and
        # the whole seconds of the stamps read so far by their first 15 characters: a line
        # with that prefix and such a stamp is read without the wrapper's pattern
        self._prefix = None
        self._seconds: dict = {}

    def record(self, lines):
        """The item of one record's (line number, physical line) pairs: a Record, or Foreign."""
        out = self.out
        if len(lines) == 1 and out.last is None and not out.queue and not out.open:
            rec = self._bare_line(*lines[0])
            if rec is not None:
                return rec
        for line, phys in lines:
            _wrapped_phys(out, phys, line, self.ctx, False)
        out.end_line()
        items = list(out.ready())
        return items[0] if len(items) == 1 else None

    def _bare_line(self, line: int, phys: str):
        """The record of a one-line bare message of a libvirt daemon when nothing else is on its
        way (the usual candidate), as _wrapped_phys and _Streams would build it, without their
        bookkeeping (a third of a record's time); None for any other line."""
        text = _strip_eol(phys)
        known = self._same_prefix(text)
        if known is not None:
            msg, origin, second, frac = known
        else:
            m = _WRAP.match(text)
            if m is None:
                return None
            host, ident, ident2, pid, pid2 = m.group("host", "ident", "ident2", "pid", "pid2")
            ident = ident or ident2
            if not _LIBVIRT_IDENT.match(ident):
                return None
            msg, origin = text[m.end():], (host, ident, pid or pid2)
        if RECORD_START.match(msg) or _SYSLOG_BODY.match(msg):
            return None
        if known is not None:
            self.ctx.year_used = True
            t, bad = second + (float(frac) if frac else 0.0), None
        else:
            t, bad = _wrapper_time(m, self.ctx)
            if t is not None and m["bsd"] and m.start() == 0 and m.end("hms") == 15:
                self._prefix = (text[m.end("bsd"):m.end()], origin)
                if len(self._seconds) > 4096:
                    self._seconds.clear()
                self._seconds[text[:15]] = _bsd_second(*m.group("mon", "day", "hms"), self.ctx.year, self.ctx.mtime)
        rec = bare_record(self.out.path, line, t, msg, phys, recogniser=self.out.recogniser(origin), bad=bad)
        rec.origin = origin
        return rec

    def _same_prefix(self, text: str):
        """(message, origin, whole second, fraction) of a line with the last bare line's prefix
        and a stamp whose second is known (the usual line: what _WRAP and _bsd_time would read
        of it), else None."""
        if self._prefix is None:
            return None
        prefix, origin = self._prefix
        k = text.find(prefix, 15, 48 + len(prefix))      # (after the stamp's fraction)
        second = self._seconds.get(text[:15]) if k > 0 else None
        if second is None:
            return None
        frac = text[15:k]
        if frac and not (frac[0] == "." and frac[1:].isdigit() and frac.isascii()):
            return None
        return text[k + len(prefix):], origin, second, frac


def syslog_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    return _wrapped_items(blocks, path, with_fields, ctx, True)


def journal_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    return _wrapped_items(blocks, path, with_fields, ctx, False)


# ---------------------------------------------------------------- journald entries (JSON, export)
# journald PRIORITY -> libvirt level (virLogPrioritySyslog in reverse)
_PRIORITY = {"0": "error", "1": "error", "2": "error", "3": "error", "4": "warning",
             "5": "info", "6": "info", "7": "debug"}
# the function that writes libvirt's start-up header lines itself (its records have no
# function in file and syslog output)
_HEADER_FUNC = "virLogVMessage"


# journalctl's JSON forms: an entry a line (-o json; -o json-seq puts an RS before it, which
# strip() takes; -o json-sse puts 'data: ' before it and an empty line after it), or an entry
# over many lines (-o json-pretty: from a line '{' to a line '}', a field a line)
_SSE = "data: "
# the most lines one -o json-pretty or -o verbose entry is read over (a journal entry has a few
# dozen fields)
ENTRY_MAX_LINES = 4096


def json_line(phys: str):
    """How a line of JSON output outside an entry is read: ("pretty", None) when it opens an
    -o json-pretty entry, ("sse", object) an -o json-sse one, else ("line", its object or None:
    foreign text)."""
    s = phys.strip()
    if s == "{":
        return "pretty", None
    if s.startswith(_SSE):
        obj = json_object(s[len(_SSE):])
        if obj is not None:
            return "sse", obj
    return "line", json_object(s) if s.startswith("{") else None


def _json_lines(blocks, path):
    """(first line, raw text, parsed object or None) of each JSON entry of the input, and of
    each line that holds none; the empty line after an -o json-sse entry is the entry's."""
    line = 1
    held = None         # an -o json-sse entry, until the line after it is read
    pretty = None       # the lines of an -o json-pretty entry still open
    for block in blocks:
        if block.tail:
            if held is not None:
                yield held
                held = None
            if pretty is not None:
                yield pretty[0], "".join(pretty[1:]), None
                pretty = None
            yield line - 1, block.text, Overflow
            continue
        for phys in physical_lines(block.text):
            if held is not None:
                n, raw, obj = held
                held = None
                if not phys.strip():
                    yield n, raw + phys, obj
                    line += 1
                    continue
                yield n, raw, obj
            if pretty is not None:
                pretty.append(phys)
                if phys.rstrip() == "}" or len(pretty) > ENTRY_MAX_LINES:
                    raw = "".join(pretty[1:])
                    yield pretty[0], raw, json_object(raw)
                    pretty = None
                line += 1
                continue
            how, obj = json_line(phys)
            if how == "pretty":
                pretty = [line, phys]
                line += 1
                continue
            if how == "sse":
                held = (line, phys, obj)
                line += 1
                continue
            yield line, phys, obj
            line += 1
    if held is not None:
        yield held
    if pretty is not None:
        yield pretty[0], "".join(pretty[1:]), None


# journalctl -o verbose: an entry is its time and cursor (the cursor's t= is the entry's
# __REALTIME_TIMESTAMP in hex), then a field a line, indented 4; a value's further lines are
# indented to where the value starts; a value with a control character (a QMP message's \\r)
# shows as its size and "blob data" unless --all
_VERBOSE_HEAD = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ "
                           r"\[s=[0-9a-f]+;i=[0-9a-f]+;b=[0-9a-f]+;m=[0-9a-f]+;t=(?P<t>[0-9a-f]+);x=[0-9a-f]+\]$")
_VERBOSE_FIELD = re.compile(r"    (?P<name>[A-Za-z0-9_]+)=")
_BLOB = re.compile(r"\[[0-9.]+[KMGTPE]?B? blob data\]$")


def _verbose_entries(blocks):
    """(first line, raw text, fields or None) of each -o verbose entry, and of each line
    outside one (a dict of the entry's fields, a blob's value None, __REALTIME_TIMESTAMP
    from the cursor)."""
    line = 1
    entry = None        # [first line, raw lines, fields, name of the last field]
    for block in blocks:
        if block.tail:
            if entry is not None:
                yield entry[0], "".join(entry[1]), entry[2]
                entry = None
            yield line - 1, block.text, Overflow
            continue
        for phys in physical_lines(block.text):
            text = _strip_eol(phys)
            head = _VERBOSE_HEAD.match(text)
            if head is not None:
                if entry is not None:
                    yield entry[0], "".join(entry[1]), entry[2]
                entry = [line, [phys], {"__REALTIME_TIMESTAMP": str(int(head["t"], 16))}, None]
            elif entry is None or len(entry[1]) > ENTRY_MAX_LINES:
                if entry is not None:
                    yield entry[0], "".join(entry[1]), entry[2]
                    entry = None
                yield line, phys, None
            else:
                f = _VERBOSE_FIELD.match(text)
                fields = entry[2]
                entry[1].append(phys)
                if f is not None:
                    name = entry[3] = f["name"]
                    v = text[f.end():]
                    fields[name] = None if _BLOB.match(v) else v
                elif entry[3] is not None and fields[entry[3]] is not None:
                    # (a value's further line, indented to where the value starts)
                    w = 4 + len(entry[3]) + 1
                    fields[entry[3]] += "\n" + (text[w:] if text[:w].isspace() else text.lstrip())
            line += 1
    if entry is not None:
        yield entry[0], "".join(entry[1]), entry[2]


def journal_verbose_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    """`journalctl -o verbose`: entries as -o json's (a blob's message as null)."""
    return _entry_items(_verbose_entries(blocks), path, with_fields, ctx)


def _message_text(v) -> str:
    if isinstance(v, list):      # journald exports non-printable messages as a byte array
        try:
            return bytes(v).decode("utf-8", "replace")
        except (ValueError, TypeError):
            return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return "" if v is None else str(v)


def _field(obj, name):
    v = obj.get(name)
    if v.__class__ is str:
        return v
    if isinstance(v, list) and v and not isinstance(v[0], int):
        v = v[0]             # a field given more than once: journalctl makes it a list
    return _message_text(v) if v is not None else None


def journal_origin(obj):
    """(host, ident, pid) of a journald entry."""
    return (_field(obj, "_HOSTNAME"), _field(obj, "SYSLOG_IDENTIFIER") or _field(obj, "_COMM"), _field(obj, "_PID"))


def libvirt_entry(obj) -> bool:
    """Is this journald entry libvirt's: a record of libvirt's journald output (which sends
    LIBVIRT_SOURCE with every message, virlog.c), or a line of a libvirt daemon (stderr,
    syslog)?  Entries that name another program (systemd's about the unit, journald's own) are
    foreign text, whatever fields (CODE_FUNC...) they carry.  Without a name (fields left out
    by `journalctl --output-fields`), a native entry with a function is taken for libvirt's."""
    if _field(obj, "LIBVIRT_SOURCE") is not None:
        return True
    ident = _field(obj, "SYSLOG_IDENTIFIER") or _field(obj, "_COMM")
    if ident:
        return bool(_LIBVIRT_IDENT.match(ident))
    return _field(obj, "CODE_FUNC") not in (None, "", _HEADER_FUNC) or _field(obj, "_TRANSPORT") in (None, "journal")


# The fields of a journald entry that native_record and the test of whose record it is
# (libvirt_entry, journal_origin, the transport) read: the fast routes hand them over alone,
# read by the compiled field walk (fieldscan.py), without the entry's other fields.
NATIVE_FIELDS = ("MESSAGE", "CODE_FUNC", "CODE_LINE", "PRIORITY", "_SOURCE_REALTIME_TIMESTAMP",
                 "__REALTIME_TIMESTAMP", "LIBVIRT_SOURCE", "SYSLOG_IDENTIFIER", "_COMM", "_TRANSPORT",
                 "_HOSTNAME", "_PID")


def native_record(obj, line: int, raw: str, ctx: Context, path: str, recogniser=None):
    """The record of a native journald entry of libvirt (MESSAGE plus CODE_FUNC, CODE_LINE,
    PRIORITY and no thread id), or None when the entry is no libvirt record (another
    program's)."""
    if not libvirt_entry(obj):
        return None
    v = obj.get("MESSAGE")
    msg = _message_text(v)
    f = JsonFields(obj)       # a field present but unreadable: left empty, counted
    func = f.get("CODE_FUNC", _text) or None
    header = func == _HEADER_FUNC
    if header:
        func = None
    if v is None:
        # journalctl -o json without --all writes fields of 4 KiB and more as null
        if "MESSAGE" in obj:
            ctx.null_messages += 1
        else:
            ctx.no_messages = True
    src_line = None if header else f.get("CODE_LINE", to_int)
    # journalctl's text shows _SOURCE_REALTIME_TIMESTAMP (the sender's) when there is one
    t = f.get("_SOURCE_REALTIME_TIMESTAMP", usec_epoch) or f.get("__REALTIME_TIMESTAMP", usec_epoch)
    level = _PRIORITY.get(_field(obj, "PRIORITY") or "")
    rec = bare_record(path, line, t, msg, raw, func, src_line, level, recogniser, f.bad)
    rec.origin = journal_origin(obj)
    return rec


def may_be_record(obj) -> bool:
    """May this journald entry be a record: one with MESSAGE, or without it (journalctl
    --output-fields without MESSAGE, or an entry made so) a process's own native entry?"""
    return "MESSAGE" in obj or bool(_field(obj, "_PID")) and _field(obj, "_TRANSPORT") in (None, "journal")


def _journal_entry(out: _Streams, obj, line: int, raw: str, ctx: Context):
    """One journald entry: a native libvirt record, a line of a daemon's stderr (stdout
    transport: a file-format record's lines, one entry each), or foreign."""
    if "MESSAGE" not in obj:
        # a native entry of libvirt is still its record, without text, as the fast routes read
        # it; else foreign
        rec = native_record(obj, line, raw, ctx, out.path) if may_be_record(obj) else None
        if rec is None:
            out.foreign(line, raw)
        else:
            out.record(rec)
        return
    msg = _message_text(obj.get("MESSAGE"))
    origin = journal_origin(obj)
    if RECORD_START.match(msg):
        out.start("file", origin, line, raw, _strip_eol(msg))
        return
    if out.continues(origin, raw, _strip_eol(msg)):
        return
    rec = native_record(obj, line, raw, ctx, out.path, out.recogniser(origin))
    if rec is None:
        out.foreign(line, raw)
    else:
        out.record(rec)


def journal_json_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    """`journalctl -o json` (and json-seq, json-sse, json-pretty)."""
    return _entry_items(_json_lines(blocks, path), path, with_fields, ctx)


def _entry_items(entries, path, with_fields, ctx):
    """The items of journal entries given as (first line, raw text, fields or None)."""
    ctx = ctx or Context()
    out = _Streams(path, with_fields)
    for line, raw, obj in entries:
        if obj is Overflow:
            yield from out.close()
            yield Overflow(path, line, raw)
            continue
        if obj is None:
            out.foreign(line, raw)
        else:
            _journal_entry(out, obj, line, raw, ctx)
        yield from out.ready()
    yield from out.close()


def journal_export_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    """`journalctl -o export` (Journal Export Format): `NAME=value` lines, or `NAME`, a 64-bit
    little-endian length and that many raw bytes for values with newlines or control characters;
    an empty line ends an entry.  The blocks come decoded as Latin-1 (one character per byte), so
    the lengths count characters; values are read as UTF-8 once cut out.  A record's line is
    the line of its entry's first field."""
    ctx = ctx or Context()
    out = _Streams(path, with_fields)
    buf = ""
    pos = 0                  # next unread character of buf
    line = 1                 # the line buf[pos] is on
    entry: dict = {}
    start = start_line = None
    for block in blocks:
        keep = start if start is not None else pos
        buf = buf[keep:] + block.text
        pos -= keep
        if start is not None:
            start = 0
        while True:
            nl = buf.find("\n", pos)
            if nl < 0:
                break
            if nl == pos:                       # an empty line ends the entry
                if start is not None:
                    _journal_entry(out, entry, start_line, buf[start:nl + 1], ctx)
                else:
                    out.foreign(line, "\n")
                entry, start, start_line = {}, None, None
                pos = nl + 1
                line += 1
                yield from out.ready()
                continue
            if start is None:
                # the usual entry, ASCII with every field a NAME=value line and its empty line
                # in buf, read whole: what reading it field by field below makes of it
                end = buf.find("\n\n", pos)
                whole = _plain_entry(buf[pos:end]) if end >= 0 else None
                if whole is not None:
                    _journal_entry(out, whole, line, buf[pos:end + 2], ctx)
                    line += buf.count("\n", pos, end) + 2
                    pos = end + 2
                    yield from out.ready()
                    continue
                start, start_line = pos, line
            field = _export_field(buf, pos, nl)
            if field is None:
                break                           # a raw value (or its length) goes on in the next block
            name, value, nxt = field
            if name is not None:
                entry[name] = value
            line += 1 if nxt == nl + 1 else buf.count("\n", pos, nxt)
            pos = nxt
    if start is not None and entry:
        _journal_entry(out, entry, start_line, buf[start:], ctx)
    elif buf[pos:].strip():
        out.foreign(line, buf[pos:])
    yield from out.close()


def _plain_entry(text: str) -> dict | None:
    """The fields of an -o export entry's text (without its empty line) when it is ASCII and
    every line a NAME=value field (a raw value's name has no '='); else None."""
    if not text.isascii():
        return None
    try:
        return dict(ln.split("=", 1) for ln in text.split("\n"))
    except ValueError:
        return None


def export_entry(text: str) -> dict | None:
    """The fields of one whole `-o export` entry (Latin-1 text, as journal_export_items reads
    it, up to its empty line), read as journal_export_items reads them; None if it is not one."""
    return export_fields(text)[0]


def export_fields(text: str):
    """(fields or None, where they end: the empty line) of the -o export entry text starts with."""
    end = text.find("\n\n")
    whole = _plain_entry(text[:end]) if end > 0 else None
    if whole is not None:
        return whole, end + 1
    entry, pos = {}, 0
    while pos < len(text):
        nl = text.find("\n", pos)
        if nl < 0 or nl == pos:
            break
        field = _export_field(text, pos, nl)
        if field is None:
            return None, pos
        name, value, pos = field
        if name is not None:
            entry[name] = value
    return entry, pos


# A raw value's length above this is no length: the line before it is not a field's name but
# a line of something else (systemd's importer refuses such a stream).  Without a bound, eight
# bytes of text read as a length would hold the rest of the input in memory as one value.
EXPORT_RAW_MAX = 16 << 20


def _export_field(buf: str, pos: int, nl: int):
    """The field whose line starts at pos (nl: that line's break) -> (name, value, where the
    next field starts), or None when a raw value, or its length, runs past the end of buf.
    A line that is neither `NAME=value` nor the name of a raw value (its length within
    EXPORT_RAW_MAX, a line break after its bytes) is no field: (None, None, the next line)."""
    eq = buf.find("=", pos, nl)
    if eq >= 0:
        return buf[pos:eq], _export_value(buf[eq + 1:nl]), nl + 1
    if nl + 9 > len(buf):
        return None
    size = int.from_bytes(buf[nl + 1:nl + 9].encode("latin-1"), "little")
    if size > EXPORT_RAW_MAX:
        return None, None, nl + 1
    end = nl + 9 + size
    if end >= len(buf):
        return None
    if buf[end] != "\n":
        return None, None, nl + 1
    return buf[pos:nl], _export_value(buf[nl + 9:end]), end + 1


def _export_value(s: str) -> str:
    return s.encode("latin-1").decode("utf-8", "replace")


def _text(v) -> str | None:
    return v if isinstance(v, str) else None


def _kubevirt_time(s) -> float | None:
    if not isinstance(s, str):
        return None
    return _iso_time(s)


def _kubevirt_pos(pos):
    """'func:line' -> (func, line); (None, None) for other text; None: a line number too large."""
    if isinstance(pos, str) and ":" in pos:
        f, _, ln = pos.rpartition(":")
        if ln.isdigit() and f:
            n = to_int(ln)
            return None if n is None else (f, n)
    return (None, None)


def kubevirt_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    for line, phys, obj in _json_lines(blocks, path):
        if obj is Overflow:
            yield Overflow(path, line, phys)
            continue
        if obj is None or obj.get("subcomponent") != "libvirt" or "msg" not in obj:
            yield Foreign(path, line, phys)
            continue
        msg = _message_text(obj.get("msg"))
        level = str(obj.get("level") or "unknown").lower()
        level = {"warn": "warning", "err": "error", "fatal": "error"}.get(level, level)
        if level not in ("debug", "info", "warning", "error", "unknown"):
            level = "unknown"
        f = JsonFields(obj)       # a field present but unreadable: left empty, counted
        func, src_line = f.get("pos", _kubevirt_pos) or (None, None)
        tid = f.get("thread", to_int)
        t = f.get("timestamp", _kubevirt_time)
        if func is None:
            kind, fields = unlocated(msg)
            if kind == "text":
                kind, fields = parse_message(level, msg)
        else:
            kind, fields = parse_message(level, msg)
        yield Record(path, line, t, tid, level, func, src_line, kind, msg, phys, dict(fields), f.bad)


# ---------------------------------------------------------------- daemons in a sample
def whole_head(head: bytes, fmt: str) -> str:
    """The first bytes of an input up to its last whole line (-o export: whole entry), as
    text: a cut entry at the end would show a daemon without its _PID."""
    if fmt == "journal-export":
        cut = head.rfind(b"\n\n") + 2
        return head[:cut if cut >= 2 else len(head)].decode(BINARY_SAFE[fmt])
    return head[:head.rfind(b"\n") + 1 or len(head)].decode("utf-8", "replace")


def origins(sample: str, fmt: str, path: str = "") -> list:
    """The daemons (host, ident, pid) whose records the start of an input holds, in order."""
    from .sources import Block
    seen: dict = {}
    for i, item in enumerate(ITEMS[fmt]([Block(sample, len(sample))], path, False, Context())):
        o = getattr(item, "origin", None)
        if o is not None:
            seen.setdefault(o, None)
        if i > 5000:
            break
    return list(seen)


# ---------------------------------------------------------------- detection
# journalctl -o export: every entry starts with its cursor, then the time stamps
_EXPORT_HEAD = re.compile(rb"(?:\n\n|^)__CURSOR=[^\n]*\n__REALTIME_TIMESTAMP=[0-9]+\n")


def is_export(head: bytes) -> bool:
    """Do these first bytes start a journalctl -o export stream (whose values may be binary)?"""
    return bool(_EXPORT_HEAD.match(head) or (head.startswith(b"__CURSOR=") and _EXPORT_HEAD.search(head[:8192])))


def detect_bytes(head: bytes) -> str | None:
    """Name of the format of an input from its first bytes (after decompression), or None when
    the bytes are binary and no format this reader knows (journalctl's export format holds
    binary values, so it is recognised before the binary test)."""
    if is_export(head):
        return "journal-export"
    from .sources import looks_binary
    if looks_binary(head):
        return None
    return detect(head.decode("utf-8", "replace"))


_PRETTY_FIELD = re.compile(r'\t"(?:__CURSOR|__REALTIME_TIMESTAMP|MESSAGE|_PID|PRIORITY)" : ')


def detect(sample: str) -> str:
    """Name of the format of a file from its first block of text."""
    lines = [ln for ln in sample.splitlines()[:2000] if ln.strip()]
    if not lines:
        return "file"
    # (journalctl before systemd 246 starts with "-- Logs begin at ..., end at ... --", and a
    # journal of several boots has "-- Boot ID --" between them)
    entries = [ln for ln in lines[:50] if not ln.startswith("-- ")]
    if len(entries) > 1 and _VERBOSE_HEAD.match(entries[0]) and _VERBOSE_FIELD.match(entries[1]):
        return "journal-verbose"
    # journalctl -o json-pretty: an entry over many lines, a field a line
    if entries and entries[0].strip() == "{" and any(_PRETTY_FIELD.match(ln) for ln in entries[1:]):
        return "journal-json"
    # JSON lines: journalctl -o json (-seq, -sse), or KubeVirt virt-launcher
    objs = []
    for ln in lines[:200]:
        s = ln.strip()
        if s.startswith(_SSE):
            s = s[len(_SSE):]
        if s.startswith("{"):
            o = json_object(s)
            if o is not None:
                objs.append(o)
    if objs and len(objs) * 2 >= min(len(lines), 200):
        if any("__REALTIME_TIMESTAMP" in o or "MESSAGE" in o for o in objs):
            return "journal-json"
        if any(o.get("subcomponent") == "libvirt" or "component" in o for o in objs):
            return "kubevirt"
    at_start = anywhere = wrapped = wrapped_lv = 0
    for ln in lines:
        if RECORD_START.match(ln):
            at_start += 1
            continue
        m = _WRAP.match(ln)
        if m is not None:
            wrapped += 1
            msg = ln[m.end():]
            if "#" in msg:
                msg = _rsyslog_unescape(msg)
            if _SYSLOG_BODY.match(msg) or RECORD_START.match(msg):
                wrapped_lv += 1
        elif RECORD_ANYWHERE.search(ln):
            anywhere += 1
    # a record that starts mid-line means pasted text (a bug report), unless it is
    # a rare oddity inside a long daemon log
    if at_start and at_start >= wrapped and anywhere * 20 < at_start:
        return "file"
    if wrapped and wrapped >= anywhere:
        return "syslog" if wrapped_lv else "journal"
    if anywhere:
        return "pasted"
    if at_start:
        return "file"
    return "text"


def has_records(sample: str, fmt: str) -> bool:
    """Does this text, read in format fmt, hold at least one libvirt record?"""
    from .sources import Block
    items = ITEMS[fmt]([Block(sample, len(sample))], "-", False, Context())
    return any(item.__class__ is Record for item in items)


# ---------------------------------------------------------------- file format
RECORDS, FOREIGN, OVERFLOW = "records", "foreign", "overflow"


def last_record_start(text: str, match) -> int | None:
    """Where the last record of text starts (None: no record starts in text); match is a
    compiled record-start pattern's match."""
    pos = len(text) - 1 if text.endswith("\n") else len(text)
    while True:
        k = text.rfind("\n", 0, pos)
        if match(text, k + 1):
            return k + 1
        if k < 0:
            return None
        pos = k


def record_chunks(blocks, match):
    """Cut the blocks of a file-format stream where records start; yields (kind, line, text):
    RECORDS: text that ends where a record ends (it may begin with lines of foreign text),
    FOREIGN: text in which no record starts, OVERFLOW: the rest of an over-long line.
    The last record of a block waits for the next block, which may continue it."""
    pending = ""
    pending_line = 0
    next_line = 1
    for block in blocks:
        btext = block.text
        if block.tail:
            if pending:
                yield RECORDS, pending_line, pending
                pending = ""
            yield OVERFLOW, next_line, btext
            next_line += btext.count("\n")
            continue
        if pending:
            text = pending + btext
            line = pending_line
        else:
            text = btext
            line = next_line
        next_line += btext.count("\n") + (block.cut.nlines if block.cut is not None else 0)
        cut = last_record_start(text, match)
        if cut is None:
            yield FOREIGN, line, text
            pending = ""
            continue
        if cut > 0:
            yield RECORDS, line, text[:cut]
            line += text.count("\n", 0, cut)
        pending = text[cut:]
        pending_line = line
        if block.cut is not None:
            # the block ends with its last record, whole, which was cut (recordcut.py)
            yield RECORDS, pending_line, pending
            pending = ""
    if pending:
        yield RECORDS, pending_line, pending


def file_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    """Records of the file format: a record is a line that matches the
    record-start rule plus every following line that does not."""
    finditer = RECORD_START.finditer
    for kind, line, text in record_chunks(blocks, RECORD_START.match):
        if kind is OVERFLOW:
            yield Overflow(path, line, text)
            continue
        if kind is FOREIGN:
            yield Foreign(path, line, text)
            continue
        starts = [m.start() for m in finditer(text)]
        first = starts[0]
        if first > 0:
            yield Foreign(path, line, text[:first])
            line += text.count("\n", 0, first)
        count = text.count
        starts.append(len(text))
        for i in range(len(starts) - 1):
            a, b = starts[i], starts[i + 1]
            raw = text[a:b]
            yield parse_record(_strip_eol(raw), path, line, raw, with_fields)
            line += count("\n", a, b)


def pasted_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    """One-line records found anywhere in a line; the text before them and
    every other line is foreign."""
    line = 1
    for block in blocks:
        if block.tail:
            yield Overflow(path, line - 1, block.text)
            continue
        for phys in physical_lines(block.text):
            m = RECORD_ANYWHERE.search(phys)
            if m is None:
                yield Foreign(path, line, phys)
            else:
                if m.start():
                    yield Foreign(path, line, phys[:m.start()])
                raw = phys[m.start():]
                rec = parse_record(_strip_eol(raw), path, line, raw, with_fields)
                yield rec
            line += 1


def text_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    line = 1
    for block in blocks:
        if block.text:
            yield Foreign(path, line, block.text)
            line += block.text.count("\n")


ITEMS = {"file": file_items, "pasted": pasted_items, "syslog": syslog_items,
         "journal": journal_items, "journal-json": journal_json_items,
         "journal-export": journal_export_items, "journal-verbose": journal_verbose_items,
         "kubevirt": kubevirt_items, "text": text_items}
# formats whose bytes are not UTF-8 text throughout: read as Latin-1, one character per byte
BINARY_SAFE = {"journal-export": "latin-1"}
