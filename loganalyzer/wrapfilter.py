"""The fast route for the wrapped forms: rsyslog files of `log_outputs="N:syslog:IDENT"`
(libvirt's `TID: level : func:line : msg` after the syslog prefix, multi-line records escaped
onto one line), `journalctl -o json` of `log_outputs="N:journald"`, and journalctl's text of
the same records (`short`, `short-precise`, `short-iso`: a bare message after the prefix, its
further lines indented below it).

As prefilter.py does for the file form: the input is read in large byte blocks cut at line
ends (journal text: at the start of a record); for each block Arrow (RE2, GIL released) marks
the lines of the daemon the input is about and, among them, the lines the correlator may read
(a pattern made from the same reading list, on the wrapped line: a superset, since the
correlator's own test on the parsed record decides; for a bare message, from the format
strings signatures.py recognises its function by), and NumPy reads every line's time (whole
seconds) for the silence detector.  Only those records are parsed in Python, by the same code
as the reference route (formats.body_record / formats.native_record /
formats.JournalTextRecords).

The route covers one daemon per input.  A line of another libvirt daemon (a
/var/log/messages of several, a journal with a daemon restart), a record that spans several
wrapper lines (libvirt's stderr or file-format lines read back from the journal) raises
Fallback, and the caller reads the input through the reference route instead.
tests/test_forms.py proves both routes give the same analysis.
"""
from __future__ import annotations

import json
import re
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fieldscan, formats
from .arrays import from_numpy, int64s
from .formats import Fallback
from .correlate.build import GAP_SECONDS, READING
from .prefilter import scan_ahead, true_positions, valid_utf8
from .reader import FileFacts, daemon_from_name
from .records import Foreign, Record
from .sources import STREAM_ERRORS, note_end, open_binary
from .values import byte_rows, stamp_times

BLOCK = 8 << 20


# ---------------------------------------------------------------- what may be read, wrapped
def _syslog_body_pattern() -> str:
    """The reading list on libvirt's syslog body `TID: LEVEL : FUNC:LINE : MESSAGE` (control
    characters escaped as #ooo: patterns that stop at a newline read on, a superset)."""
    from .correlate.interest import HEADER_LINES
    return "(?:[0-9]+: (?:" + READING.file_pattern() + "|" + HEADER_LINES + "))"


# Records with error text on a further line (the reference route reads it there), each form's
# line break as it is escaped.  A pattern of its own: in one alternation with the reading list
# it makes RE2 twice as slow on a JSON block; alone it is found from its rare first byte.
_SYSLOG_FURTHER_ERROR = "#012[^\n]*(?:error|warning) ?: "
_JSON_FURTHER_ERROR = r'\\n[^"]*(?:error|warning) ?: '
# journalctl writes a message with a control character besides \n and \t (every QMP message
# has \r\n) as bytes.  -o json: an array of numbers, the words and ': ' as their codes after
# a 10 (looked for in the reading list's pass: alone, from the array's '[', it costs twice
# as much).  -o export: raw bytes after an 8-byte length, which holds NULs; the key without
# 'MESSA', found from the rarer 'G' (2.4 ms an 8 MB block, not 3.4: a superset).
_ERROR_WORD_CODES = "(?:101,114,114,111,114|119,97,114,110,105,110,103),(?:32,)?58,32[,\\]]"
_JSON_ARRAY_FURTHER_ERROR = r"\[[0-9,]*,10,[0-9,]*" + _ERROR_WORD_CODES
_EXPORT_FURTHER_ERROR = "GE\n(?s:.{8})[^\x00]*?\n[^\n]*(?:error|warning) ?: "
_RAW_FURTHER_ERROR = "\n[^\n]*(?:error|warning) ?: "      # in a raw value alone (fieldscan)


def _json_patterns(export: bool = False) -> tuple:
    """The reading list on a `journalctl -o json` line (export: on an `-o export` entry), whose
    fields come in any order: the functions it reads (CODE_FUNC), errors and warnings (PRIORITY
    0-4), and the messages it reads by their start (probes, job, phase and thread-job lines, the
    start-up header lines).  Message patterns are cut to their leading text (JSON escapes
    quotes): a superset.

    JSON: three patterns, one for each field, each without the first bytes of its key.  RE2
    skips to the first byte of a pattern's literal start, so a rare one pays, whereas one
    alternation starting at the keys' quote, the commonest byte, runs its automaton over every
    byte: the three searches take 7 ms an 8 MB block where the one took 9.  What the dropped
    bytes left out (another key ending the same way) only widens the superset.  Export: one
    alternation, each field from the line break before it (RE2 skips to each line start; three
    searches took twice its time)."""
    if export:
        def field(name, value):
            return "\n" + name + "=" + value + "\n"
    else:
        def field(name, value):
            return name + '":"' + value + '"'
    funcs, message = _reading_alternations(export)
    if export:
        return ("(?:" + field("PRIORITY", "[0-4]") + "|" + field("CODE_FUNC", funcs)
                + "|\nMESSAGE=" + message + ")",)
    # the message as text; or left out by journalctl (read as records, which counts them for
    # the warning); or as bytes, with error text on a further line
    message = 'GE":(?:"' + message + "|null|" + _JSON_ARRAY_FURTHER_ERROR + ")"
    # (a function that is no text, an array when given twice: read as a record, which counts
    # it unreadable as the reference route does in every record)
    # and a source line that may not be a number (values.to_int reads "" as absent)
    return (field("PRIORITY", "[0-4]"), 'FUNC":(?:"' + funcs + '"|[^"])', message,
            'E_LINE":(?:"[^"]*[^0-9"]|"[0-9]{9}|[^"])')


