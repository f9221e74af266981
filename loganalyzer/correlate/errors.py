"""Error and warning records: kept for the rules, tied to the migration they are about, and
the keepalive death they declare (with or without the RPC probes before them)."""
from __future__ import annotations

import re

from .objects import ErrorLine, EvidenceKind as K, KeepaliveDeath
from .reading import Handlers
from .state import ev
from .threadless import pending_death

handles = Handlers()

_CONTROLLING_CLOSED = re.compile(r"The connection which controls migration of domain (.*) was closed")
# libvirtd logs the errors of some codes at debug level (daemonErrorLogFilter): of those, the
# one most of libvirt's refusals of a migration use, OPERATION_INVALID, is read by its prefix
DEMOTED = "Requested operation is not valid: "


@handles(kind="error")
def error(st, rec):
    e = ErrorLine.of(rec)
    st.errors.append(e)
    text = e.text
    t = st.live.peek(rec)
    d = t.pending_death if rec.tid is not None else pending_death(st)
    if d is not None and "keepalive timeout" in text and (rec.tid is None or rec.line - d.line < 20):
        ev(d, rec, K.KEEPALIVE_ERROR)
        if rec.tid is None:
            st.live.pending_deaths.clear()
        else:
            t.pending_death = None
    elif "connection closed due to keepalive timeout" in text and (rec.func is None or "KeepAlive" in rec.func):
        # no RPC_KEEPALIVE_TIMEOUT before it: RPC probes are filtered out of this log
        d = KeepaliveDeath(st.host, rec.path, rec.line, rec.time, rec.tid, None, None, None,
                           connection=None, confidence="medium")
        d.notes.append("RPC probes are filtered out of this log (no RPC_KEEPALIVE_TIMEOUT line): "
                       "the dead client pointer is not known; the connection is found from the "
                       "close callback that follows")
        ev(d, rec, K.KEEPALIVE_DEATH_DECLARED, "keepalive death declared")
        st.deaths.append(d)
        t = st.live.thread_of(rec)
        if rec.tid is None:
            st.live.pending_deaths.append((d, st.nread))
        else:
            t.pending_death = d
    mig = _migration_of(st, t, text)
    if mig is not None:
        if rec.level == "error":
            mig.errors.append(e)
        else:
            mig.warnings.append(e)


@handles(func_pattern="[A-Za-z_][A-Za-z0-9_]*", message=DEMOTED)
def demoted_error(st, rec):
    """An OPERATION_INVALID error logged at debug level (filters that keep util.error's debug
    records show it): the migration's, kept with its warnings (it does not decide the outcome,
    which the call's result does)."""
    e = ErrorLine.of(rec)
    mig = _migration_of(st, st.live.peek(rec), e.text)
    if mig is not None:
        mig.warnings.append(e)


def _migration_of(st, t, text):
    """The migration an error or warning of this thread is about, if any."""
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
    return mig
