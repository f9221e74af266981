"""Open anything a user has: plain or compressed files (the first bytes decide, codecs.py
decodes), stdin, folders (only regular files inside them are opened, symbolic links never
lead out of them), and tell a libvirt log from anything else by its first bytes (sniff).
Bytes only; formats.py decides what the bytes say."""
from __future__ import annotations

import io
import lzma
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass

import zstandard

from .codecs import NAMES, Decoded, compression_by_name, compression_of


class InputError(Exception):
    """Unusable input: the message is one line that names the file."""


# what reading a stream raises when the file cannot be read (damaged compressed data does not
# raise: codecs.Decoded ends there and says why); other decoders' errors, for streams given
STREAM_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, zstandard.ZstdError)

# bytes read from the start of a file to decide what it is
PEEK = 65536


# ------------------------------------------------------------ opening
def special_kind(mode: int) -> str | None:
    """What a file that is neither a regular file nor a folder is, else None."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return None
    return "special file"


def _os_error(path: str, e: OSError) -> InputError:
    if isinstance(e, FileNotFoundError):
        return InputError(f"{shown(path)}: no such file")
    if isinstance(e, PermissionError):
        return InputError(f"{shown(path)}: permission denied")
    return InputError(f"{shown(path)}: cannot read ({e.strerror or e})")


def open_raw(path: str, regular_only: bool = False):
    """path opened for reading, unbuffered; never blocks on a FIFO, socket or device found where
    a file was expected.  regular_only: only a regular file (inside folders); otherwise a FIFO
    or character device named by the user (a pipe from <(...), /dev/stdin) is read as a stream.
    Raises InputError with a one-line message."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise _os_error(path, e) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{shown(path)}: is a directory")
    what = special_kind(st.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if what is None:
        # a regular file; O_NONBLOCK: if it is swapped for a FIFO before the open, the open
        # does not wait for a writer (the fstat below then refuses it)
        flags |= getattr(os, "O_NONBLOCK", 0)
    elif regular_only or what not in ("FIFO", "character device"):
        raise InputError(f"{shown(path)}: {what}, not a regular file: not read")
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise _os_error(path, e) from None
    now = special_kind(os.fstat(fd).st_mode)
    if now is not None and what is None:
        os.close(fd)
        raise InputError(f"{shown(path)}: {now}, not a regular file: not read")
    return os.fdopen(fd, "rb", buffering=0)


# callable(path, stream) -> stream that sees every input opened here (the CLI's progress bar)
read_observer = None


def open_binary(path: str, regular_only: bool = False):
    """A binary stream of the decompressed content of path ('-' = stdin): codecs.Decoded, whose
    .damage tells a compressed input that ends early or turns corrupt, and whose .notes hold
    what the reader should warn about."""
    stream = _open_binary(path, regular_only)
    return read_observer(path, stream) if read_observer is not None else stream


def _open_binary(path: str, regular_only: bool = False):
    if path == "-":
        return open_stdin()
    raw = open_raw(path, regular_only)
    try:
        head = raw.read(8)
    except OSError as e:
        raw.close()
        raise _os_error(path, e) from None
    return decoded(PeekStream(raw, head), head, os.path.basename(path))


def decoded(raw, head: bytes, name: str = "") -> Decoded:
    """raw (whose first bytes are head, still to be read) decompressed as its first bytes say;
    the one place that decides whether an input is compressed (analyze, events, scan)."""
    kind = compression_of(head)
    d = Decoded(raw, kind)
    claimed = compression_by_name(name)
    if claimed and kind != claimed:
        d.notes.append(f"the name says {NAMES[claimed]}, but the content is "
                       + (f"{NAMES[kind]}: read as {NAMES[kind]}" if kind else "not compressed: read as plain text"))
    return d


def open_stdin():
    """Standard input, decompressed when its first bytes say it is compressed."""
    raw = sys.stdin.buffer
    head = raw.read(8)
    return decoded(PeekStream(raw, head), head)


def damage_of(stream):
    """The codecs.Damage of an opened input (the first said by it or the wrappers inside it),
    or None."""
    for _ in range(5):
        if stream is None:
            return None
        d = getattr(stream, "damage", None)
        if d is not None:
            return d
        stream = getattr(stream, "inner", None) or getattr(stream, "_stream", None) or getattr(stream, "_s", None)
    return None


def head_damage(stream, head: bytes) -> str | None:
    """Why an input gave no bytes at all, when its compressed data is damaged from the start."""
    d = damage_of(stream)
    if not head and d is not None and d.kind != "trailing":
        return f"{d.describe()}: nothing could be read"
    return None


def check_head(stream, head: bytes, path: str) -> None:
    """An input whose compressed data cannot give even its first bytes is unusable."""
    why = head_damage(stream, head)
    if why:
        raise InputError(f"{shown(path)}: {why}")


def note_end(stream, facts) -> None:
    """After the last read of an input: what its codec found goes into its facts (a truncated
    input is a warning, its records before the break are all kept; corrupt data is an error)."""
    for n in getattr(_decoded(stream), "notes", ()):
        facts.warn(f"{shown(facts.path)}: {n}")
    d = damage_of(stream)
    if d is None:
        return
    where = f"after line {facts.lines}; the {facts.records} records before the break are read"
    if d.kind == "truncated":
        facts.ends_early = True
        facts.warn_problem("truncated", f"{shown(facts.path)}: input ends early: {d.describe()} {where}")
    elif d.kind == "trailing":
        facts.warn(f"{shown(facts.path)}: {d.describe()}")
    elif facts.error is None:
        facts.error = f"{shown(facts.path)}: {d.describe()} {where}"


def _decoded(stream):
    for _ in range(5):
        if stream is None or isinstance(stream, Decoded):
            return stream
        stream = getattr(stream, "inner", None) or getattr(stream, "_stream", None) or getattr(stream, "_s", None)
    return None


# ------------------------------------------------------------ names
# characters that never need quoting in a shell word (GNU quotearg's list; # and ~ only after
# the first character)
_SHELL_SAFE = frozenset("%+,-./:@]_{}")
_NAMED_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\v": "\\v"}


def _hidden(c: str) -> bool:
    """A character that must not reach a terminal as it is: controls, bidi and other format
    characters, separators, the surrogates that stand for undecodable bytes."""
    import unicodedata
    return unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _escape(c: str) -> str:
    return _NAMED_ESCAPES.get(c) or "".join(f"\\{b:03o}" for b in c.encode("utf-8", "surrogateescape"))


def shown(name) -> str:
    """A file name as `ls --quoting-style=shell-escape` shows it: as it is when that is safe,
    in '...' (or "..." around a single quote) when it holds shell characters, and every
    control character as $'\\n', $'\\033' between quoted runs: a message naming it stays one
    line, and the name can be pasted into a shell.  Bidi and other format characters, which
    ls prints raw, are escaped too."""
    name = os.fspath(name)
    if not name:
        return "''"
    hidden = [_hidden(c) for c in name]
    if not any(hidden) and all(c.isalnum() or c in _SHELL_SAFE or (c in "#~" and i) or (ord(c) > 127 and c.isprintable())
                               for i, c in enumerate(name)):
        return name
    if not any(hidden):
        if "'" in name and not any(c in name for c in '"$`\\!'):
            return f'"{name}"'
        return "'" + name.replace("'", "'\\''") + "'"
    out, state = ["'"], "quoted"          # inside '...', inside $'...', or between them
    for c, h in zip(name, hidden):
        if h:
            out.append({"quoted": "'$'", "escaped": "", "between": "$'"}[state] + _escape(c))
            state = "escaped"
        else:
            out.append({"quoted": "", "escaped": "''", "between": "'"}[state] + ("'\\''" if c == "'" else c))
            state = "quoted"
    out.append("'")
    return "".join(out)


# ------------------------------------------------------------ what a file is
@dataclass
class Sniff:
    kind: str            # log | empty | binary | not-a-log | special | unsafe | unreadable | corrupt
    reason: str = ""     # why it is not read (empty for a log)
    format: str | None = None

    @property
    def is_log(self) -> bool:
        return self.kind == "log"


# the forms a daemon's log is written in; libvirt lines quoted in other text (a bug report,
# notes: "pasted") are read when the file is named, not when it is found in a folder
LOG_FORMS = ("file", "syslog", "journal", "journal-json", "journal-export", "journal-verbose", "kubevirt")
# every supported form names libvirt somewhere in its first kilobytes (a function virX...,
# an ident libvirtd/virtqemud, "subcomponent":"libvirt"): a cheap first test
_VIR = re.compile(rb"(?i)vir")


def sniff(head: bytes, complete: bool = True) -> Sniff:
    """Is this the start of a libvirt log, in any form formats.py reads?  head: the first
    (decompressed) bytes; complete: head is the whole file (else its last line may be cut)."""
    from . import formats
    if not head:
        return Sniff("empty", "empty")
    export = formats.is_export(head)    # journalctl -o export: binary values are part of the form
    if looks_binary(head) and not export:
        return Sniff("binary", "binary")
    if not _VIR.search(head):
        return Sniff("not-a-log", "not a libvirt log")
    if not complete and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    text = head.decode(formats.BINARY_SAFE["journal-export"] if export else "utf-8", "replace")
    fmt = "journal-export" if export else formats.detect(text)
    if fmt == "text" or not formats.has_records(text, fmt):
        return Sniff("not-a-log", "not a libvirt log", fmt)
    if fmt not in LOG_FORMS:
        return Sniff("not-a-log", "not a libvirt log: text quoting libvirt lines", fmt)
    return Sniff("log", "", fmt)


def sniff_file(path: str) -> Sniff:
    """sniff() of a file found in a folder: only regular files are opened (never blocking), and
    the compression is decided by the first bytes."""
    try:
        with open_binary(path, regular_only=True) as s:
            head = s.read(PEEK)
            why = head_damage(s, head)
    except InputError as e:
        msg = str(e)
        reason = msg[len(shown(path)) + 2:] if msg.startswith(shown(path) + ": ") else msg
        kind = "special" if "not a regular file" in reason else "unreadable"
        return Sniff(kind, reason.replace(": not read", ""))
    if why:
        return Sniff("corrupt", why)
    return sniff(head, complete=len(head) < PEEK)


# ------------------------------------------------------------ rotated sets
_COMP = r"(?:\.(?:gz|xz|bz2|zst|zstd))?"
# libvirt's own names, as logrotate and sos leave them (the sosreport layout rules use these)
_LOG_NUM = re.compile(rf"^(?P<base>.+?\.log)\.(?P<n>\d+){_COMP}$")
_LOG_DATE = re.compile(rf"^(?P<base>.+?\.log)-(?P<d>\d{{8}}(?:\d+)?){_COMP}$")
_LOG_PLAIN = re.compile(rf"^(?P<base>.+?\.log){_COMP}$")
_LOG_TAILED = re.compile(r"^(?P<base>.+?\.log)\.tailed$")
# any name: messages-20261201, node2.txt.1.gz, hv01.log
_ANY_DATE = re.compile(rf"^(?P<base>.+?)-(?P<d>\d{{8}}(?:\d+)?){_COMP}$")
_ANY_NUM = re.compile(rf"^(?P<base>.+?)\.(?P<n>\d{{1,4}}){_COMP}$")
_ANY_TAILED = re.compile(r"^(?P<base>.+?)\.tailed$")
_ANY_PLAIN = re.compile(rf"^(?P<base>.+?){_COMP}$")


def rotation_key(name: str):
    """(base name, age order) with the oldest file first inside one set:
    dated copies by date, then numbered copies from the highest number down,
    then the live file (logrotate's copytruncate leaves the newest unnumbered)."""
    m = _ANY_DATE.match(name)
    if m:
        return (m["base"], 0, m["d"], 0)
    m = _ANY_NUM.match(name)
    if m:
        return (m["base"], 1, "", -int(m["n"]))
    m = _ANY_TAILED.match(name) or _ANY_PLAIN.match(name)
    if m:
        return (m["base"], 2, "", 0)
    return (name, 2, "", 0)


def is_log_name(name: str) -> bool:
    """Named like a libvirt log file (*.log, *.log.N, *.log-DATE[.gz], *.log.tailed)."""
    return bool(_LOG_DATE.match(name) or _LOG_NUM.match(name) or _LOG_PLAIN.match(name)
                or _LOG_TAILED.match(name))


# ------------------------------------------------------------ folders
@dataclass
class Found:
    """A file (or a problem) under a folder."""
    path: str
    rel: list            # path parts under the folder
    kind: str            # file | special | unsafe | unreadable
    reason: str = ""     # why it is not read (empty for a file)
    size: int = 0


def walk_folder(top: str, enter=None):
    """Every file under top, in name order, depth first.  Symbolic links are resolved against
    top at every level: one that leaves it is `unsafe` and never opened; one to a folder inside
    it is not followed (its files are found where they are).  Only regular files come as
    `file`; a FIFO, socket or device is `special`, a folder that cannot be listed `unreadable`.

    enter(folder, rel, names) -> False: the caller takes that folder itself (a sosreport)."""
    top_real = os.path.realpath(top)
    stack = [(top, [])]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            if rel:
                yield Found(folder, rel, "unreadable", _reason(e))
                continue
            raise _os_error(folder, e) from None
        if enter is not None and enter(folder, rel, [e.name for e in entries]) is False:
            continue
        subdirs = []
        for e in entries:
            path, parts = e.path, rel + [e.name]
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    if not _inside(os.path.realpath(path), top_real):
                        yield Found(path, parts, "unsafe", f"symbolic link leaving the folder "
                                                           f"(-> {shown(os.readlink(path))}): not followed")
                        continue
                    st = os.stat(path)
                    if stat.S_ISDIR(st.st_mode):
                        continue
            except OSError as err:
                yield Found(path, parts, "unreadable", _reason(err))
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append((path, parts))
            elif stat.S_ISREG(st.st_mode):
                yield Found(path, parts, "file", "", st.st_size)
            else:
                yield Found(path, parts, "special", f"{special_kind(st.st_mode)}, not a regular file")
        stack.extend(reversed(subdirs))


def _inside(real: str, top_real: str) -> bool:
    return real == top_real or real.startswith(top_real.rstrip(os.sep) + os.sep)


def _reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "no such file (a broken symbolic link?)"
    return f"cannot read ({e.strerror or e})"


@dataclass
class Skipped:
    """A file under a folder that is not read, and why."""
    path: str
    reason: str


def expand_paths(paths, errors: list | None = None, skipped: list | None = None) -> list[str]:
    """Files named directly stay as given (in order); a directory gives every file under it
    whose first bytes are a libvirt log in any form, compressed or not, each rotated set
    oldest first.  The files it leaves out go to `skipped` (Skipped: path, reason).

    A directory without logs, or a sub-folder that cannot be read, raises InputError, or,
    when `errors` is a list, its message is appended there and the rest is still expanded.
    A file that cannot be opened or decoded is kept: reading it reports the problem."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for path in paths:
        path = os.fspath(path)
        if path == "-" or not os.path.isdir(path):
            out.append(path)
            continue
        found, left = [], []
        try:
            for f in walk_folder(path):
                if f.kind == "unreadable" and not os.path.isfile(f.path):
                    _error(errors, InputError(f"{shown(f.path)}: {f.reason}: its files are not read"))
                    continue
                what = sniff_file(f.path) if f.kind == "file" else Sniff(f.kind, f.reason)
                if what.is_log or what.kind in ("unreadable", "corrupt"):
                    found.append(f.path)
                else:
                    left.append(Skipped(f.path, what.reason))
        except InputError as e:
            _error(errors, e)
            continue
        if skipped is not None and found:
            skipped.extend(left)
        if not found:
            what = f" ({skipped_summary(left)})" if left else ""
            _error(errors, InputError(f"{shown(path)}: directory holds no libvirt logs{what}"))
            continue
        found.sort(key=lambda f: (os.path.dirname(f),) + rotation_key(os.path.basename(f)))
        out.extend(found)
    return out


def _error(errors: list | None, e: InputError) -> None:
    if errors is None:
        raise e
    errors.append(e)


def skipped_summary(skipped: list, most: int = 8) -> str:
    """'3 files skipped: a (not a libvirt log), b (binary), ...' in one line."""
    if not skipped:
        return ""
    shown_ = [f"{shown(s.path)} ({s.reason})" for s in skipped[:most]]
    more = f", and {len(skipped) - most} more" if len(skipped) > most else ""
    return f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped: {', '.join(shown_)}{more}"


@dataclass
class Block:
    """Decoded text.  `tail` marks the rest of an over-long physical line
    (beyond max_line bytes): formats keep it as foreign text."""
    text: str
    nbytes: int
    tail: bool = False
    cut: object = None      # recordcut.Cut: the block's last record was cut (file format)


def _utf8_cut(data: bytes, n: int) -> int:
    """A cut position <= n that does not split a UTF-8 sequence."""
    k = n
    while k > n - 4 and k > 0 and (data[k] & 0xC0) == 0x80:
        k -= 1
    return k if k > 0 else n


def read_blocks(stream, path: str, blocksize: int = 1 << 22, on_error=None,
                max_line: int = 8 << 20, on_long_line=None, encoding: str = "utf-8"):
    """Decoded text blocks that end at a newline (the last may not).

    Invalid UTF-8 is replaced (U+FFFD) (encoding="latin-1" decodes one character per
    byte, for formats with binary values); a read error ends the blocks and is
    reported through on_error(message) (damaged compressed data just ends: see
    note_end).  A physical line longer
    than max_line bytes is cut there: its first max_line bytes end a normal
    block, the rest comes as `tail` blocks (memory stays bounded), and
    on_long_line(nbytes_so_far) is called once per such line."""
    carry = b""
    in_tail = False
    broken = False
    piece = blocksize
    while True:
        if broken:
            chunk = b""
        else:
            parts = []
            got = 0
            while got < blocksize:
                try:
                    p = stream.read(piece)
                except STREAM_ERRORS as e:
                    # (damaged compressed data does not raise: codecs.Decoded ends there)
                    if on_error:
                        on_error(f"read error ({_short(e)})")
                    broken = True
                    break
                if not p:
                    break
                parts.append(p)
                got += len(p)
            chunk = b"".join(parts) if len(parts) != 1 else parts[0]
        if not chunk:
            if carry:
                yield Block(carry.decode(encoding, "replace"), len(carry), in_tail)
            return
        data = carry + chunk if carry else chunk
        if in_tail:
            nl = data.find(b"\n")
            if nl < 0:
                k = _utf8_cut(data, len(data) - 1) if len(data) > 4 else len(data)
                yield Block(data[:k].decode(encoding, "replace"), k, True)
                carry = data[k:]
                continue
            yield Block(data[:nl + 1].decode(encoding, "replace"), nl + 1, True)
            in_tail = False
            data = data[nl + 1:]
            if not data:
                carry = b""
                continue
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > max_line:
                k = _utf8_cut(data, max_line)
                if on_long_line:
                    on_long_line(k)
                yield Block(data[:k].decode(encoding, "replace"), k)
                carry = data[k:]
                in_tail = True
                continue
            carry = data
            continue
        carry = data[cut + 1:]
        head = data[:cut + 1]
        yield Block(head.decode(encoding, "replace"), len(head))


def _short(e: Exception) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:120]


def looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample[:8192]:
        return True
    text_chars = bytes(range(32, 127)) + b"\n\r\t\f\b\x1b"
    nontext = sample[:8192].translate(None, text_chars)
    # UTF-8 multibyte text is fine; only control bytes count against it
    ctrl = sum(1 for b in nontext if b < 32)
    return ctrl > len(sample[:8192]) * 0.05


class PeekStream(io.RawIOBase):
    """Wrap a stream so its first bytes can be inspected and then read again."""

    def __init__(self, stream, head: bytes):
        self._stream = stream
        self._head = head

    def readable(self):
        return True

    def read(self, n=-1):
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            if len(out) < n and not self._head:
                out += self._stream.read(n - len(out)) or b""
            return out
        return self._stream.read(n)

    def readinto(self, b):
        if not self._head and hasattr(self._stream, "readinto"):
            return self._stream.readinto(b) or 0
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self):
        try:
            if self._stream is not sys.stdin.buffer:
                self._stream.close()
        finally:
            super().close()
