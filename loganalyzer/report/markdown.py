"""Markdown for a ticket: the verdict, its evidence as a code block (path:line), the
remedies, what is missing, the other migrations and findings, and the timeline image.

Log text is attacker-controlled: outside code blocks it is escaped so that it cannot
become markup (links, images, raw HTML) in the ticket system that renders it, and
everywhere its control and bidi characters are written visibly (visible.py)."""
from __future__ import annotations

import os
import re

from ..visible import visible
from . import overview
from .common import fmt_time, input_notes, report_problem, short

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(s) -> str:
    """Inline text: markdown specials backslash-escaped, HTML specials as entities."""
    s = visible(" ".join(str(s if s is not None else "").split()))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(s) -> str:
    """Inline code span that survives backticks in s."""
    s = visible(" ".join(str(s if s is not None else "").split()))
    n = max((len(m) for m in re.findall(r"`+", s)), default=0) + 1
    fence = "`" * n
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def md_block(lines, lang: str = "text") -> str:
    """A fenced code block of lines (each one line of log-derived text)."""
    body = "\n".join(visible(ln) for ln in lines)
    n = max(3, max((len(m) for m in re.findall(r"`{3,}", body)), default=0) + 1)
    fence = "`" * n
    return f"{fence}{lang}\n{body}\n{fence}"


def _evidence_line(e, width: int = 240) -> str:
    note = f"   # {e.note}" if getattr(e, "note", "") else ""
    text = e.text.replace("\r", " ").replace("\n", " ")
    return f"{e.path}:{e.line}: {short(text, width)}{note}"


def to_markdown(a, output: str | None = None, timeline: str | None = None,
                migration: str | None = None, max_evidence: int = 30) -> str:
    """The report as markdown; when output names a file (and no timeline was drawn), draw the
    timeline PNG beside it (<stem>.timeline.png) and link it."""
    out = []
    secs = overview.sections(a)
    many = len(secs) > 1 or (secs and len(secs[0].items) > 1)
    if not secs:
        title = "No failed migration found"
    elif many:
        title = overview.opening(a, secs)
    else:
        title = secs[0].verdict.headline or secs[0].verdict.summary
    out.append(f"# {md_text(title)}")
    out.append("")
    if many:
        _overview(out, a, secs)
    elif secs:
        out.append(_meta(secs[0]))
        out.append("")
    ins = ", ".join(f"{md_code(os.path.basename(f.path))} ({f.lines} lines, {fmt_time(f.first_time)} .. "
                    f"{fmt_time(f.last_time, date=False)} UTC)" for f in a.inputs)
    out.append(f"Inputs: {ins}")
    out.append("")

    # the picture
    img = None
    if timeline:
        img = timeline
    elif output and output != "-":
        stem = os.path.splitext(output)[0]
        img = stem + ".timeline.png"
        from .timeline import draw_timeline
        try:
            draw_timeline(a, img, migration=migration)
        except (ValueError, ArithmeticError, OSError, RuntimeError) as e:
            # the report still stands without the picture (an unwritable folder; matplotlib
            # refusing the data: RuntimeError for too many ticks, ValueError for bad limits)
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            report_problem(a, f"{img}: timeline not drawn ({why})")
            out.append(f"_timeline not drawn: {md_text(why)}_")
            img = None
    if img:
        rel = os.path.relpath(img, os.path.dirname(os.path.abspath(output))) if output and output != "-" else img
        rel = rel.replace(os.sep, "/")
        out.append(f"![timeline of the incident](<{rel.replace('>', '%3E').replace('<', '%3C')}>)")
        out.append("")

    if not secs:
        ok = [m for m in a.migrations if m.outcome == "succeeded"]
        out.append(f"**No failed migration found** ({len(a.migrations)} migration views, {len(ok)} succeeded, "
                   f"{len(a.keepalive_deaths)} keepalive deaths).")
        out.append("")

    for sec in secs:
        _section(out, sec, many, max_evidence)

    if a.migrations:
        out.append("## Migrations in these logs")
        out.append("")
        out.append("| id | role | domain | start (UTC) | outcome | cause |")
        out.append("|---|---|---|---|---|---|")
        for m in a.migrations:
            out.append(f"| {md_code(m.id)} | {md_text(m.role)} | {md_text(m.domain or '-')} | {fmt_time(m.start)} | "
                       f"{md_text(m.outcome)} | {md_code(m.verdict.cause) if m.verdict else '-'} |")
        out.append("")
    if a.keepalive_deaths:
        out.append("## Keepalive deaths")
        out.append("")
        out.append("| where | time (UTC) | connection | idle | migration |")
        out.append("|---|---|---|---|---|")
        for d in a.keepalive_deaths:
            out.append(f"| {md_text(os.path.basename(d.path))}:{d.line} | {fmt_time(d.time)} | "
                       f"{md_text(d.owner)} {md_code(d.client or '?')} | {d.idle if d.idle is not None else '?'} s | "
                       f"{md_code(d.migration) if d.migration else '-'} |")
        out.append("")
    for kind, text in input_notes(a):
        out.append(f"- {'' if kind == 'clock' else kind + ': '}{md_text(text)}")
    out.append("")
    out.append("_Generated by loganalyzer._")
    return "\n".join(out) + "\n"


