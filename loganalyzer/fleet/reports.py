"""`scan --reports DIR`: one report per failed migration, under a bounded, unique file name."""
from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone

# a report's file name, without its extension, is at most this long (file systems take 255
# bytes; a domain name can be 20,000 characters)
MAX_NAME = 120


def report_name(host: str, domain: str | None, stamp: str, cause: str) -> str:
    """host-domain-time-cause in letters, digits and ._-; a longer one is cut and ends in a
    digest of the whole, so that two cut names still differ."""
    whole = f"{host}-{domain or 'domain'}-{stamp}-{cause}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", whole)
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 13] + "~" + hashlib.sha256(whole.encode()).hexdigest()[:12]
    return name


def write_reports(result, directory: str, fmt: str = "json") -> list[str]:
    """One report per failed migration (its source view when both sides are in the scan).
    Returns the paths written."""
    from ..analysis import migration_analysis
    from ..report import render
    a = result.analysis
    if a is None:
        return []
    os.makedirs(directory, exist_ok=True)
    ext = {"json": "json", "text": "txt", "markdown": "md", "md": "md", "html": "html"}.get(fmt, fmt)
    by_id = {m.id: m for m in a.migrations}
    written = []
    for m in a.failed:
        peer = by_id.get(m.peer)
        if m.role != "source" and peer is not None and peer.role == "source":
            continue   # the source view writes the report for both sides
        if m.role == "client" and peer is not None:
            continue
        sub = migration_analysis(a, m)
        stamp = datetime.fromtimestamp(m.start, timezone.utc).strftime("%Y%m%dT%H%M%S") if m.start else "notime"
        host = result.hosts.get(m.host, m.host)
        cause = m.verdict.cause if m.verdict else m.outcome
        name = report_name(host, m.domain, stamp, cause)
        path = os.path.join(directory, f"{name}.{ext}")
        n = 1
        while path in written:   # a re-scan overwrites its own reports
            n += 1
            path = os.path.join(directory, f"{name}-{n}.{ext}")
        render(sub, fmt, path)     # its report_problems are the scan's
        written.append(path)
    return written
