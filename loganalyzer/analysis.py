"""analyze(paths) -> Analysis: read every input, correlate each host's log,
pair the hosts, judge every failure.  The CLI's `analyze` is a thin layer over this."""
from __future__ import annotations

import gc
import os
import stat
from dataclasses import dataclass, field
from typing import NamedTuple

from . import formats
from .correlate.build import HostCorrelator
from .correlate.interest import FOREIGN_ERROR_RE
from .correlate.objects import Evidence, Finding
from .correlate.pair import pair_migrations
from .reader import FileFacts, LogReader
from .records import Foreign, Record, record_with_grammar
from .sources import InputError, expand_paths, rotation_key


class TextHit(NamedTuple):
    """A catalogued error message found in text that is not a libvirt record."""
    path: str
    line: int
    time: float | None
    text: str
    hit: object                     # rules.catalogue.Hit


@dataclass
class HostLog:
    """One daemon's log stream: a file, or a rotated set read oldest first, or one daemon's
    records in a syslog file or journal export that holds several (its origin)."""
    label: str
    paths: list
    correlator: HostCorrelator = None
    facts: list = field(default_factory=list)
    text_hits: list = field(default_factory=list)   # TextHit
    origin: tuple | None = None                     # (host, ident, pid) of a wrapped stream

    @property
    def hostname(self) -> str | None:
        if self.origin is not None and self.origin[0]:
            return self.origin[0]     # the syslog/journal host field names this daemon's host
        for f in self.facts:
            if f.hostname:
                return f.hostname
        return None


def group_inputs(paths, errors: list | None = None, skipped: list | None = None) -> list[list[str]]:
    """Files of one rotated set (same folder, same base name) form one stream.
    errors, skipped: see sources.expand_paths."""
    groups: dict[tuple, list] = {}
    order = []
    for p in expand_paths(paths, errors, skipped):
        if p == "-":
            key = ("-", "-")
        else:
            key = (os.path.dirname(os.path.abspath(p)), rotation_key(os.path.basename(p))[0])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(p)
    return [groups[k] for k in order]


def _labels(groups) -> list[str]:
    """Short names for the streams: the file name, and for streams whose file names
    are the same (hostA/var/log/libvirt/libvirtd.log, hostB/...) the nearest folder
    that tells them apart."""
    parts = [os.path.abspath(g[0]).split(os.sep) if g[0] != "-" else ["stdin"] for g in groups]
    labels = []
    for i, p in enumerate(parts):
        same = [q for j, q in enumerate(parts) if j != i and q[-1] == p[-1]]
        if not same:
            labels.append(p[-1])
            continue
        k = next((k for k in range(2, len(p) + 1) if all(len(q) < k or q[-k] != p[-k] for q in same)), None)
        labels.append(f"{p[-k]}/{p[-1]}" if k else "/".join(p))
    return labels


class Analysis:
    """Everything found in a set of logs.

    Objects: .migrations, .connections, .keepalive_deaths, .threads, .jobs,
    .findings, .inputs (FileFacts), .pairs (clock offsets between hosts).
    DataFrames: .frames.migrations, .frames.connections, ... (see AnalysisFrames).
    """

    def __init__(self, hosts: list[HostLog], pairs: list[dict], input_format=None, opener=None):
        self.hosts = hosts
        # opener(path) -> binary stream: how to read an input again (the members of archives
        # scanned by `scan`); None: the paths are files
        self.opener = opener
        self.pairs = pairs
        self.input_format = input_format
        self.inputs: list[FileFacts] = [f for h in hosts for f in h.facts]
        self.migrations = [m for h in hosts for m in h.correlator.migrations]
        self.connections = [c for h in hosts for c in h.correlator.connections]
        self.keepalive_deaths = [d for h in hosts for d in h.correlator.deaths]
        self.threads = [t for h in hosts for t in h.correlator.threads.values()]
        self.jobs = [j for h in hosts for j in h.correlator.jobs]
        self.errors = [e for h in hosts for e in h.correlator.errors]
        self.findings: list[Finding] = []
        # parts of a report that could not be made, and why (the CLI prints them on stderr)
        self.report_problems: list[str] = []
        # files under the folders given that were not read (sources.Skipped: path, reason),
        # and folders that could not be read (one-line messages)
        self.skipped: list = []
        self.input_errors: list[str] = []
        self._by_id = {m.id: m for m in self.migrations}
        self.frames = AnalysisFrames(self)

    def reader(self, path: str) -> LogReader:
        """A LogReader of one of the inputs, read again (the reports' records around the evidence)."""
        return LogReader(path, self.input_format,
                         stream=self.opener(path) if self.opener is not None else None)

    # -- lookups
    def migration(self, mid: str):
        return self._by_id.get(mid)

    def host_of(self, obj) -> HostLog | None:
        for h in self.hosts:
            if h.label == getattr(obj, "host", None):
                return h
        return None

    def display_host(self, label: str) -> str:
        """The hostname when it tells the hosts apart, else the log's label."""
        names = [h.hostname for h in self.hosts]
        for h in self.hosts:
            if h.label == label:
                if h.hostname and names.count(h.hostname) == 1:
                    return h.hostname
                return label
        return label

    @property
    def failed(self):
        return [m for m in self.migrations if m.outcome in ("failed", "cancelled")]

    @property
    def verdicts(self):
        return [m.verdict for m in self.migrations if m.verdict is not None]

    def to_dict(self) -> dict:
        from .report.jsonout import analysis_to_dict
        return analysis_to_dict(self)

    def _repr_html_(self):
        from .report.html import analysis_summary_html
        return analysis_summary_html(self)

    def __repr__(self):
        return (f"Analysis({len(self.inputs)} inputs, {len(self.migrations)} migrations, "
                f"{len(self.failed)} failed, {len(self.keepalive_deaths)} keepalive deaths, "
                f"{len(self.findings)} findings)")


