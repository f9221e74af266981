"""Re-emit a libvirt file-format log the ways the same daemon's records reach a real host's
other log stores (issue 13), for the tests that hold every form to the file form's analysis.

Modelled on real captures (samples/forms-concurrent-keepalive/, where one libvirt 9.0 run wrote
every record to a file, rsyslog, journald and stderr-into-the-journal at once, and
samples/syslog-p2p-keepalive-timeout/, samples/journald-p2p-keepalive-timeout/), and on the code
that writes them (glibc syslog(), rsyslog 8.2302 imuxsock and its two file templates,
systemd 252 journald and journalctl's output modes):

  syslog            rsyslog RSYSLOG_TraditionalFileFormat of `log_outputs="1:syslog:IDENT"`:
                    `Dec  6 20:17:41 HOST IDENT: TID: level : func:line : msg`, no year, no pid,
                    the receiver's time (whole seconds), control characters escaped as #ooo
                    (\\n #012, \\r #015, \\t #011; the one newline libvirt ends each record with is
                    dropped), the datagram cut at rsyslog's 8096-byte maxMessageSize
  syslog-precise    the same in RSYSLOG_FileFormat: `2026-12-06T20:17:41.367117+00:00 HOST ...`
  stderr-journal    `log_outputs="1:stderr"` read back with `journalctl -o short-precise`: every
                    physical line of the file (the daemon's stderr) is one journal entry with its
                    own `Dec 06 20:45:01.197873 HOST libvirtd[PID]: ` prefix; a trailing \\r is
                    gone, empty lines are dropped, lines over journald's LineMax (48 KiB) are split
  stderr-journal-iso  the same with `-o short-iso` (`2026-12-06T20:45:01+0000 HOST libvirtd[PID]: `)
  journal-short     `log_outputs="1:journald"` with `journalctl -o short-precise`: one entry per
                    record, the bare message (no thread, level or function), \\r removed, further
                    lines indented to the width of the prefix
  journal-json      `journalctl -o json`: one object per record, journald's field set in a
                    hash order that changes from record to record, MESSAGE as a string, as an
                    array of byte values when it holds a control character other than \\n and \\t
                    (every QMP command: `...}\\r\\n fd=-1`), or null when `MESSAGE=` plus the
                    value reaches 4096 bytes
  journal-export    `journalctl -o export`: `NAME=value` lines, `NAME\\n<le64 length><bytes>\\n` for
                    values with a newline or control character, an empty line after each entry

convert() returns, for every record of the file log, the line of the converted file where that
record starts (journal-export: the line of the entry's `__CURSOR=`), so a test can check that the
creation lines of an analysis point at the right line.

Field values the file form does not carry (CODE_FILE, LIBVIRT_SOURCE, LIBVIRT_CODE of a
function) are taken from the real journald captures under samples/, else left generic.
"""
from __future__ import annotations

import calendar
import gzip
import json
import lzma
import random
import re
import struct
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

FORMS = ("syslog", "syslog-precise", "stderr-journal", "stderr-journal-iso", "journal-short",
         "journal-json", "journal-export")
# the file name each form is written under (journalctl and rsyslog outputs as a user saves them)
SUFFIX = {"syslog": "syslog.log", "syslog-precise": "syslog-precise.log",
          "stderr-journal": "stderr-journal.txt", "stderr-journal-iso": "stderr-journal-iso.txt",
          "journal-short": "journal-short-precise.txt", "journal-json": "journal.json",
          "journal-export": "journal.export"}

_START = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.(\d{3})[+-]\d{4}): (\d+): "
                    rb"(debug|info|warning|error|unknown) : (?:([A-Za-z_][A-Za-z0-9_]*):(\d+) : )?", re.M)
_SEVERITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "unknown": 6}
RSYSLOG_MAX = 8096          # rsyslog's default maxMessageSize: the whole datagram, header included
JOURNAL_LINE_MAX = 48 << 10  # journald's LineMax for stdout streams
JSON_THRESHOLD = 4096        # journalctl -o json: a field of this size ("NAME=" + value) is null
_ERROR_CODES = (("internal error: ", 1), ("operation failed: ", 9), ("Requested operation is not valid: ", 55),
                ("operation aborted: ", 78), ("Timed out during operation: ", 68),
                ("Unsafe migration: ", 81), ("unsupported configuration: ", 67))


class FileRecord:
    __slots__ = ("line", "nlines", "stamp", "t_ms", "tid", "level", "func", "src_line", "text", "message")

    def __init__(self, line, nlines, stamp, t_ms, tid, level, func, src_line, text, message):
        self.line, self.nlines, self.stamp, self.t_ms = line, nlines, stamp, t_ms
        self.tid, self.level, self.func, self.src_line = tid, level, func, src_line
        self.text, self.message = text, message     # bytes: the whole record / the bare message


def read_file_records(path) -> list[FileRecord]:
    """The records of a file-format log (a record: a line that starts with libvirt's header and
    every line after it up to the next such line); text before the first record is left out."""
    return list(_file_records(str(path)))


@lru_cache(maxsize=4)
def _file_records(path: str) -> tuple:
    # (a test converts one log into every form in a row: read it once)
    data = _read(path)
    out = []
    starts = [m for m in _START.finditer(data)]
    line = data.count(b"\n", 0, starts[0].start()) + 1 if starts else 1
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(data)
        text = data[m.start():end]
        stamp = m.group(1).decode()
        t_ms = _epoch(stamp[:19]) * 1000 + int(m.group(2))
        body = data[m.end():end]
        msg = body[:-1] if body.endswith(b"\n") else body
        func = m.group(5).decode() if m.group(5) else None
        out.append(FileRecord(line, text.count(b"\n"), stamp, t_ms, int(m.group(3)), m.group(4).decode(), func,
                              int(m.group(6)) if m.group(6) else None, text, msg))
        line += text.count(b"\n")
    return tuple(out)


@lru_cache(maxsize=65536)
def _epoch(s: str) -> int:
    return calendar.timegm((int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19])))


def _read(path) -> bytes:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(raw)
    return raw


# ---------------------------------------------------------------- the daemon's identity
def daemon_pid(records) -> int:
    """The daemon's pid: the thread id of its start-up header lines (the main thread, tid == pid);
    without headers, the most frequent thread id (the event loop)."""
    for r in records[:5]:
        if r.func is None:
            return r.tid
    from collections import Counter
    return Counter(r.tid for r in records).most_common(1)[0][0] if records else 1


def daemon_host(records, default="vm") -> str:
    for r in records[:5]:
        if r.func is None and r.message.startswith(b"hostname: "):
            return r.message[len(b"hostname: "):].decode()
    return default


# ---------------------------------------------------------------- receiver time
def _receive_us(records):
    """The receiver's time of each record in microseconds: libvirt's millisecond plus a count
    within it (a log daemon stamps arrivals with microseconds, in order)."""
    out = []
    last = None
    for r in records:
        us = r.t_ms * 1000 + 37
        if last is not None and us <= last:
            us = last + 1
        out.append(us)
        last = us
    return out


@lru_cache(maxsize=4096)
def _second(s: int, fmt: str) -> str:
    """A whole second in strftime's `fmt` (many records share one: formatted once)."""
    d = datetime.fromtimestamp(s, timezone.utc)
    return d.strftime(fmt.replace("%e", f"{d.day:2d}"))