def _reading_alternations(export: bool) -> tuple:
    """(the functions, the message starts) of the reading list, each one alternation, as
    the form writes them (JSON escapes quotes)."""
    funcs = [re.escape(f) for f in sorted(READING.funcs)]
    msgs = []
    for d in READING.declarations:
        if d.func_pattern and d.message:
            # (a pattern that names any function, narrowed by its message: the message decides)
            msgs.append(_leading_text(d.message))
        elif d.func_pattern:
            funcs.append(d.func_pattern)
        elif d.probe:
            # a probe's narrowing pattern, with JSON's escaped quotes
            msgs.append(re.escape(d.probe) + ": " + (d.message or "" if export else (d.message or "").replace('"', r'\\"')))
        elif d.kind and d.kind != "error":
            msgs.append(_leading_text(d.message or ""))
    msgs += ["libvirt version: ", "hostname: "]
    return "(?:" + "|".join(funcs) + ")", "(?:" + "|".join(msgs) + ")"


def _leading_text(pattern: str) -> str:
    """The part of a message pattern before anything that JSON could escape or RE2 could
    read otherwise (quotes, backslashes, classes): a prefix of what it matches."""
    m = re.match(r"[A-Za-z0-9 '(?:|)]*", pattern)
    head = m.group() if m else ""
    # keep whole groups only
    while head.count("(") != head.count(")"):
        head = head[:head.rfind("(")]
    return head.rstrip("|")


# ---------------------------------------------------------------- blocks
# Each form cuts its blocks at the last item boundary a buffer holds: a line starts after a
# line break; a journal-text record at a line whose first byte is not blank; an -o export
# entry after its empty line, at "__CURSOR=".  0: no boundary known.
def _line_cut(chunk) -> int:
    """Where the line after chunk's last line break begins (0: chunk holds no line break)."""
    return chunk.rfind(b"\n") + 1


