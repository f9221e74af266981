"""HTML: one self-contained page (no network: inline CSS, inline SVG, one small script).

Everything that comes from a log is attacker-controlled (domain names, XML, URIs, QEMU
error texts).  The rules here:

* every string from the analysis or a log goes through `esc()` (html.escape, quotes
  included) and every attribute is double-quoted;
* the timeline is matplotlib's SVG (which escapes its texts); it is parsed and checked
  (no script, no event handler, no external reference) before it is inlined, and its
  <style>/<metadata> are dropped; if the check fails the picture is a PNG data: URI;
* no log text ever reaches JavaScript source: the one script is a constant, allowed by
  its sha256 in a strict Content-Security-Policy; it reads the rows' data- attributes;
* the page is complete without the script (the filters only hide rows).
"""
from __future__ import annotations

import base64
import hashlib
import html as _html
import os
import re
import xml.etree.ElementTree as ET

from ..rules.causes import Cause
from . import overview
from .common import (fmt_time, input_notes, key_spots, pick_incident, ranked_failures,
                     records_around, report_problem, short)


def esc(s) -> str:
    return _html.escape("" if s is None else str(s), quote=True)


_PTR = re.compile(r"\b0x[0-9a-f]{6,16}\b")

CSS = """
:root{--fg:#1a1a1a;--mut:#555;--bg:#fff;--line:#ddd;--bad:#b34700;--ok:#006e4f;--key:#fff4d6}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1400px;padding:16px 24px}
h1{font-size:22px;margin:4px 0 8px}
h1.headline,p.headline{font-size:19px;line-height:1.35;font-weight:700;color:var(--bad);overflow-wrap:anywhere}
p.headline{font-size:16px;margin:4px 0}
ol.headlines li{margin:3px 0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.cause{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-weight:700;color:var(--bad);font-size:18px}
.cause.cancelled{color:#0a5a8c}
.verdict{border:1px solid var(--line);border-left:6px solid var(--bad);padding:8px 14px;margin:12px 0;border-radius:4px}
.verdict.cancelled{border-left-color:#0a5a8c}
.meta{color:var(--mut)}
ol.ev{padding-left:0;list-style:none;margin:6px 0}
ol.ev li{margin:2px 0;word-break:break-all}
.loc{color:#0a5a8c;white-space:nowrap}
.note{color:var(--mut);font-style:italic}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
table.events td.msg{word-break:break-all}
tr.key td{background:var(--key)}
tr.lvl-error td.lvl{color:var(--bad);font-weight:700}
tr.lvl-warning td.lvl{color:#8a6d00}
.timeline{overflow-x:auto;border:1px solid var(--line);padding:4px;margin:8px 0}
.timeline svg{max-width:100%;height:auto}
.filters{margin:6px 0;padding:6px;background:#f7f7f7;border:1px solid var(--line)}
.filters label{margin-right:14px}
.small{font-size:12px}
svg *{stroke-linejoin:round;stroke-linecap:butt}
""".strip()

# The one script.  A constant: it never contains data from a log (rows carry data- attributes).
JS = """
(function(){
var f=document.getElementById('evfilters');if(!f)return;f.hidden=false;
var st=document.getElementById('ftid'),sp=document.getElementById('fptr'),
 fh=document.getElementById('fhost'),cnt=document.getElementById('fcount');
var rows=Array.prototype.slice.call(document.querySelectorAll('#events tbody tr'));
function apply(){var t=st.value,p=sp.value.trim().toLowerCase(),h=fh.value,n=0;
 rows.forEach(function(r){var ok=(!t||r.getAttribute('data-tid')===t)&&(!h||r.getAttribute('data-host')===h)&&
  (!p||(' '+r.getAttribute('data-ptrs')+' ').indexOf(' '+p+' ')>=0||r.textContent.toLowerCase().indexOf(p)>=0);
  r.hidden=!ok;if(ok)n++;});cnt.textContent=n+' of '+rows.length+' rows';}
st.addEventListener('change',apply);fh.addEventListener('change',apply);sp.addEventListener('input',apply);apply();
})();
""".strip()


