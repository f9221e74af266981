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

import re
import time as _time

from .families import parse_message, unlocated
from .fastpath import build_record, parse_record
from .header import AFTER_STAMP, RECORD_ANYWHERE, RECORD_START
from .records import Foreign, Overflow, Record
from .values import JsonFields, civil_epoch, epoch, header_values, json_object, not_a_date, to_int, usec_epoch

FORMATS = ("file", "pasted", "syslog", "journal", "journal-json", "kubevirt", "text")


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
# `ident[pid]: msg` (no date and host: then the [pid] is required).
_WRAP = re.compile(
    r"(?:(?:(?P<bsd>(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<day>[ \d]\d) "
    r"(?P<hms>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?))"
    r" (?P<host>\S+) (?P<ident>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?"
    r"|(?P<ident2>[^\s\[\]:]+)\[(?P<pid2>\d+)\]): ")

_LIBVIRT_IDENT = re.compile(r"(?:libvirt[\w.-]*|virt\w*d)$")

_RSYSLOG_ESC = re.compile(r"#0(?:12|15|11)")
_ESC = {"#012": "\n", "#015": "\r", "#011": "\t"}


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
    mon = _MONTHS[m["mon"]]
    ctx.year_used = True
    hh, mm, ss = (int(x) for x in m["hms"].split(":"))
    frac = float(m["frac"]) if m["frac"] else 0.0
    day = int(m["day"])
    t = civil_epoch(ctx.year, mon, day, hh, mm, ss)
    if t is not None and ctx.mtime is not None and t > ctx.mtime + 86400:
        t = civil_epoch(ctx.year - 1, mon, day, hh, mm, ss)
    return None if t is None else t + frac


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


def _level_less(msg: str):
    """Level, kind, fields of a message that came without a level (journal text):
    a message that starts with a libvirt error prefix is an error, the rest
    is read as a debug/info body ('unknown' level)."""
    kind, fields = unlocated(msg)
    if kind != "text":
        return "info", kind, fields
    kind, fields = parse_message("unknown", msg)
    if kind == "text":
        ek, ef = parse_message("error", msg)
        if ef.get("prefix"):
            return "error", ek, ef
    return "unknown", kind, fields


def _wrapped_record(m, line_text: str, raw: str, path: str, line: int, ctx: Context,
                    syslog: bool, with_fields: bool):
    """One wrapper line -> Record or None (not a libvirt line)."""
    msg = line_text[m.end():]
    if syslog and "#0" in msg:
        msg = _RSYSLOG_ESC.sub(lambda e: _ESC[e.group()], msg)
    ident = m["ident"] or m["ident2"]
    # a whole file-format record inside the wrapper: its own UTC time wins
    if RECORD_START.match(msg):
        rec = parse_record(msg, path, line, raw, with_fields)
        if rec is not None:
            return rec
    b = AFTER_STAMP.match(msg)
    if m["bsd"]:
        t = _bsd_time(m, ctx)
    elif m["iso"]:
        t = _iso_time(m["iso"])
    else:
        t = None
    bad = not_a_date(m["bsd"] or m["iso"]) if t is None and (m["bsd"] or m["iso"]) else None
    if b is not None:
        tid_s, level, funcloc = b.groups()
        _, tid, bad_tid = header_values(None, tid_s[:-2])
        return build_record(path, line, t, tid, level, funcloc, msg[b.end():], raw, with_fields,
                            bad or bad_tid)
    if not _LIBVIRT_IDENT.match(ident):
        return None
    level, kind, fields = _level_less(msg)
    return Record(path, line, t, None, level, None, None, kind, msg, raw, dict(fields), bad)