class AnalysisFrames:
    """Each list of objects as a pandas DataFrame (built on first use)."""

    def __init__(self, analysis: Analysis):
        self._a = analysis

    @property
    def migrations(self):
        from .report.jsonout import migration_row
        return _frame([migration_row(self._a, m) for m in self._a.migrations],
                      ("start", "end"))

    @property
    def connections(self):
        from .report.jsonout import connection_row
        return _frame([connection_row(c) for c in self._a.connections], ("created_time", "closed_time"))

    @property
    def keepalive_deaths(self):
        from .report.jsonout import death_row
        return _frame([death_row(d) for d in self._a.keepalive_deaths], ("time",))

    @property
    def threads(self):
        rows = [{"host": t.host, "tid": t.tid, "worker": t.worker, "records": t.records,
                 "first_line": t.first.line if t.first else None,
                 "first_time": t.first.time if t.first else None,
                 "last_line": t.last_line, "last_time": t.last_time,
                 "jobs": len(t.jobs), "apis": sorted({j["api"] for j in t.jobs})}
                for t in self._a.threads]
        return _frame(rows, ("first_time", "last_time"))

    @property
    def jobs(self):
        rows = [{"host": j.host, "path": j.path, "domain": j.domain, "vm": j.vm, "job": j.job,
                 "async": j.is_async, "tid": j.tid, "api": j.api,
                 "start_line": j.start.line if j.start else None,
                 "start": j.start.time if j.start else None,
                 "end_line": j.end.line if j.end else None, "end": j.end.time if j.end else None}
                for j in self._a.jobs]
        return _frame(rows, ("start", "end"))

    @property
    def findings(self):
        import pandas as pd
        return pd.DataFrame([f.as_dict() for f in self._a.findings])

    @property
    def inputs(self):
        from .frame import facts_frame
        return facts_frame(self._a.inputs)


def _frame(rows, time_cols):
    import pandas as pd
    from .schema import stamp_frame, utc_ms
    df = pd.DataFrame(rows)
    stamp_frame(df, time_cols)
    for c in time_cols:
        if c in df:
            df[c] = utc_ms(df[c])
    return df


# Below this size a plain file is read record by record: importing NumPy and Arrow for the
# prefilter (~0.13 s) costs more than the prefilter saves on it (~35 ms per MB).
PREFILTER_MIN_BYTES = 4 << 20


def read_streams(group: list[str], label: str, input_format=None, fast: bool | None = None,
                 opener=None, read_ahead: bool = True, grammar: bool = False) -> list[HostLog]:
    """Correlate one input stream (a file, or a rotated set read oldest first): one HostLog per
    daemon in it.  A file-format log is one daemon; a syslog file or a journal export may hold
    several daemons and hosts (/var/log/messages), told apart by their (host, ident, pid): each
    is its own stream with its own correlator, named `label` when it is the only one, else
    `label:ident[pid]@host`.

    File-format logs take the prefilter route (only the records the correlator reads are
    built); other formats, and fast=False, feed every record through the reference route.
    Both give the same analysis (tests/test_prefilter.py).  fast=None (the default) takes the
    fast routes for inputs of PREFILTER_MIN_BYTES or more, compressed ones, and streams.

    opener: optional callable(name) -> new binary stream (decompressed) of that
    input, used instead of opening the names of group as paths (`scan` reads
    archive members this way).
    read_ahead: scan the next block in a second thread while this one is parsed;
    `scan` turns it off because it runs one stream per core already.
    grammar: (reference route only) build every record from the lark grammar alone,
    the slow definition the fast routes are checked against."""
    from .formats import Fallback
    # a stream leaves tens of thousands of objects alive: the cycle collector would walk them
    # again and again while reading (a tenth of analyze's time); it runs once after
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _read_streams(group, label, input_format, fast, opener, read_ahead, grammar, True)
    except Fallback:
        # an input the fast route for wrapped forms does not read (several daemons, records
        # over several lines): the whole stream again through the reference route
        return _read_streams(group, label, input_format, fast, opener, read_ahead, grammar, False)
    finally:
        if gc_was_on:
            gc.enable()


