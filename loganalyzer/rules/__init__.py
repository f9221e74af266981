"""Rules: small functions over the analysis objects, one cause family each.

``catalogue`` holds the libvirt user-visible error messages with their cause
ids, roles, meanings and remedies.  The rule modules read the correlated
objects (connections, deaths, migrations) and the catalogue hits on a
migration's errors, and return a Verdict or None.  `judge` runs them in order
of precedence: a root cause found in the linked objects beats one inferred
from error text, and a symptom never becomes a verdict.
"""
from __future__ import annotations

from .case import Case
from .headline import migration_headline
from .postcopy import add_postcopy_context
from .tunnel import add_tunnel_context
from .verdict import Verdict


def _rules():
    from . import cancel, connection, convergence, keepalive, messages, qemu, undetermined, unlogged
    # Order is precedence: the first rule that returns a verdict decides.
    return [
        convergence.not_converging,        # a cancel/timeout of a migration that could not finish
        qemu.stream_stalled,               # ... or whose stream did not move (unless the daemons'
                                           # connection broke too: the connection rules below)
        cancel.cancelled,
        messages.cause_before_connection_loss,   # a refusal, then the connection broke: the refusal
        connection.connect_failed,
        keepalive.dconn_keepalive_timeout,
        keepalive.client_keepalive_timeout,
        connection.dconn_closed,
        qemu.source_qemu_died,             # before the error texts: they are its consequences
        messages.from_error_messages,
        keepalive.daemon_stalled,
        unlogged.reason_not_logged,        # the call failed; the daemon did not log why
        undetermined.undetermined,
    ]


def judge_migration(case: Case) -> Verdict | None:
    for rule in _rules():
        v = rule(case)
        if v is not None:
            v.rule = v.rule or rule.__name__
            case.attach_consequences(v)
            add_postcopy_context(case, v)
            add_tunnel_context(case, v)
            v.headline = migration_headline(case, v)
            return v.sort_evidence()
    return None


def judge(analysis) -> None:
    """Give every failed or cancelled migration a verdict; add findings for
    failures that are not a migration seen in the logs."""
    from .findings import add_findings
    cases = [Case(analysis, m) for m in analysis.migrations]
    # the source decides first; the other views of the same migration share its verdict
    order = sorted(cases, key=lambda c: {"source": 0, "destination": 1, "client": 2}.get(c.mig.role, 3))
    for case in order:
        m = case.mig
        if m.outcome not in ("failed", "cancelled"):
            continue
        peer = case.peer
        if peer is not None and peer.verdict is not None and m.role != "source":
            m.verdict = case.inherit(peer.verdict)
            continue
        m.verdict = judge_migration(case)
    add_findings(analysis)
