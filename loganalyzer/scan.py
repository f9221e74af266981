"""scan(paths) -> ScanResult: every migration and keepalive death in a fleet's logs, in one table.

Inputs are directories (searched recursively), tarballs (.tar, .tar.gz/.tgz, .tar.xz, .tar.bz2,
.tar.zst), zip files and sosreports (unpacked or archived, recognised by their `sos_commands/`
folder), nested one inside the other up to MAX_DEPTH levels.  The steps:

1. discovery (in the calling process): find the libvirt daemon logs, read the first 64 KiB
   of each (hostname header, first time stamp, is it a log at all) and group them into streams:
   one stream per host and daemon, its rotated files oldest first;
2. per stream (the unit of parallel work: in-process, a process pool, or a Dask cluster): the
   correlator of `analysis._read_host`, returning the picklable HostLog;
3. in the calling process: pair the hosts (`pair_migrations`), judge (`rules.judge`) and build
   the table, one row per migration view and per finding.

Members are read as streams.  Only two things are ever written to disk, and only into a private
temporary directory (mkdtemp, mode 0700, removed at the end) under generated names (never a
member's own name): the log members of a *compressed* tarball (it has no random access, so it is
decompressed once, sequentially) and archives nested inside archives.  Members with absolute
paths or `..` components, and links that point outside the archive, are never read and are
reported.  `max_bytes` (default DEFAULT_MAX_BYTES = 16 GiB) bounds both the decompressed size of
any one member and the total written into the temporary directory (decompression bombs).

Faults never stop the scan: each becomes a ScanError (path, reason, kind) in `.errors`, and a row
with outcome "error" in `.table()` / the written file.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone


from .sources import InputError, is_log_name, looks_binary, rotation_key

DEFAULT_MAX_BYTES = 16 << 30
MAX_DEPTH = 3
PEEK = 65536

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz",
                ".tar.zst", ".tar.zstd", ".tzst")
ZIP_SUFFIXES = (".zip",)
# folders of guest (QEMU, LXC, ...) logs inside a libvirt log folder: not daemon logs
GUEST_DIRS = {"qemu", "lxc", "ch", "libxl", "swtpm", "bhyve", "vbox", "uml"}
# folder names that say nothing about the host
GENERIC_DIRS = {"", ".", "libvirt", "log", "logs", "var", "containers", "tmp", "sos_strings",
                "varlog", "var-log"}
GENERIC_HOSTNAMES = {"", "vm", "localhost", "localhost.localdomain", "(none)", "unknown", "host",
                     "localhost6", "localhost6.localdomain6"}
DAEMON_RE = re.compile(r"libvirt|virt[a-z]*d\b|virt[a-z]*d[.-_]")
STANDARD_BASES = re.compile(r"^(libvirtd|virt[a-z]+d)\.log$")

_HOSTNAME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: \d+: info : hostname: (\S+)", re.M)
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)([+-]\d{4}): \d+: ", re.M)
_SOS_NAME = re.compile(r"^sosreport-(?P<host>.+?)(?:-[\w]+)?-\d{4}-\d{2}-\d{2}-\w+$")
_SOS_HOSTNAME_FILES = ("sos_commands/host/hostname", "sos_commands/general/hostname",
                       "sos_commands/host/hostname_-f", "sos_commands/general/hostname_-f",
                       "etc/hostname", "hostname")


# ------------------------------------------------------------------ results
@dataclass
class ScanError:
    """An input (or part of one) that could not be used, and why."""
    path: str
    reason: str
    kind: str = "input"   # unreadable | corrupt | truncated | not-a-log | unsafe | too-large | internal | input

    def as_dict(self) -> dict:
        return asdict(self)


ROW_COLUMNS = ["kind", "host", "file", "line", "domain", "uuid", "role", "start", "end", "outcome",
               "cause", "confidence", "evidence", "peer_host", "id", "summary", "error"]


class ScanResult:
    """What `scan` found.

    .rows      DataFrame, one row per migration view and per finding (columns ROW_COLUMNS)
    .errors    [ScanError]: inputs or members that failed, with their reason
    .analysis  the combined Analysis of every host (None when nothing was readable)
    .hosts     {correlator label: host name}
    .table()   .rows plus one row per error (outcome "error"): what -o writes
    .exit_code 0 = all inputs used, 1 = some failed, 2 = nothing usable
    """

    def __init__(self, rows, errors, analysis, hosts, streams, stats):
        self.rows = rows                  # pandas DataFrame
        self.errors: list[ScanError] = errors
        self.analysis = analysis
        self.hosts: dict = hosts
        self.streams: list = streams      # [(label, [member display names])]
        self.stats: dict = stats

    @property
    def analyses(self):
        return [self.analysis] if self.analysis is not None else []

    @property
    def usable(self) -> bool:
        return self.analysis is not None and bool(self.analysis.hosts)

    @property
    def exit_code(self) -> int:
        if not self.usable:
            return 2
        return 1 if self.errors else 0

    def errors_frame(self) -> "pd.DataFrame":
        import pandas as pd
        return pd.DataFrame([e.as_dict() for e in self.errors], columns=["path", "reason", "kind"])

    def table(self, include_errors: bool = True) -> "pd.DataFrame":
        import pandas as pd
        if not include_errors or not self.errors:
            return self.rows
        err = pd.DataFrame([{"kind": "error", "file": e.path, "outcome": "error", "cause": e.kind,
                             "error": e.reason} for e in self.errors], columns=ROW_COLUMNS)
        if self.rows.empty:
            return err
        err = err.astype({c: self.rows[c].dtype for c in ("start", "end")})
        return pd.concat([self.rows, err], ignore_index=True)

    def write(self, output: str) -> int:
        """Write .table() to a .csv, .parquet or .jsonl file; returns the number of rows."""
        df = self.table()
        low = output.lower()
        if low.endswith(".parquet"):
            out = df.copy()
            for c in out.columns:
                if out[c].dtype == object:
                    out[c] = out[c].astype("string")
            out.to_parquet(output, index=False)
        elif low.endswith(".csv"):
            df.to_csv(output, index=False)
        elif low.endswith((".jsonl", ".ndjson")):
            df.to_json(output, orient="records", lines=True, date_format="iso", date_unit="ms")
        else:
            raise ValueError(f"{output}: unknown output type (use .csv, .parquet or .jsonl)")
        return len(df)

    def __repr__(self):
        return (f"ScanResult({len(self.hosts)} host streams, {len(self.rows)} rows, "
                f"{len(self.errors)} errors)")


# ------------------------------------------------------------------ members and streams
def _decompress(raw, name: str):
    low = name.lower()
    if low.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if low.endswith(".xz"):
        return lzma.LZMAFile(raw, "rb")
    if low.endswith(".bz2"):
        return bz2.BZ2File(raw, "rb")
    if low.endswith((".zst", ".zstd")):
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
    return None


class _Slice(io.RawIOBase):
    """size bytes of fh from offset (a member of an uncompressed tarball)."""

    def __init__(self, fh, offset: int, size: int):
        self._fh = fh
        fh.seek(offset)
        self._left = size
        self.short = False

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._fh.read(n)
        if not data:
            self.short = True
            self._left = 0
            return 0
        b[:len(data)] = data
        self._left -= len(data)
        return len(data)


class CorruptData(OSError):
    """A compressed member whose data cannot be decoded."""


class MemberStream(io.RawIOBase):
    """The decompressed content of a member, cut at a byte limit; closes everything it opened."""

    STEP = 1 << 16

    def __init__(self, inner, closers, limit: int):
        self._inner = inner
        self._closers = closers
        self._limit = limit
        self.nbytes = 0
        self.over_limit = False
        self._error = None

    def readable(self):
        return True

    def read(self, n=-1):
        """Read in small steps: a damaged stream loses at most one step; the data before
        the damage is returned first and the error raised on the next read."""
        if self._error is not None:
            e, self._error = self._error, None
            raise e
        if self.nbytes >= self._limit:
            self.over_limit = self.over_limit or bool(self._inner.read(1))
            return b""
        want = self._limit - self.nbytes if n is None or n < 0 else min(n, self._limit - self.nbytes)
        parts = []
        got = 0
        while got < want:
            try:
                data = self._inner.read(min(want - got, self.STEP))
            except Exception as e:  # noqa: BLE001 - zlib, zip CRC, zstd, ...: a damaged stream
                err = e if isinstance(e, (OSError, EOFError)) else CorruptData(_short(e))
                if not parts:
                    raise err from None
                self._error = err
                break
            if not data:
                break
            parts.append(data)
            got += len(data)
        self.nbytes += got
        return b"".join(parts)

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            for c in [self._inner] + self._closers:
                try:
                    c.close()
                except Exception:
                    pass
        super().close()


@dataclass
class Member:
    """One log file found somewhere: on disk, in a tarball, in a zip, or spooled to the temp dir."""
    display: str                 # what rows and evidence show: path, or archive/member
    kind: str                    # file | tar | zip
    source: str                  # path on disk: the file, the tarball or the zip
    name: str = ""               # member name in the tarball / zip (the file's name for decompression)
    offset: int = 0              # tar: start of the member's data
    size: int = 0                # bytes stored (compressed size for a .gz member)
    group: tuple = ()            # (location, rotation base): one stream
    host_key: tuple = ()         # which physical host the location stands for
    context_host: str = ""       # sosreport host name, else the folder
    base: str = ""
    order: tuple = ()
    hostname: str | None = None  # from the `hostname:` header
    first_time: float | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    handle: object = None        # MemberStream of the last open (for over_limit / short checks)

    def open(self):
        closers = []
        if self.kind == "file":
            raw = open(self.source, "rb")
            name = self.source
        elif self.kind == "tar":
            fh = open(self.source, "rb")
            closers.append(fh)
            raw = _Slice(fh, self.offset, self.size)
            name = self.name
        elif self.kind == "zip":
            zf = zipfile.ZipFile(self.source)
            closers.append(zf)
            raw = zf.open(self.name)
            name = self.name
        else:
            raise InputError(f"{self.display}: unknown member kind {self.kind}")
        inner = _decompress(raw, name)
        if inner is None:
            inner = raw
        else:
            closers.insert(0, raw)
        self._raw = raw
        self.handle = MemberStream(inner, closers, self.max_bytes)
        return self.handle

    def __getstate__(self):
        d = dict(self.__dict__)
        d["handle"] = None
        d.pop("_raw", None)
        return d


def _open_error(display: str, e: Exception) -> ScanError:
    if isinstance(e, PermissionError):
        return ScanError(display, "permission denied", "unreadable")
    if isinstance(e, FileNotFoundError):
        return ScanError(display, "no such file", "unreadable")
    if isinstance(e, (CorruptData, EOFError, lzma.LZMAError, gzip.BadGzipFile, zipfile.BadZipFile)) \
            or type(e).__name__ == "ZstdError" or "zlib" in type(e).__module__:
        return ScanError(display, f"corrupt or truncated compressed data ({_short(e)})", "corrupt")
    if isinstance(e, OSError):
        return ScanError(display, f"cannot read ({e.strerror or _short(e)})", "unreadable")
    return ScanError(display, f"cannot read ({_short(e)})", "corrupt")


def _short(e) -> str:
    s = str(e) or type(e).__name__
    return s.splitlines()[0][:160]


def _peek(m: Member):
    """Read the head of a member: None if it is a log (hostname/time filled in), else a ScanError.
    An empty file returns "empty"."""
    try:
        with m.open() as s:
            head = s.read(PEEK)
    except Exception as e:  # noqa: BLE001 - any decoder error is a corrupt member
        return _open_error(m.display, e)
    if not head:
        return "empty"
    if looks_binary(head):
        return ScanError(m.display, "binary data, not a text log", "not-a-log")
    from .formats import detect
    text = head.decode("utf-8", "replace")
    if detect(text) == "text":
        return ScanError(m.display, "not a libvirt log (no libvirt records in its first 64 KiB)", "not-a-log")
    h = _HOSTNAME.search(text)
    if h:
        m.hostname = h.group(1)
    t = _TIME.search(text)
    if t:
        try:
            dt = datetime.strptime(t.group(1)[:23] + t.group(2), "%Y-%m-%d %H:%M:%S.%f%z")
            m.first_time = dt.timestamp()
        except ValueError:
            pass
    return None


# ------------------------------------------------------------------ discovery
def _is_archive(name: str) -> str | None:
    low = name.lower()
    if low.endswith(TAR_SUFFIXES):
        return "tar"
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    return None


def _strip_archive_suffix(name: str) -> str:
    low = name.lower()
    for suf in sorted(TAR_SUFFIXES + ZIP_SUFFIXES, key=len, reverse=True):
        if low.endswith(suf):
            return name[:-len(suf)]
    return name


def _logical_name(rel_parts: list[str]) -> str:
    """The log's own name: sos_strings/libvirt/var.log.libvirt.libvirtd.log.tailed -> libvirtd.log."""
    name = rel_parts[-1]
    if name.endswith(".tailed"):
        name = name[:-len(".tailed")]
        for prefix in ("var.log.containers.libvirt.libvirt.", "var.log.containers.libvirt.",
                       "var.log.libvirt.", "var.log."):
            if name.startswith(prefix):
                return name[len(prefix):]
    return name