def _wrapped_items(blocks, path, with_fields, ctx, syslog):
    ctx = ctx or Context()
    line = 1
    pend = None            # [record, indent] of a journal record that may continue
    match = _WRAP.match
    for block in blocks:
        if block.tail:
            if pend:
                yield pend[0]
                pend = None
            yield Overflow(path, line - 1, block.text)
            continue
        for phys in block.text.splitlines(keepends=True):
            text = _strip_eol(phys)
            m = match(text)
            if m is not None:
                if pend:
                    yield pend[0]
                    pend = None
                rec = _wrapped_record(m, text, phys, path, line, ctx, syslog, with_fields)
                if rec is None:
                    yield Foreign(path, line, phys)
                elif syslog:
                    yield rec
                else:
                    pend = [rec, m.end()]
            elif pend and text[:1] in (" ", "\t") and text.strip():
                # journalctl indents the further lines of a multi-line message
                rec, indent = pend
                cont = text[indent:] if text[:indent].strip() == "" else text.lstrip()
                rec.raw += phys
                rec.message += "\n" + cont
                if rec.tid is None and rec.func is None:
                    level, kind, fields = _level_less(rec.message)
                    rec.level, rec.kind, rec._fields = level, kind, dict(fields)
                else:
                    rec._fields = None
            else:
                if pend:
                    yield pend[0]
                    pend = None
                yield Foreign(path, line, phys)
            line += 1
    if pend:
        yield pend[0]


def syslog_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    return _wrapped_items(blocks, path, with_fields, ctx, True)


def journal_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    return _wrapped_items(blocks, path, with_fields, ctx, False)


# ---------------------------------------------------------------- JSON lines
# journald PRIORITY -> libvirt level (virLogPrioritySyslog in reverse)
_PRIORITY = {"0": "error", "1": "error", "2": "error", "3": "error", "4": "warning",
             "5": "info", "6": "info", "7": "debug"}


def _json_lines(blocks, path):
    """(line, physical line, parsed object or None) of JSON-lines input."""
    line = 1
    for block in blocks:
        if block.tail:
            yield line - 1, block.text, Overflow
            continue
        for phys in block.text.splitlines(keepends=True):
            s = phys.strip()
            obj = json_object(s) if s.startswith("{") else None
            yield line, phys, obj
            line += 1


def _message_text(v) -> str:
    if isinstance(v, list):      # journald exports non-printable messages as a byte array
        try:
            return bytes(v).decode("utf-8", "replace")
        except (ValueError, TypeError):
            return str(v)
    return "" if v is None else str(v)


def journal_json_items(blocks, path: str, with_fields: bool = False, ctx: Context | None = None):
    for line, phys, obj in _json_lines(blocks, path):
        if obj is Overflow:
            yield Overflow(path, line, phys)
        elif obj is None or "MESSAGE" not in obj:
            yield Foreign(path, line, phys)
            continue
        msg = _message_text(obj.get("MESSAGE"))
        if msg.endswith("\n"):
            msg = msg[:-1]
        level = _PRIORITY.get(str(obj.get("PRIORITY", "")), None)
        f = JsonFields(obj)       # a field present but unreadable: left empty, counted
        func = f.get("CODE_FUNC", _text)
        src_line = f.get("CODE_LINE", to_int)
        t = f.get("__REALTIME_TIMESTAMP", usec_epoch)
        if func is None:
            kind, fields = unlocated(msg)
            if kind == "text":
                if level is None:
                    level, kind, fields = _level_less(msg)
                else:
                    kind, fields = parse_message(level, msg)
            elif level is None:
                level = "info"
        else:
            if level is None:
                level = "unknown"
            kind, fields = parse_message(level, msg)
        yield Record(path, line, t, None, level, func, src_line, kind, msg, phys, dict(fields), f.bad)


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


# ---------------------------------------------------------------- detection
def detect(sample: str) -> str:
    """Name of the format of a file from its first block of text."""
    lines = [ln for ln in sample.splitlines()[:2000] if ln.strip()]
    if not lines:
        return "file"
    # JSON lines: journalctl -o json, or KubeVirt virt-launcher
    objs = []
    for ln in lines[:200]:
        s = ln.strip()
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
            if "#0" in msg:
                msg = _RSYSLOG_ESC.sub(lambda e: _ESC[e.group()], msg)
            if AFTER_STAMP.match(msg) or RECORD_START.match(msg):
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
        next_line += btext.count("\n")
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
        for phys in block.text.splitlines(keepends=True):
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
         "kubevirt": kubevirt_items, "text": text_items}
