"""Finding the libvirt daemon logs in what the user gave: folders, sosreports (unpacked or
archived), tarballs and zip files nested up to MAX_DEPTH levels, and plain log files.

A file is a log by its content, whatever its name (sources.sniff: its first PEEK bytes, the
compression decided by its first bytes); inside a sosreport, only libvirt's own log folders
are looked at.  Each log found is a Member; each file left out is a Skipped (path, reason);
each input or part of one that cannot be used is a ScanError."""
from __future__ import annotations

import io
import os
import re
import stat
import tarfile
import zipfile
from datetime import datetime

from ..sources import (PEEK, InputError, Skipped, decoded, head_damage, is_log_name,
                       open_binary, rotation_key, shown, sniff, special_kind, walk_folder)
from .archives import archive_kind, open_archive, strip_archive_suffix
from .hosts import (SOS_HOSTNAME_FILES, STANDARD_BASES, folder_host, logical_name, sos_candidate,
                    sos_host)
from .members import ARCHIVE_READ_ERRORS, Member, human, open_error, short
from .safety import link_escapes, member_path, unsafe_member
from .spool import Spool
from .table import ScanError

MAX_DEPTH = 3

_HOSTNAME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: \d+: info : hostname: (\S+)", re.M)
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)([+-]\d{4}): \d+: ", re.M)
# what opening an archive or reading its next header raises when it is damaged
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, *ARCHIVE_READ_ERRORS)


def peek(m: Member):
    """Read the head of a member: None if it is a log (hostname/time filled in), else a
    Skipped (not a log) or a ScanError (cannot be read)."""
    try:
        with m.open() as s:
            head = s.read(PEEK)
            why = head_damage(s, head)
    except (InputError, *ARCHIVE_READ_ERRORS) as e:
        return open_error(m.display, e)
    if why:
        return ScanError(m.display, why, "corrupt")
    what = sniff(head, complete=len(head) < PEEK)
    if not what.is_log:
        return Skipped(m.display, what.reason)
    text = head.decode("utf-8", "replace")
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


def _sniff_stored(stored: bytes, whole: bool):
    """sniff() of a member's first stored bytes (compressed or not)."""
    with decoded(io.BytesIO(stored), stored[:8]) as d:
        head = d.read(PEEK)
    return sniff(head, complete=whole and len(head) < PEEK)


# where a sosreport keeps libvirt's logs
SOS_LOG_FOLDERS = ("var/log/libvirt", "sos_strings", "var/log/containers/libvirt")


def _on_libvirt_path(rel: str) -> bool:
    """Is this path inside a sosreport one of libvirt's log folders, on the way to one, or in one?"""
    return any(f == rel or f.startswith(rel + "/") or rel.startswith(f + "/") for f in SOS_LOG_FOLDERS)


