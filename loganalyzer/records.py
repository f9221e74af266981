"""Record: one libvirt log record, and the lark Transformer that builds it.

The grammar (grammars/libvirtd.lark) is the definition of a record.  This
module loads it into a LALR parser whose Transformer returns the record's
parts directly (no tree walking after).  fastpath.py reaches the same parts by
a quicker route; tests prove both agree on every sample.
"""
from __future__ import annotations

import calendar
import functools
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

LEVELS = ("debug", "info", "warning", "error", "unknown")

# message families that are not probes; a probe's kind is its name
FAMILIES = ("kv", "text", "error", "job", "phase", "thread_job", "version", "hostname")


class Record:
    """One record: a header line plus its continuation lines.

    `time` is seconds since the epoch (UTC) as a float, or None when the line
    carries no date (the 0.6-era clock-only format).  `fields` is parsed from
    the message on first use, so readers that only look at headers stay fast.
    """

    __slots__ = ("path", "line", "time", "tid", "level", "func", "src_line",
                 "kind", "message", "raw", "_fields")

    def __init__(self, path, line, time, tid, level, func, src_line, kind,
                 message, raw, fields=None):
        self.path = path
        self.line = line
        self.time = time
        self.tid = tid
        self.level = level
        self.func = func
        self.src_line = src_line
        self.kind = kind
        self.message = message
        self.raw = raw
        self._fields = fields

    @property
    def fields(self) -> dict:
        if self._fields is None:
            from .fastpath import parse_fields
            self._fields = parse_fields(self.kind, self.message)
        return self._fields

    def get(self, key, default=None):
        return self.fields.get(key, default)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def text(self) -> str:
        """The record's first physical line, without its newline."""
        return self.raw.split("\n", 1)[0].rstrip("\r")

    def as_tuple(self):
        return (self.line, self.time, self.tid, self.level, self.func, self.src_line,
                self.kind, self.message, self.fields)

    def __repr__(self):
        return (f"Record({self.path}:{self.line} tid={self.tid} {self.level} "
                f"{self.func}:{self.src_line} {self.kind} {self.message[:60]!r})")


class Foreign:
    """A run of physical lines that are not part of any record (counted, kept)."""

    __slots__ = ("path", "line", "raw")

    def __init__(self, path, line, raw):
        self.path = path
        self.line = line
        self.raw = raw

    @property
    def nlines(self) -> int:
        return self.raw.count("\n") + (0 if self.raw.endswith("\n") else 1)


class Overflow(Foreign):
    """The rest of an over-long physical line, beyond what is kept in memory
    (its line is already counted where it started)."""

    __slots__ = ()

    @property
    def nlines(self) -> int:
        return 0


# ---------------------------------------------------------------- time stamps
@functools.lru_cache(maxsize=4096)
def _midnight(date: str) -> int:
    y, m, d = int(date[0:4]), int(date[5:7]), int(date[8:10])
    return calendar.timegm((y, m, d, 0, 0, 0))


def fmt_time(t: float | None) -> str:
    """Epoch seconds -> '2026-11-25 20:29:53.724' (UTC), '-' for None."""
    if t is None:
        return "-"
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def stamp_to_epoch(stamp: str) -> float | None:
    """'2026-11-25 20:29:53.724+0000' (trailing ': ' allowed) -> epoch seconds."""
    if len(stamp) < 28 or stamp[4] != "-":
        return None
    secs = (_midnight(stamp[:10]) + int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60
            + int(stamp[17:19]) + int(stamp[20:23]) / 1000.0)
    off = stamp[23:28]
    if off != "+0000":
        sign = 1 if off[0] == "+" else -1
        secs -= sign * (int(off[1:3]) * 3600 + int(off[3:5]) * 60)
    return secs


# ------------------------------------------------------------ the grammar path
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def grammar_path() -> Path:
    try:  # installed: grammars/ is shipped as the loganalyzer.grammars package
        from importlib.resources import files
        p = files("loganalyzer.grammars") / "libvirtd.lark"
        if p.is_file():
            return Path(str(p))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "grammars" / "libvirtd.lark"


def _strip(tok: str, suffix: str) -> str:
    return tok[: -len(suffix)] if tok.endswith(suffix) else tok