def _candidate(rel_parts: list[str]) -> bool:
    """A libvirt daemon log by its place and name (outside sosreports)."""
    name = rel_parts[-1]
    if not is_log_name(name):
        return False
    dirs = [p.lower() for p in rel_parts[:-1]]
    if any(d in GUEST_DIRS for d in dirs):
        return False
    if any("libvirt" in d for d in dirs):
        return True
    return bool(DAEMON_RE.search(name.lower()))


def _sos_candidate(rel_parts: list[str]) -> tuple | None:
    """(sub-location) when a path inside a sosreport is one of its libvirt logs."""
    rel = "/".join(rel_parts)
    name = rel_parts[-1]
    if len(rel_parts) == 4 and rel.startswith("var/log/libvirt/") and is_log_name(name):
        return ("var/log/libvirt",)
    if rel.startswith("sos_strings/") and name.endswith(".tailed") and "libvirt" in name \
            and is_log_name(name):
        logical = name[:-len(".tailed")]
        if logical.startswith("var.log.containers."):
            return ("var/log/containers/libvirt",)
        if any(f".{g}." in logical for g in GUEST_DIRS):
            return None
        return ("var/log/libvirt",)
    if rel.startswith("var/log/containers/libvirt/") and is_log_name(name) \
            and not any(p in GUEST_DIRS for p in rel_parts[4:-1]):
        return ("var/log/containers/libvirt",)
    return None


