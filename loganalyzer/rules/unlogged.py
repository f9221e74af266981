"""A migration call failed and the daemon did not log why: the reply to the client was an
error (virNetServerProgramSendError for the migration's procedure) or the job ended before
its Perform phase, and no error text is on the migration's path.

libvirtd logs the errors of some codes at debug level in category util.error
(daemonErrorLogFilter in remote_daemon.c): OPERATION_INVALID ("Requested operation is not
valid: ..."), which most of libvirt's up-front refusals of a migration use, NO_DOMAIN and the
other lookups.  A filter that drops util's debug records (3:util, or log_level 2 or more with
no filter for util) drops those texts.  The verdict says so, and where the text is: the
client's output (given with the logs, it is read and cited), virsh --debug, or the daemon's
log with util.error at debug (virt-admin daemon-log-filters, no restart needed)."""
from __future__ import annotations

import re

from ..correlate.migrations import MIGRATION_PROCS
from ..correlate.objects import Evidence, EvidenceKind as K, MigrationFact
from .case import Case
from .causes import Cause
from .headline import meaning_words, quoted
from .verdict import Verdict

_PROC = re.compile(r"\bproc=([0-9]+)")
_BLOCKED = re.compile(r'"blocked-reasons": \[(.*?)\]')
DEMOTED = ("OPERATION_INVALID (\"Requested operation is not valid: …\", the code of most of libvirt's "
           "refusals of a migration), NO_DOMAIN and the other lookups")
WHERE_TO_FIND = [
    "Read the error in the output of the client that called the migration (virsh prints "
    "'error: …'; nova-compute, KubeVirt's virt-launcher or the orchestrator log it as libvirtError).",
    "Run the client with its own debug log: virsh --debug 0 --log /tmp/virsh.log migrate … "
    "(or LIBVIRT_DEBUG=1 LIBVIRT_LOG_OUTPUTS=\"1:file:/tmp/virsh.log\"): the error is in it.",
    "Log the daemon's demoted errors: virt-admin daemon-log-filters \"1:util.error 1:qemu 1:libvirt "
    "1:conf 1:rpc 3:object 3:json 3:event 3:util\" (no restart; or log_filters in libvirtd.conf / "
    "virtqemud.conf), then retry the migration.",
]


def reason_not_logged(case: Case):
    mig = case.mig
    if mig.outcome != "failed" or not mig.facts & {MigrationFact.API_ERROR_RETURNED,
                                                   MigrationFact.ENDED_BEFORE_PERFORM}:
        return None
    if case.roots(include_peer=True):
        return None     # a logged reason: the message rules decide
    returned = next((e for e in mig.evidence if e.kind == K.API_ERROR_RETURNED), None)
    early = next((e for e in mig.evidence if e.kind == K.JOB_ENDED_BEFORE_PERFORM), None)
    blocked = next((e for e in mig.evidence if e.kind == K.QEMU_MIGRATION_BLOCKED), None)
    said = _client_said(case)
    if blocked is not None:
        v = Verdict(Cause.UNSUPPORTED_CONFIG, "", confidence="medium", detected_by=mig.role)
    elif said is not None:
        th, cause = said
        v = Verdict(cause, "", confidence="medium", detected_by="client")
    else:
        v = Verdict(Cause.UNDETERMINED, "", confidence="low", detected_by=None)
    v.evidence.extend(e for e in (mig.evidence[:1] + [blocked, returned, early]) if e is not None)
    what = []
    if returned is not None:
        m = _PROC.search(returned.text)
        name = MIGRATION_PROCS.get(int(m.group(1))) if m else None
        what.append(f"its {name or 'migration'} call returned an error to the client "
                    f"({returned.path}:{returned.line})")
    if early is not None:
        phase = next((p.phase for p in reversed(mig.phases)), "first")
        what.append(f"its job ended in the {phase} phase, before anything was sent ({early.path}:{early.line})")
    filt = _filter_sentence(case)
    v.summary = (f"Migration of domain {case.domain} ({mig.role}) failed at {case.when(mig.end or mig.start)}: "
                 + "; ".join(what) + f"; but no error text is logged on its path. {filt}")
    if blocked is not None:
        m = _BLOCKED.search(blocked.text)
        reasons = m.group(1) if m else "(see the QEMU reply)"
        v.summary += (f" QEMU's reply to query-migrate lists migration blockers: {reasons} "
                      f"({blocked.path}:{blocked.line}); libvirt refuses such a domain with 'Requested "
                      f"operation is not valid: cannot migrate domain: <the blockers>'.")
        named = quoted(reasons.replace('"', ""), 90)
        v.reason = (f"QEMU names a migration blocker ({named}), so libvirt refused the domain "
                    f"before anything was sent; its refusal text is not in the log")
        v.remedies = ["Remove or change the devices and features QEMU names as blockers (hot-unplug the "
                      "device, or define the domain without it) before migrating; a device that cannot "
                      "migrate has to be re-created on the destination instead."] + list(WHERE_TO_FIND[:1])
    elif said is not None:
        th, cause = said
        v.evidence.append(Evidence(th.path, th.line, None, th.text[:400],
                                   "what the client printed: the error the daemon did not log"))
        v.summary += (f" The client's output given with the logs says: {th.text.strip()[:220]} "
                      f"({th.path}:{th.line}). {th.hit.pattern.meaning}")
        v.remedies = (list(th.hit.pattern.remedies) + [r for r in v.remedies if r not in th.hit.pattern.remedies])[:5]
        v.reason = (f"{meaning_words(th.hit.pattern.meaning)}: the client printed {quoted(th.text)} "
                    f"(the daemon did not log it)")
    else:
        v.reason = ("the call returned an error whose text the daemon did not log"
                    + (" (its job ended before anything was sent)" if early is not None else "")
                    + ": its log_filters drop the debug records where libvirtd writes such errors")
        v.remedies = list(WHERE_TO_FIND)
        v.missing.append("the error's text: the daemon sent it to the client without logging it "
                         "(see the remedies for where to find it)")
    v.missing.extend(case.missing_common())
    return v


def _filter_sentence(case: Case) -> str:
    hc = case.hc
    base = (f"libvirtd logs the errors of {DEMOTED} at debug level in category util.error "
            "(daemonErrorLogFilter)")
    if hc is not None and not hc.saw_util_debug:
        return (base + ", and this log has no debug record of util's categories: its log_filters drop "
                "them (a filter such as 3:util, or log_level 2 or more), and with them the error's text.")
    return base + "; the text is not in this log."


def _client_said(case: Case):
    """The root message a client's output given with the logs shows (a virsh .out, a
    management log: inputs in which no migration is seen), when this is the only failed migration
    without a logged reason in the analysis: (TextHit, cause), else None."""
    a = case.a
    unexplained = [m for m in a.migrations if m.outcome == "failed" and m.role == case.mig.role
                   and m.facts & {MigrationFact.API_ERROR_RETURNED, MigrationFact.ENDED_BEFORE_PERFORM}
                   and not any(e.level in ("error",) for e in m.errors)]
    if len(unexplained) != 1 or unexplained[0] is not case.mig:
        return None
    for h in a.hosts:
        if h is case.host or h.correlator is None or h.correlator.migrations:
            continue    # a daemon's log, not a client's output
        for th in h.text_hits:
            if th.hit.is_root:
                return th, th.hit.cause
    return None