class Discovery:
    def __init__(self, spool: Spool):
        self.spool = spool
        self.max_bytes = spool.limit
        self.members: list[Member] = []
        self.errors: list[ScanError] = []
        self.skipped: list[Skipped] = []

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
        before = len(self.members), len(self.errors), len(self.skipped)
        if stat.S_ISDIR(st.st_mode):
            self.add_dir(path)
        elif not stat.S_ISREG(st.st_mode):
            self.errors.append(ScanError(path, f"{special_kind(st.st_mode)}, not a regular file: not read", "special"))
            return
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
        if (len(self.members), len(self.errors), len(self.skipped)) == before:
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
        if isinstance(r, ScanError):
            self.errors.append(r)
        elif isinstance(r, Skipped):
            self.skipped.append(r)
            if m.kind == "file":
                self.spool.drop(m.source)
        else:
            self.members.append(m)

    def _found_problem(self, f) -> bool:
        """A walk_folder entry that is not a regular file to read: listed; True if so."""
        if f.kind == "unsafe":
            self.errors.append(ScanError(f.path, f.reason, "unsafe"))
        elif f.kind == "unreadable":
            self.errors.append(ScanError(f.path, f.reason, "unreadable"))
        elif f.kind == "special":
            self.skipped.append(Skipped(f.path, f.reason))
        return f.kind != "file"

    # -- folders
    def add_dir(self, top: str):
        top_abs = os.path.realpath(top)
        top_name = os.path.basename(top_abs.rstrip(os.sep)) or top_abs

        def enter(folder, rel, names):
            if "sos_commands" in names and os.path.isdir(os.path.join(folder, "sos_commands")):
                self.add_sos_dir(folder)
                return False
            return True

        try:
            for f in walk_folder(top, enter):
                if self._found_problem(f):
                    continue
                name = f.rel[-1]
                if archive_kind(name):
                    self.add_archive(f.path, f.path, 0)
                    continue
                rel_root = "/".join(f.rel[:-1]) or "."
                folder = folder_host(f.rel[:-1], folder_host([top_name], top_name))
                self._add(Member(f.path, "file", f.path, name=name, size=f.size),
                          location=("dir", top_abs, rel_root), base=name, context_host=folder)
        except InputError as e:
            self.errors.append(open_error(top, e))

    def add_sos_dir(self, root: str):
        """A sosreport folder: its host name file, and libvirt's logs in their own folders."""
        root_abs = os.path.realpath(root)
        host_text = None
        files = []
        for f in walk_folder(root):
            rel = "/".join(f.rel)
            if rel in SOS_HOSTNAME_FILES and f.kind == "file" and f.size < 4096 and host_text is None:
                host_text = self._read_small(f.path)
            loc = sos_candidate(f.rel)
            if loc is None and not (f.kind in ("unsafe", "unreadable") and _on_libvirt_path(rel)):
                continue     # the rest of a sosreport is not libvirt's
            if not self._found_problem(f):
                files.append((f, loc))
        host = sos_host(os.path.basename(root_abs), host_text)
        for f, loc in files:
            logical = logical_name(f.rel)
            self._add(Member(f.path, "file", f.path, name=f.rel[-1], size=f.size),
                      location=("sos", root_abs) + loc, base=logical, context_host=host, order_name=logical)

    def _read_small(self, path: str) -> str | None:
        try:
            with open_binary(path, regular_only=True) as s:
                return s.read(4096).decode("utf-8", "replace")
        except InputError as e:
            self.errors.append(open_error(path, e))
            return None

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
        found = []          # (parts, Member, or the Skipped of a member read in passing)
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
                    if arc.damage is None:     # else the damage below says why the entries stop
                        self.errors.append(self._archive_error(display, err))
                    break
                try:
                    self._entry(arc, e, display, found, small, names, nested)
                except ARCHIVE_ERRORS as err:
                    self.errors.append(open_error(f"{display}/{member_path(e.name)}", err))
            if arc.damage is not None:
                self.errors.append(ScanError(display, f"{arc.damage.describe()}: the members before the "
                                                      f"break are read", arc.damage.kind))
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
            target = arc.read_link(e) if e.type == "symlink" else e.link
            if target is None or link_escapes(e.name, target, hard=e.type == "hardlink"):
                shown_ = "a target too long to be a path" if target is None else f"-> {shown(target)}"
                self.errors.append(ScanError(mdisplay, f"{'hard' if e.type == 'hardlink' else 'symbolic'} link "
                                                       f"pointing outside the archive ({shown_}): not followed",
                                             "unsafe"))
            return
        if e.type == "special":
            found.append((rel.split("/"), Skipped(mdisplay, "FIFO or device member, not a regular file")))
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
        if e.size > self.max_bytes:
            self.errors.append(ScanError(mdisplay, f"member of {human(e.size)} exceeds the "
                                                   f"{human(self.max_bytes)} limit (--max-bytes)", "too-large"))
            return
        if archive_kind(base):
            with e.open() as fo:
                p, err = self.spool.copy(fo, mdisplay, base)
            if err:
                self.errors.append(err)
            if p:
                nested.append((p, mdisplay))
            return
        where = e.locate()
        if where is not None:
            if arc.cut_inside(e):
                self.errors.append(ScanError(mdisplay, "member cut short: the archive ends inside it; "
                                                       "the part before the cut is read", "truncated"))
            found.append((parts, Member(mdisplay, **where)))
            return
        # a compressed tarball's member can be read only now: its first bytes say whether to keep it
        with e.open() as fo:
            stored = fo.read(PEEK)
            what = _sniff_stored(stored, len(stored) < PEEK)
            if not what.is_log:
                found.append((parts, Skipped(mdisplay, what.reason)))
                return
            p, err = self.spool.copy(fo, mdisplay, base, head=stored)
        if err:
            self.errors.append(err)
        if p is None:
            return
        size = os.path.getsize(p)
        if size < e.size:
            self.errors.append(ScanError(mdisplay, f"member cut short: the archive ends after {human(size)} of "
                                                   f"its {human(e.size)}; the part before the cut is read",
                                         "truncated"))
        found.append((parts, Member(mdisplay, "file", p, name=base, size=size)))

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
                if loc is None or isinstance(m, Skipped):
                    self._drop(m)    # inside a sosreport only libvirt's log folders count
                    continue
                text = next((small[f"{root}/{h}" if root else h] for h in SOS_HOSTNAME_FILES
                             if (f"{root}/{h}" if root else h) in small), None)
                host = sos_host(root.split("/")[-1] if root else stem, text)
                self._add(m, location=("sos", display, root) + loc,
                          base=logical_name(rparts), context_host=host)
            elif isinstance(m, Skipped):
                self.skipped.append(m)
            else:
                folder = folder_host(parts[:-1], stem)
                self._add(m, location=("archive", display, "/".join(parts[:-1])),
                          base=parts[-1], context_host=folder)

    def _drop(self, m):
        """Remove a spooled member that turned out not to be needed."""
        if isinstance(m, Member) and m.kind == "file":
            self.spool.drop(m.source)

