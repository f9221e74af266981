"""Error and warning records: kept for the rules, tied to the migration they are about, and
the keepalive death they declare (with or without the RPC probes before them)."""
from __future__ import annotations

import re

from .objects import ErrorLine, EvidenceKind as K, KeepaliveDeath
from .reading import Handlers
from .state import ev

handles = Handlers()

_CONTROLLING_CLOSED = re.compile(r"The connection which controls migration of domain (.*) was closed")


@handles(kind="error")
def error(st, rec):
    e = ErrorLine.of(rec)
    st.errors.append(e)
    text = e.text
    t = st.live.peek(rec)
    d = t.pending_death
    if d is not None and "keepalive timeout" in text and rec.line - d.line < 20:
        ev(d, rec, K.KEEPALIVE_ERROR)
        t.pending_death = None
    elif "connection closed due to keepalive timeout" in text and rec.func and "KeepAlive" in rec.func:
        # no RPC_KEEPALIVE_TIMEOUT before it: RPC probes are filtered out of this log
        d = KeepaliveDeath(st.host, rec.path, rec.line, rec.time, rec.tid, None, None, None,
                           connection=None, confidence="medium")
        d.notes.append("RPC probes are filtered out of this log (no RPC_KEEPALIVE_TIMEOUT line): "
                       "the dead client pointer is not known; the connection is found from the "
                       "close callback that follows")
        ev(d, rec, K.KEEPALIVE_DEATH_DECLARED, "keepalive death declared")
        st.deaths.append(d)
        t = st.live.thread_of(rec)
        t.pending_death = d
    mig = t.migration
    if mig is not None and mig.ended is not None:
        mig = None          # the worker moved on to other calls
    if mig is None:
        name = t.domain
        mig = st.find_active(name) if name else None
        if mig is None:
            m = _CONTROLLING_CLOSED.search(text)
            if m:
                mig = st.find_active(m.group(1))
    if mig is not None:
        if rec.level == "error":
            mig.errors.append(e)
        else:
            mig.warnings.append(e)
