"""Which worker a record belongs to when the log has no thread ids.

libvirt's journald output (`log_outputs="1:journald"`) sends each message without its thread
id.  What the correlator learns from threads in a file log (which worker opened the dconn for
which migration, which migration an error or a phase line belongs to) then has to come from
what the records name and from their order.  VirtualThreads gives each thread-less record the
key of a "virtual thread", used by Live.thread_of/peek in place of the thread id:

- a call: a remoteDispatch*Helper line starts one (a worker takes a client's call); the
  migration API entry line that follows runs in it;
- the call that owns a domain: a migration runs in one worker at a time, so the domain a
  record names (its name, or a pointer known to stand for it: vm=, mon=, dconn=/conn=, sconn=,
  the pointer of "Prepare3 %p"/"Finish3 %p"/"Confirm3 %p ...") leads to the call that runs it;
- the event loop: RPC probes, keepalive errors, close callbacks, QEMU's migration events and
  the QEMU process's end (the event loop and the helper threads log those);
- any other record (params[] lines, phase changes, errors, virConnectOpen...) belongs to the
  context named last: the worker whose line or domain came most recently.

The links that matter most are made from pointers, not from this order: a dead client= is
the connection of RPC_CLIENT_NEW, its virConnect pointer comes from the virConnectSetKeepAlive
right before its RPC_KEEPALIVE_START, and qemuMigrationSrcPerformPeer2Peer3 names that pointer
(dconn=) next to the migration's vm=.  Two migrations from one host that open their
connections to the same destination within the same millisecond cannot be told apart by
their virConnectOpen lines; their connections still are, by those pointers.
"""
from __future__ import annotations

import re

from ..signatures import DISPATCH_UNNAMED

# without thread ids, a line is paired with one of the last PAIRING_WINDOW records read before
# it (an open with its client, a virConnectSetKeepAlive with its keepalive, a death with its
# error line): in a file log they are a few lines apart in one thread
PAIRING_WINDOW = 40

KEEP_CALLS = 512            # virtual threads of calls remembered (see VirtualThreads._new_call)

EVENT_LOOP = ("event",)
NOBODY = ("none",)

# records logged by the event loop and helper threads, never by a call's worker
_EVENT_FUNCS = frozenset({
    "qemuProcessHandleMigrationStatus", "qemuProcessHandleMigrationPass", "qemuProcessHandleMonitorEOF",
    "processMonitorEOFEvent", "qemuProcessStop", "qemuProcessAutoDestroy",
    "qemuMigrationSrcConnectionClosed", "qemuMigrationConnectionClosed", "qemuMigrationAnyConnectionClosed",
    "virNetClientCloseLocked", "virNetServerClientCloseLocked", "virKeepAliveNew",
})
_API_PREFIX = "virDomainMigrate"
# an API's entry line (its later lines, params[...] and "xml ...", run in the same call)
_API_ENTRY = ("dom=", "dconn=", "conn=")
_POINTER = re.compile(r"0x[0-9a-fA-F]+")
_IN_API = re.compile(r"\bAPI[= ](remoteDispatch\w+)")
_NAMED = re.compile(r"(?:Entering|Exited) (?:monitor|remote) \([^)]*name=(.*)\)$")
_STEP = re.compile(r"^(Prepare3|Perform3|Finish3|Confirm3|Prepare2|Perform|Finish2) (0x[0-9a-fA-F]+)"
                   r"(?:.* vm=(0x[0-9a-fA-F]+))?")


