"""The headline: the one plain sentence a report opens with.  It names the cause in words and
the decisive fact: `web01 src->dst failed: the destination libvirtd hung for 32 s (its log is
silent), so the source's keepalive killed the dconn after 30 s`.

The rules write the reason (they know the decisive fact); this module puts the migration's
names in front of it, and words a cause for a rule that wrote none."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from .causes import Cause

# Each cause in words, as the second half of "<migration> failed: ..."
CAUSE_WORDS = {
    Cause.DCONN_KEEPALIVE_TIMEOUT: "the daemons' connection died of a keepalive timeout",
    Cause.DCONN_CLOSED: "the other side closed the daemons' connection",
    Cause.CLIENT_KEEPALIVE_TIMEOUT: "a management client's connection died of a keepalive timeout",
    Cause.CONNECT_FAILED: "the source could not connect to the destination",
    Cause.CANCELLED: "the job was cancelled on request (nothing failed)",
    Cause.DOMAIN_EXISTS: "the destination already has a domain of that name",
    Cause.CPU_INCOMPATIBLE: "the destination cannot provide the guest's CPU",
    Cause.STORAGE_MISSING: "a disk of the domain is missing or inaccessible",
    Cause.QEMU_FAILED: "a QEMU process failed or died",
    Cause.NOT_CONVERGING: "the guest dirtied memory faster than it could be sent",
    Cause.LOCK_TIMEOUT: "another job held the domain",
    Cause.UNSUPPORTED_CONFIG: "libvirt refused this configuration",
    Cause.UNDETERMINED: "the logs do not say why",
}


def cause_words(cause) -> str:
    return CAUSE_WORDS.get(cause, str(cause))


def migration_headline(case, v) -> str:
    """<domain> <source host>-><destination host> <failed|was cancelled>: <reason>"""
    mig = case.mig
    outcome = "was cancelled" if mig.outcome == "cancelled" else (mig.outcome or "failed")
    return f"{case.domain} {endpoints(case.a, mig)} {outcome}: {v.reason or cause_words(v.cause)}"


def endpoints(a, mig) -> str:
    """'<source host>-><destination host>' of a migration view: the hosts whose logs hold its
    views, else the destination URI's host."""
    views = [mig] + [x for x in (a.migration(mig.peer) if mig.peer else None,) if x is not None]
    src = next((x for x in views if x.role == "source"), None)
    dst = next((x for x in views if x.role == "destination"), None)
    src_name = a.display_host(src.host) if src is not None else "source"
    if dst is not None:
        dst_name = a.display_host(dst.host)
    else:
        dst_name = uri_host((src.dconnuri if src is not None else None) or mig.dconnuri) or "destination"
    return f"{src_name}->{dst_name}"


def finding_headline(host: str | None, reason: str, cause) -> str:
    return f"{host or 'these logs'}: {reason or cause_words(cause)}"


def uri_host(uri: str | None) -> str | None:
    """The host a libvirt URI names (qemu+tcp://dst01/system -> dst01); None for a local socket."""
    if not uri:
        return None
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None


def quoted(text: str, n: int = 110) -> str:
    """A log message as the headline quotes it: one line, cut at a word to about n characters."""
    s = " ".join((text or "").split())
    if len(s) > n:
        cut = s.rfind(" ", 0, n)
        s = s[:cut if cut > n // 2 else n] + " ..."
    return f'"{s}"'


def meaning_words(meaning: str, n: int = 140) -> str:
    """A catalogue meaning as a clause: its first sentence or clause, without asides."""
    s = " ".join((meaning or "").split())
    s = re.split(r"(?<=[a-z0-9)'])\. |; ", s, maxsplit=1)[0].rstrip(".")
    for _ in range(3):
        s2 = re.sub(r"\s*\([^()]*\)", "", s)
        if s2 == s:
            break
        s = s2
    if len(s) > n:
        s = s[:s.rfind(" ", 0, n)]
    # "The destination ..." -> "the destination ...", but "QEMU ..." stays
    first = s.split(" ", 1)[0]
    return s if len(first) > 1 and first.isupper() else s[:1].lower() + s[1:]