def _folder_host(parts: list[str], fallback: str) -> str:
    for p in reversed(parts):
        if p.lower() not in GENERIC_DIRS:
            return p
    return fallback


def _sos_host(root_name: str, hostname_text: str | None) -> str:
    if hostname_text:
        line = hostname_text.strip().splitlines()[0].strip() if hostname_text.strip() else ""
        if line and line.lower() not in GENERIC_HOSTNAMES and " " not in line:
            return line
    m = _SOS_NAME.match(root_name)
    if m:
        return m["host"]
    return root_name


def _safe_member(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name):
        return "absolute member path"
    parts = re.split(r"[\\/]+", name)
    if ".." in parts:
        return "member path with '..'"
    return None


def _member_path(name: str) -> str:
    """A safe member's path inside its archive, as shown and matched (without the ./ of
    `tar -C DIR -cf - .` and without empty segments)."""
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _link_escapes(name: str, target: str) -> bool:
    if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
        return True
    base = os.path.dirname(name.rstrip("/"))
    norm = os.path.normpath(os.path.join(base, target))
    return norm == ".." or norm.startswith("../") or norm.startswith("/")


class _Discovery:
    def __init__(self, max_bytes: int, tmpdir_parent: str | None):
        self.max_bytes = max_bytes
        self.members: list[Member] = []
        self.errors: list[ScanError] = []
        self.tmp_parent = tmpdir_parent
        self.tmp: str | None = None
        self.spooled = 0
        self._n = 0

    # -- the private temporary directory
    def tmpdir(self) -> str:
        if self.tmp is None:
            self.tmp = tempfile.mkdtemp(prefix="loganalyzer-scan-", dir=self.tmp_parent)
            os.chmod(self.tmp, 0o700)
        return self.tmp

    def spool(self, fileobj, display: str, name: str) -> tuple[str | None, ScanError | None]:
        """Copy a member's stored bytes into the temp dir under a generated name.
        Returns (path, error); a read error keeps the bytes read before it."""
        self._n += 1
        low = name.lower()
        suffix = next((s for s in sorted(TAR_SUFFIXES + ZIP_SUFFIXES + (".gz", ".xz", ".bz2", ".zst", ".zstd"),
                                          key=len, reverse=True) if low.endswith(s)), "")
        path = os.path.join(self.tmpdir(), f"{self._n:06d}{suffix}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        err = None
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = fileobj.read(1 << 20)
                except Exception as e:  # noqa: BLE001
                    err = ScanError(display, f"member truncated or corrupt ({_short(e)}); the part before the break is kept",
                                    "truncated")
                    break
                if not chunk:
                    break
                if self.spooled + len(chunk) > self.max_bytes:
                    out.close()
                    os.unlink(path)
                    return None, ScanError(display, f"extraction stopped: more than the {_human(self.max_bytes)} "
                                                    f"limit (--max-bytes) would be written; member skipped",
                                           "too-large")
                out.write(chunk)
                self.spooled += len(chunk)
        return path, err

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- inputs
    def add_input(self, path: str):
        if path == "-":
            self.errors.append(ScanError("-", "standard input is not supported by scan (give files)", "input"))
            return
        try:
            st = os.stat(path)
        except OSError as e:
            self.errors.append(_open_error(path, e))
            return
        before = len(self.members)
        nerr = len(self.errors)
        if stat.S_ISDIR(st.st_mode):
            self.add_dir(path)
        elif _is_archive(path):
            self.add_archive(path, path, 0, explicit=True)
        else:
            kind = None
            try:
                if tarfile.is_tarfile(path):
                    kind = "tar"
                elif zipfile.is_zipfile(path):
                    kind = "zip"
            except OSError as e:
                self.errors.append(_open_error(path, e))
                return
            if kind:
                self.add_archive(path, path, 0, explicit=True, kind=kind)
            else:
                d = os.path.dirname(os.path.abspath(path))
                folder = _folder_host(d.split(os.sep), os.path.basename(path))
                self._add(Member(path, "file", path, name=os.path.basename(path), size=st.st_size),
                          location=("file", d), base=os.path.basename(path), context_host=folder)
        if len(self.members) == before and len(self.errors) == nerr:
            self.errors.append(ScanError(path, "no libvirt daemon logs found in it", "input"))

    def _add(self, m: Member, location: tuple, base: str, context_host: str, order_name: str | None = None):
        m.max_bytes = self.max_bytes
        logical_base = rotation_key(base)[0]
        m.base = logical_base
        m.order = rotation_key(order_name or base)
        m.group = (location, logical_base)
        m.host_key = location if STANDARD_BASES.match(logical_base) else (location, logical_base)
        m.context_host = context_host
        r = _peek(m)
        if r == "empty":
            return
        if isinstance(r, ScanError):
            self.errors.append(r)
            return
        self.members.append(m)

    def add_dir(self, top: str):
        top_abs = os.path.realpath(top)
        top_name = os.path.basename(top_abs.rstrip(os.sep)) or top_abs
        for root, dirs, files in os.walk(top, followlinks=False):
            dirs.sort()
            rel_root = os.path.relpath(root, top)
            rel_parts = [] if rel_root == "." else rel_root.split(os.sep)
            if "sos_commands" in dirs:
                self.add_sos_dir(root, rel_parts, top_abs)
                dirs[:] = []
                continue
            for f in sorted(files):
                full = os.path.join(root, f)
                if not self._inside(full, top_abs):
                    continue
                if _is_archive(f):
                    self.add_archive(full, full, 0)
                    continue
                parts = rel_parts + [f]
                if _candidate(parts):
                    try:
                        size = os.stat(full).st_size
                    except OSError as e:
                        self.errors.append(_open_error(full, e))
                        continue
                    folder = _folder_host(parts[:-1], _folder_host([top_name], top_name))
                    self._add(Member(full, "file", full, name=f, size=size),
                              location=("dir", top_abs, rel_root), base=f, context_host=folder)

    def _inside(self, full: str, top_abs: str) -> bool:
        """A symlink under a scanned folder must stay inside it."""
        if not os.path.islink(full):
            return True
        real = os.path.realpath(full)
        if real == top_abs or real.startswith(top_abs.rstrip(os.sep) + os.sep):
            return True
        self.errors.append(ScanError(full, f"symbolic link pointing outside the scanned folder "
                                           f"(-> {os.readlink(full)}): not followed", "unsafe"))
        return False

    def add_sos_dir(self, root: str, rel_parts: list, top_abs: str):
        root_abs = os.path.realpath(root)
        host_text = None
        for hf in _SOS_HOSTNAME_FILES:
            p = os.path.join(root, hf)
            try:
                if os.path.isfile(p) and self._inside(p, root_abs) and os.path.getsize(p) < 4096:
                    with open(p, "r", errors="replace") as fh:
                        host_text = fh.read()
                    break
            except OSError:
                continue
        host = _sos_host(os.path.basename(root_abs), host_text)
        for sub in ("var/log/libvirt", "sos_strings", "var/log/containers/libvirt"):
            base_dir = os.path.join(root, sub)
            if not os.path.isdir(base_dir):
                continue
            for r, dirs, files in os.walk(base_dir, followlinks=False):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(r, f)
                    parts = os.path.relpath(full, root).split(os.sep)
                    loc = _sos_candidate(parts)
                    if loc is None or not self._inside(full, root_abs):
                        continue
                    logical = _logical_name(parts)
                    try:
                        size = os.stat(full).st_size
                    except OSError as e:
                        self.errors.append(_open_error(full, e))
                        continue
                    self._add(Member(full, "file", full, name=f, size=size),
                              location=("sos", root_abs) + loc, base=logical, context_host=host,
                              order_name=logical if not f.endswith(".tailed") else logical)

    # -- archives
    def add_archive(self, path: str, display: str, depth: int, explicit: bool = False, kind: str | None = None):
        if depth >= MAX_DEPTH:
            self.errors.append(ScanError(display, f"archive nested more than {MAX_DEPTH} levels deep: skipped", "input"))
            return
        kind = kind or _is_archive(os.path.basename(display)) or _is_archive(path)
        try:
            if kind == "zip":
                self._add_zip(path, display, depth)
            else:
                self._add_tar(path, display, depth)
        except Exception as e:  # noqa: BLE001 - an unreadable archive is one error, never a traceback
            self.errors.append(self._archive_error(display, e))

    @staticmethod
    def _archive_error(display, e) -> ScanError:
        if isinstance(e, (PermissionError, FileNotFoundError)):
            return _open_error(display, e)
        return ScanError(display, f"truncated or corrupt archive ({_short(e)}); members before the break are kept",
                         "corrupt")

    def _tar_open(self, path: str):
        low = path.lower()
        if low.endswith((".tar.zst", ".tar.zstd", ".tzst")):
            import zstandard
            fh = open(path, "rb")
            rd = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=True)
            return tarfile.open(fileobj=rd, mode="r|"), True
        with open(path, "rb") as fh:
            magic = fh.read(6)
        compressed = magic[:2] == b"\x1f\x8b" or magic[:3] == b"BZh" or magic[:6] == b"\xfd7zXZ\x00" \
            or magic[:4] == b"\x28\xb5\x2f\xfd"
        if magic[:4] == b"\x28\xb5\x2f\xfd":
            import zstandard
            fh = open(path, "rb")
            rd = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=True)
            return tarfile.open(fileobj=rd, mode="r|"), True
        if compressed:
            return tarfile.open(path, mode="r|*"), True
        return tarfile.open(path, mode="r:"), False

    def _add_tar(self, path: str, display: str, depth: int):
        tf, compressed = self._tar_open(path)
        stem = os.path.basename(_strip_archive_suffix(display))
        found = []          # (parts, Member-ish dict)
        small = {}          # member name -> small text (sosreport hostname files)
        names = set()
        nested = []
        archive_size = os.path.getsize(path) if not compressed else None
        try:
            while True:
                try:
                    ti = tf.next()
                except Exception as e:  # noqa: BLE001 - truncated / corrupt archive
                    self.errors.append(self._archive_error(display, e))
                    break
                if ti is None:
                    break
                named = self._member_name(display, ti.name)
                if named is None:
                    continue
                rel, mdisplay = named
                if ti.issym() or ti.islnk():
                    self._check_link(mdisplay, ti.name, ti.linkname, hard=ti.islnk())
                    continue
                if not ti.isfile() or not rel:
                    continue
                names.add(rel)
                parts = rel.split("/")
                base = parts[-1]
                if base in ("hostname", "hostname_-f") and ti.size < 4096:
                    fo = tf.extractfile(ti)
                    small[rel] = fo.read(4096).decode("utf-8", "replace") if fo else ""
                    continue
                if _is_archive(base):
                    fo = tf.extractfile(ti)
                    p, err = self.spool(fo, mdisplay, base)
                    if err:
                        self.errors.append(err)
                    if p:
                        nested.append((p, mdisplay))
                    continue
                maybe = is_log_name(base) and (_candidate(parts) or "sos_strings" in parts
                                                or "containers" in parts or "libvirt" in parts)
                if not maybe:
                    continue
                if ti.size > self.max_bytes:
                    self.errors.append(ScanError(mdisplay, f"member of {_human(ti.size)} exceeds the "
                                                           f"{_human(self.max_bytes)} limit (--max-bytes)", "too-large"))
                    continue
                if compressed:
                    fo = tf.extractfile(ti)
                    p, err = self.spool(fo, mdisplay, base)
                    if err:
                        self.errors.append(err)
                    if p is None:
                        continue
                    m = Member(mdisplay, "file", p, name=base, size=os.path.getsize(p))
                else:
                    if archive_size is not None and ti.offset_data + ti.size > archive_size:
                        self.errors.append(ScanError(mdisplay, "member truncated (the archive ends inside it); "
                                                               "the part before the break is kept", "truncated"))
                    m = Member(mdisplay, "tar", path, name=ti.name, offset=ti.offset_data, size=ti.size)
                found.append((parts, m))
        finally:
            try:
                tf.close()
            except Exception:  # noqa: BLE001
                pass
        self._place(found, names, small, stem, display)
        for p, mdisplay in nested:
            self.add_archive(p, mdisplay, depth + 1)

    def _member_name(self, display: str, name: str) -> tuple[str, str] | None:
        """(path inside the archive, path as shown) of a member; None, and an error, for a
        name that would land outside a directory it was extracted to."""
        why = _safe_member(name)
        if why:
            self.errors.append(ScanError(f"{display}/{name}", f"{why}: not read", "unsafe"))
            return None
        rel = _member_path(name)
        return rel, f"{display}/{rel}"

    def _check_link(self, mdisplay: str, name: str, target: str, hard: bool = False):
        """Links are never followed; one that points outside the archive is reported."""
        if _safe_member(target) if hard else _link_escapes(name, target):
            self.errors.append(ScanError(mdisplay, f"{'hard' if hard else 'symbolic'} link pointing outside "
                                                   f"the archive (-> {target}): not followed", "unsafe"))

    def _add_zip(self, path: str, display: str, depth: int):
        stem = os.path.basename(_strip_archive_suffix(display))
        found, small, names, nested = [], {}, set(), []
        with zipfile.ZipFile(path) as zf:
            for zi in zf.infolist():
                named = self._member_name(display, zi.filename)
                if named is None:
                    continue
                rel, mdisplay = named
                if zi.is_dir() or not rel:
                    continue
                mode = zi.external_attr >> 16
                if stat.S_ISLNK(mode):
                    try:
                        target = zf.read(zi)[:4096].decode("utf-8", "replace")
                    except Exception:  # noqa: BLE001
                        target = "?"
                    self._check_link(mdisplay, zi.filename, target)
                    continue
                names.add(rel)
                parts = rel.split("/")
                base = parts[-1]
                if zi.flag_bits & 0x1:
                    if is_log_name(base):
                        self.errors.append(ScanError(mdisplay, "encrypted member: not read", "unreadable"))
                    continue
                if base in ("hostname", "hostname_-f") and zi.file_size < 4096:
                    try:
                        small[rel] = zf.read(zi).decode("utf-8", "replace")
                    except Exception:  # noqa: BLE001
                        pass
                    continue
                if _is_archive(base):
                    if zi.file_size > self.max_bytes:
                        self.errors.append(ScanError(mdisplay, f"nested archive exceeds the {_human(self.max_bytes)} "
                                                               f"limit (--max-bytes)", "too-large"))
                        continue
                    with zf.open(zi) as fo:
                        p, err = self.spool(fo, mdisplay, base)
                    if err:
                        self.errors.append(err)
                    if p:
                        nested.append((p, mdisplay))
                    continue
                if not is_log_name(base):
                    continue
                if zi.file_size > self.max_bytes:
                    self.errors.append(ScanError(mdisplay, f"member of {_human(zi.file_size)} exceeds the "
                                                           f"{_human(self.max_bytes)} limit (--max-bytes)", "too-large"))
                    continue
                found.append((parts, Member(mdisplay, "zip", path, name=zi.filename, size=zi.compress_size)))
        self._place(found, names, small, stem, display)
        for p, mdisplay in nested:
            self.add_archive(p, mdisplay, depth + 1)

    def _place(self, found, names, small, stem, display):
        """Decide which archive members are logs (sosreport layout or not) and add them."""
        sos_roots = sorted({"/".join(n.split("/")[:i]) for n in names
                            for i, part in enumerate(n.split("/")) if part == "sos_commands"},
                           key=len, reverse=True)
        for parts, m in found:
            rel = "/".join(parts)
            root = next((r for r in sos_roots if r == "" or rel.startswith(r + "/")), None)
            if root is not None:
                rparts = parts[len(root.split("/")) if root else 0:]
                loc = _sos_candidate(rparts)
                if loc is None:
                    self._drop(m)
                    continue
                text = next((small[f"{root}/{h}" if root else h] for h in _SOS_HOSTNAME_FILES
                             if (f"{root}/{h}" if root else h) in small), None)
                host = _sos_host(root.split("/")[-1] if root else stem, text)
                self._add(m, location=("sos", display, root) + loc,
                          base=_logical_name(rparts), context_host=host)
            elif _candidate(parts):
                folder = _folder_host(parts[:-1], stem)
                self._add(m, location=("archive", display, "/".join(parts[:-1])),
                          base=parts[-1], context_host=folder)
            else:
                self._drop(m)

    def _drop(self, m: Member):
        """Remove a spooled member that turned out not to be a log."""
        if m.kind == "file" and self.tmp and m.source.startswith(self.tmp + os.sep):
            try:
                os.unlink(m.source)
            except OSError:
                pass


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def parse_size(text: str) -> int:
    """'16G', '500M', '1024' -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if not m:
        raise ValueError(f"bad size {text!r} (use e.g. 500M, 16G)")
    return int(float(m[1]) * (1 << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m[2]]))


# ------------------------------------------------------------------ grouping and naming
@dataclass
class StreamTask:
    index: int
    label: str
    host: str
    members: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)


def _group(members: list[Member]) -> list[StreamTask]:
    groups: dict[tuple, list[Member]] = {}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    for g in groups.values():
        if all(m.first_time is not None for m in g):
            g.sort(key=lambda m: (m.first_time, m.order))
        else:
            g.sort(key=lambda m: m.order)
    # host names: the hostname header unless generic or claimed by several physical hosts
    header_of = {}
    for key, g in groups.items():
        hk = g[0].host_key
        hn = next((m.hostname for m in reversed(g) if m.hostname), None)
        if hn and hn.lower() not in GENERIC_HOSTNAMES:
            header_of.setdefault(hk, hn)
    claimed: dict[str, set] = {}
    for hk, hn in header_of.items():
        claimed.setdefault(hn, set()).add(hk)
    name_of = {}
    for key, g in groups.items():
        hk = g[0].host_key
        hn = header_of.get(hk)
        name_of[hk] = hn if hn and len(claimed[hn]) == 1 else g[0].context_host
    # different physical hosts with the same name: add the base of the log (then a number)
    by_name: dict[str, list] = {}
    for hk, n in name_of.items():
        by_name.setdefault(n, []).append(hk)
    for n, hks in by_name.items():
        if len(hks) > 1:
            for hk in hks:
                g = next(g for g in groups.values() if g[0].host_key == hk)
                name_of[hk] = f"{n}/{g[0].base[:-4] if g[0].base.endswith('.log') else g[0].base}"
    tasks = []
    used = set()
    streams_per_host: dict = {}
    for key, g in groups.items():
        streams_per_host[g[0].host_key] = streams_per_host.get(g[0].host_key, 0) + 1
    order = sorted(groups.items(), key=lambda kv: (name_of[kv[1][0].host_key], kv[1][0].base, str(kv[0])))
    for key, g in order:
        host = name_of[g[0].host_key]
        label = host if streams_per_host[g[0].host_key] == 1 else f"{host}/{g[0].base}"
        base_label, n = label, 1
        while label in used:
            n += 1
            label = f"{base_label}~{n}"
        used.add(label)
        tasks.append(StreamTask(len(tasks), label, host, g))
    return tasks


# ------------------------------------------------------------------ per-stream work
def run_stream(task: StreamTask):
    """The per-host work (runs in a worker): correlate one stream.
    Returns (index, HostLog or None, [ScanError], bytes)."""
    from .analysis import _read_host
    errors: list[ScanError] = []
    members = list(task.members)
    by_name = {m.display: m for m in members}
    host = None

    def opener(name):
        try:
            return by_name[name].open()
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{name}: {_open_error(name, e).reason}") from None

    for _ in range(len(members) + 1):
        if not members:
            break
        try:
            # one core per stream: the parallelism of a scan is its processes (--jobs)
            host = _read_host([m.display for m in members], task.label, None,
                              opener=opener, read_ahead=False)
            break
        except InputError as e:
            msg = str(e)
            bad = next((m for m in members if msg.startswith(m.display + ":")), None)
            errors.append(ScanError(bad.display if bad else task.label,
                                    msg[len(bad.display) + 1:].strip() if bad else msg, "corrupt"))
            if bad is None:
                break
            members.remove(bad)
        except Exception as e:  # noqa: BLE001 - one stream's failure must not stop the scan
            errors.append(ScanError(task.label, f"internal error while reading this host's logs: "
                                                f"{type(e).__name__}: {_short(e)}", "internal"))
            host = None
            break
    if host is not None:
        for f in host.facts:
            if f.error:
                reason = f.error[len(f.path) + 2:] if f.error.startswith(f.path + ":") else f.error
                errors.append(ScanError(f.path, reason, "truncated"))
        for m in members:
            h = m.handle
            if h is not None and h.over_limit:
                errors.append(ScanError(m.display, f"decompressed size exceeds the {_human(m.max_bytes)} limit "
                                                   f"(--max-bytes); only the first part was read", "too-large"))
            m.handle = None
            m.__dict__.pop("_raw", None)
    return task.index, host, errors, task.size


# ------------------------------------------------------------------ the scan
def scan(paths, jobs: int | None = None, dask=None, max_bytes: int = DEFAULT_MAX_BYTES,
         progress: bool = False, tmpdir: str | None = None, judge: bool = True) -> ScanResult:
    """Scan directories, archives, sosreports and log files; see the module documentation.

    jobs: worker processes (None = all cores; 1 = in this process).
    dask: None, a scheduler address, "local" (a LocalCluster is started for this call), or a
          distributed.Client.  The files must be readable by the workers (a shared filesystem).
    max_bytes: limit for one member's decompressed size and for the total written to the
          private temporary directory.
    progress: show a rich progress bar (files, bytes, rate, time left) on standard error.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    disc = _Discovery(max_bytes, tmpdir)
    pool = None
    if dask is None and (jobs or os.cpu_count() or 1) > 1:
        # started first: the workers import the correlator while this process finds the logs
        pool = _start_pool(jobs or os.cpu_count() or 1)
    try:
        for p in paths:
            disc.add_input(p)
        tasks = _group(disc.members)
        errors = list(disc.errors)
        results = _run(tasks, jobs, dask, progress, pool)
        hosts = []
        names = {}
        for task in tasks:
            _, host, errs, _ = results[task.index]
            errors.extend(errs)
            if host is not None:
                hosts.append(host)
                names[task.label] = task.host
        analysis = None
        if hosts:
            from .analysis import Analysis
            from .correlate.pair import pair_migrations
            pairs = pair_migrations([h.correlator for h in hosts])
            analysis = Analysis(hosts, pairs)
            if judge:
                from .rules import judge as judge_all
                judge_all(analysis)
        if analysis is not None:
            rows = _rows(analysis, names)
        else:
            import pandas as pd
            rows = pd.DataFrame(columns=ROW_COLUMNS)
        stats = {"files": sum(len(t.members) for t in tasks), "bytes": sum(t.size for t in tasks),
                 "streams": len(tasks), "spooled_bytes": disc.spooled}
        return ScanResult(rows, errors, analysis, names,
                          [(t.label, [m.display for m in t.members]) for t in tasks], stats)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        disc.cleanup()


