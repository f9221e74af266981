"""Read one input into records, and the facts about it: sources -> formats -> records."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from . import formats
from .records import Foreign, Record
from .header import RECORD_START
from .recordcut import CAP, HEAD, TAIL, AsciiBlock, record_blocks, text_blocks
from .sources import (STREAM_ERRORS, InputError, PeekStream, check_head, looks_binary, note_end,
                      open_binary, read_blocks, shown)

# A physical line longer than this is cut: its first LONG_LINE bytes are read
# (as a record or foreign text), the rest is kept as unparsed text, streamed.
LONG_LINE = 8 << 20


@dataclass
class FileFacts:
    path: str
    format: str = "file"
    lines: int = 0
    records: int = 0
    unparsed: int = 0
    bytes: int = 0
    first_time: float | None = None
    last_time: float | None = None
    libvirt_version: str | None = None
    package: str | None = None
    hostname: str | None = None
    daemon: str | None = None
    warnings: list = field(default_factory=list)
    error: str | None = None
    # syslog / journal text carries no year: the year that was assumed, else None
    year_assumed: int | None = None
    # records kept with a value left empty: a time stamp that is not a date, a thread id
    # too large, a JSON field of the wrong type (values.py)
    bad_values: int = 0
    # compressed data cut short: every record before the break is read (and counted above)
    ends_early: bool = False
    # records longer than recordcut.CAP bytes, and the bytes cut from their middles
    cut_records: int = 0
    cut_bytes: int = 0
    # the warnings that say the input was not read whole, as (kind, message): "truncated"
    # (ends early), "cut" (records cut); what scan lists as its problems
    problems: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        del d["problems"]               # (the same text is in warnings)
        return d

    def note_bad(self, line: int, what: str, n: int = 1):
        """n records with an unreadable value; what: the first one's (at line)."""
        if not self.bad_values:
            self._first_bad = (line, what)
        self.bad_values += n

    def note_cuts(self, cuts: list):
        """The records (and text before the first record) that recordcut cut: counted, one
        warning; the lines cut from text before the first record count as unparsed."""
        if not cuts:
            return
        self.cut_records += sum(1 for c in cuts if not c.foreign)
        self.cut_bytes += sum(c.nbytes for c in cuts)
        self.unparsed += sum(c.nlines for c in cuts if c.foreign)
        c = cuts[0]
        what = "the text before the first record" if c.foreign else "a record"
        self.warn_problem("cut", f"{self.path}: line {c.line}: {what} of {_size(c.nbytes + CAP)}: its first "
                                 f"{_size(HEAD)} and last {_size(TAIL)} are read, the {c.nbytes} bytes between are "
                                 f"cut ({len(cuts)} cut in all, {self.cut_bytes} bytes)")

    def stream_broke(self, e: Exception):
        """A compressed stream that failed part way (the fast routes): the first such error."""
        if self.error is None:
            self.error = (f"{self.path}: compressed stream is truncated or corrupt "
                          f"({str(e).splitlines()[0][:100]}); records before the break are kept")

    def warn_bad(self):
        """The one warning about bad_values, once the input is read."""
        if self.bad_values:
            line, what = self._first_bad
            n = self.bad_values
            self.warn(f"{self.path}: line {line}: {what}: the value is left empty and the record kept "
                      f"({n} record{'s' if n > 1 else ''} with a value that cannot be read)")

    def warn(self, msg: str):
        if msg not in self.warnings:
            self.warnings.append(msg)

    def warn_problem(self, kind: str, msg: str):
        """A warning that the input was not read whole (see problems)."""
        if msg not in self.warnings:
            self.problems.append((kind, msg))
        self.warn(msg)

    def note_record(self, rec) -> None:
        """What one record read tells about its input: a value it could not read, the start-up
        header lines, the daemon its worker threads name."""
        if rec.bad is not None:
            self.note_bad(rec.line, rec.bad)
        kind = rec.kind
        if kind == "version" or kind == "hostname":
            self.note_header(kind, rec.fields)
        elif kind == "thread_job" and self.daemon is None:
            self.daemon = daemon_from_worker(rec.fields.get("worker") or "")

    def note_reading(self, ctx) -> None:
        """What reading a wrapped form (formats.Context) leaves to warn about, once it ends."""
        d = shown(self.path)
        if ctx.null_messages:
            self.warn(f"{d}: {ctx.null_messages} journal entries have MESSAGE null (journalctl -o json "
                      f"leaves out fields of 4 KiB and more, -o verbose shows a message with control characters "
                      f"as [blob data]; `--all` keeps them): their records are read without their text")
        if ctx.no_messages:
            self.warn(f"{d}: journal entries of libvirt without a MESSAGE field (journalctl --output-fields "
                      f"without MESSAGE?): their records are read without their text")
        if ctx.year_used:
            self.year_assumed = ctx.year
            self.warn(f"{d}: time stamps carry no year: assumed {ctx.year} ({ctx.year_source}); "
                      f"they are the host's local time, read as UTC")
        if ctx.zone_assumed:
            self.warn(f"{d}: time stamps in zone {ctx.zone_assumed} are read as UTC (an abbreviation may "
                      f"name several zones; journalctl --utc, -o short-iso or -o json give the offset)")

    def note_block(self, nbytes: int, nlines: int, nrecords: int, valid_utf8: bool, line0: int) -> None:
        """A block the fast routes read whole (line0: its first line's number)."""
        self.bytes += nbytes
        self.lines += nlines
        self.records += nrecords
        if not valid_utf8 and not any("invalid UTF-8" in w for w in self.warnings):
            self.warnings.append(f"{self.path}: invalid UTF-8 replaced (first near line {line0})")

    def note_header(self, kind: str, fields: dict) -> None:
        """A `libvirt version:` or `hostname:` header line: the first of each counts."""
        if kind == "version":
            if self.libvirt_version is None:
                self.libvirt_version = fields.get("version")
                self.package = fields.get("package")
        elif self.hostname is None:
            self.hostname = fields.get("hostname")