# the wrapped forms with a fast route (wrapfilter.py)
WRAPPED_FAST = ("syslog", "journal-json", "journal", "journal-export")


def _read_streams(group, label, input_format, fast, opener, read_ahead, grammar, fast_wrapped):
    streams = _Streams(label, group)
    facts = []
    for path in group:
        use_fast = fast if fast is not None else _worth_prefiltering(path, opener)
        fmt, head = _sniff(path, opener) if use_fast and input_format in (None, "file") else (None, b"")
        fast_form = use_fast and fast_wrapped and input_format is None and fmt in WRAPPED_FAST
        # (the daemons the input starts with: the fast route reads one)
        origin = formats.origins(formats.whole_head(head, fmt), fmt) if fast_form else []
        if fast_form and len(origin) <= 1:
            from .wrapfilter import FastWrappedReader
            stream = opener(path) if opener is not None else None
            try:
                mtime = os.stat(path).st_mtime if opener is None and path != "-" else None
            except OSError:
                mtime = None
            reader = FastWrappedReader(path, fmt, head, stream=stream, read_ahead=read_ahead, mtime=mtime)
            host = streams.of(origin[0] if origin else None)
            try:
                reader.run(host.correlator, on_foreign=streams.foreign,
                           on_record=lambda rec: _read_text(host, rec, True))
            finally:
                facts.append(reader.facts)
                if stream is not None:
                    stream.close()
            continue
        if use_fast and fmt == "file":
            from .prefilter import FastHostReader
            stream = opener(path) if opener is not None else None
            reader = FastHostReader(path, stream=stream, read_ahead=read_ahead)
            host = streams.of(None)
            try:
                reader.run(host.correlator, on_foreign=lambda item: _scan_foreign(host, item),
                           on_text=lambda path, line, text: _scan_text_line(host, path, line, text))
            finally:
                facts.append(reader.facts)
                if stream is not None:
                    stream.close()
            continue
        reader = LogReader(path, input_format, stream=opener(path) if opener is not None else None)
        try:
            items = reader.items()
            wrapped = None
            for item in items:
                if wrapped is None:
                    # (the format is known once reading started) the correlator's reading list is
                    # written for libvirt's own line: a wrapped record is judged by its unwrapped line
                    wrapped = reader.facts.format not in ("file", "pasted")
                    if wrapped:
                        streams.expect(reader.origins_ahead)
                if item.__class__ is not Record:
                    streams.foreign(item)
                    continue
                host = streams.of(item.origin)
                hc = host.correlator
                if grammar and not wrapped:
                    raw = item.raw
                    text = raw[:-1] if raw.endswith("\n") else raw
                    item = record_with_grammar(text[:-1] if text.endswith("\r") else text,
                                               item.path, item.line, raw) or item
                if item.time is not None:
                    hc.note_time(item.time, item.line, item)
                hc.feed(item)       # the correlator reads what its handlers declare
                _read_text(host, item, wrapped)
        finally:
            facts.append(reader.facts)
    hosts = streams.hosts()
    hosts[0].facts.extend(facts)
    for h in hosts:
        h.correlator.close()
        if not h.correlator.migrations:
            _scan_error_records(h, h.correlator)
    return hosts