@v_args(inline=True)
class RecordTransformer(Transformer):
    """Builds (stamp, tid, level, func, src_line, kind, message, fields)."""

    # -- header
    def tid(self, tok):
        return int(tok[:-2])

    def _header(self, items):
        stamp = tid = level = func = src_line = None
        rest = []
        for it in items:
            if isinstance(it, Token):
                t = it.type
                if t in ("DATETIME", "CLOCK"):
                    stamp = str(it)[:-2]
                elif t in ("LEVEL", "LEVEL_ERR"):
                    level = str(it)
                elif t == "FUNCLOC":
                    f, _, ln = str(it).partition(":")
                    func, src_line = f, int(ln.split(" ", 1)[0])
                else:
                    rest.append(it)
            elif isinstance(it, int) and not isinstance(it, bool):
                tid = it
            else:
                rest.append(it)
        body = rest[0] if rest else ("text", "", {})
        kind, message, fields = body
        return (stamp, tid, level, func, src_line, kind, message, fields)

    def located(self, *items):
        return self._header(items)

    located_error = located
    unlocated = located

    fallback = located

    def start(self, rec):
        return rec

    def message(self, body=None):
        return body or ("text", "", {})

    def error_message(self, body=None):
        return body or ("error", "", {"prefix": None, "text": ""})

    # -- function-less header lines
    def version(self, head, num, package=None):
        msg = str(head) + str(num) + (str(package) if package else "")
        return ("version", msg, {"version": str(num),
                                 "package": str(package)[len(", package: "):] if package else None})

    def hostname(self, head, name):
        return ("hostname", str(head) + str(name), {"hostname": str(name)})

    def text(self, tok=None):
        return ("text", str(tok) if tok is not None else "", {})

    # -- key=value lists: each item is (text, key, value)
    def pair(self, key, value=None):
        k = str(key)[:-1]
        v = str(value) if value is not None else ""
        return (str(key) + v, [(k, v)])

    hpair = pair
    jpair = pair

    def _kv(self, items):
        text, pairs = [], []
        for it in items:
            if isinstance(it, Token):
                text.append(str(it))
                if it.type == "VMREF":
                    pairs.extend(_vmref(str(it)))
            else:
                text.append(it[0])
                pairs.extend(it[1])
        fields = {}
        for k, v in pairs:
            fields.setdefault(k, v)
        return "".join(text), fields

    def kvlist(self, *items):
        text, fields = self._kv(items)
        return ("kv", text, fields)

    def jhead(self, *items):
        return self._kv(items)

    def jkvlist(self, *items):
        return self._kv(items)

    def probe(self, name, kv):
        return (str(name)[:-2], str(name) + kv[1], kv[2])

    def thread_job(self, head, tid, *rest):
        worker = action = api = ret = None
        text = [str(head), str(tid)]
        for tok in rest:
            text.append(str(tok))
            if tok.type == "WORKER":
                worker = str(tok)[2:-1]
            elif tok.type == "THREAD_ACTION":
                action = str(tok).strip()
            elif tok.type == "JOB_API":
                api = str(tok)
            elif tok.type == "RET":
                ret = str(tok)[len(" with ret="):]
        return ("thread_job", "".join(text),
                {"thread": str(tid), "worker": worker, "action": action, "job": api, "ret": ret})

    def job(self, verb, *rest):
        text = [str(verb)]
        fields = {"action": _job_action(str(verb))}
        for it in rest:
            if isinstance(it, Token):
                text.append(str(it))
                if it.type == "JOB_NAME":
                    fields["job"] = str(it)
            else:
                text.append(it[0])
                for k, v in it[1].items():
                    fields.setdefault(k, v)
        return ("job", "".join(text), fields)

    def phase_start(self, head, phase, of, job, tail):
        return ("phase", "".join(map(str, (head, phase, of, job, tail))),
                {"action": "start", "job": str(job)[1:-1], "phase": str(phase)[1:-1]})

    def phase_set(self, head, job, to, phase):
        return ("phase", "".join(map(str, (head, job, to, phase))),
                {"action": "set", "job": str(job)[1:-1], "phase": str(phase)[1:-1]})

    # -- errors
    def err_body(self, *toks):
        prefix = None
        text = ""
        for t in toks:
            if t.type == "ERR_PREFIX":
                prefix = str(t)[:-2]
            else:
                text = str(t)
        msg = "".join(map(str, toks))
        return ("error", msg, {"prefix": prefix, "text": text})


def _job_action(verb: str) -> str:
    return verb.rstrip(": ").strip()


def _vmref(tok: str):
    # "(VM: name=NAME, uuid=UUID)": the name may itself contain ", "
    inner = tok[len("(VM: name="):-1]
    name, _, uuid = inner.rpartition(", uuid=")
    return [("domain", name), ("uuid", uuid)]


@functools.lru_cache(maxsize=1)
def grammar_parser() -> Lark:
    text = grammar_text()
    return Lark(text, parser="lalr", lexer="contextual",
                start=["start", "fallback", "message", "error_message"],
                transformer=RecordTransformer(), maybe_placeholders=False,
                cache=_parser_cache(text))


def _parser_cache(text: str):
    """A private file for lark's cache of the analysed grammar (it saves the LALR
    construction at every start), or False.  Private (0700 directory of this user),
    because lark's cache is a pickle: never load one another user could write."""
    import hashlib
    import os
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "loganalyzer")
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        st = os.stat(d)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return False
    except OSError:
        return False
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return os.path.join(d, f"grammar-{digest}.lark-cache")


def parse_with_grammar(text: str):
    """Parse one record's text (header line + continuation lines, no final
    newline) with the grammar.  Returns (stamp, tid, level, func, src_line,
    kind, message, fields), or None when the text is not a record."""
    p = grammar_parser()
    try:
        return p.parse(text, start="start")
    except UnexpectedInput:
        try:
            return p.parse(text, start="fallback")
        except UnexpectedInput:
            return None


def record_with_grammar(text: str, path: str, line: int, raw: str) -> "Record | None":
    """A Record built from the grammar alone (the reference the fast path is held to)."""
    parsed = parse_with_grammar(text)
    if parsed is None:
        return None
    stamp, tid, level, func, src_line, kind, message, fields = parsed
    time = stamp_to_epoch(stamp) if stamp and len(stamp) > 12 else None
    return Record(path, line, time, tid, level, func, src_line, kind, message, raw, fields)


def parse_message_with_grammar(message: str, level: str = "debug"):
    """Parse a bare message (journald MESSAGE=, KubeVirt msg) -> (kind, message, fields)."""
    p = grammar_parser()
    start = "error_message" if level in ("error", "warning") else "message"
    try:
        return p.parse(message, start=start)
    except UnexpectedInput:
        return ("error" if start == "error_message" else "text", message,
                {"prefix": None, "text": message} if start == "error_message" else {})