def _warm_worker():
    from . import analysis  # noqa: F401
    try:
        from . import prefilter  # noqa: F401
    except ImportError:
        pass
    return os.getpid()


def _start_pool(n: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    ctx = None
    if "fork" in multiprocessing.get_all_start_methods():
        # fork after importing the per-stream code: the workers start with it loaded
        _warm_worker()
        ctx = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx)
    for _ in range(n):
        pool.submit(_warm_worker)
    return pool


def _run(tasks, jobs, dask, progress, pool=None) -> dict:
    results = {}
    bar = _Progress(tasks) if progress and tasks else None
    try:
        if dask is not None:
            for r in _run_dask(tasks, dask, jobs):
                results[r[0]] = r
                bar and bar.done(r)
        elif (jobs or os.cpu_count() or 1) <= 1 or len(tasks) <= 1:
            for t in tasks:
                r = run_stream(t)
                results[r[0]] = r
                bar and bar.done(r)
        else:
            import gc
            from concurrent.futures import as_completed
            ex = pool or _start_pool(min(jobs or os.cpu_count() or 1, len(tasks)))
            gc_was_on = gc.isenabled()
            try:
                # largest first: the workers finish together
                futs = {ex.submit(run_stream, t): t for t in sorted(tasks, key=lambda t: -t.size)}
                _warm_imports()   # what pairing, judging and the table need, while the workers run
                # unpickling a host's objects (tens of thousands) would set off full collections
                # of an ever larger heap, several times per result, on the cores the workers need
                gc.disable()
                for f in as_completed(futs):
                    r = _result(f, futs[f])
                    results[r[0]] = r
                    bar and bar.done(r)
            finally:
                if gc_was_on:
                    gc.enable()
                if pool is None:
                    ex.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar:
            bar.close()
    return results