class _Streams:
    """The HostLogs of one input stream, one per origin (host, ident, pid); records without
    an origin (file-format logs) have one HostLog of their own."""

    def __init__(self, label: str, group: list[str]):
        self.label = label
        self.group = list(group)
        self.default: HostLog | None = None
        self.by_origin: dict = {}
        self.qualify = False
        self.last: HostLog | None = None
        self.early: list = []         # foreign text read before the first record

    def expect(self, origins):
        """The origins seen at the start of the input: with more than one, every stream is
        named after its daemon, the first one too."""
        if len(origins) > 1:
            self.qualify = True

    def _new(self, label, origin=None) -> HostLog:
        h = HostLog(label, list(self.group), HostCorrelator(label))
        h.origin = origin
        return h

    def of(self, origin) -> HostLog:
        if origin is None:
            if self.default is None:
                self.default = self._new(self.label)
            self.last = self.default
            return self.default
        h = self.by_origin.get(origin)
        if h is None:
            alone = not self.qualify and not self.by_origin and self.default is None
            h = self.by_origin[origin] = self._new(self.label if alone else _stream_label(self.label, origin),
                                                   origin)
        self.last = h
        return h

    def foreign(self, item) -> None:
        """Text that belongs to no record: read for error messages with the stream read last
        (text before any record waits for the first stream)."""
        if self.last is None:
            self.early.append(item)
        else:
            _scan_foreign(self.last, item)

    def hosts(self) -> list[HostLog]:
        out = ([self.default] if self.default is not None else []) + list(self.by_origin.values())
        if not out:
            out = [self.of(None)]
        for item in self.early:
            _scan_foreign(out[0], item)
        self.early.clear()
        return out


def _stream_label(label: str, origin) -> str:
    host, ident, pid = origin
    who = f"{ident}[{pid}]" if pid else str(ident)
    return f"{label}:{who}@{host}" if host else f"{label}:{who}"


def _read_text(host: HostLog, rec, wrapped: bool) -> None:
    """The error text a record holds besides what the correlator reads: lines glued to it."""
    if wrapped:
        if "\n" in rec.message:
            _scan_continuation(host, rec, rec.message, 0)
    else:
        raw = rec.raw
        nl = raw.find("\n")
        if 0 <= nl < len(raw) - 1:
            _scan_continuation(host, rec, raw, nl + 1)


def _worth_prefiltering(path: str, opener=None) -> bool:
    """Is the input big enough for the fast routes to pay for their imports (NumPy, Arrow)?
    Streams (archive members, pipes) and compressed files are taken to be."""
    from .codecs import compression_of
    if opener is not None:
        return True
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size >= PREFILTER_MIN_BYTES:
            return True        # (a pipe is read once, by the reference route: _sniff)
        with open(path, "rb") as fh:
            return compression_of(fh.read(6)) is not None
    except OSError:
        return True            # either route reports the problem


def _sniff(path: str, opener=None) -> tuple:
    """(format, first bytes) of an input, (None, b"") when it cannot be read (the reference
    route then reports why)."""
    from .sources import open_binary
    if path == "-":
        return None, b""
    if opener is None:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None, b""   # a pipe (<(...)) can be read once only: by the reference route
        except OSError:
            return None, b""       # the reference route reports the problem
    try:
        with (opener(path) if opener is not None else open_binary(path)) as fh:
            head = fh.read(65536)
    except (InputError, OSError, EOFError):
        return None, b""   # the reference route reports the problem
    return formats.detect_bytes(head), head


def _scan_continuation(host: HostLog, rec, text: str, start: int) -> None:
    """Error text glued to a record as continuation lines (virsh's "error: ..." after its
    progress output): the same lines the prefilter route finds with FOREIGN_ERROR.
    text[start:] are the lines after the record's first (its raw lines, or for a wrapped
    record the further lines of its message)."""
    for i, ln in enumerate(text[start:].split("\n") if start else text.split("\n")[1:], 1):
        if FOREIGN_ERROR_RE.match(ln):
            _scan_text_line(host, rec.path, rec.line + i, ln.rstrip("\r"))


def _scan_error_records(host: HostLog, hc) -> None:
    """A daemon log in which no migration is seen (the default log level writes only
    warnings and errors; a pasted excerpt of error lines): its error and warning records are
    read like text, so that the messages they hold become findings.  (With migrations in the
    log, errors outside them are the daemon's other business.)  The newest KEEP_ERRORS are
    kept by the correlator."""
    deaths = {(ev.path, ev.line) for d in hc.deaths for ev in d.evidence}
    for e in hc.errors:
        if (e.path, e.line) not in deaths:      # a death is a finding already
            # the record's 'function:line : ' tells the catalogue who reported the text (a
            # function-less one, journal text or KubeVirt, is read as its text alone)
            _scan_text_line(host, e.path, e.line, e.text if e.func is None else f"{e.func}:0 : {e.text}")


def _scan_text_line(host: HostLog, path: str, line: int, text: str) -> list:
    """The catalogue's hits in one line of text, kept as findings' material; returns them."""
    from .rules.catalogue import match_text
    hits = match_text(text)
    for hit in hits:
        host.text_hits.append(TextHit(path, line, None, text.strip(), hit))
    return hits