def _blocks(stream, blocksize, cut_at=_line_cut):
    """Blocks of whole items.  Each is read straight into a buffer of its own, after what the
    block before left over (its unfinished item, the one copy), and handed on as a view up to
    its last item boundary (cut_at).  (Reading 800 MB of JSON took 0.45 s when each chunk was
    copied behind the left-over, holding the GIL; handing the left-over on as a small block of
    its own doubled the blocks, each with the fixed costs of a scan.)  The buffer is NumPy's
    (a bytearray would be zeroed first: 4 ms an 8 MB block).  A block is a memoryview."""
    carry = b""
    while True:
        k = len(carry)
        # (one size for every buffer but those of items longer than a block: freed buffers of
        # many sizes would fragment the heap, ~40 MB more peak RSS on 800 MB of JSON)
        buf = np.empty(blocksize if k < blocksize // 2 else k + blocksize, np.uint8)
        buf[:k] = np.frombuffer(carry, np.uint8)
        end = k + read_into(stream, buf, k)
        view = memoryview(buf)[:end]
        if end == k:
            if carry:
                yield view
            return
        cut = _last_cut(view, cut_at)
        if cut == 0:
            if end > MAX_CARRY:
                raise Fallback(f"a record of more than {MAX_CARRY >> 20} MiB")
            carry = bytes(view)
            continue
        yield view[:cut]
        carry = bytes(view[cut:])


def _last_cut(view, cut_at, window: int = 1 << 16) -> int:
    """cut_at of a buffer, found in its last window bytes (doubled until one holds a cut, or
    the whole): a copy of the tail, not of the block (cut_at reads bytes).  0: none."""
    end = len(view)
    while True:
        at = max(0, end - window)
        cut = cut_at(bytes(view[at:]))
        if cut or at == 0:
            return at + cut if cut else 0
        window *= 4


def read_into(stream, buf, at: int) -> int:
    """Fill buf (a writable buffer) from position at with stream's next bytes (fewer at the
    end of the input): the number read.  readinto writes them in place; a stream without it is
    read and copied."""
    got = 0
    with memoryview(buf).cast("B") as view:
        readinto = getattr(stream, "readinto", None)
        while at + got < len(view):
            with view[at + got:] as rest:
                if readinto is not None:
                    n = readinto(rest)
                else:
                    data = stream.read(len(rest))
                    n = len(data)
                    rest[:n] = data
            if not n:
                break
            got += n
    return got


# the most one item may hold in this route (the indented lines of one journal-text message)
MAX_CARRY = 64 << 20


def _record_cut(chunk) -> int:
    """Where the last line of chunk that starts a record (its first byte not blank) begins;
    0 if none is known to (the line after the chunk's last line break may go on below)."""
    i = chunk.rfind(b"\n")
    while i >= 0 and (i + 1 >= len(chunk) or chunk[i + 1] in b" \t"):
        i = chunk.rfind(b"\n", 0, i)
    return i + 1


_ENTRY = b"\n\n__CURSOR="       # an -o export entry ends with an empty line, the next starts so


def _entry_cut(chunk) -> int:
    """Where the last -o export entry that starts in chunk begins (0: none known to)."""
    at = chunk.rfind(_ENTRY)
    return at + 2 if at >= 0 else 0


def _mark(scan, profile, items, cand, b, off, buf):
    """A scan's daemon items (plain), its candidates among them (cand: what the reading list
    may read) and the daemon items' whole seconds; items: the block's lines or entries, off
    where each begins."""
    n = len(items)
    plain = profile.plain(items, b, off, n)
    if plain is None:           # every item is one of the daemon's
        scan.plain = np.arange(n, dtype=np.int64)
        scan.candidates = true_positions(cand)
    else:
        scan.plain = true_positions(plain)
        scan.candidates = true_positions(pc.and_(plain, cand))
    scan.secs = profile.seconds(b, off[scan.plain], items, scan.plain, buf)


class _EntryScan:
    """One block of `-o export` entries (each up to and with its empty line): the daemon's
    entries (plain), the candidates, whole seconds; the line each entry starts on."""

    __slots__ = ("buf", "starts", "nlines", "plain", "candidates", "secs", "valid_utf8", "nentries", "lines",
                 "fields")

    def __init__(self, buf: bytes, profile):
        self.buf = buf
        self.valid_utf8 = True
        items = profile.fields.read(buf) if profile.fields is not None else None
        if items is not None:
            self.starts, self.lines = items.offsets[:-1], items.lines[:-1]
            self.nentries, self.nlines = len(self.starts), int(items.lines[-1])
            self.plain, self.candidates, self.secs = items.plain, items.candidates, items.secs
            self.fields = items.fields
            return
        self.fields = None
        b = np.frombuffer(buf, np.uint8)
        nl = _newlines(b)
        self.nlines = len(nl) + (0 if buf[-1:] == b"\n" or not buf else 1)
        if buf[-2:] != b"\n\n" or buf[-3:] == b"\n\n\n" or buf[:9] != b"__CURSOR=":
            raise Fallback("-o export text that is not whole entries")
        # where each entry starts: after every empty line that "__CURSOR=" follows
        k = np.flatnonzero(nl[1:] - nl[:-1] == 1)
        after = nl[k + 1] + 1
        start = after + len(_ENTRY) - 2 <= len(b)
        for c, ch in enumerate(_ENTRY[2:]):
            start[start] = b[after[start] + c] == ch
        at = after[start]
        starts = np.concatenate(([0], at)).astype(np.int64)
        off = np.append(starts, len(buf))
        # An entry with an empty line inside: a raw value that ends in a line break (a domain
        # XML, a cookie), or text after the entry's own empty line (which the reference route
        # reads as foreign text: here, the end of this route).  Read field by field to tell:
        # the fields must end at the entry's last empty line.
        inner = after[~start & (after < len(b))]
        for i in np.unique(np.searchsorted(starts, inner, side="right") - 1).tolist():
            text = str(buf[off[i]:off[i + 1]], "latin-1")
            if formats.export_fields(text)[1] != len(text) - 1:
                raise Fallback("empty lines between -o export entries")
        self.starts, self.nentries = starts, len(starts)
        # (the line breaks before each entry: its first line, counted from the block's)
        self.lines = np.searchsorted(nl, starts)
        entries = pa.Array.from_buffers(pa.large_binary(), len(starts), [None, pa.py_buffer(off), pa.py_buffer(buf)])
        cand = _match_any(entries, profile.candidates)
        further = pc.match_substring_regex(entries, profile.further_error)
        if further.true_count:
            cand = pc.or_(cand, further)
        _mark(self, profile, entries, cand, b, off, buf)

    def first_line(self, i: int) -> int:
        """The number of line breaks in the block before entry i."""
        return int(self.lines[i])


class _Scan:
    """One block: its lines, the daemon's own lines (plain), the candidates, whole seconds."""

    __slots__ = ("buf", "offsets", "nlines", "plain", "candidates", "secs", "valid_utf8", "cont", "further",
                 "starts", "fields")

    def __init__(self, buf: bytes, profile):
        self.buf = buf
        b = np.frombuffer(buf, np.uint8)
        self.cont = self.further = self.starts = self.fields = None
        fields = getattr(profile, "fields", None)
        items = fields.read(buf) if fields is not None else None
        if items is not None:
            self.offsets, self.nlines = items.offsets, len(items.offsets) - 1
            lines = pa.LargeStringArray.from_buffers(self.nlines, pa.py_buffer(items.offsets), pa.py_buffer(buf))
            self.valid_utf8 = items.ascii or valid_utf8(b, lines)
            self.plain, self.candidates, self.secs = items.plain, items.candidates, items.secs
            self.fields = items.fields
            return
        nl = _newlines(b)
        n = len(nl) + (0 if buf[-1:] == b"\n" or not buf else 1)
        off = np.empty(n + 1, np.int64)
        off[0] = 0
        off[1:len(nl) + 1] = nl + 1
        if n > len(nl):
            off[n] = len(buf)
        self.offsets, self.nlines = off, n
        lines = pa.LargeStringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(buf))
        self.valid_utf8 = valid_utf8(b, lines)
        cand = _match_any(lines, profile.candidates)
        further = pc.match_substring_regex(lines, profile.further_error)
        inside = getattr(profile, "libvirt_inside", None)
        if inside is not None:
            # journal text: further lines of a message are lines of their own here
            if pc.any(pc.match_substring_regex(lines, inside)).as_py():
                raise Fallback("libvirt lines inside journal messages")
            cont = pc.match_substring_regex(lines, profile.continuation)
            self.cont = true_positions(cont)
            self.starts = true_positions(pc.invert(cont))    # where each record or foreign line begins
            self.further = true_positions(further)
        elif further.true_count:
            cand = pc.or_(cand, further)
        _mark(self, profile, lines, cand, b, off, buf)


def _match_any(items, patterns):
    """Which items match any of the patterns (each searched for on its own)."""
    found = None
    for p in patterns:
        m = pc.match_substring_regex(items, p)
        found = m if found is None else pc.or_(found, m)
    return found


_scratch = threading.local()


