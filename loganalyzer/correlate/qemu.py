"""QEMU as the daemon sees it: the monitor (the domain each monitor belongs to, migration
events and query-migrate replies), migration status changes, and the QEMU process's end."""
from __future__ import annotations

import re

from .objects import (QEMU_STOP_KINDS, DowntimeLimit, Evidence, EvidenceKind as K, MemoryPass, MigrationFact,
                      QemuStatus)
from .samples import StatsSample
from ..values import json_number, json_object
from .reading import Handlers
from .state import as_int, ev

handles = Handlers()

MAX_STATS = 4000            # query-migrate samples per migration (then every other one is dropped)
MAX_SYNCS = 64              # passes over guest memory remembered per migration (the first and the newest)

_MIGR_STATUS = re.compile(r"Migration of domain (0x[0-9a-fA-F]+|\(nil\)) (.*) changed state to (\S+)$")
_MIGR_PASS = re.compile(r"^Migrating domain (0x[0-9a-fA-F]+) (.*), iteration (\d+)$")
_MON = re.compile(r"(?:Entering|Exited) monitor \(mon=(0x[0-9a-fA-F]+) vm=(0x[0-9a-fA-F]+) name=(.*)\)$")
_REMOTE = re.compile(r"(?:Entering|Exited) remote \(vm=(0x[0-9a-fA-F]+) name=(.*)\)$")
_STATUS_EVENT = re.compile(r'"event": ?"(MIGRATION|MIGRATION_PASS)", ?"data": ?\{"(status|pass)": ?"?([\w-]+)"?')
_PROCESS_STOP = re.compile(r"Shutting down vm=0x[0-9a-fA-F]+ name=(.*?) id=.*reason=(\w+)")
_MONITOR_HUP = re.compile(r"Received EOF on 0x[0-9a-fA-F]+ '(.*)'$")
_MONITOR_EOF = re.compile(r"Monitor connection to '(.*)' closed without SHUTDOWN event")
# "vm=NAME, conn=0x..", then "vm=NAME has long-term job active, cancelling" (the only one of
# the two journal text can attribute: the first is also qemuProcessAutoDestroyAdd's)
_AUTODESTROY = re.compile(r"^vm=(.*?)(?:, conn=0x[0-9a-fA-F]+| has long-term job active, cancelling)$")


# ------------------------------------------------------------ the monitor
@handles(func="qemuDomainObjEnterMonitorInternal")
def enter_monitor(st, rec):
    m = _MON.match(rec.message)
    if m:
        mon, vm, name = m.groups()
        live = st.live
        live.mons[mon] = name
        live.vms[vm] = name
        if rec.tid is not None:
            live.thread_of(rec).domain = name


@handles(func="qemuDomainObjEnterRemote")
def enter_remote(st, rec):
    m = _REMOTE.match(rec.message)
    if m and rec.tid is not None:
        st.live.thread_of(rec).domain = m.group(2)


# QEMU's events and replies only when they are about migration
@handles(probe="QEMU_MONITOR_RECV_EVENT", message=r'[^\n]*"MIGRATION')
def monitor_event(st, rec):
    m = _STATUS_EVENT.search(rec.message)
    if not m:
        return
    mig = st.find_active(st.live.mons.get(rec.fields.get("mon")))
    if mig is None:
        return
    if m.group(1) == "MIGRATION_PASS":
        mig.passes = max(mig.passes, as_int(m.group(3), 0))


