"""Read error-reporting calls out of C sources (libvirt, QEMU): a small lexer, a macro
expander for the reporting macros, and the format string of each call.

Used by tools/catalogue_build.py only; nothing here is shipped with loganalyzer.  The
sources are read, never copied: what comes out is the format string of each call, the
error code, the file and the function it is in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+|\\\n)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<punct>\#\#|\.\.\.|->|<<=|>>=|[-+*/%&|^<>=!]=|&&|\|\||<<|>>|\+\+|--|.)
""", re.S | re.X)

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "?": "?", "0": "\0"}


@dataclass
class Tok:
    kind: str      # ident, string, char, number, punct, directive-end
    text: str
    line: int
    pos: int = -1  # offset in the file (lexed tokens only)


def unescape(literal: str) -> str:
    """The value of one C string literal (with its quotes)."""
    body = literal[literal.index('"') + 1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = body[i + 1]
            if n == "x":
                m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
                out.append(chr(int(m.group(0), 16)) if m else "x")
                i += 2 + (len(m.group(0)) if m else 0)
                continue
            if n in "01234567":
                m = re.match(r"[0-7]{1,3}", body[i + 1:])
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
                continue
            out.append(_ESCAPES.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def lex(text: str) -> list[Tok]:
    """Tokens of a C file.  A preprocessor directive ends with a 'directive-end' token so
    that #define bodies can be cut out; line continuations are whitespace."""
    toks: list[Tok] = []
    line = 1
    in_directive = False
    at_line_start = True
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        s = m.group(0)
        if kind == "ws":
            line += s.count("\n")
            continue
        if kind == "comment":
            line += s.count("\n")
            continue
        if kind == "nl":
            if in_directive:
                toks.append(Tok("directive-end", "", line))
                in_directive = False
            line += 1
            at_line_start = True
            continue
        if kind == "punct" and s == "#" and at_line_start:
            in_directive = True
            toks.append(Tok("directive", "#", line))
            at_line_start = False
            continue
        at_line_start = False
        toks.append(Tok(kind, s, line, m.start()))
    if in_directive:
        toks.append(Tok("directive-end", "", line))
    return toks


@dataclass
class Macro:
    name: str
    params: list[str] | None        # None: object-like
    body: list[Tok]
    variadic: bool = False


def split_directives(toks: list[Tok]) -> tuple[list[Tok], dict[str, Macro]]:
    """The code tokens (directives removed) and the function-like/object-like macros
    #defined in them."""
    code: list[Tok] = []
    macros: dict[str, Macro] = {}
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if t.kind != "directive":
            code.append(t)
            i += 1
            continue
        j = i + 1
        while j < n and toks[j].kind != "directive-end":
            j += 1
        d = toks[i + 1:j]
        i = j + 1
        if len(d) >= 2 and d[0].text == "define" and d[1].kind == "ident":
            name = d[1].text
            rest = d[2:]
            # function-like only when '(' follows the name without a blank
            if rest and rest[0].text == "(" and rest[0].pos == d[1].pos + len(name):
                k = 1
                params: list[str] = []
                variadic = False
                while k < len(rest) and rest[k].text != ")":
                    if rest[k].kind == "ident":
                        params.append(rest[k].text)
                    elif rest[k].text == "...":
                        variadic = True
                        params.append("__VA_ARGS__")
                    k += 1
                macros[name] = Macro(name, params, rest[k + 1:], variadic)
            else:
                macros[name] = Macro(name, None, rest)
    return code, macros


def split_args(toks: list[Tok], open_index: int) -> tuple[list[list[Tok]], int]:
    """The comma-separated arguments of the call whose '(' is at open_index, and the index
    of its closing ')'."""
    depth = 0
    args: list[list[Tok]] = [[]]
    i = open_index
    while i < len(toks):
        t = toks[i]
        if t.text in "([{" and t.kind == "punct":
            depth += 1
            if depth > 1:
                args[-1].append(t)
        elif t.text in ")]}" and t.kind == "punct":
            depth -= 1
            if depth == 0:
                return ([] if args == [[]] else args), i
            args[-1].append(t)
        elif t.text == "," and depth == 1:
            args.append([])
        else:
            args[-1].append(t)
        i += 1
    return args, len(toks) - 1


def expand(body: list[Tok], macro: Macro, args: list[list[Tok]], line: int) -> list[Tok]:
    """A function-like macro's body with its arguments substituted (``#param`` gives a
    string literal of the argument's text, ``##`` is dropped)."""
    params = macro.params or []
    by_name: dict[str, list[Tok]] = {}
    for k, p in enumerate(params):
        if p == "__VA_ARGS__":
            rest: list[Tok] = []
            for a in args[k:]:
                if rest:
                    rest.append(Tok("punct", ",", line))
                rest.extend(a)
            by_name[p] = rest
        else:
            by_name[p] = args[k] if k < len(args) else []
    out: list[Tok] = []
    i = 0
    while i < len(body):
        t = body[i]
        if t.text == "#" and i + 1 < len(body) and body[i + 1].text in by_name:
            text = " ".join(x.text for x in by_name[body[i + 1].text])
            out.append(Tok("string", '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', line))
            i += 2
            continue
        if t.text == "##":
            i += 1
            continue
        if t.kind == "ident" and t.text in by_name:
            out.extend(Tok(x.kind, x.text, line) for x in by_name[t.text])
        else:
            out.append(Tok(t.kind, t.text, line))
        i += 1
    return out


@dataclass
class Function:
    name: str
    start: int          # token index of its '{'
    end: int            # token index of its closing '}'
    params: list = field(default_factory=list)   # parameter names, in order


def functions(code: list[Tok]) -> list[Function]:
    """Function definitions at file scope: ``name ( ... ) [attributes] {``."""
    out: list[Function] = []
    depth = 0
    i = 0
    n = len(code)
    candidate = None
    while i < n:
        t = code[i]
        if depth == 0 and t.kind == "ident" and i + 1 < n and code[i + 1].text == "(":
            args, close = split_args(code, i + 1)
            candidate = (t.text, close, [_param_name(a) for a in args])
            i = close + 1
            continue
        if t.text == "{" and t.kind == "punct":
            if depth == 0 and candidate is not None and _only_attributes(code, candidate[1] + 1, i):
                start = i
                d = 0
                while i < n:
                    if code[i].text == "{" and code[i].kind == "punct":
                        d += 1
                    elif code[i].text == "}" and code[i].kind == "punct":
                        d -= 1
                        if d == 0:
                            break
                    i += 1
                out.append(Function(candidate[0], start, i, candidate[2]))
                candidate = None
                i += 1
                continue
            depth += 1
        elif t.text == "}" and t.kind == "punct":
            depth -= 1
        elif t.text == ";" and depth == 0:
            candidate = None
        i += 1
    return out


def _param_name(decl: list[Tok]) -> str | None:
    """The name a parameter declaration declares (``const char *msgprefix G_GNUC_UNUSED``)."""
    names = [t.text for t in decl if t.kind == "ident" and not t.text.startswith(("G_GNUC", "ATTRIBUTE_"))]
    return names[-1] if names else None


def _only_attributes(code: list[Tok], a: int, b: int) -> bool:
    """Between a function's ')' and its '{' there are only attribute macros."""
    i = a
    while i < b:
        t = code[i]
        if t.kind != "ident":
            return False
        if i + 1 < b and code[i + 1].text == "(":
            _, close = split_args(code, i + 1)
            i = close + 1
        else:
            i += 1
    return True


# ------------------------------------------------------------------------------------------
# Strings: the value of an argument made of literals, gettext wrappers and known macros
# ------------------------------------------------------------------------------------------

GETTEXT = {"_", "N_", "gettext", "dgettext", "ngettext"}
# inttypes.h macros as glibc on x86_64 spells them
PRI = {"PRId64": "ld", "PRIi64": "li", "PRIu64": "lu", "PRIx64": "lx", "PRIX64": "lX",
       "PRId32": "d", "PRIu32": "u", "PRIx32": "x", "PRIu16": "u", "PRIu8": "u",
       "PRIdMAX": "jd", "PRIuMAX": "ju", "PRIxPTR": "lx", "PRIuPTR": "lu",
       "G_GSIZE_FORMAT": "lu", "G_GSSIZE_FORMAT": "li", "G_GUINT64_FORMAT": "lu",
       "G_GINT64_FORMAT": "li", "SIZE_FMT": "zu",
       # QEMU: whole conversions
       "RAM_ADDR_FMT": "%lx", "HWADDR_FMT_plx": "%016lx", "TARGET_FMT_lx": "%lx"}


def string_value(arg: list[Tok], objmacros: dict[str, Macro] | None = None) -> str | None:
    """The string an argument evaluates to when it is made only of string literals (also
    inside ``_()``/``N_()``, concatenated across lines, with ``PRIu64``-style macros and
    object-like macros whose value is such a string); None for anything else."""
    toks = _unwrap(arg)
    if not toks:
        return None
    parts = []
    for t in toks:
        if t.kind == "string":
            parts.append(unescape(t.text))
        elif t.kind == "ident" and t.text in PRI:
            parts.append(PRI[t.text])
        elif t.kind == "ident" and objmacros and t.text in objmacros and objmacros[t.text].params is None:
            v = string_value(objmacros[t.text].body, None)
            if v is None:
                return None
            parts.append(v)
        else:
            return None
    return "".join(parts)


def _unwrap(arg: list[Tok]) -> list[Tok]:
    """An argument without the parentheses and gettext wrappers around all of it."""
    toks = list(arg)
    while True:
        if len(toks) >= 3 and toks[0].kind == "ident" and toks[0].text in GETTEXT \
                and toks[1].text == "(" and _closes(toks, 1) == len(toks) - 1:
            toks = toks[2:-1]
        elif len(toks) >= 2 and toks[0].text == "(" and _closes(toks, 0) == len(toks) - 1:
            toks = toks[1:-1]
        else:
            return toks


def _closes(toks: list[Tok], i: int) -> int:
    """The index of the ')' that closes the '(' at i."""
    depth = 0
    for k in range(i, len(toks)):
        if toks[k].text == "(" and toks[k].kind == "punct":
            depth += 1
        elif toks[k].text == ")" and toks[k].kind == "punct":
            depth -= 1
            if depth == 0:
                return k
    return -1


def choices(arg: list[Tok], objmacros: dict[str, Macro] | None = None) -> list[str]:
    """The strings an argument can be: its string value, or the literals of both branches
    of a ``cond ? _("a") : _("b")`` argument; [] otherwise."""
    v = string_value(arg, objmacros)
    if v is not None:
        return [v]
    toks = _unwrap(arg)
    if any(t.text == "?" for t in toks) and any(t.text == ":" for t in toks):
        return gettext_literals(toks[next(i for i, t in enumerate(toks) if t.text == "?"):])
    return []


def gettext_literals(toks: list[Tok]) -> list[str]:
    """Every ``_("...")`` (or bare string) value in an expression, in order: the choices of a
    ternary or of several assignments to one message variable."""
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "ident" and t.text in GETTEXT and i + 1 < len(toks) and toks[i + 1].text == "(":
            args, close = split_args(toks, i + 1)
            if args:
                v = string_value(args[-1])
                if v is not None:
                    out.append(v)
            i = close + 1
            continue
        if t.kind == "string":
            j = i
            while j < len(toks) and (toks[j].kind == "string" or toks[j].text in PRI):
                j += 1
            v = string_value(toks[i:j])
            if v is not None:
                out.append(v)
            i = j
            continue
        i += 1
    return out


@dataclass
class Call:
    """One reporting call after macro expansion."""
    leaf: str                    # the reporting function reached
    args: list[list[Tok]]
    line: int
    function: str | None
    via: list[str] = field(default_factory=list)   # macros expanded to reach it


def find_calls(code: list[Tok], macros: dict[str, Macro], leaves: set[str],
               funcs: list[Function]) -> list[Call]:
    """Every call of a leaf reporting function in the code, reached directly or through
    the macros (expanded with their arguments; ``__FUNCTION__`` becomes the enclosing
    function's name as a string literal)."""
    reporting = _reporting_macros(macros, leaves)
    out: list[Call] = []
    fi = 0

    def func_at(i: int) -> str | None:
        nonlocal fi
        while fi < len(funcs) and funcs[fi].end < i:
            fi += 1
        if fi < len(funcs) and funcs[fi].start <= i <= funcs[fi].end:
            return funcs[fi].name
        return None

    def walk(toks: list[Tok], fname: str | None, via: list[str], base: int | None, depth: int):
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.kind == "ident" and i + 1 < len(toks) and toks[i + 1].text == "(":
                name = t.text
                f = fname if base is None else fname
                if base is None:
                    f = func_at(i)
                if name in leaves:
                    args, close = split_args(toks, i + 1)
                    args = [_subst_function(a, f) for a in args]
                    out.append(Call(name, args, t.line, f, list(via)))
                    # arguments can hold further calls (rare); not followed
                    i = close + 1
                    continue
                if name in reporting and depth < 8:
                    args, close = split_args(toks, i + 1)
                    body = expand(macros[name].body, macros[name], args, t.line)
                    walk(body, f, via + [name], i, depth + 1)
                    i = close + 1
                    continue
            i += 1

    walk(code, None, [], None, 0)
    return out


def _subst_function(arg: list[Tok], fname: str | None) -> list[Tok]:
    out = []
    for t in arg:
        if t.kind == "ident" and t.text in ("__FUNCTION__", "__func__") and fname:
            out.append(Tok("string", '"' + fname + '"', t.line))
        else:
            out.append(t)
    return out


def _reporting_macros(macros: dict[str, Macro], leaves: set[str]) -> set[str]:
    """The function-like macros whose expansion reaches a leaf (transitively)."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, m in macros.items():
            if name in found or m.params is None:
                continue
            idents = {t.text for t in m.body if t.kind == "ident"}
            if idents & leaves or idents & found:
                found.add(name)
                changed = True
    return found
