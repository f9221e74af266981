"""Findings: failures that are not a migration seen in the logs (a management
client's keepalive death, an error message in text that is not a libvirt log)."""
from __future__ import annotations

from collections import OrderedDict

from ..correlate.objects import Evidence, Finding
from ..records import fmt_time
from .catalogue import likely_cause
from .causes import Cause
from .headline import cause_words, finding_headline, meaning_words, quoted
from .remedies import REMEDIES
from .wrappers import describe


def add_findings(analysis) -> None:
    cited = {(e.path, e.line) for m in analysis.migrations if m.verdict is not None
             for e in m.verdict.evidence}
    for d in analysis.keepalive_deaths:
        if (d.path, d.line) in cited:
            continue   # already part of a migration's verdict
        analysis.findings.append(_death_finding(analysis, d))
    for h in analysis.hosts:
        hits = [th for th in h.text_hits if (th.path, th.line) not in cited]
        if hits:
            analysis.findings.extend(_text_findings(analysis, h, hits))


def _death_finding(analysis, d) -> Finding:
    c = d.connection
    host = analysis.display_host(d.host)
    hc = next((h.correlator for h in analysis.hosts if h.label == d.host), None)
    if c is None and hc is not None and not hc.migrations:
        # a daemon-to-daemon connection only exists while a migration runs: with none in
        # this log, the dead connection was a client's
        cause, who = Cause.CLIENT_KEEPALIVE_TIMEOUT, "an unidentified client connection (no migration in this log)"
    elif c is None:
        cause, who = Cause.UNDETERMINED, "an unidentified connection"
    elif c.direction == "incoming" and c.purpose != "peer-daemon":
        cause = Cause.CLIENT_KEEPALIVE_TIMEOUT
        apis = ", ".join(a.replace("remoteDispatch", "") for a in c.apis[:6]) or "none logged"
        who = f"a management client's connection (incoming client {c.client}, first calls: {apis})"
    elif c.purpose == "peer-daemon":
        cause, who = Cause.DCONN_KEEPALIVE_TIMEOUT, f"a peer daemon's incoming migration connection (client {c.client})"
    elif c.purpose == "dconn":
        cause = Cause.DCONN_KEEPALIVE_TIMEOUT
        who = f"the connection to the destination daemon {c.uri} (client {c.client})"
    else:
        cause = Cause.UNDETERMINED
        who = f"an outgoing connection ({c.uri or 'daemon-internal'}, client {c.client})"
    created = (f"created at {c.created.path}:{c.created.line}" if c is not None and c.created is not None
               else "created before this log starts")
    f = Finding(cause=cause, host=host, detected_by=None,
                summary=(f"{host}: {who}, {created}, was declared dead by keepalive timeout at "
                         f"{fmt_time(d.time)}" + (f" after {d.idle} s without a reply" if d.idle else "")
                         + "; no migration depended on it."),
                confidence=d.confidence if c is not None else "low", evidence=list(c.evidence[:2]) + list(d.evidence) if c else list(d.evidence),
                missing=list(d.notes), remedies=list(REMEDIES.get(cause, [])))
    f.reason = (f"{who} died of a keepalive timeout" + (f" after {d.idle} s without a reply" if d.idle else "")
                + "; no migration depended on it")
    f.headline = finding_headline(host, f.reason, cause)
    f.evidence.sort(key=lambda e: (e.time or 0, e.line))
    return f


def _text_cause(text: str, hit, migrations: bool = True) -> Cause:
    """The cause a message names when nothing else is known.  The keepalive message is
    ambiguous; printed by a client ("error: ..." in virsh output rather than a daemon's
    "error : func:line :" record), it is that client's own connection that died: in a
    peer-to-peer migration the daemon-to-daemon death reaches virsh as 'Lost connection
    to destination host' or 'client socket is closed'."""
    if hit.cause == Cause.DCONN_KEEPALIVE_TIMEOUT and Cause.CLIENT_KEEPALIVE_TIMEOUT in hit.pattern.ambiguous_with:
        if not migrations:
            return Cause.CLIENT_KEEPALIVE_TIMEOUT   # a daemon-to-daemon connection exists only while migrating
        before = text[:hit.start]
        if before.rstrip().endswith("error:") or "error: " in before[-40:] and " : " not in before[-40:]:
            return Cause.CLIENT_KEEPALIVE_TIMEOUT
    return hit.cause