def daemon_from_name(path: str) -> str | None:
    base = os.path.basename(path)
    for d in ("virtqemud", "virtproxyd", "libvirtd", "virtlogd", "virtnetworkd", "virtstoraged"):
        if base.startswith(d):
            return d
    return None


def daemon_from_worker(w: str) -> str | None:
    if w.startswith(("rpc-", "prio-rpc-")) and w.split("-")[-1] not in ("worker", "admin"):
        return w.split("-")[-1]
    return None


class _Seen:
    """What the items of one input add to its facts, as they stream past."""

    __slots__ = ("reader", "nrec", "first_time", "last", "seen_record")

    def __init__(self, reader):
        self.reader = reader
        self.nrec = 0
        self.first_time = self.last = None
        self.seen_record = False

    def add(self, item) -> bool:
        """Count one item; True when it is a record."""
        r = self.reader
        if item.__class__ is Record:
            self.nrec += 1
            self.seen_record = True
            t = item.time
            if t is not None:
                if self.first_time is None:
                    self.first_time = t
                self.last = t
            r.facts.note_record(item)
            return True
        n = item.nlines
        r.facts.unparsed += n
        if not self.seen_record:
            r._leading_foreign(n)
        return False


class LogReader:
    """Iterate the records of one input; `facts` is complete once exhausted.

        r = LogReader("libvirtd.log.gz")
        for rec in r: ...
        r.facts.records, r.facts.unparsed

    Unusable input (missing, unreadable, binary, unknown format) raises
    InputError with a one-line message naming the file.  Damage found while
    reading (a truncated compressed stream) keeps the records before it and
    sets facts.error; harmless oddities (invalid UTF-8, an empty file, an
    over-long line, a cut first line, an assumed year) go to facts.warnings.
    """

    def __init__(self, path: str, input_format: str | None = None, display: str | None = None,
                 with_fields: bool = False, blocksize: int = 1 << 22, max_line: int = LONG_LINE,
                 stream=None):
        # stream: an already-open (decompressed) binary stream to read instead of opening
        # path (archive members; path then only names it); read once, closed at the end
        self._stream = stream
        self.path = os.fspath(path)
        self.display = display or self.path
        self.input_format = input_format
        self.with_fields = with_fields
        self.blocksize = blocksize
        self.max_line = max_line
        self.facts = FileFacts(self.display)
        self.origins_ahead: list = []

    def __iter__(self):
        for item in self.items():
            if isinstance(item, Record):
                yield item

    # -- shared set-up: open, sniff, detect, count
    def _cut_at(self, b, t: str):
        """The block's last record (or the text before the first) was cut: where, in lines."""
        facts = self.facts
        k = formats.last_record_start(t, RECORD_START.match) or 0
        b.cut.line = facts.lines - t.count("\n", k) + 1
        self._cuts.append(b.cut)
        facts.lines += b.cut.nlines

    def _open(self, blocksize: int | None = None, ascii_bytes: bool = False):
        facts = self.facts
        d = shown(self.display)
        stream = self._stream if self._stream is not None else open_binary(self.path)
        self._stream = None
        self._opened = stream
        try:
            head = b""
            while len(head) < 65536:      # pipes and decompressors may return less
                more = stream.read(65536 - len(head))
                if not more:
                    break
                head += more
        except STREAM_ERRORS as e:
            try:
                stream.close()
            except STREAM_ERRORS:
                pass            # the read's error is the one to report
            raise InputError(f"{d}: cannot read ({_short(e)})") from None
        try:
            check_head(stream, head, self.display)
        except InputError:
            stream.close()
            raise
        fmt = self.input_format or formats.detect_bytes(head)
        if fmt is None or (looks_binary(head) and fmt not in formats.BINARY_SAFE):
            stream.close()
            raise InputError(f"{d}: binary data, not a text log")
        stream = PeekStream(stream, head)
        encoding = formats.BINARY_SAFE.get(fmt, "utf-8")
        if fmt not in formats.ITEMS:
            stream.close()
            raise InputError(f"{d}: unknown input format {fmt!r} (known: {', '.join(formats.ITEMS)})")
        facts.format = fmt
        facts.daemon = daemon_from_name(d)
        if not head:
            facts.warn(f"{d}: empty file: 0 records")
        mtime = None
        if self.path != "-":
            try:
                mtime = os.stat(self.path).st_mtime
            except OSError:
                mtime = None
        ctx = formats.Context(mtime=mtime, warn=facts.warn)
        # the daemons the first block shows (a syslog file or journal export may hold several)
        self.origins_ahead = formats.origins(formats.whole_head(head, fmt), fmt, d) \
            if fmt not in ("file", "pasted", "text") else []
        self._ctx = ctx
        self._broken = None

        def on_error(msg):
            self._broken = msg

        def on_long(nbytes):
            facts.warn(f"{d}: line {facts.lines + 1} is longer than {self.max_line >> 20} MB: its first "
                       f"{nbytes >> 20} MB are read, the rest is kept as unparsed text")

        state = {"nl": True}

        def counted(blocks):
            warned_utf8 = False
            for b in blocks:
                facts.bytes += b.nbytes
                if isinstance(b, AsciiBlock):       # (no U+FFFD in ASCII)
                    if b.nbytes:
                        state["nl"] = b.data.endswith(b"\n")
                    if b.cut is not None:
                        facts.lines += b.newlines
                        self._cut_at(b, b.text)
                    yield b
                    if b.cut is None:
                        # (counted after the event table has read it: its scan counts them)
                        facts.lines += b.newlines
                    continue
                t = b.text
                facts.lines += t.count("\n")
                if t:
                    state["nl"] = t.endswith("\n")
                if not warned_utf8 and "\ufffd" in t:
                    # (the replacement character itself in valid UTF-8 is rare enough)
                    warned_utf8 = True
                    k = t.index("\ufffd")
                    facts.warn(f"{d}: invalid UTF-8 replaced by U+FFFD (first near line "
                               f"{facts.lines - t.count(chr(10), k) + 1})")
                if b.cut is not None:
                    self._cut_at(b, t)
                yield b

        self._cuts = []
        if fmt == "file":       # records, each cut to recordcut.CAP bytes, whatever their lines
            raw = text_blocks(record_blocks(stream, blocksize or self.blocksize), on_error, encoding, ascii_bytes)
        else:
            raw = read_blocks(stream, d, blocksize or self.blocksize, on_error, self.max_line, on_long, encoding)
        return stream, fmt, counted(raw), state

    def _finish(self, state, nrec, first_time, last_time):
        facts = self.facts
        d = shown(self.display)
        if not state["nl"]:
            facts.lines += 1
        facts.records = nrec
        note_end(self._opened, facts)
        facts.first_time = first_time
        facts.last_time = last_time
        facts.note_cuts(self._cuts)
        facts.warn_bad()
        facts.note_reading(self._ctx)
        if self._broken:
            facts.error = (f"{d}: {self._broken} after line {facts.lines}; "
                           f"the {nrec} records before the break are kept")
        if facts.bytes and nrec == 0 and facts.format in ("file", "pasted", "text"):
            facts.warn(f"{d}: no libvirt records found ({facts.lines} lines of other text)")

    def _leading_foreign(self, n):
        if n and self.display.endswith(".tailed"):
            self.facts.warn(f"{self.display}: first line cut (sos keeps only the end of a log as *.tailed): "
                            f"{n} line(s) before the first record counted as unparsed")

    def items(self):
        """Records and Foreign runs, in file order (their raw texts join to the input)."""
        stream, fmt, blocks, state = self._open()
        try:
            acc = _Seen(self)
            for item in formats.ITEMS[fmt](blocks, self.display, self.with_fields, self._ctx):
                acc.add(item)
                yield item
            self._finish(state, acc.nrec, acc.first_time, acc.last)
        finally:
            stream.close()

    def tables(self):
        """The same records as Arrow tables (rows.SCHEMA), one per block or
        about 50,000 records: the fast route of the event table.  Facts are
        filled as for items()."""
        from . import rows as R
        facts = self.facts
        # smaller blocks here: each block's split lists are the transient peak of this route
        stream, fmt, blocks, state = self._open(min(self.blocksize, R.TABLE_BLOCK), ascii_bytes=True)
        try:
            first_time = last = None
            nrec = 0
            if fmt == "file":
                ft = R.FileTables(self.display, lambda: facts.daemon is None)
                seen = 0
                for tbl in ft.blocks_to_tables(blocks):
                    self._absorb(ft, seen)
                    seen = 1
                    yield tbl
                self._absorb(ft, seen)
                nrec, first_time, last = ft.records, ft.first_time, ft.last_time
            else:
                out = []
                acc = _Seen(self)
                for item in formats.ITEMS[fmt](blocks, self.display, True, self._ctx):
                    if acc.add(item):
                        out.append(item)
                        if len(out) >= 50_000:
                            yield R.records_table(self.display, out)
                            out = []
                if out:
                    yield R.records_table(self.display, out)
                nrec, first_time, last = acc.nrec, acc.first_time, acc.last
            self._finish(state, nrec, first_time, last)
        finally:
            stream.close()

    def _absorb(self, ft, seen_records):
        facts = self.facts
        for line, n in ft.foreign:
            facts.unparsed += n
            if not seen_records and line == 1:
                self._leading_foreign(n)
        ft.foreign.clear()
        for kind, f in ft.heads:
            facts.note_header(kind, f)
        ft.heads.clear()
        for w in ft.workers:
            if facts.daemon is None:
                facts.daemon = daemon_from_worker(w)
        ft.workers.clear()
        for line, what, n in ft.bad:
            facts.note_bad(line, what, n)
        ft.bad.clear()


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def _short(e: Exception) -> str:
    s = (getattr(e, "strerror", None) or str(e) or type(e).__name__)
    return s.splitlines()[0][:120]


def read_events(path: str, input_format: str | None = None):
    """Yield the records of one input lazily (see LogReader for the facts)."""
    yield from LogReader(path, input_format)