class VirtualThreads:
    """The virtual thread of each thread-less record, in log order (see the module text)."""

    __slots__ = ("live", "owner", "recent", "pending_call", "sconns", "call_api", "_ncall", "_last_rec",
                 "_last_key")

    def __init__(self, live):
        self.live = live
        self.owner: dict = {}          # domain name -> the call that runs it
        self.recent = None             # the context named last
        self.pending_call = None       # a call whose API entry line has not come yet
        self.sconns: dict = {}         # a migration's source connection pointer -> its domain
        self.call_api: dict = {}       # call -> the API it runs (remoteDispatch...), newest last
        self._ncall = 0
        self._last_rec = None
        self._last_key = NOBODY

    def key(self, rec):
        """The virtual thread of a record (the same for every call with the same record)."""
        if rec is self._last_rec:
            return self._last_key
        key = self._key(rec)
        self._last_rec, self._last_key = rec, key
        return key

    def _new_call(self, api=None):
        self._ncall += 1
        key = ("call", self._ncall)
        self.call_api[key] = api
        if len(self.call_api) > KEEP_CALLS:
            # a daemon serves thousands of calls: forget the old ones, but not a call that
            # still runs a domain (a migration lasts minutes; its worker holds the domain)
            busy = set(self.owner.values())
            for old in list(self.call_api)[:len(self.call_api) - KEEP_CALLS // 2]:
                if old not in busy and old != self.recent and old != self.pending_call:
                    del self.call_api[old]
                    self.live.threads.pop(old, None)
        return key

    def _key(self, rec):
        func = rec.func or ""
        kind = rec.kind
        if kind.isupper() or func in _EVENT_FUNCS or (
                kind == "error" and ("KeepAlive" in func or "keepalive timeout" in rec.message)):
            # the event loop; a domain it names still becomes the context named last
            name = self.domain_of(rec)
            if name is not None and name in self.owner:
                self.recent = self.owner[name]
            return EVENT_LOOP
        if func.startswith("remoteDispatch") and func.endswith("Helper"):
            api = func[:-len("Helper")] if func != DISPATCH_UNNAMED else None
            key = self.pending_call = self.recent = self._new_call(api)
            return key
        if func.startswith(_API_PREFIX) and rec.message.startswith(_API_ENTRY):
            key = self.pending_call or self._new_call()
            self.pending_call = None
            if self.call_api.get(key) is None:    # (journal text does not name the helper)
                self.call_api[key] = "remoteDispatch" + func[len("vir"):]
            name = rec.fields.get("domain") if rec.message.startswith("dom=") else None
            if name:
                self._own(name, key)
            self.recent = key
            return key
        m = _IN_API.search(rec.message)
        if m:
            # "... in API remoteDispatchX for domain D" / "API=remoteDispatchX": the call running X
            key = next((k for k, api in reversed(self.call_api.items()) if api == m.group(1)), None)
            if key is not None:
                self.recent = key
                return key
        name = self.domain_of(rec)
        if name is not None:
            key = self.owner.get(name) or self._running(name)
            if key is None:
                # the first line that names this domain: the call in progress runs it (a
                # destination's Prepare names no domain), unless that call runs another one
                key = self.recent if self.recent is not None and self.recent not in self.owner.values() \
                    else self._new_call()
                self._own(name, key)
            if func.startswith("qemuMigrationSrcPerformPeer2Peer"):
                s = rec.fields.get("sconn")
                if s:
                    self.sconns[s] = name
            self.recent = key
            if kind == "job" and rec.message.startswith("Stopping async job"):
                del self.owner[name]        # the migration's job is over: its domain is free
            return key
        return self.recent if self.recent is not None else NOBODY

    def _running(self, name):
        """The call whose migration has this domain although no line of the call named it yet
        (a destination's Prepare learns it from its params["destination_xml"])."""
        threads = self.live.threads
        for key in reversed(self.call_api):
            t = threads.get(key)
            m = t.migration if t is not None else None
            if m is not None and m.domain == name and m.ended is None:
                self._own(name, key)
                return key
        return None

    def _own(self, name, key):
        self.owner[name] = key
        t = self.live.threads.get(key)
        if t is not None and t.domain is None:
            t.domain = name

    def domain_of(self, rec) -> str | None:
        """The domain a record names, directly or through a pointer known to stand for it."""
        live = self.live
        f = rec.fields
        kind = rec.kind
        if kind == "job":
            return f.get("name")
        name = f.get("domain") or (f.get("name") if rec.func == "qemuMigrationDstPrepareFresh" else None)
        if name:
            return name
        vm = f.get("vm")
        if vm:
            if not _POINTER.fullmatch(vm):
                return vm                   # close callbacks and autodestroy name the domain
            if vm in live.vms:
                return live.vms[vm]
        mon = f.get("mon")
        if mon and mon in live.mons:
            return live.mons[mon]
        for key in ("dconn", "conn"):
            d = f.get(key)
            if d and d in live.conns:
                name = _domain_of_connection(live, live.conns[d])
                if name:
                    return name
        msg = rec.message
        m = _NAMED.match(msg)
        if m:
            return m.group(1)
        m = _STEP.match(msg)
        if m:
            step, p, vm = m.groups()
            if vm and vm in live.vms:
                return live.vms[vm]
            if p in live.conns:
                return _domain_of_connection(live, live.conns[p])
            return self.sconns.get(p)
        return None


def _domain_of_connection(live, c) -> str | None:
    for (role, name), mig in live.active.items():
        if mig.dconn is c:
            return name
    return None


def pending_death(st):
    """The keepalive death of the last few records read that still awaits its error line (or
    its close callback)."""
    pending = st.live.pending_deaths
    while pending and st.nread - pending[0][1] > PAIRING_WINDOW:
        pending.popleft()
    return pending[-1][0] if pending else None