def _result(future, task):
    """A worker's result; a worker that died becomes an error of its stream."""
    try:
        return future.result()
    except Exception as e:  # noqa: BLE001 - a crashed worker process must not stop the scan
        return (task.index, None, [ScanError(task.label, f"worker failed: {type(e).__name__}: {_short(e)}",
                                             "internal")], task.size)


def _warm_imports():
    import pandas  # noqa: F401
    from . import analysis  # noqa: F401
    from . import rules  # noqa: F401
    from .rules import cancel, connection, convergence, findings, keepalive, messages, undetermined  # noqa: F401
    from .correlate import pair  # noqa: F401


def _run_dask(tasks, dask, jobs):
    from distributed import Client, LocalCluster, as_completed
    own = []
    if isinstance(dask, Client):
        client = dask
    elif dask == "local":
        cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        own = [client, cluster]
    else:
        client = Client(dask)
        own = [client]
    try:
        order = sorted(tasks, key=lambda t: -t.size)
        futs = client.map(run_stream, order, pure=False)
        task_of = {f.key: t for f, t in zip(futs, order)}
        for f in as_completed(futs):
            yield _result(f, task_of[f.key])
    finally:
        for o in own:
            o.close()


class _Progress:
    """files and bytes done, rate and time left, on standard error (advances per host stream)."""

    def __init__(self, tasks):
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)
        self.sizes = {t.index: len(t.members) for t in tasks}
        self.p = Progress(TextColumn("scan"), BarColumn(),
                          TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
                          DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True), transient=True)
        self.task = self.p.add_task("scan", total=sum(t.size for t in tasks), files=0,
                                    total_files=sum(self.sizes.values()))
        self.n = 0
        self.p.start()

    def done(self, r):
        index, _, _, nbytes = r
        self.n += self.sizes.get(index, 0)
        self.p.update(self.task, advance=nbytes, files=self.n)

    def close(self):
        self.p.stop()