def _newlines(b) -> np.ndarray:
    """Where b's line breaks are; the byte mask goes to a buffer each scan thread keeps (a new
    one of 8 MB a block costs its page faults again: a third of the search)."""
    mask = getattr(_scratch, "mask", None)
    if mask is None or len(mask) < len(b):
        mask = _scratch.mask = np.empty(max(len(b), BLOCK + (1 << 20)), bool)
    return np.flatnonzero(np.equal(b, 10, out=mask[:len(b)]))


class _SyslogProfile:
    """rsyslog lines of one daemon: `STAMP HOST IDENT: TID: level : ...`, the traditional
    (`Dec  6 20:17:41`) or the high-precision (`2026-12-06T20:17:41.367117+00:00`) stamp."""

    def __init__(self, sample_line: str, ctx):
        m = formats._WRAP.match(sample_line)
        if m is None or not (m["bsd"] or m["iso"]):
            raise Fallback("no syslog prefix")
        self.bsd = bool(m["bsd"])
        self.stamp_len = m.end("iso") if m["iso"] else m.end("bsd")
        prefix = sample_line[self.stamp_len:m.end()]
        self.ctx = ctx
        # (journalctl's short-precise: a fraction after the seconds)
        stamp = r"[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9](?:\.[0-9]+)?" if self.bsd else \
            r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
        if not self.bsd:
            stamp += sample_line[19:self.stamp_len].translate(str.maketrans("0123456789", "dddddddddd")) \
                .replace("d", "[0-9]").replace("+", r"\+").replace(".", r"\.")
        self.line_head = "^" + stamp + re.escape(prefix)
        self._year_cache: dict = {}
        self.patterns()

    def patterns(self):
        # (a thread id of 19 digits or more may not fit: the reference route reads those lines)
        self.head = self.line_head + "[0-9]{1,18}: (?:debug|info|warning|error) : "
        self.candidates = (self.line_head + _syslog_body_pattern(),)
        self.further_error = _SYSLOG_FURTHER_ERROR

    def plain(self, lines, b, off, n):
        return pc.match_substring_regex(lines, self.head)

    def seconds(self, b, starts, lines, idx, buf) -> np.ndarray:
        if len(starts) == 0:
            return np.empty(0, np.int64)
        top = len(b) - 1

        def col(k):
            return b[np.minimum(starts + k, top)].astype(np.int64)

        def num(*ks):
            v = col(ks[0]) - 48
            for k in ks[1:]:
                v = v * 10 + col(k) - 48
            return v
        if self.bsd:
            # month and day -> midnight of that day in the assumed year (formats._bsd_time)
            key = col(0) * 65536 + col(1) * 256 + col(2)
            day = np.where(col(4) == 32, 0, col(4) - 48) * 10 + col(5) - 48
            code = key * 64 + day
            midnight = np.empty(len(code), np.int64)
            for c in np.unique(code).tolist():
                midnight[code == c] = self._midnight(c)
            return midnight + num(7, 8) * 3600 + num(10, 11) * 60 + num(13, 14)
        # the UTC offset, "+HH:MM" or "Z", after the fraction: its sign and numbers
        east = np.ones(len(starts), bool)
        oh = np.zeros(len(starts), np.int64)
        om = np.zeros(len(starts), np.int64)
        rest = pc.utf8_slice_codeunits(pc.take(lines, int64s(idx)), 19, self.stamp_len)
        for val in pc.unique(rest).to_pylist():
            off = _utc_offset(val)
            if off:
                at = true_positions(pc.equal(rest, val))
                east[at], oh[at], om[at] = off[0], off[1], off[2]
        zero = np.zeros(len(starts), np.int64)
        t, ok = stamp_times(num(0, 1, 2, 3), num(5, 6), num(8, 9), num(11, 12), num(14, 15), num(17, 18),
                            zero, east, oh, om)
        if not ok.all():
            raise Fallback("a time stamp that is not a date")
        return np.floor(t).astype(np.int64)

    def _midnight(self, code: int) -> int:
        if code not in self._year_cache:
            key, day = divmod(code, 64)
            mon = bytes(((key >> 16) & 255, (key >> 8) & 255, key & 255)).decode("ascii", "replace")
            m = formats._WRAP.match(f"{mon} {day:2d} 00:00:00 h i: ")
            t = formats._bsd_time(m, self.ctx) if m else None
            if t is None:
                raise Fallback("a time stamp that is not a date")
            self._year_cache[code] = int(t)
        return self._year_cache[code]

    def record(self, raw: str, path: str, line: int):
        return formats.body_record(formats._strip_eol(raw), raw, path, line, self.ctx)

    def other(self, raw: str):
        """A line that is not one of the daemon's: foreign text, or another libvirt daemon.  An
        indented line is the reference route's to read: below a record it is a further line of
        its message (as journalctl writes them; an rsyslog file has none unless its escaping is
        off), below anything else foreign text.  (Journal text reads its own, never here.)"""
        if raw[:1] in (" ", "\t"):
            raise Fallback("an indented line in a syslog file")
        origin, libvirt = formats.wrapper_origin(formats._strip_eol(raw))
        if libvirt:
            raise Fallback(f"a line of another libvirt daemon or form: {origin}")


def _utc_offset(s: str):
    """(east, hours, minutes) of an RFC 3339 stamp's end ('.367117+00:00', 'Z'), None for UTC."""
    m = re.search(r"([+-])(\d\d):?(\d\d)$", s)
    if not m or (m.group(2) == "00" and m.group(3) == "00"):
        return None
    return m.group(1) == "+", int(m.group(2)), int(m.group(3))


