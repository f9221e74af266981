"""The grammar (grammars/libvirtd.lark): the definition of a record.

It is loaded into a LALR parser whose Transformer returns a record's parts directly (no
tree walking after): the slow route every quicker one is held to (records.record_with_grammar,
tests/test_fastpath.py).  Its terminals (TERMINALS: name -> regex, kept by terminals.py) are what the quick routes
are built from: the record header (header.py) and the message families (fastpath.py).
"""
from __future__ import annotations

import functools

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from .terminals import grammar_path, grammar_text  # noqa: F401 (re-exported)
from .values import to_int


@v_args(inline=True)
class RecordTransformer(Transformer):
    """Builds (stamp, tid, level, func, src_line, kind, message, fields)."""

    # -- header
    def tid(self, tok):
        return str(tok[:-2])       # its digits: read by values.to_int (it may not fit)

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
                    func, src_line = f, to_int(ln.split(" ", 1)[0])
                else:
                    rest.append(it)
            elif isinstance(it, str):
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
    kind, message, fields), or None when the text is not a record.  A thread
    id or line number too large for 64 bits is None (values.to_int)."""
    parsed = parse_with_grammar_text(text)
    if parsed is None or parsed[1] is None:
        return parsed
    return (parsed[0], to_int(parsed[1])) + parsed[2:]


def parse_with_grammar_text(text: str):
    """parse_with_grammar, with the thread id as its digits (record_with_grammar reads them)."""
    p = grammar_parser()
    try:
        return p.parse(text, start="start")
    except UnexpectedInput:
        try:
            return p.parse(text, start="fallback")
        except UnexpectedInput:
            return None


def parse_message_with_grammar(message: str, level: str = "debug"):
    """Parse a bare message (journald MESSAGE=, KubeVirt msg) -> (kind, message, fields)."""
    p = grammar_parser()
    start = "error_message" if level in ("error", "warning") else "message"
    try:
        return p.parse(message, start=start)
    except UnexpectedInput:
        return ("error" if start == "error_message" else "text", message,
                {"prefix": None, "text": message} if start == "error_message" else {})


def __getattr__(name: str):
    if name == "TERMINALS":       # (terminals.py keeps them; it may need this module to make them)
        from .terminals import TERMINALS
        return TERMINALS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def lark_terminals() -> dict:
    """name -> the terminal's regular expression, as lark compiles it (TERMINALS, kept by
    terminals.py)."""
    return {t.name: t.pattern.to_regexp() for t in grammar_parser().terminals}


if __name__ == "__main__":       # keep the terminals of the grammar as it is now (terminals.py)
    import json

    from .terminals import digest, kept_path
    kept_path().write_text(json.dumps({"grammar_sha256": digest(grammar_text()), "terminals": lark_terminals()},
                                      indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {kept_path()}")
