"""Finding the libvirt daemon logs in what the user gave: folders, sosreports (unpacked or
archived), tarballs and zip files nested up to MAX_DEPTH levels, and plain log files.

Each log found is a Member; each input or part of one that cannot be used is a ScanError.
Every member is peeked at (its first PEEK bytes: is it a log, its host name header, its first
time stamp) before it joins a stream."""
from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
from datetime import datetime

from ..sources import is_log_name, looks_binary, rotation_key
from .archives import archive_kind, open_archive, strip_archive_suffix
from .hosts import (SOS_HOSTNAME_FILES, STANDARD_BASES, folder_host, is_candidate, logical_name,
                    sos_candidate, sos_host)
from .members import DECODE_ERRORS, Member, human, open_error, short
from .safety import inside, link_escapes, member_path, unsafe_member
from .spool import Spool
from .table import ScanError

MAX_DEPTH = 3
PEEK = 65536

_HOSTNAME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: \d+: info : hostname: (\S+)", re.M)
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)([+-]\d{4}): \d+: ", re.M)
# what reading an archive's index or next header raises when it is damaged
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                  *DECODE_ERRORS)


def peek(m: Member):
    """Read the head of a member: None if it is a log (hostname/time filled in), else a ScanError.
    An empty file returns "empty"."""
    try:
        with m.open() as s:
            head = s.read(PEEK)
    except (OSError, *DECODE_ERRORS) as e:
        return open_error(m.display, e)
    if not head:
        return "empty"
    if looks_binary(head):
        return ScanError(m.display, "binary data, not a text log", "not-a-log")
    from ..formats import detect
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