class _JournalTextProfile(_SyslogProfile):
    """journalctl text (short, short-precise, short-iso) of one daemon's native journald
    records: `STAMP HOST IDENT[PID]: MESSAGE`, a bare message (no thread, level or function),
    the further lines of a multi-line message indented below it."""

    def patterns(self):
        self.head = self.line_head
        self.candidates = (self.line_head + "(?:" + _bare_message_pattern() + ")",)
        # (error text on an indented further line: its record is read)
        self.further_error = r"^[ \t][^\n]*(?:error|warning) ?: "
        self.continuation = r"^[ \t]"
        # a libvirt line inside the message (stderr or syslog output read back from the
        # journal): records that span wrapper lines, for the reference route
        from .header import RECORD_START_PATTERN
        self.libvirt_inside = self.line_head + "(?:" + RECORD_START_PATTERN + "|[0-9]+: (?:debug|info|warning|error) : )"

    def record(self, raw: str, path: str, line: int):
        raise NotImplementedError("journal text records are built from all their lines")


def _bare_message_pattern() -> str:
    """What the correlator may read of a bare journal message (no thread, level or function),
    on the text after the wrapper's prefix: a superset, as the reference route decides a bare
    message's function and level from libvirt's format strings (signatures.py) and its kind
    from its words (formats.bare_record)."""
    from . import signatures
    from .grammar import TERMINALS as T
    wanted = set(READING.funcs) | set(signatures._MIGRATE_APIS)
    alts = set()
    for func, level, fmt in (*signatures.FORMATS, (signatures.DISPATCH_UNNAMED, None, signatures.DISPATCH_FORMAT)):
        if func in wanted or level in ("error", "warning") or func == signatures.DISPATCH_UNNAMED:
            # the recogniser's own pattern of the format (RE2 reads it the same way)
            alts.add(signatures.format_pattern(fmt))
    alts.update(re.escape(p) for p in signatures._API_LATER_LINES)
    for d in READING.declarations:
        if d.probe:
            alts.add(re.escape(d.probe) + ": " + (d.message or ""))
        elif d.message and (d.kind or d.func_pattern):
            alts.add(_leading_text(d.message))
    alts.update(("libvirt version: ", "hostname: "))
    # messages the reference route calls errors by their words (formats._level_less)
    alts.add(T["ERR_PREFIX"].rstrip("/").lstrip("/").replace(" (?=.)", " "))
    alts.add("[^\n]*" + formats._SYSTEM_ERROR.pattern.replace(")$", ")\r?\n?$"))
    # (an empty alternative would make every message a candidate)
    return "|".join(sorted(alts)) if all(alts) else ""


def _native_origin(obj):
    """(host, pid) of a native journald entry of a process (None: another transport, no pid)."""
    host, ident, pid = formats.journal_origin(obj)
    return (host, pid) if pid and formats._field(obj, "_TRANSPORT") == "journal" else None


def _native_daemon(obj) -> tuple:
    """(host, pid) of a libvirt daemon's native journald entry; Fallback for any other."""
    origin = _native_origin(obj)
    if origin is None:
        raise Fallback("not a native journald record")
    return origin


def _a_daemon_record(obj) -> bool:
    """Is obj (a journal entry, or None) a native record of a libvirt daemon?"""
    return isinstance(obj, dict) and formats.libvirt_entry(obj) and _native_origin(obj) is not None


def _first_daemon_entry(text: str):
    """The first whole -o export entry of text that is a libvirt daemon's native record (entries
    walked by the reference reader's rules, raw values with empty lines inside them too)."""
    pos = 0
    while pos < len(text):
        obj, end = formats.export_fields(text[pos:])
        if obj is None or not text.startswith("\n", pos + end):
            return None             # (the head's last entry, cut)
        if _a_daemon_record(obj):
            return text[pos:pos + end + 1]
        pos += end + 1
    return None


def _not_a_daemon(obj):
    """Fallback if an entry that is not the input's daemon's is a libvirt daemon's record."""
    if isinstance(obj, dict) and formats.may_be_record(obj) and formats.libvirt_entry(obj):
        raise Fallback(f"a record of another daemon or transport: {formats.journal_origin(obj)}")


def _own_values(pid, host_written) -> dict:
    """The daemon's _PID, _TRANSPORT and _HOSTNAME (host_written: as the form writes it; None
    without one) as the field walk compares them, value by value."""
    own = {"_PID": str(pid).encode(), "_TRANSPORT": b"journal"}
    if host_written:
        own["_HOSTNAME"] = host_written.encode()
    return own


