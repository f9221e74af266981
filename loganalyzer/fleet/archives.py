"""Tarballs and zip files as one sequence of entries: name, type, size, and how to read it.

Both kinds of archive give the same Entry, so finding the logs in them (discovery.py) is one
path.  An entry's type is known before anything of it is read; a link's target is never
followed, only looked at."""
from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass

from ..codecs import compression_of
from ..sources import PeekStream, decoded
from .members import Slice

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz",
                ".tar.zst", ".tar.zstd", ".tzst")
ZIP_SUFFIXES = (".zip",)
# longest first: .tar.gz before .gz
_ARCHIVE_SUFFIXES = sorted(TAR_SUFFIXES + ZIP_SUFFIXES, key=len, reverse=True)
# a zip symlink's target is its content: no real target is longer than PATH_MAX
MAX_LINK = 4096


def archive_kind(name: str) -> str | None:
    """tar or zip by the name, else None."""
    low = name.lower()
    if low.endswith(TAR_SUFFIXES):
        return "tar"
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    return None


def strip_archive_suffix(name: str) -> str:
    low = name.lower()
    for suf in _ARCHIVE_SUFFIXES:
        if low.endswith(suf):
            return name[:-len(suf)]
    return name


@dataclass
class Entry:
    name: str            # as stored in the archive
    type: str            # file | dir | symlink | hardlink | special
    size: int            # declared size of its content
    link: str = ""       # a link's target ("" for a zip symlink until read_link)
    encrypted: bool = False
    _archive: object = None
    _ref: object = None  # TarInfo / ZipInfo

    def open(self):
        """Its stored bytes (after the zip method, before any compression of the file itself)."""
        return self._archive.open_entry(self)

    def locate(self) -> dict | None:
        """Where to read it again later without the archive's stream (None: not possible)."""
        return self._archive.locate(self)


class TarArchive:
    """A tarball, compressed or not.  A compressed one is read once, in order (no random
    access), through the same decoder as every input: a tarball cut short or damaged ends
    there (`damage`), and the member it ends in keeps the bytes before the break."""

    def __init__(self, path: str):
        self.path = path
        self._fh = open(path, "rb")
        head = self._fh.read(8)
        self.compressed = compression_of(head) is not None
        if self.compressed:
            self._dec = decoded(PeekStream(self._fh, head), head)
            self._tf = tarfile.open(fileobj=self._dec, mode="r|")
        else:
            self._dec = None
            self._fh.seek(0)
            self._tf = tarfile.open(fileobj=self._fh, mode="r:")
        self.size = None if self.compressed else os.path.getsize(path)

    @property
    def damage(self):
        return self._dec.damage if self._dec is not None else None

    def entries(self):
        while True:
            ti = self._tf.next()
            if ti is None:
                return
            if ti.isfile():
                kind = "file"
            elif ti.isdir():
                kind = "dir"
            elif ti.issym():
                kind = "symlink"
            elif ti.islnk():
                kind = "hardlink"
            else:
                kind = "special"
            yield Entry(ti.name, kind, ti.size, ti.linkname if kind.endswith("link") else "",
                        _archive=self, _ref=ti)

    def open_entry(self, e: Entry):
        if self.compressed:
            # straight from the stream (tarfile's own reader drops a read that comes up short)
            return Slice(self._tf.fileobj, 0, e.size, seek=False)
        return self._tf.extractfile(e._ref)

    def locate(self, e: Entry) -> dict | None:
        if self.compressed:
            return None
        return {"kind": "tar", "source": self.path, "name": e.name, "offset": e._ref.offset_data,
                "size": e.size}

    def cut_inside(self, e: Entry) -> bool:
        """Does the (uncompressed) archive end inside this member?"""
        return self.size is not None and e._ref.offset_data + e.size > self.size

    def read_link(self, e: Entry) -> str:
        return e.link

    def close(self):
        try:
            self._tf.close()
        finally:
            self._fh.close()


class ZipArchive:
    def __init__(self, path: str):
        self.path = path
        self.compressed = False
        self._zf = zipfile.ZipFile(path)

    def entries(self):
        for zi in self._zf.infolist():
            mode = zi.external_attr >> 16
            if zi.is_dir():
                kind = "dir"
            elif stat.S_ISLNK(mode):
                kind = "symlink"
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                kind = "special"    # a FIFO or device recorded by a Unix zip
            else:
                kind = "file"
            yield Entry(zi.filename, kind, zi.file_size, encrypted=bool(zi.flag_bits & 0x1),
                        _archive=self, _ref=zi)

    def read_link(self, e: Entry) -> str | None:
        """A symlink member's target, or None when it is too long to be one."""
        if e.size > MAX_LINK:
            return None
        with self._zf.open(e._ref) as fh:
            return fh.read(MAX_LINK + 1)[:MAX_LINK].decode("utf-8", "replace")

    def open_entry(self, e: Entry):
        return self._zf.open(e._ref)

    def locate(self, e: Entry) -> dict:
        return {"kind": "zip", "source": self.path, "name": e.name, "size": e._ref.compress_size}

    def cut_inside(self, e: Entry) -> bool:
        return False

    damage = None

    def close(self):
        self._zf.close()


def open_archive(path: str, kind: str):
    return ZipArchive(path) if kind == "zip" else TarArchive(path)