def _bsd_stamp(us) -> str:          # rsyslog traditional: day padded with a space
    return _second(us // 1_000_000, "%b %e %H:%M:%S")


def _rfc3339_us(us) -> str:         # rsyslog high precision
    return _second(us // 1_000_000, "%Y-%m-%dT%H:%M:%S") + f".{us % 1_000_000:06d}+00:00"


def _short_precise(us) -> str:      # journalctl short-precise: day padded with a zero
    return _second(us // 1_000_000, "%b %d %H:%M:%S") + f".{us % 1_000_000:06d}"


def _short_iso(us) -> str:
    return _second(us // 1_000_000, "%Y-%m-%dT%H:%M:%S") + "+0000"


# ---------------------------------------------------------------- syslog
_RSYSLOG_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def _rsyslog_escape(b: bytes) -> bytes:
    return _RSYSLOG_CONTROL.sub(lambda m: b"#%03o" % m.group()[0], b)


def _syslog_lines(records, host, ident, precise):
    """What rsyslog writes for each record: glibc's syslog() sends `<PRI>Mmm dd hh:mm:ss IDENT: `
    and libvirt's body (`TID: level : func:line : msg\\n`); rsyslog reads at most RSYSLOG_MAX bytes
    of the datagram, drops one trailing newline and escapes control characters."""
    times = _receive_us(records)
    for r, us in zip(records, times):
        head = f"{r.tid}: {r.level} : " + (f"{r.func}:{r.src_line} : " if r.func else "")
        body = head.encode() + r.message + b"\n"
        pri = 3 * 8 + _SEVERITY[r.level]                 # facility daemon
        sent = f"<{pri}>{_bsd_stamp(us)} {ident}: ".encode()
        body = body[:RSYSLOG_MAX - len(sent)]
        if body.endswith(b"\n"):
            body = body[:-1]
        stamp = _rfc3339_us(us) if precise else _bsd_stamp(us)
        yield f"{stamp} {host} {ident}: ".encode() + _rsyslog_escape(body) + b"\n"


# ---------------------------------------------------------------- stderr through the journal
def _stderr_journal_lines(records, host, ident, pid, iso):
    times = _receive_us(records)
    for r, us in zip(records, times):
        stamp = _short_iso(us) if iso else _short_precise(us)
        prefix = f"{stamp} {host} {ident}[{pid}]: ".encode()
        out = []
        for ln in r.text.split(b"\n"):
            if ln.endswith(b"\r"):
                ln = ln[:-1]
            if not ln:
                continue
            while len(ln) > JOURNAL_LINE_MAX:
                out.append(prefix + ln[:JOURNAL_LINE_MAX] + b"\n")
                ln = ln[JOURNAL_LINE_MAX:]
            out.append(prefix + ln + b"\n")
        yield b"".join(out)


# ---------------------------------------------------------------- native journald
@lru_cache(maxsize=1)
def _learned_fields() -> dict:
    """(CODE_FUNC, PRIORITY) -> {CODE_FILE, LIBVIRT_SOURCE[, LIBVIRT_CODE, LIBVIRT_DOMAIN]} as
    libvirt sent them in the real journald captures under samples/."""
    table: dict = {}
    for p in sorted(SAMPLES.glob("*/*journal.json*")):
        for ln in _read(p).splitlines():
            try:
                o = json.loads(ln)
            except ValueError:
                continue
            if not isinstance(o, dict):
                continue
            key = (o.get("CODE_FUNC"), o.get("PRIORITY"))
            if key not in table and o.get("_TRANSPORT") == "journal":
                table[key] = {k: o[k] for k in ("CODE_FILE", "LIBVIRT_SOURCE", "LIBVIRT_CODE", "LIBVIRT_DOMAIN")
                              if k in o}
    return table


def _libvirt_fields(r) -> dict:
    """The fields libvirt's journald output sends with a record (virLogOutputToJournald)."""
    prio = str(_SEVERITY[r.level])
    func, line = r.func, r.src_line
    if func is None:   # the start-up header lines come from virLogVMessage itself
        func, line = "virLogVMessage", 557 if r.message.startswith(b"libvirt version") else 564
    f = dict(_learned_fields().get((func, prio), {}))
    if not f:
        f = {"CODE_FILE": "../../src/unknown.c", "LIBVIRT_SOURCE": "unknown"}
        if r.level == "error":
            code = next((c for p, c in _ERROR_CODES if r.message.startswith(p.encode())), 1)
            f = {"CODE_FILE": f["CODE_FILE"], "LIBVIRT_SOURCE": "util.error",
                 "LIBVIRT_CODE": str(code), "LIBVIRT_DOMAIN": "0"}
    f.update({"PRIORITY": prio, "SYSLOG_FACILITY": "3", "CODE_LINE": str(line), "CODE_FUNC": func})
    return f


class _Journal:
    """The journal entries of one daemon: journald's own fields around libvirt's."""

    BOOT = "85807f33e1054913bf9d28aa07bf4a54"
    MACHINE = "3d1219c7c4c5404aaa1f6d2a48adfda4"
    SEQNUM_ID = "de5e172ca466404c9f910610ce336783"
    BOOT_US = 1_790_000_000_000_000      # realtime at boot, for __MONOTONIC_TIMESTAMP

    def __init__(self, records, host, comm, pid, seed):
        self.records, self.host, self.comm, self.pid = records, host, comm, pid
        self.rng = random.Random(seed)
        # (the fields every entry of the daemon has alike, in journald's order)
        self.same = {"_BOOT_ID": self.BOOT, "_MACHINE_ID": self.MACHINE, "_HOSTNAME": host,
                     "_RUNTIME_SCOPE": "system", "_TRANSPORT": "journal", "_UID": "65534", "_GID": "65534",
                     "_COMM": comm, "_EXE": f"/usr/sbin/{comm}", "_CAP_EFFECTIVE": "0",
                     "_PID": str(pid), "_CMDLINE": f"{comm} -f /etc/libvirt/{comm}.conf"}

    def entries(self):
        times = _receive_us(self.records)
        for i, (r, us) in enumerate(zip(self.records, times)):
            real = us + 150
            f = {"MESSAGE": r.message}
            f.update(_libvirt_fields(r))
            f["__CURSOR"] = (f"s={self.SEQNUM_ID};i={i + 0x16:x};b={self.BOOT};m={real - self.BOOT_US:x};"
                             f"t={real:x};x={self.rng.getrandbits(64):016x}")
            f["__REALTIME_TIMESTAMP"], f["__MONOTONIC_TIMESTAMP"] = str(real), str(real - self.BOOT_US)
            f.update(self.same)
            f["_SOURCE_REALTIME_TIMESTAMP"] = str(us)
            yield r, us, f


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")            # \t is printable
_CONTROL_BUT_NL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")    # and \n too


def _printable(b, newline: bool) -> bool:
    """systemd's utf8_is_printable(_newline): valid UTF-8 without control characters (\t, and
    \n when allowed, excepted).  b: bytes, or text as its UTF-8."""
    if isinstance(b, str):
        if b.isascii() and b.isprintable():
            return True         # (journald's own fields, sooner)
        b = b.encode()
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return (_CONTROL_BUT_NL if newline else _CONTROL).search(s) is None


def _json_value(name, v):
    b = v.encode() if isinstance(v, str) else v
    if len(name) + 1 + len(b) >= JSON_THRESHOLD:
        return None
    if _printable(v, True):
        return b.decode()
    return list(b)


def _journal_json_lines(journal):
    for r, us, f in journal.entries():
        names = list(f)
        journal.rng.shuffle(names)     # journalctl prints its hash map's order
        obj = {n: _json_value(n, f[n]) for n in names}
        yield (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


_EXPORT_HEAD = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "_BOOT_ID")


def _journal_export_entries(journal):
    for r, us, f in journal.entries():
        rest = [n for n in f if n not in _EXPORT_HEAD]
        journal.rng.shuffle(rest)      # the journal file's order of the entry's data objects
        out = []
        for n in _EXPORT_HEAD + tuple(rest):
            v = f[n]
            printable = _printable(v, False)
            v = v if isinstance(v, bytes) else v.encode()
            if printable:
                out.append(n.encode() + b"=" + v + b"\n")
            else:
                out.append(n.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n")
        yield b"".join(out) + b"\n"


def _journal_short_lines(journal):
    for r, us, f in journal.entries():
        prefix = f"{_short_precise(us)} {journal.host} {journal.comm}[{journal.pid}]: ".encode()
        msg = r.message.replace(b"\r", b"")
        lines = msg.split(b"\n")
        if lines and lines[-1] == b"" and len(lines) > 1:
            lines.pop()                 # journalctl prints no line after a final newline
        indent = b" " * len(prefix.decode())
        yield prefix + (b"\n" + indent).join(lines) + b"\n"


# ---------------------------------------------------------------- entry point
def convert(src, form: str, dst, host: str | None = None, ident: str | None = None,
            pid: int | None = None, seed: int = 1) -> dict:
    """Write the file-format log `src` as `form` into `dst`; returns {file line of each record:
    converted line where it starts}."""
    records = read_file_records(src)
    host = host or daemon_host(records)
    pid = pid or daemon_pid(records)
    if form in ("syslog", "syslog-precise"):
        chunks = _syslog_lines(records, host, ident or "libvirtd", form == "syslog-precise")
    elif form in ("stderr-journal", "stderr-journal-iso"):
        chunks = _stderr_journal_lines(records, host, ident or "libvirtd", pid, form.endswith("iso"))
    elif form in ("journal-short", "journal-json", "journal-export"):
        j = _Journal(records, host, ident or "libvirtd", pid, seed)
        chunks = {"journal-short": _journal_short_lines, "journal-json": _journal_json_lines,
                  "journal-export": _journal_export_entries}[form](j)
    else:
        raise ValueError(f"unknown form {form!r} (known: {', '.join(FORMS)})")
    lines = {}
    n = 1
    with open(dst, "wb") as out:
        for r, chunk in zip(records, chunks):
            lines[r.line] = n
            n += chunk.count(b"\n")
            out.write(chunk)
    return lines


def merge_syslog(parts, dst) -> list[dict]:
    """Interleave syslog files of several daemons in time order, as one /var/log/messages:
    parts = [(path, {file line: line})...]; returns each part's line map into the merged file."""
    stamp = re.compile(rb"^(\w{3} [ \d]\d \d\d:\d\d:\d\d|\S+T\S+) ")
    rows = []
    for k, (path, _) in enumerate(parts):
        for i, ln in enumerate(Path(path).read_bytes().splitlines(keepends=True), 1):
            m = stamp.match(ln)
            t = m.group(1) if m else b""
            if m and b"T" not in t[:4]:
                t = datetime.strptime(t.decode(), "%b %d %H:%M:%S").strftime("%m%d%H%M%S").encode()
            rows.append((t, k, i, ln))
    rows.sort(key=lambda x: x[0])     # stable: within one second each part keeps its order
    where = {}
    with open(dst, "wb") as out:
        for n, (_, k, i, ln) in enumerate(rows, 1):
            where[(k, i)] = n
            out.write(ln)
    return [{fl: where[(k, cl)] for fl, cl in m.items()} for k, (_, m) in enumerate(parts)]


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Re-emit a libvirt file-format log in another form.")
    ap.add_argument("form", choices=FORMS)
    ap.add_argument("src", help="file-format log (plain, .gz or .xz)")
    ap.add_argument("dst", nargs="?", help="output file (default: SRC.<form suffix>)")
    ap.add_argument("--host"), ap.add_argument("--ident"), ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    dst = a.dst or f"{a.src}.{SUFFIX[a.form]}"
    n = len(convert(a.src, a.form, dst, host=a.host, ident=a.ident, pid=a.pid))
    print(f"{dst}: {n} records")