class _JsonProfile:
    """`journalctl -o json` lines of one daemon's native journald records."""

    # A record's time: the sender's, else journald's (as formats.native_record reads it), each
    # key as this form writes it, with what ends its 16 digits.  The usual case is found by one
    # search for a short part of the sender's key that begins with a rarer byte (time_probe,
    # see _seconds_after), the rest of the key checked around it.
    time_keys = ('"_SOURCE_REALTIME_TIMESTAMP":"', '"__REALTIME_TIMESTAMP":"')
    time_end = b'"'
    time_probe = b"URCE_R"

    def __init__(self, sample_line: str, ctx):
        try:
            obj = json.loads(sample_line)
        except ValueError:
            raise Fallback("no JSON") from None
        host, pid = _native_daemon(obj)
        self.ctx = ctx
        self.origin = formats.journal_origin(obj)
        self.own = _own_values(pid, host and json.dumps(host)[1:-1])
        # Each needle without its key's leading quote and underscore: RE2 then finds it from a
        # rare first byte (three times faster), and scans run in Arrow with the GIL released
        # (bytes.count holds it).  The first is found, not only matched, and the two bytes
        # before it must be '"_', so that it stands for "_PID" (not a coredump's COREDUMP_PID
        # or an OBJECT_PID).  The transport from 'P' (2.5 ms a block, not 4.2 from 'T'): a key
        # ending in PORT whose value is "journal" (raw quotes: a key, never text in a value).
        self.needles = [re.escape(f'PID":"{pid}"'), re.escape('PORT":"journal"')]
        if host:
            self.needles.append(re.escape(f'HOSTNAME":{json.dumps(host)}'))
        self.candidates = _json_patterns()
        self.further_error = _JSON_FURTHER_ERROR
        self.fields = fieldscan.FieldReading(self.own, *_reading_alternations(False), _JSON_FURTHER_ERROR,
                                             _JSON_ARRAY_FURTHER_ERROR, False) if fieldscan.available() else None

    def plain(self, lines, b, off, n):
        """None when every line is one of the daemon's (the usual case), else a mask of its lines."""
        pos = _ints(pc.find_substring_regex(lines, self.needles[0]))
        at = off[:n] + pos - 2
        ok = (pos >= 2) & (b[np.maximum(at, 0)] == 34) & (b[np.maximum(at + 1, 0)] == 95)     # '"_'
        others = [pc.match_substring_regex(lines, nd) for nd in self.needles[1:]]
        if ok.all() and all(m.true_count == n for m in others):
            return None
        m = from_numpy(ok, pa.bool_())      # (a NumPy mask to Arrow: costs more than the searches)
        for o in others:
            m = pc.and_(m, o)
        return m

    def seconds(self, b, starts, lines, idx, buf) -> np.ndarray:
        if len(idx) == 0:
            return np.empty(0, np.int64)
        sub = lines if len(idx) == len(lines) else pc.take(lines, int64s(idx))
        fast = _seconds_after(b, starts, sub, self.time_keys[0].encode(), self.time_probe, self.time_end)
        if fast is not None:
            return fast
        # (entries without the sender's time, or with a key elsewhere too: each one's first)
        out = np.full(len(idx), -1, np.int64)
        for name in self.time_keys:
            pos = _ints(pc.find_substring(sub, name))
            todo = (out < 0) & (pos >= 0)
            if not todo.any():
                continue
            v = _seconds_at(b, starts[todo] + pos[todo] + len(name), self.time_end)
            if v is None:
                raise Fallback("a time stamp that is not 16 digits of microseconds")
            out[todo] = v
        if (out < 0).any():
            raise Fallback("a record without a time stamp")
        return out

    def record(self, raw: str, path: str, line: int):
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        return self._own(obj, raw, path, line)

    def _own(self, obj, raw: str, path: str, line: int):
        """The record of an item the needles took for the daemon's, which must be one: text in
        a value can hold them (an -o export value of raw bytes, lines and all; a field given
        twice, whose last value the reference route reads), and the reference route reads an
        item that is not the daemon's record apart (another stream, or foreign text)."""
        rec = formats.native_record(obj, line, raw, self.ctx, path) if isinstance(obj, dict) else None
        # (the daemon's origin has its pid: _native_origin's test is then the transport's)
        if rec is None or rec.origin != self.origin or formats._field(obj, "_TRANSPORT") != "journal":
            raise Fallback(f"an entry that is not the daemon's record among its own, near line {line}")
        return rec

    def other(self, raw: str):
        s = raw.strip()
        if not s.startswith("{"):
            return
        try:
            obj = json.loads(s)
        except ValueError:
            return
        _not_a_daemon(obj)


class _ExportProfile(_JsonProfile):
    """`journalctl -o export` entries of one daemon's native journald records (fields one a
    line, `NAME=value`; a value with a control character as its length and raw bytes)."""

    time_keys = ("\n_SOURCE_REALTIME_TIMESTAMP=", "\n__REALTIME_TIMESTAMP=")
    time_end = b"\n"

    def __init__(self, sample_entry: str, ctx):
        obj = formats.export_entry(sample_entry)
        if not obj:
            raise Fallback("no -o export entry")
        host, pid = _native_daemon(obj)
        self.ctx = ctx
        self.origin = formats.journal_origin(obj)
        self.own = _own_values(pid, host)
        self.needles = [re.escape(f"\n_PID={pid}\n"), re.escape("\n_TRANSPORT=journal\n")]
        if host:
            self.needles.append(re.escape(f"\n_HOSTNAME={host}\n"))
        self.candidates = _json_patterns(export=True)
        # (error text on a further line of a message: such a message comes as raw bytes)
        self.further_error = _EXPORT_FURTHER_ERROR
        self.fields = fieldscan.FieldReading(self.own, *_reading_alternations(True), None, _RAW_FURTHER_ERROR,
                                             True) if fieldscan.available() else None

    def plain(self, entries, b, off, n):
        m = pc.match_substring_regex(entries, self.needles[0])
        for nd in self.needles[1:]:
            m = pc.and_(m, pc.match_substring_regex(entries, nd))
        return None if m.true_count == n else m

    def record(self, raw: str, path: str, line: int):
        return self._own(formats.export_entry(raw), raw, path, line)

    def other(self, raw: str):
        _not_a_daemon(formats.export_entry(raw))


_PROFILES = {"syslog": _SyslogProfile, "journal-json": _JsonProfile, "journal": _JournalTextProfile,
             "journal-export": _ExportProfile}


