"""Case: one migration with everything a rule needs to look at."""
from __future__ import annotations

import os
from functools import cached_property

from ..correlate.objects import CLOSE_REASONS, Evidence
from ..records import fmt_time
from .catalogue import match_text
from .verdict import Verdict, ev

DAEMONS = ("virtqemud", "virtproxyd", "libvirtd")


class Case:
    def __init__(self, analysis, mig):
        self.a = analysis
        self.mig = mig
        self.host = analysis.host_of(mig)
        self.hc = self.host.correlator if self.host else None

    # -- the other host's view
    @cached_property
    def peer(self):
        return self.a.migration(self.mig.peer) if self.mig.peer else None

    @cached_property
    def peer_hc(self):
        p = self.peer
        h = self.a.host_of(p) if p is not None else None
        return h.correlator if h else None

    @cached_property
    def source(self):
        """The source-side view of this migration, if any log has it."""
        if self.mig.role == "source":
            return self.mig
        p = self.peer
        return p if p is not None and p.role == "source" else None

    @cached_property
    def destination(self):
        """The destination-side view of this migration, if any log has it."""
        if self.mig.role == "destination":
            return self.mig
        p = self.peer
        return p if p is not None and p.role == "destination" else None

    def hc_of(self, mig):
        """The correlator of the log that holds this view (this case's or its peer's)."""
        return self.hc if mig is self.mig else self.peer_hc

    # -- names for sentences
    def host_name(self, mig=None) -> str:
        return self.a.display_host((mig or self.mig).host)

    def daemon_name(self, mig=None) -> str:
        """libvirtd, virtqemud, virtproxyd: the daemon that wrote this view's log ('daemon' if unknown)."""
        host = self.a.host_of(mig or self.mig)
        for f in (host.facts if host is not None else []):
            if f.daemon:
                return f.daemon
            base = os.path.basename(f.path or "")
            for d in DAEMONS:
                if d in base:
                    return d
        return "daemon"

    @property
    def domain(self) -> str:
        return self.mig.domain or (self.peer.domain if self.peer else None) or "(unknown domain)"

    @property
    def dest_name(self) -> str:
        s = self.source
        if s is not None and s.dconnuri:
            return s.dconnuri
        if self.mig.role == "destination":
            return self.host_name()
        return "the destination"

    # -- error messages on this migration's path, with their catalogue hits
    @cached_property
    def hits(self) -> list:
        """[(ErrorLine, Hit)] for this migration's errors and warnings, in time order."""
        return _hits(self.mig)

    @cached_property
    def peer_hits(self) -> list:
        return _hits(self.peer) if self.peer is not None else []

    def roots(self, cause=None, include_peer=False):
        out = [(e, h) for e, h in self.hits if h.is_root and (cause is None or h.cause == cause)]
        if include_peer:
            out += [(e, h) for e, h in self.peer_hits if h.is_root and (cause is None or h.cause == cause)]
        return out

    # -- the verdict's supporting cast
    def attach_consequences(self, v: Verdict):
        """Later errors on the migration's path are what the user saw, not the cause."""
        cause_lines = {(e.path, e.line) for e in v.evidence}
        for e in self.mig.errors:
            if (e.path, e.line) in cause_lines:
                continue
            note = ""
            for h in match_text(e.text):
                if not h.is_root:
                    note = h.pattern.meaning
                    break
            v.consequences.append(e.evidence(note or "logged after the cause"))
        v.consequences.sort(key=lambda x: (x.time or 0, x.line))

    def inherit(self, pv: Verdict) -> Verdict:
        """The verdict of the paired (source) view, with this side's own lines added."""
        v = Verdict(pv.cause, pv.summary, pv.confidence, pv.detected_by, list(pv.evidence),
                    list(pv.missing), list(pv.remedies), rule=pv.rule + " (from the paired migration)",
                    reason=pv.reason, headline=pv.headline)
        self.attach_consequences(v)
        return v.sort_evidence()

    def missing_common(self) -> list[str]:
        out = []
        if self.peer is None and self.mig.role in ("source", "destination"):
            other = "destination" if self.mig.role == "source" else "source"
            out.append(f"the {other} host's log (give both logs to pair the two views)")
        if self.hc is not None and not self.hc.saw_rpc_probe:
            out.append("RPC probes (RPC_*): they are filtered out of this log (log_filters 3:rpc)")
        return out

    def when(self, t) -> str:
        return fmt_time(t)


def _hits(mig) -> list:
    out = []
    for e in list(mig.errors) + list(mig.warnings):
        for h in match_text(e.text):
            out.append((e, h))
    out.sort(key=lambda eh: (eh[0].time if eh[0].time is not None else 0, eh[0].line, eh[1].start))
    return out


def close_reason_text(reason) -> str:
    return {0: "an I/O error", 1: "end of file (the peer closed it)", 2: "keepalive timeout",
            3: "closed by this side"}.get(reason, f"reason {reason}") if reason is not None else "unknown"


__all__ = ["Case", "close_reason_text", "CLOSE_REASONS", "Evidence", "ev"]
