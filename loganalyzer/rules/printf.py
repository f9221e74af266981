"""printf format strings, as libvirt and QEMU write their error messages: the parts of a
format, the regex that matches what it prints, and an example of what it prints.

``%s`` matches free text, ``%d``/``%llu``/``%zu``/``%x``... match numbers, ``%1$s``
(libvirt ≥ 9.x writes positional conversions) is the same as ``%s``.
"""
from __future__ import annotations

import re
from typing import Iterator, NamedTuple

# flags, width, precision, length modifier, conversion; the optional N$ is positional
_SPEC = re.compile(r"%(?:(?P<pos>[0-9]+)\$)?(?P<flags>[-+ #0']*)(?P<width>\*(?:[0-9]+\$)?|[0-9]+)?"
                   r"(?:\.(?P<prec>\*(?:[0-9]+\$)?|[0-9]*))?"
                   r"(?P<len>hh|h|ll|l|L|q|j|z|Z|t)?(?P<conv>[diouxXeEfFgGaAcspnm%])")


class Part(NamedTuple):
    literal: str         # text, when conv is ""
    conv: str            # "" for literal text, else the conversion letter ('s', 'd', 'u', ...)
    pos: int | None      # the N of %N$, if given


def parts(fmt: str) -> list[Part]:
    """A format split into literal text and conversions (``%%`` is literal ``%``).  A ``%``
    that starts no valid conversion is kept as literal text."""
    if "%" not in fmt:
        return [Part(fmt, "", None)] if fmt else []
    out: list[Part] = []
    buf: list[str] = []
    last = 0
    for m in _SPEC.finditer(fmt):
        buf.append(fmt[last:m.start()])
        last = m.end()
        conv = m.group("conv")
        if conv == "%":
            buf.append("%")
            continue
        lit = "".join(buf)
        if lit:
            out.append(Part(lit, "", None))
        buf = []
        pos = m.group("pos")
        out.append(Part("", conv, int(pos) if pos else None))
    buf.append(fmt[last:])
    lit = "".join(buf)
    if lit:
        out.append(Part(lit, "", None))
    return out


def arg_count(fmt: str) -> int:
    """How many arguments the conversions consume (``*`` widths count too)."""
    n = 0
    for m in _SPEC.finditer(fmt):
        if m.group("conv") in "%m":
            continue
        n += 1 + (m.group("width") or "").startswith("*") + (m.group("prec") or "").startswith("*")
    return n


def conversions(fmt: str) -> Iterator[re.Match]:
    """The conversions of a format (not ``%%``), as regex matches over it."""
    for m in _SPEC.finditer(fmt):
        if m.group("conv") != "%":
            yield m


def normalise(fmt: str) -> str:
    """The same format without positional ``N$`` (libvirt ≥ 9.x) and with one spelling per
    conversion class, so that one wording has one key across versions."""
    def repl(m: re.Match) -> str:
        conv = m.group("conv")
        if conv == "%":
            return "%%"
        return "%" + _CANON.get(conv, conv)
    return _SPEC.sub(repl, fmt)


# a conversion's class, written as a canonical conversion
_CANON = {"i": "d", "d": "d", "u": "u", "o": "u", "x": "x", "X": "x", "e": "f", "E": "f",
          "f": "f", "F": "f", "g": "f", "G": "f", "a": "f", "A": "f", "c": "c", "s": "s",
          "p": "p", "m": "s", "n": ""}

# Free text of one message: stops at a line end, a double quote (a JSON string's end) and a
# literal backslash-n (journald/pacemaker escaping of joined lines).
TEXT = r'[^"\n\\]*?(?:\\(?!n)[^"\n\\]*?)*?'
TEXT_GREEDY = r'[^"\n\\]*(?:\\(?!n)[^"\n\\]*)*'
_CLASS = {"d": r"-?[0-9]+", "u": r"[0-9]+", "x": r"(?:0x)?[0-9a-fA-F]+", "f": r"-?[0-9.eE+-]+|inf|nan",
          "c": r".", "p": r"0x[0-9a-fA-F]+|\(nil\)|\(null\)"}


def to_regex(fmt: str) -> str:
    """A regex source matching what the format prints.  Text conversions are lazy inside
    the message and greedy up to the end of the message at its end."""
    ps = parts(normalise(fmt))
    out = []
    for k, p in enumerate(ps):
        if not p.conv:
            out.append(re.escape(p.literal))
        elif p.conv == "s":
            out.append("(" + (TEXT_GREEDY if k == len(ps) - 1 else TEXT) + ")")
        else:
            out.append("(" + _CLASS.get(p.conv, TEXT) + ")")
    return "".join(out)


_EXAMPLE = {"s": "example", "d": "1", "u": "1", "x": "1f", "f": "1.5", "c": "x", "p": "0x55d0c0de"}


def example(fmt: str, text: str = "example") -> str:
    """What the format prints with plain values (``%s`` → ``text``, numbers → 1)."""
    return "".join(p.literal if not p.conv else (text if p.conv == "s" else _EXAMPLE.get(p.conv, "1"))
                   for p in parts(normalise(fmt)))


def literal_text(fmt: str) -> list[str]:
    """The literal pieces of a format, in order."""
    return [p.literal for p in parts(fmt) if not p.conv]


def escape(text: str) -> str:
    """A literal text written as a format (``%`` doubled)."""
    return text.replace("%", "%%")