def _seconds_after(b, starts, items, key: bytes, probe: bytes, end: bytes):
    """Whole seconds of the 16 digits of microseconds after key in each item (items begin at
    starts in b), read as NumPy digits; None unless every item's first probe (a part of key)
    stands in key there, followed by 16 digits and end (the callers then read each item field
    by field).  One search for the short probe, the rest of key checked around it: RE2 skips
    to a pattern's first byte and confirms from there, so that a short probe with a rare first
    byte ('URCE_R', 2.0 ms an 8 MB JSON block) costs less than the whole key (3.9 ms)."""
    if len(starts) == 0:
        return np.empty(0, np.int64)
    pos = _ints(pc.find_substring_regex(items, re.escape(probe.decode())))
    lead = key.index(probe)
    at = starts + pos - lead                    # where each item's key would begin
    if (pos < lead).any() or int(at[-1]) + len(key) > len(b):
        return None
    if not (byte_rows(b, at, len(key)) == np.frombuffer(key, np.uint8)).all():
        return None
    return _seconds_at(b, at + len(key), end)


def _seconds_at(b, at, end: bytes):
    """Whole seconds of the 16 digits of microseconds since the epoch at each (ascending)
    position of at in b, end right after them; None unless every one is so."""
    if len(at) == 0:
        return np.empty(0, np.int64)
    if int(at[-1]) + 16 + len(end) > len(b):
        return None
    row = byte_rows(b, at, 17)
    digits = row[:, :16]
    if not ((digits - 48) < 10).all() or (row[:, 16] != end[0]).any():
        return None
    return (digits[:, :10].astype(np.int64) - 48) @ (10 ** np.arange(9, -1, -1, dtype=np.int64))


def _ints(arr) -> np.ndarray:
    """An Arrow integer array without nulls as int64 NumPy (read from its buffer:
    Array.to_numpy would import pandas)."""
    width = arr.type.bit_width // 8
    return np.frombuffer(arr.buffers()[1], np.dtype(f"i{width}"), count=len(arr),
                         offset=arr.offset * width).astype(np.int64)


