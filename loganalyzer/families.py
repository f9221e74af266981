"""The message families of a record, by the grammar's own terminals (grammar.py): a
message's kind (probe, key=value list, thread job, domain job, phase, error, header line,
text) and its fields, as the grammar's LALR contextual lexer chooses them.
tests/test_fastpath.py proves every record of every sample comes out identical on both
routes.

Fields are parsed only when asked for (Record.fields), and key=value lists are cut with
one search per value instead of the grammar's lookahead at every character.
"""
from __future__ import annotations

import functools
import re

from . import compiled
from .terminals import TERMINALS as T


def _c(name: str):
    return re.compile(T[name])


_PROBE = _c("PROBE_NAME")
_THREAD = _c("THREAD_HEAD")
_JOB_VERB = _c("JOB_VERB")
_PHASE_START = _c("PHASE_START")
_PHASE_SET = _c("PHASE_SET")
_KEY = _c("KEY")
_HVALUE = _c("HVALUE")
_JVALUE = _c("JVALUE")
_VMREF = _c("VMREF")
_SEP = _c("SEP")
_JOB_NAME = _c("JOB_NAME")
_JOB_OPEN = _c("JOB_OPEN")
_ERR_PREFIX = _c("ERR_PREFIX")
_VERSION_HEAD = _c("VERSION_HEAD")
_VERSION_NUM = _c("VERSION_NUM")
_PACKAGE = _c("PACKAGE")
_HOSTNAME_HEAD = _c("HOSTNAME_HEAD")
_HOSTNAME = _c("HOSTNAME")
# The thread-job family is fully fixed by its head's lookahead; its tokens in one regex.
_THREAD_JOB = re.compile(
    f"Thread ({T['THREAD_ID']})({T['WORKER']})?({T['THREAD_ACTION']})({T['JOB_API']})({T['RET']})?$")
# The phase families, their quoted names as groups (quotes stripped after the match).
_PHASE_START_FULL = re.compile(
    f"{T['PHASE_START']}({T['QUOTED']}){T['PHASE_OF']}({T['QUOTED']}){T['PHASE_JOB']}$")
_PHASE_SET_FULL = re.compile(f"{T['PHASE_SET']}({T['QUOTED']}){T['PHASE_TO']}({T['QUOTED']})$")

_EMPTY: dict = {}
_read_fields = compiled.read_fields      # (None without a C compiler)


def located(level: str, body: str, with_fields: bool = True):
    """Kind and fields of the message of a record that has FUNC:LINE."""
    if not body:
        return "text", _EMPTY
    if level == "error" or level == "warning":
        return "error", (error_fields(body) if with_fields else None)
    if _read_fields is not None:
        # text, probes, key=value lists and job lines read in C (_tablescan.fields: what
        # classify reads, tests/test_tablescan.py); the others here
        read = _read_fields(body)
        if read is not None:
            kind, fields = read
            if kind == "text":
                return "text", _EMPTY
            # (as classify: a job line's fields are read to know it is one)
            return kind, (fields if with_fields or kind == "job" or "(VM: " in body else None)
    return classify(body, with_fields)


# A debug log says the same things over and over (a client's keepalive pings, the same API
# calls): each distinct message is read once, by both routes (fastpath.build_record, and
# parse_message for the messages that come without a header); every record still gets its
# own copy of the fields.
located_once = functools.lru_cache(maxsize=1 << 13)(located)


def parse_message(level: str, message: str):
    """A bare message (journald MESSAGE=, KubeVirt msg, syslog text) -> (kind, fields).

    Equals records.parse_message_with_grammar(message, level) minus the echoed
    message: error and warning levels read the message as an error line,
    every other level through the located families."""
    if not message:
        return ("error", error_fields(message)) if level == "error" or level == "warning" else ("text", {})
    kind, fields = located_once(level, message, True)
    return kind, dict(fields)


def classify(body: str, with_fields: bool = True):
    """Message family of a located, non-error record -> (kind, fields|None)."""
    c = body[0]
    if "A" <= c <= "Z":
        m = _PROBE.match(body)
        if m is not None:
            if not with_fields and "(VM: " not in body:
                # a key=value list can only fail to parse after a (VM: ...) group
                return body[:m.end() - 2], None
            kv = _kvlist(body, m.end())
            if kv is not None and kv[1] == len(body):
                return body[:m.end() - 2], kv[0]
            return "text", _EMPTY
        if c == "T" and _THREAD.match(body):
            return "thread_job", _thread_fields(body) if with_fields else None
        if c in "SW":
            if _JOB_VERB.match(body):
                f = _job_fields(body)
                return ("job", f) if f is not None else ("text", _EMPTY)
            if _PHASE_START.match(body):
                a, b = _PHASE_START_FULL.match(body).groups()
                return "phase", {"action": "start", "job": b[1:-1], "phase": a[1:-1]}
            if _PHASE_SET.match(body):
                a, b = _PHASE_SET_FULL.match(body).groups()
                return "phase", {"action": "set", "job": a[1:-1], "phase": b[1:-1]}
    if _KEY.match(body) or _VMREF.match(body):
        if not with_fields and "(VM: " not in body:
            return "kv", None
        kv = _kvlist(body, 0)
        if kv is not None and kv[1] == len(body):
            return "kv", kv[0]
    return "text", _EMPTY