def _sha256(s: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii")


def _csp() -> str:
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"style-src-elem '{_sha256(CSS)}'; style-src-attr 'unsafe-inline'; "
            f"script-src '{_sha256(JS)}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# ---- the timeline, checked
_SVG_OK = {"svg", "g", "defs", "path", "use", "rect", "line", "polyline", "polygon", "circle", "ellipse",
           "text", "tspan", "clipPath", "pattern", "title", "desc", "style", "metadata", "image"}


def safe_svg(svg: str) -> str | None:
    """matplotlib's SVG, checked and trimmed for inlining; None if anything looks wrong."""
    try:
        root = ET.fromstring(svg.encode("utf-8"))
    except ET.ParseError:
        return None
    for el in root.iter():
        tag = el.tag.split("}", 1)[-1] if isinstance(el.tag, str) else ""
        ns = el.tag[1:].split("}", 1)[0] if isinstance(el.tag, str) and el.tag.startswith("{") else ""
        if ns and ns != "http://www.w3.org/2000/svg":
            continue      # rdf/dc/cc inside <metadata>, dropped below
        if tag not in _SVG_OK:
            return None
        for k, v in el.attrib.items():
            name = k.split("}", 1)[-1].lower()
            if name.startswith("on"):
                return None
            if name == "href" and not (v.startswith("#") or (tag == "image" and v.startswith("data:image/png;base64,"))):
                return None
            if "javascript:" in v.lower() or "url(http" in v.replace(" ", "").lower():
                return None
    out = svg
    out = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", out)
    out = re.sub(r"<!DOCTYPE[^>]*>\s*", "", out, count=1)
    out = re.sub(r"<metadata>.*?</metadata>\s*", "", out, count=1, flags=re.S)
    out = re.sub(r"<style[^>]*>.*?</style>\s*", "", out, flags=re.S)
    if re.search(r"<\s*(script|foreignObject|iframe|object|embed)\b", out, re.I):
        return None
    out = re.sub(r"<svg\b", '<svg role="img" aria-label="timeline of the incident"', out, count=1)
    return out


def _timeline_html(a, migration=None) -> str:
    from .timeline import timeline_png_bytes, timeline_svg
    try:
        svg, fig = timeline_svg(a, migration)
    except (ValueError, ArithmeticError, OSError, RuntimeError) as e:
        # matplotlib refuses the data (RuntimeError: too many ticks, ValueError: bad limits)
        why = short(str(e) or type(e).__name__, 200)
        report_problem(a, f"timeline not drawn: {why}")
        return f'<p class="meta">timeline not drawn: {esc(why)}</p>'
    s = safe_svg(svg)
    if s is None:
        png = base64.b64encode(timeline_png_bytes(a, migration)).decode("ascii")
        return f'<div class="timeline"><img alt="timeline of the incident" src="data:image/png;base64,{png}"></div>'
    return f'<div class="timeline">{s}</div>'


# ---- pieces
def _ev_list(evs, limit=40) -> str:
    out = ['<ol class="ev mono">']
    for e in evs[:limit]:
        note = f' <span class="note">— {esc(e.note)}</span>' if getattr(e, "note", "") else ""
        out.append(f'<li><span class="loc">{esc(e.path)}:{esc(e.line)}</span> {esc(short(e.text, 400))}{note}</li>')
    if len(evs) > limit:
        out.append(f'<li class="meta">… {len(evs) - limit} more (see --format json)</li>')
    out.append("</ol>")
    return "\n".join(out)


def _meta_html(sec) -> str:
    ccls = "cause cancelled" if sec.cause == Cause.CANCELLED else "cause"
    return f'<p class="meta"><span class="{ccls}">{esc(sec.cause)}</span> {esc(overview.meta_text(sec))}</p>'


def _section_html(sec, many: bool) -> str:
    """One distinct verdict: headline, who and how sure, summary, evidence, what the user saw,
    what is missing, remedies (or where they were given), the other migrations it covers."""
    v = sec.verdict
    cls = "verdict cancelled" if v.cause == Cause.CANCELLED else "verdict"
    out = [f'<div class="{cls}" id="v{sec.number}">']
    if many:
        n = len(sec.items)
        count = f" — {n} {'findings' if sec.is_finding else 'migrations'}" if n > 1 else ""
        out.append(f'<h3>[{sec.number}] {esc(v.cause)}{esc(count)}</h3>')
        out.append(f'<p class="headline">{esc(v.headline or v.summary)}</p>')
        out.append(_meta_html(sec))
    out += [f"<p>{esc(v.summary)}</p>", "<h3>Evidence</h3>", _ev_list(list(v.evidence))]
    cons = getattr(v, "consequences", None)
    if cons:
        out += ["<h3>What the user saw (consequences, not the cause)</h3>", _ev_list(list(cons), 8)]
    if v.missing:
        out.append("<h3>Missing from the logs</h3><ul>" + "".join(f"<li>{esc(x)}</li>" for x in v.missing) + "</ul>")
    if v.remedies and sec.remedies_as_in is not None:
        out.append(f'<h3>Remedies</h3><p>As in <a href="#v{sec.remedies_as_in.number}">'
                   f'[{sec.remedies_as_in.number}]</a> above.</p>')
    elif v.remedies:
        out.append("<h3>Remedies</h3><ul>" + "".join(f"<li>{esc(r)}</li>" for r in v.remedies) + "</ul>")
    rest = sec.items[1:]
    if rest:
        out.append(f"<h3>The same verdict for {len(rest)} more {'findings' if sec.is_finding else 'migrations'}</h3>")
        if sec.is_finding:
            out.append(_table(("where", "host", "time (UTC)"), [(x.label, x.where or "-", overview.when(x.time)) for x in rest],
                              mono=(0,)))
        else:
            out.append(_table(("id", "domain", "hosts", "failed (UTC)"),
                              [(x.migration.id, x.migration.domain or "?", x.where, overview.when(x.time)) for x in rest],
                              mono=(0,)))
    out.append("</div>")
    return "\n".join(out)


def _overview_html(a, secs) -> str:
    """Several failures: the summary by cause and host, then each distinct verdict's headline."""
    rows = [(r.cause, overview.count_words(r), overview.where_words(r.where), overview.when(r.first), overview.when(r.last))
            for r in overview.by_cause(secs)]
    items = "".join(
        f'<li><a href="#v{sec.number}">{esc(sec.verdict.headline)}</a>'
        + (f" ({len(sec.items)} {'findings' if sec.is_finding else 'migrations'})" if len(sec.items) > 1 else "")
        + "</li>" for sec in secs)
    return (_table(("cause", "count", "hosts", "first (UTC)", "last (UTC)"), rows, mono=(0,))
            + f'<ol class="headlines">{items}</ol>')


def _table(headers, rows, mono=()) -> str:
    """An HTML table of escaped cells; columns whose index is in mono are monospaced."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="mono">{esc(c)}</td>' if i in mono else f"<td>{esc(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inputs_table(a) -> str:
    rows = [(f.path, a.display_host(h.label), f.libvirt_version or "?", f.lines, f.records, f.unparsed,
             fmt_time(f.first_time), fmt_time(f.last_time)) for h in a.hosts for f in h.facts]
    return _table(("input", "host", "libvirt", "lines", "records", "not records", "first (UTC)",
                   "last (UTC)"), rows, mono=(0,))


def _migrations_table(a) -> str:
    if not a.migrations:
        return '<p class="meta">No migration in these logs.</p>'
    rows = [(m.id, m.role, m.domain or "-", m.mode or "-", fmt_time(m.start), m.outcome,
             m.verdict.cause if m.verdict else "-", m.peer or "-") for m in a.migrations]
    return _table(("id", "role", "domain", "mode", "start (UTC)", "outcome", "cause",
                   "same migration on the other host"), rows, mono=(0, 6, 7))


def _deaths_table(a) -> str:
    if not a.keepalive_deaths:
        return ""
    rows = [(f"{d.path}:{d.line}", fmt_time(d.time), d.tid, d.owner, d.client, d.idle, d.migration or "-")
            for d in a.keepalive_deaths]
    return "<h2>Keepalive deaths</h2>" + _table(("where", "time (UTC)", "tid", "connection", "client",
                                                  "idle (s)", "migration"), rows, mono=(0, 4, 6))


def _events_html(a, sources, before=5, after=5) -> str:
    """The records around each verdict's key evidence, filterable by thread, host and pointer."""
    spots = []
    for s in sources:
        spots += key_spots(s)
    if not spots:
        return '<p class="meta">No evidence lines to show records around.</p>'
    keys = set(spots)
    rows = records_around(a, spots, before, after)
    if not rows:
        why = "; ".join(p for p in a.report_problems if "events around the incident" in p)
        return ('<p class="meta">The logs could not be read again for the events around the incident'
                + (f": {esc(why)}" if why else "") + ".</p>")
    ptr_count: dict = {}
    for s in sources:
        for e in s.evidence:
            for p in _PTR.findall(e.text):
                ptr_count[p] = ptr_count.get(p, 0) + 1
    ptrs = sorted(ptr_count, key=lambda p: -ptr_count[p])[:16]
    tids = sorted({r.tid for r in rows if r.tid is not None})
    hosts = []
    for r in rows:
        if r.host and r.host not in hosts:
            hosts.append(r.host)
    body = []
    for r in rows:
        msg = r.message or ""
        first, _, rest = msg.partition("\n")
        extra = f' <span class="meta">(+{rest.count(chr(10)) + 1} lines)</span>' if rest else ""
        rp = " ".join(sorted(set(_PTR.findall(msg))))
        lvl = r.level if r.level in ("debug", "info", "warning", "error") else "unknown"
        cls = f"lvl-{lvl}" + (" key" if (r.path, r.line) in keys else "")
        body.append(
            f'<tr class="{cls}" data-tid="{esc(r.tid if r.tid is not None else "")}" '
            f'data-host="{esc(r.host or "")}" data-ptrs="{esc(rp)}">'
            f'<td class="mono loc">{esc(os.path.basename(r.path))}:{esc(r.line)}</td>'
            f'<td class="mono">{esc(fmt_time(r.time, date=False))}</td><td class="mono">{esc(r.tid)}</td>'
            f'<td class="lvl">{esc(r.level)}</td><td class="mono">{esc(r.func)}</td>'
            f'<td class="mono msg">{esc(short(first, 700))}{extra}</td></tr>')
    tid_opts = "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in tids)
    host_opts = "".join(f'<option value="{esc(h)}">{esc(a.display_host(h))}</option>' for h in hosts)
    ptr_opts = "".join(f'<option value="{esc(p)}"></option>' for p in ptrs)
    filters = (
        '<div class="filters" id="evfilters" hidden>'
        f'<label>thread <select id="ftid"><option value="">all</option>{tid_opts}</select></label>'
        f'<label>host <select id="fhost"><option value="">all</option>{host_opts}</select></label>'
        '<label>pointer or text <input id="fptr" list="ptrlist" size="22" placeholder="0x…"></label>'
        f'<datalist id="ptrlist">{ptr_opts}</datalist> <span class="meta small" id="fcount"></span></div>')
    keyptrs = (f'<p class="small meta">Pointers in the evidence: <span class="mono">{esc(", ".join(ptrs))}</span></p>'
               if ptrs else "")
    return (f'<p class="meta small">{len(rows)} records: {before} before and {after} after each evidence line '
            f'(highlighted), re-read from the logs. Each row shows its file:line.</p>' + keyptrs + filters +
            '<table class="events" id="events"><thead><tr><th>file:line</th><th>time (UTC)</th><th>tid</th>'
            '<th>level</th><th>function</th><th>message</th></tr></thead><tbody>'
            + "\n".join(body) + "</tbody></table>")


def to_html(a, migration: str | None = None, timeline: bool = True, events: bool = True) -> str:
    """The whole report as one self-contained HTML page."""
    failed = ranked_failures(a)
    if migration:
        m = a.migration(migration)
        if m is None:
            raise ValueError(f"no migration {migration!r}")
        failed = [m] + [x for x in failed if x is not m] if m.verdict is not None else failed
    inc = pick_incident(a, migration)
    secs = overview.sections(a)
    if migration and m.verdict is not None:
        # the migration asked for first
        secs.sort(key=lambda sec: not any(it.migration is m or (it.migration is not None and m.id in
                                                                 (it.migration.peer, it.migration.peer_client))
                                          for it in sec.items))
    many = len(secs) > 1 or (secs and len(secs[0].items) > 1)
    if not secs:
        title = "no failed migration" if a.migrations else "no migration in these logs"
    elif many:
        title = overview.opening(a, secs)
    else:
        title = secs[0].verdict.headline or secs[0].verdict.summary
    parts = []
    parts.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
    csp = _csp()
    assert '"' not in csp and "<" not in csp        # a constant: no log data in it
    parts.append(f'<meta http-equiv="Content-Security-Policy" content="{csp}">')
    parts.append('<meta name="referrer" content="no-referrer">')
    parts.append('<meta name="viewport" content="width=device-width, initial-scale=1">')
    parts.append(f"<title>loganalyzer: {esc(short(title, 120))}</title>")
    parts.append(f"<style>{CSS}</style></head><body>")
    # the answer first: the headline, who and how sure, and with several failures the summary
    parts.append(f'<h1 class="headline">{esc(title)}</h1>')
    if many:
        parts.append(_overview_html(a, secs))
    elif secs:
        parts.append(_meta_html(secs[0]))
    n_ok = sum(1 for m in a.migrations if m.outcome == "succeeded")
    parts.append(f'<p class="meta small">{len(a.inputs)} input(s), {len(a.migrations)} migration view(s) '
                 f'({len(a.failed)} failed or cancelled, {n_ok} succeeded), {len(a.keepalive_deaths)} keepalive '
                 f'death(s), {len(a.findings)} finding(s).</p>')

    parts.append("<h2>Verdict</h2>" if not many else f"<h2>Verdicts ({len(secs)})</h2>")
    if not secs:
        parts.append('<p><strong>No failed migration found.</strong></p>')
    for sec in secs:
        parts.append(_section_html(sec, many))

    if timeline:
        parts.append("<h2>Timeline</h2>")
        parts.append(_timeline_html(a, migration))

    if events:
        sources = [m.verdict for m in failed] + list(a.findings)
        if not sources and inc["deaths"]:
            sources = [type("S", (), {"evidence": d.evidence})() for d in inc["deaths"]]
        parts.append("<h2>Events around the incident</h2>")
        parts.append(_events_html(a, sources[:6]))

    parts.append("<h2>Inputs</h2>")
    parts.append(_inputs_table(a))
    for kind, text in input_notes(a):
        parts.append(f'<p class="meta small">{"" if kind == "clock" else esc(kind) + ": "}{esc(text)}</p>')
    parts.append("<h2>Migrations</h2>")
    parts.append(_migrations_table(a))
    parts.append(_deaths_table(a))
    parts.append('<p class="meta small">Generated by loganalyzer. Self-contained: no network access, '
                 'no external fonts, scripts or images.</p>')
    parts.append(f"<script>{JS}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def analysis_summary_html(a) -> str:
    """A compact summary for Jupyter (Analysis._repr_html_): verdicts and key evidence."""
    out = ['<div class="loganalyzer-summary">',
           f"<p><b>loganalyzer</b>: {len(a.inputs)} input(s), {len(a.migrations)} migration view(s), "
           f"{len(a.failed)} failed or cancelled, {len(a.keepalive_deaths)} keepalive death(s), "
           f"{len(a.findings)} finding(s)</p>"]
    items = [(m, m.verdict) for m in ranked_failures(a)] + [(None, f) for f in a.findings]
    if not items:
        out.append("<p>No failed migration found.</p>")
    for m, v in items[:6]:
        where = f" ({esc(m.id)}, {esc(m.role)}, domain {esc(m.domain or '?')})" if m is not None else ""
        out.append(f"<p><b>{esc(v.headline or short(v.summary, 300))}</b><br>"
                   f"<code>{esc(v.cause)}</code> confidence {esc(v.confidence)}{where}<br>"
                   f"{esc(short(v.summary, 500))}</p>")
        out.append("<ul>" + "".join(
            f"<li><code>{esc(e.path)}:{esc(e.line)}</code> {esc(short(e.text, 160))}</li>"
            for e in list(v.evidence)[:6]) + "</ul>")
    if a.migrations:
        out.append("<table><tr><th>id</th><th>role</th><th>domain</th><th>start (UTC)</th><th>outcome</th>"
                   "<th>cause</th></tr>" + "".join(
                       f"<tr><td>{esc(m.id)}</td><td>{esc(m.role)}</td><td>{esc(m.domain or '-')}</td>"
                       f"<td>{esc(fmt_time(m.start))}</td><td>{esc(m.outcome)}</td>"
                       f"<td>{esc(m.verdict.cause) if m.verdict else '-'}</td></tr>" for m in a.migrations[:30])
                   + "</table>")
    out.append("</div>")
    return "\n".join(out)