def _text_findings(analysis, host, text_hits) -> list[Finding]:
    """Error messages found in text that is not a libvirt record (and that no verdict
    cites): one finding per root cause (first occurrence, with every line that shows it),
    or one for the symptoms."""
    by_cause: "OrderedDict[Cause, list]" = OrderedDict()
    symptoms = []
    # (the docstring of _text_cause says why a keepalive message's cause depends on where it is)
    for th in _without_wrappers(text_hits):
        if th.hit.is_root:
            by_cause.setdefault(_text_cause(th.text, th.hit, bool(host.correlator.migrations)), []).append(th)
        else:
            symptoms.append(th)
    out = []
    where = analysis.display_host(host.label)
    for cause, items in by_cause.items():
        first = items[0]
        hit = first.hit
        said = message_of(first)
        layer = describe(first.text, hit.start)
        f = Finding(
            cause=cause, host=where, detected_by=None, confidence="low",
            summary=(f"{first.path}:{first.line}: {hit.pattern.meaning} (recognised from the message alone: "
                     f"{said[:200]}{'; ' + layer if layer else ''})"),
            evidence=_evidence(items),
            missing=["the daemon logs of both hosts around that time (this is message text only)"],
            remedies=list(hit.pattern.remedies) or list(REMEDIES.get(cause, [])))
        f.reason = f"{meaning_words(hit.pattern.meaning)}: {quoted(said)} (recognised from the message alone)"
        f.headline = finding_headline(where, f.reason, cause)
        out.append(f)
    if symptoms and not by_cause:
        guess = likely_cause([th.hit for th in symptoms])
        first = symptoms[0]
        said = message_of(first)
        f = Finding(
            cause=guess, host=where, detected_by=None, confidence="low",
            summary=(f"{first.path}:{first.line}: '{said[:160]}' is a symptom ({first.hit.pattern.meaning}); "
                     f"the usual root cause is {guess}, which only the daemon logs can confirm."),
            evidence=_evidence(symptoms),
            missing=["the daemon logs (source and destination) that show the root cause"],
            remedies=list(REMEDIES.get(guess, [])))
        f.reason = (f"{quoted(said)} is a symptom that usually follows {guess} ({cause_words(guess)}); "
                    f"only the daemon logs can confirm it")
        f.headline = finding_headline(where, f.reason, guess)
        out.append(f)
    return out


def message_of(th) -> str:
    """The message a text hit is part of, without what came before it on the line: virsh's
    progress bar ('Migration: [ 25 %]\\r...') ends in the 'error: ...' line it printed last."""
    text = th.text
    at = max(text.find(th.hit.text), 0)          # (th.text is stripped: hit.start may be off)
    start = text.rfind("\r", 0, at) + 1
    err = text.rfind("error: ", start, at + 1)
    return text[err if err >= 0 else start:].replace("\r", " ").strip()


def _without_wrappers(text_hits) -> list:
    """The text hits without the root messages that only carry another root message of the
    same line in their free text (libvirt's 'unable to execute QEMU command '…': <QEMU's
    text>', 'Process exited prior to exec: <the child's error>'): the carried one is the cause."""
    out = []
    for th in text_hits:
        h = th.hit
        if h.is_root and any(o is not th and o.hit.is_root and (o.path, o.line, o.text) == (th.path, th.line, th.text)
                             and h.start <= o.hit.start and o.hit.end <= h.end and (o.hit.start, o.hit.end) != (h.start, h.end)
                             for o in text_hits):
            continue
        out.append(th)
    return out


def _evidence(text_hits) -> list[Evidence]:
    """The first five lines that show a message, each noted with the catalogue entry it matched."""
    return [Evidence(th.path, th.line, None, message_of(th)[:400], th.hit.pattern.id) for th in text_hits[:5]]
