"""One streaming pass over one host's records: rebuild connections, keepalives, threads,
domain jobs and migrations, and trace every keepalive death to the connection (and
migration) it killed.

The handlers live in one module per object family, each declared with what it reads
(reading.py):

    rpc.py          RPC clients and server clients, their keepalives, deaths and closes
    connections.py  virConnectOpen*/SetKeepAlive, the API calls workers run for clients
    migrations.py   migration API calls by role, the qemu driver's lines, async jobs, phases,
                    outcomes
    qemu.py         the QEMU monitor, migration status, the QEMU process's end
    errors.py       error and warning records

READING, their reading list, is what both routes feed the correlator: the prefilter's
pattern (interest.py) is built from it, and `feed` dispatches by it.  The state they
change (results and live maps) is state.HostState.
"""
from __future__ import annotations

from . import connections, errors, migrations, qemu, rpc
from .objects import Gap
from .reading import Reading
from .state import HostState

READING = Reading(rpc.handles, connections.handles, migrations.handles, qemu.handles, errors.handles)

GAP_SECONDS = 5


class HostCorrelator(HostState):
    """Feed records of one host in order; read the objects at the end."""

    def __init__(self, host: str):
        super().__init__(host)
        self._last_rec = None

    # ------------------------------------------------------------ feeding
    def feed(self, rec) -> None:
        """One record, in log order: read when a handler reads it (READING), else skipped."""
        handler = READING.handler_for(rec)
        if handler is None:
            return
        if self.first_time is None and rec.time is not None:
            self.first_time = rec.time
        self.nread += 1
        if rec.tid is None:
            self.live.virtual.key(rec)      # its virtual thread, in log order
        else:
            self.count_thread(rec)
        if not self.saw_rpc_probe and rec.kind.startswith("RPC_"):
            self.saw_rpc_probe = True
        handler(self, rec)

    def note_time(self, t: float, line: int, rec=None) -> None:
        """Every record's time, in order (not only the records read): finds the
        stretches where a debug log goes silent because the daemon was stopped or hung."""
        if self.last_line and int(t // 1) - int(self.last_time // 1) >= GAP_SECONDS:
            prev = self._last_rec
            self.add_gap(self.last_line, line, self.last_time, t, rec.path if rec else None,
                         prev.text if prev is not None else "", rec.text if rec else "")
        self.last_time = t
        self.last_line = line
        self._last_rec = rec

    def add_gap(self, line0: int, line1: int, t0: float, t1: float, path, text0: str, text1: str) -> None:
        """A silence of GAP_SECONDS or more."""
        self.gaps.append(Gap(line0, line1, t0, t1, path, text0, text1))

    def seen_until(self, t: float, line: int) -> None:
        """The newest dated record so far (for a route that finds the silences itself)."""
        self.last_time, self.last_line = t, line

    def close(self):
        """End of the stream: open migrations and the deaths' owners are decided; the live
        maps only served the linking and are dropped (they would double what a scan worker
        sends back to its parent, and what analyze keeps)."""
        migrations.settle_migrations(self)
        rpc.settle_deaths(self)
        self.live = None
        self._last_rec = None


def correlate_records(records, host: str) -> HostCorrelator:
    hc = HostCorrelator(host)
    feed = hc.feed
    for r in records:
        feed(r)
    hc.close()
    return hc