# ---------------------------------------------------------------- the reader
class FastWrappedReader:
    """Feed one daemon's rsyslog file or journalctl -o json into a HostCorrelator through
    the prefilter; fills `facts` as LogReader would.  Raises Fallback (before or while
    feeding) when the input is not one daemon's one-line records."""

    def __init__(self, path: str, fmt: str, head: bytes, display: str | None = None, stream=None,
                 read_ahead: bool = True, mtime=None):
        self.path = path
        self.fmt = fmt
        self.display = display or path
        self.stream = stream
        self.read_ahead = read_ahead
        self.facts = FileFacts(self.display)
        self.ctx = formats.Context(mtime=mtime, warn=self.facts.warn)
        # the daemon's first record (the input may start with other programs' lines: systemd's
        # about the unit, journald's own)
        if fmt == "journal-export":
            first = _first_daemon_entry(head.decode("latin-1"))
        else:
            first = next((ln for ln in head.decode("utf-8", "replace").splitlines()
                          if ln.strip() and (fmt != "syslog" or formats.body_record(ln, ln, "", 0, self.ctx))
                          and (fmt != "journal" or formats.wrapper_origin(ln)[1])
                          and (fmt != "journal-json" or _a_daemon_record(formats.json_object(ln)))), None)
        # journal text: its records are built from all their lines, by the reference route's code
        self.records = formats.JournalTextRecords(self.display, self.ctx) if fmt == "journal" else None
        if first is None:
            raise Fallback("no record in the first block")
        self.profile = _PROFILES[fmt](first, self.ctx)
        self.ctx.year_used = False

    def run(self, correlator, on_foreign=None, on_record=None) -> FileFacts:
        """on_foreign(Foreign) for every line that is not one of the daemon's records;
        on_record(Record) after each record fed (the reference route's reading of its text)."""
        facts = self.facts
        facts.format = self.fmt
        facts.daemon = daemon_from_name(self.display)
        stream = self.stream or open_binary(self.path)
        line0 = 1
        last = None
        try:
            text, export = self.fmt == "journal", self.fmt == "journal-export"
            blocks = _blocks(stream, BLOCK, _record_cut if text else _entry_cut if export else _line_cut)
            scan_of = _EntryScan if export else _Scan
            scans = scan_ahead(blocks, lambda buf: scan_of(buf, self.profile), self.read_ahead)
            block = self._text_block if text else self._entry_block if export else self._block
            try:
                for scan in scans:
                    last = block(scan, line0, correlator, on_foreign, on_record, last)
                    line0 += scan.nlines
            finally:
                scans.close()
            note_end(stream, facts)
        except STREAM_ERRORS as e:
            facts.stream_broke(e)
        finally:
            if self.stream is None:
                stream.close()
        facts.warn_bad()
        facts.note_reading(self.ctx)
        return facts

    def _line(self, scan, i):
        off = scan.offsets
        return str(scan.buf[off[i]:off[i + 1]], "utf-8", "replace")

    def _block(self, scan: _Scan, line0: int, hc, on_foreign, on_record, last):
        facts = self.facts
        display, profile = self.display, self.profile
        facts.note_block(len(scan.buf), scan.nlines, len(scan.plain), scan.valid_utf8, line0)
        # the other lines: foreign text (read for error messages), or the end of this route
        plain = scan.plain
        if len(plain) != scan.nlines:
            others = np.setdiff1d(np.arange(scan.nlines), plain, assume_unique=True)
            for i in others.tolist():
                raw = self._line(scan, i)
                profile.other(raw)
                facts.unparsed += 1
                if on_foreign is not None and raw:
                    on_foreign(Foreign(display, line0 + i, raw))
        last = self._gaps(scan, line0, hc, last)
        # the records the correlator may read
        for j, i in enumerate(scan.candidates.tolist()):
            rec = self._candidate(scan, j, self._line(scan, i), line0 + i)
            if rec is not None:
                self._feed(rec, hc, on_record)
        return last

    def _gaps(self, scan, line0, hc, last):
        """Silences: every record's whole second, in order -> the last (second, record)."""
        facts, display, plain = self.facts, self.display, scan.plain
        secs = scan.secs
        if len(plain):
            prev = np.concatenate(([last[0] if last else secs[0]], secs[:-1]))
            for g in np.flatnonzero(secs - prev >= GAP_SECONDS).tolist():
                i = int(plain[g])
                after = self._dated(scan, i, line0)
                if g == 0:
                    before = last[1]
                else:
                    before = self._dated(scan, int(plain[g - 1]), line0)
                hc.add_gap(before.line, after.line, before.time, after.time, display, before.text, after.text)
            rec = self._dated(scan, int(plain[-1]), line0)
            if facts.first_time is None:
                facts.first_time = self._dated(scan, int(plain[0]), line0).time
            facts.last_time = rec.time
            hc.seen_until(rec.time, rec.line)
            last = (int(secs[-1]), rec)
        return last

    def _feed(self, rec, hc, on_record):
        self.facts.note_record(rec)
        hc.feed(rec)
        if on_record is not None:
            on_record(rec)

    def _text_block(self, scan: _Scan, line0: int, hc, on_foreign, on_record, last):
        """A block of journal text: a record is its prefixed line and the indented lines below
        it; an indented line below anything else is foreign text, as in the reference route."""
        facts = self.facts
        display, profile = self.display, self.profile
        n = scan.nlines
        facts.note_block(len(scan.buf), n, len(scan.plain), scan.valid_utf8, line0)
        is_cont = np.zeros(n, bool)
        is_cont[scan.cont] = True
        is_plain = np.zeros(n, bool)
        is_plain[scan.plain] = True
        # each line's record head: the nearest line above (or itself) that is not indented
        head = np.maximum.accumulate(np.where(is_cont, -1, np.arange(n)))
        member = is_cont & (head >= 0) & is_plain[np.maximum(head, 0)]
        for i in np.flatnonzero(~is_plain & ~member).tolist():
            raw = self._line(scan, i)
            if not is_cont[i]:
                profile.other(raw)
            facts.unparsed += 1
            if on_foreign is not None and raw:
                on_foreign(Foreign(display, line0 + i, raw))
        last = self._gaps(scan, line0, hc, last)
        further = scan.further[member[scan.further]] if len(scan.further) else scan.further
        heads = np.union1d(scan.candidates, head[further])
        # (each record ends where the next line that is not indented begins)
        ends = np.append(scan.starts, n)[np.searchsorted(scan.starts, heads, side="right")]
        for i, end in zip(heads.tolist(), ends.tolist()):
            rec = self.records.record(self._record_lines(scan, i, line0, end))
            if not isinstance(rec, Record):
                continue
            self._feed(rec, hc, on_record)
        return last

    def _entry_block(self, scan: _EntryScan, line0: int, hc, on_foreign, on_record, last):
        """A block of -o export entries: as _block, an entry for a line."""
        facts = self.facts
        display, profile = self.display, self.profile
        facts.note_block(len(scan.buf), scan.nlines, len(scan.plain), scan.valid_utf8, line0)
        plain = scan.plain
        if len(plain) != scan.nentries:
            for i in np.setdiff1d(np.arange(scan.nentries), plain, assume_unique=True).tolist():
                raw = self._entry(scan, i)
                profile.other(raw)
                # (every line of the entry, its empty line too, as the reference route counts)
                facts.unparsed += (scan.first_line(i + 1) if i + 1 < scan.nentries else scan.nlines) - scan.first_line(i)
                if on_foreign is not None:
                    on_foreign(Foreign(display, line0 + scan.first_line(i), raw))
        last = self._gaps(scan, line0, hc, last)
        for j, i in enumerate(scan.candidates.tolist()):
            rec = self._candidate(scan, j, self._entry(scan, i), line0 + scan.first_line(i))
            if rec is not None:
                self._feed(rec, hc, on_record)
        return last

    def _candidate(self, scan, j: int, raw: str, line: int):
        """The record of the scan's j-th candidate (raw: its text): from the fields the scan
        read of it, when it could, else from its text."""
        fields = scan.fields
        if fields is not None:
            return self.profile._own(fields[j], raw, self.display, line)
        return self.profile.record(raw, self.display, line)

    def _entry(self, scan, i) -> str:
        starts = scan.starts
        end = int(starts[i + 1]) if i + 1 < len(starts) else len(scan.buf)
        return str(scan.buf[int(starts[i]):end], "latin-1")

    def _record_lines(self, scan, i, line0, end=None):
        """(line number, physical line) of the record that starts at line i of the block (and
        ends before line end, when known)."""
        if end is None:
            starts = scan.starts
            k = int(np.searchsorted(starts, i, side="right"))
            end = int(starts[k]) if k < len(starts) else scan.nlines
        return [(line0 + j, self._line(scan, j)) for j in range(i, end)]

    def _dated(self, scan, i, line0) -> Record:
        if isinstance(scan, _EntryScan):
            rec = self.profile.record(self._entry(scan, i), self.display, line0 + scan.first_line(i))
        elif self.records is not None:
            # (built apart, so that the stream's recogniser sees only the records it reads)
            rec = formats.JournalTextRecords(self.display, self.ctx).record(self._record_lines(scan, i, line0))
            rec = rec if isinstance(rec, Record) else None
        else:
            rec = self.profile.record(self._line(scan, i), self.display, line0 + i)
        if rec is None or rec.time is None:
            raise Fallback("a record without a time")
        return rec
