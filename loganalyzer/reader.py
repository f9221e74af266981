"""Read one input into records, and the facts about it: sources -> formats -> records."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from . import formats
from .records import Foreign, Record
from .sources import InputError, PeekStream, looks_binary, open_binary, read_blocks

# A physical line longer than this is reported (it is still read whole).
LONG_LINE = 8 << 20


@dataclass
class FileFacts:
    path: str
    format: str = "file"
    lines: int = 0
    records: int = 0
    unparsed: int = 0
    bytes: int = 0
    first_time: float | None = None
    last_time: float | None = None
    libvirt_version: str | None = None
    package: str | None = None
    hostname: str | None = None
    daemon: str | None = None
    warnings: list = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _daemon_from_name(path: str) -> str | None:
    base = os.path.basename(path)
    for d in ("virtqemud", "virtproxyd", "libvirtd", "virtlogd", "virtnetworkd", "virtstoraged"):
        if base.startswith(d):
            return d
    return None


class LogReader:
    """Iterate the records of one input; `facts` is complete once exhausted.

        r = LogReader("libvirtd.log.gz")
        for rec in r: ...
        r.facts.records, r.facts.unparsed
    """

    def __init__(self, path: str, input_format: str | None = None, display: str | None = None,
                 with_fields: bool = False, blocksize: int = 1 << 22):
        self.path = path
        self.display = display or path
        self.input_format = input_format
        self.with_fields = with_fields
        self.blocksize = blocksize
        self.facts = FileFacts(self.display)

    def __iter__(self):
        for item in self.items():
            if isinstance(item, Record):
                yield item

    def items(self):
        """Records and Foreign runs, in file order (their raw texts join to the input)."""
        facts = self.facts
        stream = open_binary(self.path)
        try:
            head = stream.read(65536)
        except Exception as e:
            raise InputError(f"{self.display}: cannot read ({str(e).splitlines()[0][:100]})") from None
        if looks_binary(head):
            raise InputError(f"{self.display}: binary data, not a text log")
        stream = PeekStream(stream, head)
        sample = head.decode("utf-8", "replace")
        fmt = self.input_format or formats.detect(sample)
        if fmt not in formats.ITEMS:
            raise InputError(f"{self.display}: unknown input format {fmt!r} (known: {', '.join(formats.ITEMS)})")
        facts.format = fmt
        facts.daemon = _daemon_from_name(self.display)

        def on_error(msg):
            facts.error = f"{self.display}: {msg}"

        def counted(blocks):
            for b in blocks:
                facts.bytes += b.nbytes
                n = b.text.count("\n")
                facts.lines += n
                if not b.text.endswith("\n") and b.text:
                    facts.lines += 1
                if len(b.text) > LONG_LINE and n < 2:
                    facts.warnings.append(
                        f"{self.display}: a single line of {len(b.text) >> 20} MB near line {facts.lines}")
                if "\ufffd" in b.text and not any("invalid UTF-8" in w for w in facts.warnings):
                    facts.warnings.append(f"{self.display}: invalid UTF-8 replaced (first near line {facts.lines})")
                yield b

        blocks = counted(read_blocks(stream, self.display, self.blocksize, on_error))
        try:
            first_time = None
            last = None
            nrec = 0
            for item in formats.ITEMS[fmt](blocks, self.display, self.with_fields):
                if item.__class__ is Record:
                    nrec += 1
                    t = item.time
                    if t is not None:
                        if first_time is None:
                            first_time = t
                        last = t
                    k = item.kind
                    if k == "version" or k == "hostname":
                        self._header(item)
                    elif k == "thread_job" and facts.daemon is None:
                        w = item.fields.get("worker") or ""
                        if w.startswith(("rpc-", "prio-rpc-")) and w.split("-")[-1] not in ("worker", "admin"):
                            facts.daemon = w.split("-")[-1]
                else:
                    facts.unparsed += item.nlines
                yield item
            facts.records = nrec
            facts.first_time = first_time
            facts.last_time = last
        finally:
            stream.close()

    def _header(self, rec: Record):
        f = rec.fields
        if rec.kind == "version":
            if self.facts.libvirt_version is None:
                self.facts.libvirt_version = f.get("version")
                self.facts.package = f.get("package")
        elif self.facts.hostname is None:
            self.facts.hostname = f.get("hostname")


def read_events(path: str, input_format: str | None = None):
    """Yield the records of one input lazily (see LogReader for the facts)."""
    yield from LogReader(path, input_format)
