"""Detect and unwrap each place libvirt lines live.

Every format turns decoded text blocks into a stream of Record and Foreign
items whose raw texts, joined, give back the input exactly.

  file      the daemon's own file/stderr output (the grammar's record format)
  pasted    libvirt records inside other text (a bug report, a CI log): a
            record is found wherever it starts on a line; the rest is foreign
  text      no libvirt records at all (virsh output, a management log): every
            line is foreign, but error messages in it are still recognised
"""
from __future__ import annotations

from .fastpath import RECORD_ANYWHERE, RECORD_START, parse_record
from .records import Foreign

FORMATS = ("file", "pasted", "text")


def detect(sample: str) -> str:
    """Name of the format of a file from its first block of text."""
    lines = sample.splitlines()[:2000]
    at_start = anywhere = 0
    for ln in lines:
        if RECORD_START.match(ln):
            at_start += 1
        elif RECORD_ANYWHERE.search(ln):
            anywhere += 1
    if at_start and at_start >= anywhere:
        return "file"
    if anywhere:
        return "pasted"
    return "text"


def _strip_eol(raw: str) -> str:
    if raw.endswith("\n"):
        raw = raw[:-1]
        if raw.endswith("\r"):
            raw = raw[:-1]
    return raw


def file_items(blocks, path: str, with_fields: bool = False):
    """Records of the file format: a record is a line that matches the
    record-start rule plus every following line that does not."""
    pending = ""
    pending_line = 0
    next_line = 1
    finditer = RECORD_START.finditer
    for block in blocks:
        btext = block.text
        if pending:
            text = pending + btext
            line = pending_line
        else:
            text = btext
            line = next_line
        next_line += btext.count("\n")
        starts = [m.start() for m in finditer(text)]
        if not starts:
            yield Foreign(path, line, text)
            pending = ""
            continue
        first = starts[0]
        if first > 0:
            yield Foreign(path, line, text[:first])
            line += text.count("\n", 0, first)
        count = text.count
        for i in range(len(starts) - 1):
            a, b = starts[i], starts[i + 1]
            raw = text[a:b]
            yield parse_record(_strip_eol(raw), path, line, raw, with_fields)
            line += count("\n", a, b)
        pending = text[starts[-1]:]
        pending_line = line
    if pending:
        yield parse_record(_strip_eol(pending), path, pending_line, pending, with_fields)


def pasted_items(blocks, path: str, with_fields: bool = False):
    """One-line records found anywhere in a line; the text before them and
    every other line is foreign."""
    line = 1
    for block in blocks:
        for phys in block.text.splitlines(keepends=True):
            m = RECORD_ANYWHERE.search(phys)
            if m is None:
                yield Foreign(path, line, phys)
            else:
                if m.start():
                    yield Foreign(path, line, phys[:m.start()])
                raw = phys[m.start():]
                rec = parse_record(_strip_eol(raw), path, line, raw, with_fields)
                yield rec
            line += 1


def text_items(blocks, path: str, with_fields: bool = False):
    line = 1
    for block in blocks:
        if block.text:
            yield Foreign(path, line, block.text)
            line += block.text.count("\n")


ITEMS = {"file": file_items, "pasted": pasted_items, "text": text_items}