# ------------------------------------------------------------------ rows
def _key_evidence(evidence) -> str | None:
    if not evidence:
        return None
    pick = next((e for e in evidence if "countToDeath=0" in e.text), None) \
        or next((e for e in evidence if " error : " in e.text), None) or evidence[0]
    return f"{pick.path}:{pick.line}"


def _rows(a, names: dict) -> "pd.DataFrame":
    import pandas as pd
    rows = []
    by_id = {m.id: m for m in a.migrations}
    display = {a.display_host(label): host for label, host in names.items()}
    for m in a.migrations:
        v = m.verdict
        peer = by_id.get(m.peer) or by_id.get(m.peer_client)
        if v is not None:
            ev = _key_evidence(v.evidence)
        else:
            ev = f"{m.started.path}:{m.started.line}" if m.started else None
        rows.append({"kind": "migration", "host": names.get(m.host, m.host), "file": m.path,
                     "line": m.started.line if m.started else None, "domain": m.domain, "uuid": m.uuid,
                     "role": m.role, "start": m.start, "end": m.end, "outcome": m.outcome,
                     "cause": v.cause if v else None, "confidence": v.confidence if v else None,
                     "evidence": ev, "peer_host": names.get(peer.host, peer.host) if peer else None,
                     "id": m.id, "summary": v.summary if v else None, "error": None})
    for i, f in enumerate(a.findings):
        times = [e.time for e in f.evidence if e.time is not None]
        first = f.evidence[0] if f.evidence else None
        rows.append({"kind": "finding", "host": display.get(f.host, f.host),
                     "file": first.path if first else None, "line": first.line if first else None,
                     "domain": None, "uuid": None, "role": None,
                     "start": min(times) if times else None, "end": max(times) if times else None,
                     "outcome": "finding", "cause": f.cause, "confidence": f.confidence,
                     "evidence": _key_evidence(f.evidence), "peer_host": None, "id": f"finding{i + 1}",
                     "summary": f.summary, "error": None})
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    for c in ("start", "end"):
        df[c] = pd.to_datetime((df[c].astype("float64") * 1000).round(), unit="ms", utc=True)
    df["line"] = df["line"].astype("Int64")
    if not df.empty:
        df = df.sort_values(["host", "start", "kind", "id"], kind="stable", na_position="last").reset_index(drop=True)
    return df


