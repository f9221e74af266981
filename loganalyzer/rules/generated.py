"""The generated part of the error catalogue: every error text libvirt and QEMU report on
the path of a migration, read from their released sources by tools/catalogue_build.py
(data/catalogue.json.gz), each placed by the reviewed table data/causes.tsv.

The hand-written patterns of catalogue.py stay in front: they carry meanings and remedies
for the messages users meet most.  A generated message gets its cause family's remedies.

Matching a line: the words of the line are looked up in an index of one rare literal word
per message; only the few messages whose word occurs are tried with their regex (built
from the printf format: ``%s`` free text, ``%d`` a number...).  Where several messages
match the same text, the one with more literal text wins, and the VIR_ERR_* code whose
prefix (``argument unsupported: ``, ...) stands right before the text is preferred.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Optional

from . import printf
from .causes import CAUSE_SUMMARIES, Cause
from .patterns import ROOT, SYMPTOM, ErrorPattern
from .remedies import REMEDIES

DATA = Path(__file__).with_name("data") / "catalogue.json.gz"
# a word of a message: what the index is made of
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,}")
# less literal text than this and a message is too generic to be recognised alone
MIN_LETTERS = 10
CONSEQUENCE, NONE = "consequence", "none"
# a daemon record's "function:line : " right before a message: the function that reported it
_REPORTER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):[0-9]+ : $")
# functions that log an error raised elsewhere (the other side's, relayed over RPC)
_RELAYS = re.compile(r"^(?:virNetClientProgramDispatchError|virNetServerProgram|remoteDispatch|"
                     r"virNetClientStream|virRaiseErrorObject)")


@dataclass(frozen=True)
class Message:
    """One wording of one message, as the data holds it."""
    id: str
    origin: str              # libvirt | qemu
    code: str                # VIR_ERR_* or the QEMU call
    domain: str              # VIR_FROM_* of the reporting file
    format: str              # normalised printf format of the text ('' for a code's own text)
    files: tuple
    functions: tuple
    versions: tuple
    kind: str                # error | system (strerror appended) | prepend (QEMU) | bare
    placed: Optional[str]    # the causes.tsv column: cause id, consequence[:...], none; None = unplaced
    rule: Optional[int]      # the causes.tsv line that placed it

    @property
    def cause(self) -> Optional[str]:
        """The cause this message names, None for consequences and 'none'."""
        if self.placed is None or self.placed == NONE or self.placed.startswith(CONSEQUENCE):
            return None
        return self.placed

    @property
    def look_for(self) -> tuple:
        """For a consequence: the causes it usually follows."""
        if self.placed and self.placed.startswith(CONSEQUENCE + ":"):
            return tuple(c for c in self.placed.split(":", 1)[1].split(",") if c)
        return ()

    @property
    def where(self) -> str:
        fns = list(self.functions[:3]) + (["…"] if len(self.functions) > 3 else [])
        f = ", ".join(self.files[:2]) if self.files else "?"
        lead = f"{self.origin} {' / '.join(fns)} ({f})" if fns else f"{self.origin} {f}"
        code = f", {self.code}" if self.code.startswith("VIR_ERR_") else ""
        return f"{lead}{code}, {self.origin} {version_span(self.versions)}"


def version_span(versions) -> str:
    vs = list(versions)
    if not vs:
        return "?"
    return vs[0] if len(vs) == 1 else f"{vs[0]}–{vs[-1]}" if len(vs) > 2 else " and ".join(vs)


class Catalogue:
    """The loaded data with its word index; regexes are compiled when first needed."""

    def __init__(self, data: dict):
        self.data = data
        self.versions = data["versions"]
        self.prefixes = data["prefixes"]
        self.codes = data["codes"]
        self.domains = data["domains"]
        self.translations = data["translations"]
        self.dynamic = data.get("dynamic", [])
        self.messages = [Message(e["id"], e["origin"], e["code"], e.get("domain", ""), e["format"],
                                 tuple(e["files"]), tuple(e["functions"]), tuple(e["versions"]),
                                 e["kind"], e.get("cause"), e.get("rule")) for e in data["messages"]]
        self.by_id = {m.id: m for m in self.messages}
        self.position = {m.id: i for i, m in enumerate(self.messages)}
        self._text = [self.text_format(m) for m in self.messages]
        self._regex: dict[int, re.Pattern] = {}
        self.index: dict[str, list[int]] = {}
        self.generic: set[int] = set()
        self._build_index()

    # -- what a message prints
    def prefix_formats(self, code: str) -> list[str]:
        """The formats a code prints its text in (``argument unsupported: %s``), newest first."""
        return [p["info"] for p in reversed(self.prefixes.get(code, []))]

    def bare_text(self, code: str) -> str:
        ps = self.prefixes.get(code, [])
        return ps[-1]["bare"] if ps else ""

    def text_format(self, m: Message) -> str:
        """The format of the message's own text (a code's bare text for kind 'bare')."""
        if m.kind == "bare":
            return printf.escape(self.bare_text(m.code))
        return m.format

    def example(self, m: Message) -> str:
        """What the message prints, with its prefix, for plain values."""
        fmt = self.text_format(m)
        if m.kind == "system" and fmt.endswith(": %s"):
            body = printf.example(fmt[:-4]) + ": No such file or directory"
        else:
            body = printf.example(fmt)
        if m.kind == "bare" or m.origin != "libvirt":
            return body
        pf = self.prefix_formats(m.code)
        return (pf[0].split("%s", 1)[0] if pf else "") + body

    # -- the index (its keys are computed by index_keys when the data is written)
    def _build_index(self) -> None:
        for i, e in enumerate(self.data["messages"]):
            key = e.get("key")
            if key:
                self.index.setdefault(key, []).append(i)
            else:
                self.generic.add(i)

    def matchable(self, m: Message) -> bool:
        """Is the message specific enough to be recognised alone?"""
        return self.position[m.id] not in self.generic

    def regex(self, i: int) -> re.Pattern:
        """The search regex: the message from its first literal word on (leading
        conversions and punctuation would swallow the start of the line)."""
        rx = self._regex.get(i)
        if rx is None:
            rx = self._regex[i] = re.compile(printf.to_regex(_from_first_word(self._text[i])))
        return rx

    def candidates(self, text: str) -> list[int]:
        idx = self.index
        out: list[int] = []
        for w in set(WORD.findall(text)):
            got = idx.get(w)
            if got:
                out.extend(got)
        return out

    def might_match(self, text: str) -> bool:
        idx = self.index
        return any(w in idx for w in WORD.findall(text))

    # -- matching
    def match(self, text: str) -> list[tuple[re.Match, Message]]:
        """The messages in a string: (match, message), by position; of several messages
        matching the same text the most literal one (and the code whose prefix stands before
        it) is kept; a message inside another's free text is kept too (the wrapped one)."""
        found = []
        for i in self.candidates(text):
            for m in self.regex(i).finditer(text):
                if m.end() > m.start() and self.accepts(text, m.start(), i):
                    found.append((m.start(), m.end(), i, _literal_len(self._text[i]), m))
                    break
        if not found:
            return []
        found.sort(key=lambda f: (-f[3], f[0]))
        kept: list[tuple] = []
        for f in found:
            if any(_same_text(f, k) for k in kept):
                continue
            kept.append(f)
        return [(m, self._choose_code(text, s, i)) for s, e, i, _, m in sorted(kept, key=lambda f: (f[0], -f[1]))]

    def _lead_before(self, text: str, start: int, code: str) -> Optional[str]:
        """The code's prefix lead (``argument unsupported: ``) right before start, if there."""
        for pf in self.prefix_formats(code):
            lead = pf.split("%s", 1)[0]
            if lead and text.endswith(lead, 0, start):
                return lead
        return None

    def accepts(self, text: str, start: int, i: int) -> bool:
        """Is the text at start this message?  Not when a one-token text lacks its prefix,
        nor when a daemon record says another function reported it (the same wording
        elsewhere in libvirt, off the migration path; relayed errors excepted)."""
        m = self.messages[i]
        lead = self._lead_before(text, start, m.code) if m.origin == "libvirt" else None
        if lead is None and one_token(self._text[i]):
            # a text of one token (virReportUnsupportedError's function name) is recognised
            # only after its code's prefix (tested here, not for every message at load)
            return False
        if m.origin == "libvirt" and m.functions:
            end = start - len(lead or "")
            r = _REPORTER.search(text, max(0, end - 120), end)
            if r is not None and r.group(1) not in m.functions and not _RELAYS.match(r.group(1)):
                return False
        return True

    def _choose_code(self, text: str, start: int, i: int) -> Message:
        """Of the messages with this text (the same wording under several codes), the one
        whose prefix stands right before it; else the first."""
        m = self.messages[i]
        same = [j for j in self._same_wording.get(self._text[i], [i]) if self.accepts(text, start, j)]
        if len(same) <= 1:
            return m
        for j in same:
            if self._lead_before(text, start, self.messages[j].code):
                return self.messages[j]
        return m

    @cached_property
    def _same_wording(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, t in enumerate(self._text):
            out.setdefault(t, []).append(i)
        return {t: v for t, v in out.items() if len(v) > 1}


def one_token(fmt: str) -> bool:
    """Is the literal text of a format one token (no white space in it)?"""
    return not any(c.isspace() for c in "".join(printf.literal_text(fmt)))


def index_keys(formats: list[str], prefixed: list[bool]) -> list[Optional[str]]:
    """For each message text, the word the index files it under: its rarest usable word
    over all the texts (ties: the longer); None when the text has less than MIN_LETTERS
    letters of usable words, or is one token without a prefix to find it by (QEMU's
    ``rdma_resolve_addr``): too generic to be recognised alone."""
    words_of: list[list[str]] = []
    df: dict[str, int] = {}
    for fmt, has_prefix in zip(formats, prefixed):
        ws = _usable_words(fmt)
        if sum(len(w) for w in ws) < MIN_LETTERS or (one_token(fmt) and not has_prefix):
            ws = []
        words_of.append(ws)
        for w in set(ws):
            df[w] = df.get(w, 0) + 1
    return [min(set(ws), key=lambda w: (df[w], -len(w), w)) if ws else None for ws in words_of]


def _usable_words(fmt: str) -> list[str]:
    """The words of a format's literal text that print as themselves: not glued to a
    conversion (``%sfoo`` prints ``barfoo``)."""
    out: list[str] = []
    ps = printf.parts(fmt)
    for k, p in enumerate(ps):
        if p.conv:
            continue
        lit = p.literal
        for w in WORD.finditer(lit):
            glued_left = w.start() == 0 and k > 0
            glued_right = w.end() == len(lit) and k < len(ps) - 1
            if not glued_left and not glued_right:
                out.append(w.group(0))
    return out


def _from_first_word(fmt: str) -> str:
    """The format from its first literal letter on (``%s: %s: unsupported auth %s`` →
    ``unsupported auth %s``)."""
    ps = printf.parts(fmt)
    for k, p in enumerate(ps):
        if p.conv:
            continue
        m = re.search(r"[A-Za-z]", p.literal)
        if m is None:
            continue
        rest = [printf.escape(p.literal[m.start():])]
        rest += [printf.escape(q.literal) if not q.conv else "%" + q.conv for q in ps[k + 1:]]
        return "".join(rest)
    return fmt


def _literal_len(fmt: str) -> int:
    return sum(len(x) for x in printf.literal_text(fmt))


def _same_text(a: tuple, b: tuple) -> bool:
    return same_text(a[4], b[4])


def same_text(ma: re.Match, mb: re.Match) -> bool:
    """Do two matches in one string cover the same text (one of them is dropped), rather
    than one being wrapped in the other's free text (both are kept: the wrapped message is
    the more specific one)?"""
    sa, ea, sb, eb = ma.start(), ma.end(), mb.start(), mb.end()
    if ea <= sb or eb <= sa:
        return False
    for outer, (si, ei) in ((mb, (sa, ea)), (ma, (sb, eb))):
        for g in range(1, (outer.re.groups or 0) + 1):
            gs, ge = outer.span(g)
            if gs != -1 and gs <= si and ei <= ge:
                return False    # inside the other's free text: a wrapped message
    return True


@lru_cache(maxsize=1)
def load(path: Path = DATA) -> Catalogue:
    with gzip.open(path, "rb") as fh:
        return Catalogue(json.loads(fh.read()))


# ------------------------------------------------------------------------------------------
# Generated messages as catalogue patterns
# ------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def pattern_of(message_id: str):
    """The catalogue ErrorPattern of a generated message: its cause and role from
    causes.tsv, a meaning that says who reports it, its cause family's remedies."""
    cat = load()
    m = cat.by_id[message_id]
    i = cat.position[message_id]
    cause = Cause(m.cause) if m.cause is not None else None
    if cause is Cause.UNSUPPORTED_CONFIG and m.origin == "qemu":
        meaning = (f"QEMU refused the migration for this configuration (a capability, parameter or device "
                   f"it cannot migrate with, or that the other QEMU lacks). Reported by {m.where}.")
    elif cause is not None:
        meaning = f"{CAUSE_SUMMARIES[cause]} Reported by {m.where}."
    elif m.look_for:
        meaning = (f"A consequence of an earlier failure (usually {' or '.join(m.look_for)}); "
                   f"reported by {m.where}.")
    elif m.placed == NONE:
        meaning = f"{m.origin}'s own bookkeeping, which names no cause by itself; reported by {m.where}."
    else:
        meaning = f"A consequence of an earlier failure; reported by {m.where}."
    return ErrorPattern(
        id=m.id, regex=cat.regex(i), cause=cause, role=ROOT if cause else SYMPTOM,
        meaning=meaning, remedies=tuple(REMEDIES.get(cause, ())) if cause else (),
        versions=f"{m.origin} {', '.join(m.versions)}", ambiguous_with=tuple(Cause(c) for c in m.look_for),
        anchors=(), example=cat.example(m))