class Discovery:
    def __init__(self, spool: Spool):
        self.spool = spool
        self.max_bytes = spool.limit
        self.members: list[Member] = []
        self.errors: list[ScanError] = []

    # -- inputs
    def add_input(self, path: str):
        if path == "-":
            self.errors.append(ScanError("-", "standard input is not supported by scan (give files)", "input"))
            return
        try:
            st = os.stat(path)
        except OSError as e:
            self.errors.append(open_error(path, e))
            return
        before = len(self.members)
        nerr = len(self.errors)
        if stat.S_ISDIR(st.st_mode):
            self.add_dir(path)
        elif archive_kind(path):
            self.add_archive(path, path, 0)
        else:
            kind = None
            try:
                if tarfile.is_tarfile(path):
                    kind = "tar"
                elif zipfile.is_zipfile(path):
                    kind = "zip"
            except OSError as e:
                self.errors.append(open_error(path, e))
                return
            if kind:
                self.add_archive(path, path, 0, kind=kind)
            else:
                d = os.path.dirname(os.path.abspath(path))
                folder = folder_host(d.split(os.sep), os.path.basename(path))
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
        r = peek(m)
        if r == "empty":
            return
        if isinstance(r, ScanError):
            self.errors.append(r)
            return
        self.members.append(m)

    # -- folders
    def add_dir(self, top: str):
        top_abs = os.path.realpath(top)
        top_name = os.path.basename(top_abs.rstrip(os.sep)) or top_abs
        for root, dirs, files in os.walk(top, followlinks=False):
            dirs.sort()
            rel_root = os.path.relpath(root, top)
            rel_parts = [] if rel_root == "." else rel_root.split(os.sep)
            if "sos_commands" in dirs:
                self.add_sos_dir(root, top_abs)
                dirs[:] = []
                continue
            for f in sorted(files):
                full = os.path.join(root, f)
                if not self._inside(full, top_abs):
                    continue
                if archive_kind(f):
                    self.add_archive(full, full, 0)
                    continue
                parts = rel_parts + [f]
                if is_candidate(parts):
                    try:
                        size = os.stat(full).st_size
                    except OSError as e:
                        self.errors.append(open_error(full, e))
                        continue
                    folder = folder_host(parts[:-1], folder_host([top_name], top_name))
                    self._add(Member(full, "file", full, name=f, size=size),
                              location=("dir", top_abs, rel_root), base=f, context_host=folder)

    def _inside(self, full: str, top_abs: str) -> bool:
        """A symlink under a scanned folder must stay inside it."""
        if not os.path.islink(full) or inside(full, top_abs):
            return True
        self.errors.append(ScanError(full, f"symbolic link pointing outside the scanned folder "
                                           f"(-> {os.readlink(full)}): not followed", "unsafe"))
        return False

    def add_sos_dir(self, root: str, top_abs: str):
        root_abs = os.path.realpath(root)
        host_text = None
        for hf in SOS_HOSTNAME_FILES:
            p = os.path.join(root, hf)
            try:
                if os.path.isfile(p) and self._inside(p, root_abs) and os.path.getsize(p) < 4096:
                    with open(p, "r", errors="replace") as fh:
                        host_text = fh.read()
                    break
            except OSError:
                continue
        host = sos_host(os.path.basename(root_abs), host_text)
        for sub in ("var/log/libvirt", "sos_strings", "var/log/containers/libvirt"):
            base_dir = os.path.join(root, sub)
            if not os.path.isdir(base_dir):
                continue
            for r, dirs, files in os.walk(base_dir, followlinks=False):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(r, f)
                    parts = os.path.relpath(full, root).split(os.sep)
                    loc = sos_candidate(parts)
                    if loc is None or not self._inside(full, root_abs):
                        continue
                    logical = logical_name(parts)
                    try:
                        size = os.stat(full).st_size
                    except OSError as e:
                        self.errors.append(open_error(full, e))
                        continue
                    self._add(Member(full, "file", full, name=f, size=size),
                              location=("sos", root_abs) + loc, base=logical, context_host=host,
                              order_name=logical)

    # -- archives: tar and zip members take the same path
    def add_archive(self, path: str, display: str, depth: int, kind: str | None = None):
        if depth >= MAX_DEPTH:
            self.errors.append(ScanError(display, f"archive nested more than {MAX_DEPTH} levels deep: skipped", "input"))
            return
        kind = kind or archive_kind(os.path.basename(display)) or archive_kind(path)
        try:
            arc = open_archive(path, kind)
        except ARCHIVE_ERRORS as e:
            self.errors.append(self._archive_error(display, e))
            return
        stem = os.path.basename(strip_archive_suffix(display))
        found = []          # (parts, Member)
        small = {}          # member name -> small text (sosreport hostname files)
        names = set()
        nested = []         # (spooled path, display)
        entries = arc.entries()
        try:
            while True:
                try:
                    e = next(entries)
                except StopIteration:
                    break
                except ARCHIVE_ERRORS as err:
                    self.errors.append(self._archive_error(display, err))
                    break
                try:
                    self._entry(arc, e, display, found, small, names, nested)
                except ARCHIVE_ERRORS as err:
                    self.errors.append(open_error(f"{display}/{member_path(e.name)}", err))
        finally:
            try:
                arc.close()
            except ARCHIVE_ERRORS:
                pass   # a damaged archive's close: its damage is already an error
        self._place(found, names, small, stem, display)
        for p, mdisplay in nested:
            self.add_archive(p, mdisplay, depth + 1)

    def _entry(self, arc, e, display: str, found: list, small: dict, names: set, nested: list):
        """One archive entry: checked by name and type before anything of it is read."""
        why = unsafe_member(e.name)
        if why:
            self.errors.append(ScanError(f"{display}/{e.name}", f"{why}: not read", "unsafe"))
            return
        rel = member_path(e.name)
        mdisplay = f"{display}/{rel}"
        if e.type in ("symlink", "hardlink"):
            target = e.link if e.link or e.type == "hardlink" else arc.read_link(e)
            if target is None or link_escapes(e.name, target, hard=e.type == "hardlink"):
                shown = "a target too long to be a path" if target is None else f"-> {target}"
                self.errors.append(ScanError(mdisplay, f"{'hard' if e.type == 'hardlink' else 'symbolic'} link "
                                                       f"pointing outside the archive ({shown}): not followed",
                                             "unsafe"))
            return
        if e.type != "file" or not rel:
            return
        names.add(rel)
        parts = rel.split("/")
        base = parts[-1]
        if e.encrypted:
            if is_log_name(base):
                self.errors.append(ScanError(mdisplay, "encrypted member: not read", "unreadable"))
            return
        if base in ("hostname", "hostname_-f") and e.size < 4096:
            with e.open() as fo:
                small[rel] = fo.read(4096).decode("utf-8", "replace")
            return
        if archive_kind(base):
            if e.size > self.max_bytes:
                self.errors.append(ScanError(mdisplay, f"nested archive exceeds the {human(self.max_bytes)} "
                                                       f"limit (--max-bytes)", "too-large"))
                return
            with e.open() as fo:
                p, err = self.spool.copy(fo, mdisplay, base)
            if err:
                self.errors.append(err)
            if p:
                nested.append((p, mdisplay))
            return
        maybe = is_log_name(base) and (is_candidate(parts) or "sos_strings" in parts
                                       or "containers" in parts or "libvirt" in parts)
        if not maybe:
            return
        if e.size > self.max_bytes:
            self.errors.append(ScanError(mdisplay, f"member of {human(e.size)} exceeds the "
                                                   f"{human(self.max_bytes)} limit (--max-bytes)", "too-large"))
            return
        where = e.locate()
        if where is None:
            with e.open() as fo:
                p, err = self.spool.copy(fo, mdisplay, base)
            if err:
                self.errors.append(err)
            if p is None:
                return
            m = Member(mdisplay, "file", p, name=base, size=os.path.getsize(p))
        else:
            if arc.cut_inside(e):
                self.errors.append(ScanError(mdisplay, "member truncated (the archive ends inside it); "
                                                       "the part before the break is kept", "truncated"))
            m = Member(mdisplay, **where)
        found.append((parts, m))

    @staticmethod
    def _archive_error(display, e) -> ScanError:
        if isinstance(e, (PermissionError, FileNotFoundError)):
            return open_error(display, e)
        return ScanError(display, f"truncated or corrupt archive ({short(e)}); members before the break are kept",
                         "corrupt")

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
                loc = sos_candidate(rparts)
                if loc is None:
                    self._drop(m)
                    continue
                text = next((small[f"{root}/{h}" if root else h] for h in SOS_HOSTNAME_FILES
                             if (f"{root}/{h}" if root else h) in small), None)
                host = sos_host(root.split("/")[-1] if root else stem, text)
                self._add(m, location=("sos", display, root) + loc,
                          base=logical_name(rparts), context_host=host)
            elif is_candidate(parts):
                folder = folder_host(parts[:-1], stem)
                self._add(m, location=("archive", display, "/".join(parts[:-1])),
                          base=parts[-1], context_host=folder)
            else:
                self._drop(m)

    def _drop(self, m: Member):
        """Remove a spooled member that turned out not to be a log."""
        if m.kind == "file":
            self.spool.drop(m.source)