@handles(probe="QEMU_MONITOR_RECV_REPLY", message=r'[^\n]*"(?:ram|downtime-limit|blocked-reasons)"')
def monitor_reply(st, rec):
    msg = rec.message
    stats = '"ram"' in msg and '"status"' in msg
    blocked = '"blocked-reasons"' in msg
    if not stats and not blocked and '"downtime-limit"' not in msg:
        return
    mig = st.find_active(st.live.mons.get(rec.fields.get("mon")))
    if mig is None:
        return
    reply = (json_object(rec.fields.get("reply", "")) or {}).get("return")
    if not isinstance(reply, dict):
        return
    if blocked and not stats:
        # query-migrate before a migration: QEMU's own migration blockers (devices, features);
        # libvirt then refuses with "cannot migrate domain: <reasons>" (OPERATION_INVALID)
        reasons = reply.get("blocked-reasons") if isinstance(reply, dict) else None
        if reasons:
            ev(mig, rec, K.QEMU_MIGRATION_BLOCKED, "QEMU's migration blockers: " + "; ".join(map(str, reasons)))
        return
    if not stats:
        # query-migrate-parameters: the downtime the migration must fit in to complete
        limit = json_number(reply.get("downtime-limit"))
        if limit is not None:
            mig.downtime_limit = DowntimeLimit(limit, Evidence.of(rec, f"QEMU's downtime limit: {limit} ms",
                                                                 K.QEMU_DOWNTIME_LIMIT))
        return
    ram = reply.get("ram")
    if not isinstance(ram, dict):
        ram = {}
    num = json_number       # a number that does not fit is left unread
    sample = StatsSample(
        rec.time, rec.line, reply.get("status"),
        num(reply.get("total-time")), num(reply.get("expected-downtime")),
        num(ram.get("transferred")), num(ram.get("remaining")), num(ram.get("total")), num(ram.get("mbps")),
        num(ram.get("dirty-pages-rate")), num(ram.get("page-size")), num(ram.get("dirty-sync-count")),
        num(reply.get("cpu-throttle-percentage")))
    prev = mig.stats[-1] if mig.stats else None
    mig.stats.append(sample)
    mig.last_stats = Evidence.of(rec, "QEMU's newest transfer statistics", K.QEMU_STATS)
    if prev is None or sample.transferred is None or sample.transferred != prev.transferred:
        mig.stalled_since = None
    elif mig.stalled_since is None and prev.line is not None:
        mig.stalled_since = Evidence.of(rec, "QEMU's statistics: nothing more transferred since the reply before",
                                       K.QEMU_STATS_STALLED)
    if len(mig.stats) > MAX_STATS:
        del mig.stats[1::2]     # hours of polling: keep the shape over time, in bounded memory
    sync = sample.dirty_sync_count
    if sync is not None and sample.status == "active" and (not mig.syncs or mig.syncs[-1].sync_count != sync):
        # the first sample after QEMU synced the dirty bitmap: "remaining" is then what the
        # guest dirtied during the pass before, the measure of convergence
        note = (f"after pass {sync - 1} over guest memory: {sample.remaining} bytes dirty again"
                if sync > 1 else "the first pass over guest memory")
        mig.syncs.append(MemoryPass(sync, sample, Evidence.of(rec, note, K.QEMU_MEMORY_PASS)))
        if len(mig.syncs) > MAX_SYNCS:
            del mig.syncs[1]


# ------------------------------------------------------------ the migration as QEMU runs it
@handles(func="qemuProcessHandleMigrationStatus")
def migration_status(st, rec):
    m = _MIGR_STATUS.match(rec.message)
    if not m:
        return
    vm, name, status = m.groups()
    if rec.tid is not None:
        st.live.thread_of(rec).domain = name
    mig = st.find_active(name)
    if mig is not None:
        mig.qemu_status.append(QemuStatus(status, rec.time, rec.line, rec.text))
        if status in ("failed", "cancelled"):
            kind = K.QEMU_MIGRATION_FAILED if status == "failed" else K.QEMU_MIGRATION_CANCELLED
            ev(mig, rec, kind, f"QEMU reports the migration {status}")


def _migration_named(st, rx, rec, group: int = 1):
    """(the migration in progress of the domain the line names in rx's group, the match)."""
    m = rx.search(rec.message)
    return (st.find_active(m.group(group)), m) if m else (None, None)


@handles(func="qemuProcessHandleMigrationPass")
def migration_pass(st, rec):
    mig, m = _migration_named(st, _MIGR_PASS, rec, 2)
    if mig is not None:
        mig.passes = max(mig.passes, int(m.group(3)))


# ------------------------------------------------------------ the QEMU process's end
@handles(func="qemuProcessAutoDestroy")
def auto_destroy(st, rec):
    m = _AUTODESTROY.match(rec.message)
    if m:
        mig = st.live.active.get(("destination", m.group(1)))
        if mig is not None:
            if MigrationFact.AUTODESTROYED not in mig.facts:
                ev(mig, rec, K.DOMAIN_AUTODESTROYED,
                   "the incoming domain is destroyed because its controlling connection closed")
                mig.mark(MigrationFact.AUTODESTROYED)


@handles(func="qemuProcessStop")
def process_stop(st, rec):
    """'Shutting down vm=0x.. name=NAME id=N pid=P, reason=R, asyncJob=..': a QEMU went away."""
    m = _PROCESS_STOP.search(rec.message)
    if not m:
        return
    name, reason = m.group(1), m.group(2)
    mig = st.find_active(name)
    if mig is not None and reason in QEMU_STOP_KINDS:
        ev(mig, rec, QEMU_STOP_KINDS[reason], f"the domain's QEMU process stopped (reason={reason})")
        if reason == "crashed":
            mig.mark(MigrationFact.QEMU_CRASHED)


@handles(func="qemuProcessHandleMonitorEOF")
def monitor_hangup(st, rec):
    """'Received EOF on 0x.. 'NAME'': the moment QEMU's monitor hung up (the stop that
    libvirt logs for it may come seconds later, from its event thread)."""
    mig, _ = _migration_named(st, _MONITOR_HUP, rec)
    if mig is not None:
        ev(mig, rec, K.MONITOR_HANGUP, "QEMU's monitor hung up: the QEMU process went away")


@handles(func="processMonitorEOFEvent")
def monitor_eof(st, rec):
    mig, _ = _migration_named(st, _MONITOR_EOF, rec)
    if mig is not None:
        ev(mig, rec, K.MONITOR_EOF, "QEMU's monitor closed without a shutdown: QEMU died")