def parse_fields(kind: str, message: str) -> dict:
    """Fields of a message whose kind is already known (lazy Record.fields)."""
    if kind in ("text", "version", "hostname") or not message:
        return unlocated(message)[1] if kind in ("version", "hostname") else {}
    if kind == "error":
        return error_fields(message)
    return classify(message)[1]


def unlocated(body: str):
    m = _VERSION_HEAD.match(body)
    if m:
        n = _VERSION_NUM.match(body, m.end())
        if n:
            rest = body[n.end():]
            if not rest:
                return "version", {"version": n.group(), "package": None}
            if _PACKAGE.fullmatch(rest):
                return "version", {"version": n.group(), "package": rest[len(", package: "):]}
        return "text", _EMPTY
    m = _HOSTNAME_HEAD.match(body)
    if m:
        return "hostname", {"hostname": body[m.end():]}
    return "text", _EMPTY


def error_fields(body: str) -> dict:
    m = _ERR_PREFIX.match(body)
    if m is not None and m.end() < len(body):
        return {"prefix": m.group()[:-2], "text": body[m.end():]}
    return {"prefix": None, "text": body}


def _kvlist(s: str, pos: int, value_re=None):
    """key=value items separated by SEP, from pos -> (fields, end) or None.

    A VALUE runs exactly up to the first place where SEP matches (both are
    "a separator followed by a key or a (VM: ...) group"), so one SEP.search
    finds the end of the value instead of testing the lookahead at every char.
    """
    if "(VM: " not in s and '["' not in s and "current " not in s:
        # No (VM: ...) group, no bracketed key, no "current " key prefix: then
        # SEP can only match between items, so one split finds them all.
        if _KEY.match(s, pos) is None:
            return None
        fields = {}
        for item in _SEP.split(s[pos:] if pos else s):
            k, _, v = item.partition("=")
            if k not in fields:
                fields[k] = v
        return fields, len(s)
    fields = {}
    n = len(s)
    search = _SEP.search
    while True:
        m = _KEY.match(s, pos)
        if m is not None:
            pos = m.end()
            sm = search(s, pos)
            if sm is None:
                val = s[pos:]
                pos = n
            else:
                val = s[pos:sm.start()]
                pos = sm.start()
            k = m.group()[:-1]
            if k not in fields:
                fields[k] = val
        else:
            m = _VMREF.match(s, pos)
            if m is None:
                return None
            pos = m.end()
            name, _, uuid = s[m.start() + 10:pos - 1].rpartition(", uuid=")
            fields.setdefault("domain", name)
            fields.setdefault("uuid", uuid)
        if pos >= n:
            return fields, pos
        m = _SEP.match(s, pos)
        if m is None:
            return fields, pos
        pos = m.end()


def _hkvlist(s: str, pos: int):
    """The key=value head of a job line (values stop before ' (vm=')."""
    fields = {}
    while True:
        m = _KEY.match(s, pos)
        if m is None:
            return None
        pos = m.end()
        v = _HVALUE.match(s, pos)
        val = ""
        if v is not None:
            pos = v.end()
            val = v.group()
        fields.setdefault(m.group()[:-1], val)
        sm = _SEP.match(s, pos)
        if sm is None:
            return fields, pos
        pos = sm.end()


def _job_fields(body: str):
    v = _JOB_VERB.match(body)
    fields = {"action": body[:v.end()].rstrip(": ").strip()}
    pos = v.end()
    if _KEY.match(body, pos):
        h = _hkvlist(body, pos)
        if h is None:
            return None
        head, pos = h
        for k, val in head.items():
            fields.setdefault(k, val)
    else:
        m = _JOB_NAME.match(body, pos)
        if m is not None:
            fields["job"] = m.group()
            pos = m.end()
    m = _JOB_OPEN.match(body, pos)
    if m is None:
        return None
    pos = m.end()
    while True:
        m = _KEY.match(body, pos)
        if m is None:
            return None
        pos = m.end()
        v = _JVALUE.match(body, pos)
        val = ""
        if v is not None:
            pos = v.end()
            val = v.group()
        fields.setdefault(m.group()[:-1], val)
        sm = _SEP.match(body, pos)
        if sm is None:
            break
        pos = sm.end()
    return fields if body[pos:] == ")" else None


def _thread_fields(body: str) -> dict:
    tid, worker, action, api, ret = _THREAD_JOB.match(body).groups()
    return {"thread": tid, "worker": worker[2:-1] if worker else None,
            "action": action.strip(), "job": api,
            "ret": ret[len(" with ret="):] if ret else None}