# ------------------------------------------------------------------ per-migration reports
def write_reports(result: ScanResult, directory: str, fmt: str = "json") -> list[str]:
    """One report per failed migration (its source view when both sides are in the scan)."""
    from .report import render
    a = result.analysis
    if a is None:
        return []
    os.makedirs(directory, exist_ok=True)
    ext = {"json": "json", "text": "txt", "markdown": "md", "md": "md", "html": "html"}.get(fmt, fmt)
    by_id = {m.id: m for m in a.migrations}
    written = []
    for m in a.failed:
        peer = by_id.get(m.peer)
        if m.role != "source" and peer is not None and peer.role == "source":
            continue   # the source view writes the report for both sides
        if m.role == "client" and peer is not None:
            continue
        sub = _migration_analysis(a, m)
        stamp = datetime.fromtimestamp(m.start, timezone.utc).strftime("%Y%m%dT%H%M%S") if m.start else "notime"
        host = result.hosts.get(m.host, m.host)
        cause = m.verdict.cause if m.verdict else m.outcome
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{host}-{m.domain or 'domain'}-{stamp}-{cause}")
        path = os.path.join(directory, f"{name}.{ext}")
        n = 1
        while path in written:   # a re-scan overwrites its own reports
            n += 1
            path = os.path.join(directory, f"{name}-{n}.{ext}")
        render(sub, fmt, path)
        written.append(path)
    return written