# folded messages are looked for in text of this size (reports, virsh output), not in
# the foreign runs of huge logs
UNFOLD_MAX_LINES = 20000


def _scan_foreign(host: HostLog, item: Foreign) -> None:
    """Error messages in text that is not a libvirt record (virsh output, a
    management log, a pasted report)."""
    from .rules.catalogue import match_text, might_match
    search = might_match
    lines = item.raw.splitlines()
    if len(lines) > UNFOLD_MAX_LINES and not search(item.raw):
        return
    found: dict[int, set] = {}
    for i, ln in enumerate(lines):
        if not search(ln):
            continue
        for hit in _scan_text_line(host, item.path, item.line + i, ln):
            found.setdefault(i, set()).add(hit.pattern.id)
    # Reports and YAML fold long messages over lines ("guest CPU doesn't match /
    # specification: ..."; YAML also doubles quotes): read each line joined with the next
    # two, and keep what no single line showed.
    if len(lines) > 1 and len(lines) <= UNFOLD_MAX_LINES:
        for i in range(len(lines) - 1):
            joined = " ".join(x.strip() for x in lines[i:i + 3]).replace("''", "'")
            if not search(joined):
                continue
            seen = set().union(*(found.get(k, set()) for k in range(i, i + 3)))
            for hit in match_text(joined):
                if hit.pattern.id not in seen:
                    host.text_hits.append(TextHit(item.path, item.line + i, None, joined, hit))
                    for k in range(i, i + 3):
                        found.setdefault(k, set()).add(hit.pattern.id)


def migration_analysis(a: Analysis, m) -> Analysis:
    """An Analysis of one migration: its views, the hosts that saw it, its keepalive deaths
    (what `scan --reports` writes one report of)."""
    by_id = {x.id: x for x in a.migrations}
    views = [m] + [by_id[i] for i in (m.peer, m.peer_client) if i and i in by_id]
    labels = {v.host for v in views}
    hosts = [h for h in a.hosts if h.label in labels]
    sub = Analysis(hosts, [p for p in a.pairs if {p["source_host"], p["destination_host"]} <= labels],
                   a.input_format, opener=a.opener)
    ids = {v.id for v in views}
    sub.migrations = views
    sub._by_id = {v.id: v for v in views}
    sub.keepalive_deaths = [d for d in sub.keepalive_deaths if d.migration in ids]
    # its connections, and the management client that drove it (the timeline draws it too)
    clients = {id(v.controlling_conn) for v in views if v.controlling_conn is not None}
    sub.connections = [c for c in sub.connections if c.migration in ids or id(c) in clients]
    sub.findings = []
    sub.report_problems = a.report_problems
    return sub


def analyze(paths, input_format: str | None = None, judge: bool = True, fast: bool | None = None,
            grammar: bool = False) -> Analysis:
    """Analyze logs: one host per file (or rotated set); two hosts are paired.

    Routes, all giving the same analysis: fast=True (the prefilter reads only the
    records the correlator wants), fast=False (every record parsed by the fast path and
    offered), grammar=True (every record parsed by the lark grammar; slow, for checks);
    fast=None (the default) takes the prefilter for inputs of PREFILTER_MIN_BYTES or more.

    Raises InputError when no input can be read at all; an input that fails
    while others succeed is reported in its FileFacts.error.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [str(paths)]
    problems: list = []
    skipped: list = []
    groups = group_inputs([str(p) for p in paths], problems, skipped)
    labels = _labels(groups)
    hosts = []
    failures = [str(e) for e in problems]
    if failures and not groups:
        raise InputError(failures[0] if len(failures) == 1 else "; ".join(failures))
    for group, label in zip(groups, labels):
        try:
            hosts.extend(read_streams(group, label, input_format, False if grammar else fast, grammar=grammar))
        except InputError as e:
            failures.append(str(e))
            facts = FileFacts(group[0])
            facts.error = str(e)
            h = HostLog(label, list(group), HostCorrelator(label), [facts])
            hosts.append(h)
    if failures and len(failures) == len(groups) + len(problems):
        raise InputError(failures[0] if len(failures) == 1 else "; ".join(failures))
    pairs = pair_migrations([h.correlator for h in hosts])
    a = Analysis(hosts, pairs, input_format)
    a.skipped = skipped
    a.input_errors = [str(e) for e in problems]
    if judge:
        from .rules import judge as judge_all
        judge_all(a)
    return a