def _overview(out: list, a, secs) -> None:
    """Several failures: the summary by cause and host, then each distinct verdict's headline."""
    out.append("| cause | count | hosts | first (UTC) | last (UTC) |")
    out.append("|---|---|---|---|---|")
    for r in overview.by_cause(secs):
        out.append(f"| {md_code(r.cause)} | {overview.count_words(r)} | {md_text(overview.where_words(r.where))} | "
                   f"{overview.when(r.first)} | {overview.when(r.last)} |")
    out.append("")
    for sec in secs:
        n = len(sec.items)
        more = f" ({n} {'findings' if sec.is_finding else 'migrations'})" if n > 1 else ""
        out.append(f"{sec.number}. {md_text(sec.verdict.headline + more)}")
    out.append("")


def _meta(sec) -> str:
    return f"**Cause** {md_code(sec.cause)} · {md_text(overview.meta_text(sec))}"


def _section(out: list, sec, many: bool, max_evidence: int) -> None:
    v = sec.verdict
    if many:
        n = len(sec.items)
        count = f" — {n} {'findings' if sec.is_finding else 'migrations'}" if n > 1 else ""
        out.append(f"## [{sec.number}] {md_text(v.cause)}{count}")
        out.append("")
        out.append(f"**{md_text(v.headline or v.summary)}**")
        out.append("")
        out.append(_meta(sec))
        out.append("")
    else:
        out.append("## Verdict" if not sec.is_finding else "## Finding (not a migration in these logs)")
        out.append("")
    out.append(md_text(v.summary))
    out.append("")
    out.append("### Evidence")
    out.append("")
    out.append(md_block([_evidence_line(e) for e in v.evidence[:max_evidence]]))
    if len(v.evidence) > max_evidence:
        out.append(f"_{len(v.evidence) - max_evidence} more evidence lines: see `--format json`._")
    out.append("")
    if getattr(v, "consequences", None):
        out.append("### What the user saw (consequences, not the cause)")
        out.append("")
        out.append(md_block([_evidence_line(e) for e in v.consequences[:8]]))
        out.append("")
    if v.missing:
        _bullets(out, "### Missing from the logs", v.missing)
    if v.remedies and sec.remedies_as_in is not None:
        out.append(f"### Remedies")
        out.append("")
        out.append(f"As in [{sec.remedies_as_in.number}] above.")
        out.append("")
    elif v.remedies:
        _bullets(out, "### Remedies", v.remedies)
    rest = sec.items[1:]
    if rest:
        out.append(f"### The same verdict for {len(rest)} more {'findings' if sec.is_finding else 'migrations'}")
        out.append("")
        if sec.is_finding:
            out.append("| where | host | time (UTC) |")
            out.append("|---|---|---|")
            out.extend(f"| {md_code(x.label)} | {md_text(x.where or '-')} | {overview.when(x.time)} |" for x in rest)
        else:
            out.append("| id | domain | hosts | failed (UTC) |")
            out.append("|---|---|---|---|")
            out.extend(f"| {md_code(x.migration.id)} | {md_text(x.migration.domain or '?')} | {md_text(x.where)} | "
                       f"{overview.when(x.time)} |" for x in rest)
        out.append("")


def _bullets(out: list, title: str, items) -> None:
    out.append(title)
    out.append("")
    out.extend(f"- {md_text(x)}" for x in items)
    out.append("")