def _migration_analysis(a, m):
    """An Analysis of one migration: its views, the hosts that saw it, its keepalive deaths."""
    from .analysis import Analysis
    by_id = {x.id: x for x in a.migrations}
    views = [m] + [by_id[i] for i in (m.peer, m.peer_client) if i and i in by_id]
    labels = {v.host for v in views}
    hosts = [h for h in a.hosts if h.label in labels]
    sub = Analysis(hosts, [p for p in a.pairs if {p["source_host"], p["destination_host"]} <= labels],
                   a.input_format)
    ids = {v.id for v in views}
    sub.migrations = views
    sub._by_id = {v.id: v for v in views}
    sub.keepalive_deaths = [d for d in sub.keepalive_deaths if d.migration in ids]
    sub.connections = [c for c in sub.connections if c.migration in ids]
    sub.findings = []
    return sub


# ------------------------------------------------------------------ terminal output
def print_scan(result: ScanResult, console=None, table: bool = True, show_all: bool = False,
               max_rows: int = 500) -> None:
    """The rows (failed, cancelled, findings; all with show_all), totals by cause and by host,
    and the errors (on standard error)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    import pandas as pd
    console = console or Console()
    err_console = Console(stderr=True)
    df = result.rows
    if table and not df.empty:
        shown = df if show_all else df[df["outcome"] != "succeeded"]
        t = Table(title=f"{len(shown)} of {len(df)} rows" + ("" if show_all else " (succeeded migrations: --all)"))
        # second lines (dim): the role under the host, outcome and confidence under the cause
        for c in ("host", "domain", "start", "cause", "evidence", "peer host"):
            t.add_column(c, overflow="fold")

        def cell(x):
            return "-" if x is None or (isinstance(x, float) and pd.isna(x)) else escape(str(x))

        for r in shown.head(max_rows).itertuples(index=False):
            start = r.start.strftime("%Y-%m-%d %H:%M:%S") if not pd.isna(r.start) else "-"
            # the file's name and line: the host column says whose it is, -o keeps the whole path
            ev = os.path.basename(r.evidence) if isinstance(r.evidence, str) else r.evidence
            t.add_row(f"{cell(r.host)}\n[dim]{cell(r.role)}[/]", cell(r.domain), start,
                      f"{cell(r.cause)}\n[dim]{cell(r.outcome)}, {cell(r.confidence)}[/]", cell(ev),
                      cell(r.peer_host))
        console.print(t)
        if len(shown) > max_rows:
            console.print(f"[dim]... {len(shown) - max_rows} more rows (write them all with -o)[/]")
    if not df.empty:
        causes = df[df["cause"].notna()].groupby("cause").size().sort_values(ascending=False)
        if len(causes):
            tc = Table(title="by cause")
            tc.add_column("cause")
            tc.add_column("rows", justify="right")
            for cause, n in causes.items():
                tc.add_row(escape(str(cause)), str(n))
            console.print(tc)
        th = Table(title="by host")
        for c in ("host", "migrations", "failed", "findings", "keepalive deaths"):
            th.add_column(c, justify="left" if c == "host" else "right")
        deaths: dict = {}
        for d in result.analysis.keepalive_deaths:
            h = result.hosts.get(d.host, d.host)
            deaths[h] = deaths.get(h, 0) + 1
        for host, g in df.groupby("host", sort=True):
            mig = g[g["kind"] == "migration"]
            th.add_row(escape(str(host)), str(len(mig)), str(int(mig["outcome"].isin(["failed", "cancelled"]).sum())),
                       str(int((g["kind"] == "finding").sum())), str(deaths.get(host, 0)))
        console.print(th)
    elif result.usable:
        console.print(f"No migration or finding in {result.stats['files']} files "
                      f"({len(result.hosts)} host streams).", highlight=False)
    if result.errors:
        err_console.print(f"[bold red]{len(result.errors)} input error(s):[/]", highlight=False)
        for e in result.errors:
            err_console.print(f"  {escape(e.path)}: {escape(e.reason)} [dim]({e.kind})[/]", highlight=False, soft_wrap=True)
    if not result.usable:
        err_console.print("[bold red]nothing usable was found in the inputs[/]", highlight=False)
