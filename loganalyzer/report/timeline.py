"""The timeline: one picture of the incident (matplotlib).

    fig = draw_timeline(analysis, "timeline.png")     # or .svg, or None for the Figure only
    fig.loganalyzer["death_times"]                   # what was plotted, for tests and tools

x is UTC on the reference (source) host's clock: the other host's times are shifted by the
clock offset found when the hosts were paired.  One lane per thing that matters, grouped
by host; the view zooms to the incident with some context and says what it left out.

Colours are Okabe-Ito (safe for the common colour-vision deficiencies) and every kind of
mark also differs by shape or hatch, so the picture survives greyscale printing.
"""
from __future__ import annotations

import os
import warnings
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from ..correlate.objects import Phase  # noqa: E402
from ..rules.causes import Cause  # noqa: E402
from ..visible import visible  # noqa: E402
from .common import (ReportWarning, conn_by_id, fmt_duration, fmt_time, host_shift,  # noqa: E402
                     log_extent, one_line, pick_incident, records_in_window, short, unreadable)

# Okabe-Ito
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK, GREY = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#999999")

PHASE_STYLE = {   # colour, hatch
    "begin3": (SKY, ""), "prepare": (SKY, ""), "perform3": (BLUE, "//"), "perform": (BLUE, "//"),
    "finish3": (GREEN, ".."), "finish": (GREEN, ".."), "confirm3": (ORANGE, "xx"),
    "confirm3_cancelled": (ORANGE, "xx"),
}
RC = {"text.parse_math": False, "font.size": 9, "svg.fonttype": "none", "axes.titlesize": 10,
      "font.family": "DejaVu Sans", "svg.hashsalt": "loganalyzer"}


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def _x(t: float) -> float:
    return mdates.date2num(_utc(t))


class _Lanes:
    def __init__(self):
        self.lanes = []     # dicts: key, label, host, kind

    def add(self, key, label, host, kind):
        self.lanes.append({"key": key, "label": label, "host": host, "kind": kind})
        return len(self.lanes) - 1

    def y(self, key):
        for i, l in enumerate(self.lanes):
            if l["key"] == key:
                return i
        return None


def _span_of_incident(a, inc) -> tuple:
    """(t0, t1) of the incident on the reference clock, without context."""
    ts = []
    m = inc["migration"]

    def put(t, label):
        if t is not None:
            ts.append(t + host_shift(a, label))

    if m is not None:
        put(m.start, m.host)
        put(m.end, m.host)
        if m.dconn is not None and m.dconn.created is not None:
            put(m.dconn.created.time, m.host)
        for mid in (m.peer, m.peer_client):
            p = a.migration(mid) if mid else None
            if p is not None:
                put(p.start, p.host)
                put(p.end, p.host)
    for d in inc["deaths"]:
        put(d.time, d.host)
        c = d.connection
        iv = (c.keepalive_interval or 5) if c else 5
        put(d.time - (d.idle or 30) - iv, d.host)
    f = inc["finding"]
    if f is not None and not ts:
        for e in f.evidence:
            from .common import host_of_path
            put(e.time, host_of_path(a, e.path))
    return (min(ts), max(ts)) if ts else (None, None)


def draw_timeline(analysis, path: str | None = None, migration: str | None = None,
                  context: float | None = None, width: float = 14.0, dpi: int = 110,
                  activity: bool = True) -> Figure:
    """Draw the incident's timeline; save it to path (.png, .svg or .pdf) when given.

    Returns the Figure; fig.loganalyzer holds what was plotted:
    death_times (epoch s, reference clock), death_labels, lanes, window (t0, t1),
    errors [(time, text)], omitted (seconds before/after), verdict, shifts per host."""
    with matplotlib.rc_context(RC):
        fig = _draw(analysis, migration, context, width, dpi, activity)
        for note in fig.loganalyzer["notes"]:
            if "not readable again" in note:
                warnings.warn(note, ReportWarning, stacklevel=2)
        if path:
            fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
            if fmt not in ("png", "svg", "pdf"):
                raise ValueError(f"{path}: the timeline is written as .png, .svg or .pdf")
            meta = {"Date": None} if fmt == "svg" else ({"Software": "loganalyzer"} if fmt == "png" else {})
            fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)
    return fig


def timeline_svg(analysis, migration: str | None = None, width: float = 13.0) -> tuple:
    """(svg text, Figure): the timeline as SVG with real <text> (fonts from the reader's
    browser, nothing external).  matplotlib escapes every text it writes."""
    import io
    with matplotlib.rc_context(RC):
        fig = _draw(analysis, migration, None, width, 96, True)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue(), fig


def timeline_png_bytes(analysis, migration: str | None = None, width: float = 13.0, dpi: int = 90) -> bytes:
    import io
    with matplotlib.rc_context(RC):
        fig = _draw(analysis, migration, None, width, dpi, True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _shown(label: str) -> str:
    """Log text in a label: control and bidi characters as escapes (a font has no glyph for
    them, and matplotlib's warning about that prints them raw); the label's line breaks stay."""
    return "\n".join(visible(x) for x in label.split("\n"))


def _draw(a, migration, context, width, dpi, activity) -> Figure:
    inc = pick_incident(a, migration)
    data = {"death_times": [], "death_labels": [], "lanes": [], "window": None, "errors": [],
            "omitted": {"before": 0.0, "after": 0.0}, "verdict": None, "shifts": {},
            "pings": [], "silences": [], "incident": inc["kind"],
            "migration": inc["migration"].id if inc["migration"] is not None else None}
    for h in a.hosts:
        data["shifts"][h.label] = host_shift(a, h.label)

    # ---- the window
    s0, s1 = _span_of_incident(a, inc)
    ext = []
    for h in a.hosts:
        e0, e1 = log_extent(a, h.label)
        sh = host_shift(a, h.label)
        if e0 is not None:
            ext.append((e0 + sh, e1 + sh))
    L0 = min(e[0] for e in ext) if ext else None
    L1 = max(e[1] for e in ext) if ext else None
    if s0 is None:
        s0, s1 = (L0, L1) if L0 is not None else (0.0, 1.0)
    dur = max(s1 - s0, 1.0)
    ctx = context if context is not None else max(2.0, 0.1 * dur)
    w0, w1 = s0 - ctx, s1 + ctx
    if L0 is not None:
        w0, w1 = max(w0, L0 - 0.5), min(w1, L1 + 0.5)
        if w1 - w0 < 1.0:
            w0, w1 = w0 - 0.5, w1 + 0.5
        data["omitted"] = {"before": max(0.0, w0 - L0), "after": max(0.0, L1 - w1)}
    data["window"] = (w0, w1)
    span = w1 - w0

    # ---- which hosts and objects
    m = inc["migration"]
    conns = conn_by_id(a)
    hosts = []
    if m is not None:
        hosts.append(m.host)
        for mid in (m.peer, m.peer_client):
            p = a.migration(mid) if mid else None
            if p is not None and p.host not in hosts:
                hosts.append(p.host)
    for d in inc["deaths"]:
        if d.host not in hosts:
            hosts.append(d.host)
    if inc["finding"] is not None and not hosts:
        hosts.append(inc["finding"].host or (a.hosts[0].label if a.hosts else None))
    if not hosts and a.hosts:
        hosts = [h.label for h in a.hosts]
    hosts = [h for h in hosts if h]

    # records of each host inside the window (own clock), for activity and threads
    rows = {}
    if activity:
        for h in hosts:
            sh = host_shift(a, h)
            rows[h] = records_in_window(a, h, w0 - sh, w1 - sh)

    lanes = _Lanes()
    plan = []   # (lane index, drawer, args)

    def lane(key, label, host, kind, fn, *args):
        i = lanes.add(key, label, host, kind)
        plan.append((i, fn, args))

    for h in hosts:
        sh = host_shift(a, h)
        hm = None
        if m is not None:
            for mid in (m.id, m.peer, m.peer_client):
                x = a.migration(mid) if mid else None
                if x is not None and x.host == h:
                    hm = x
                    break
        hdeaths = [d for d in inc["deaths"] if d.host == h and d.time is not None
                   and w0 <= d.time + sh <= w1]
        if hm is not None:
            lane(f"{h}:migration", f"migration {short(hm.domain or '?', 18)}\n({hm.role})", h,
                 "migration", _draw_migration, hm, sh)
            if hm.qemu_status or hm.stats:
                lane(f"{h}:qemu", "QEMU\nstatus, data sent", h, "qemu", _draw_qemu, hm, sh)
        # the connection between the daemons
        dc = None
        if hm is not None and hm.dconn is not None:
            dc = hm.dconn
        elif hm is not None:
            dc = next((c for c in a.connections if c.host == h and c.migration == hm.id
                       and c.purpose in ("dconn", "peer-daemon")), None)
        if dc is None and m is not None and m.dconn is not None and m.dconn.peer:
            pc = conns.get(m.dconn.peer)
            if pc is not None and pc.host == h:
                dc = pc
        if dc is not None:
            what = ("connection to destination" if dc.direction == "outgoing"
                    else "connection from source")
            lane(f"{h}:dconn", f"{what}\n{short(dc.client, 18)}", h, "dconn", _draw_conn, dc, sh,
                 [d for d in hdeaths if d.connection is dc or d.client == dc.client])
        # management client
        mc = None
        if hm is not None and hm.controlling_client:
            mc = next((c for c in a.connections if c.host == h and c.client == hm.controlling_client
                       and c.direction == "incoming"), None)
        for d in hdeaths:
            if d.connection is not None and d.connection is not dc and d.connection.purpose != "dconn":
                mc = d.connection
        if mc is not None and dc is not None and (mc is dc or mc.client == dc.client):
            mc = None
        if mc is not None:
            lane(f"{h}:client", f"management client\n{short(mc.client, 18)}", h, "client", _draw_conn,
                 mc, sh, [d for d in hdeaths if d.connection is mc or d.client == mc.client])
        # threads
        tids = []
        if hm is not None and hm.tid is not None:
            tids.append((hm.tid, "migration worker"))
        evl = None
        for d in hdeaths:
            if d.tid is not None:
                evl = d.tid
        if evl is None and rows.get(h):
            counts = {}
            for r in rows[h]:
                if r.func == "virKeepAliveTimerInternal" or (r.func or "").startswith("virEventGLib"):
                    counts[r.tid] = counts.get(r.tid, 0) + 1
            if counts:
                evl = max(counts, key=counts.get)
        if evl is not None and evl not in [t for t, _ in tids]:
            tids.append((evl, "event loop" + (" (death)" if any(d.tid == evl for d in hdeaths) else "")))
        for tid, role in tids:
            lane(f"{h}:tid{tid}", f"thread {tid}\n{role}", h, "thread", _draw_thread, h, tid, sh,
                 rows.get(h, []), [d for d in hdeaths if d.tid == tid])
        if activity:
            # the correlator's silences (found in the first read) stand in for the records when
            # the logs cannot be read again
            hl = next((x for x in a.hosts if x.label == h), None)
            gaps = [(max(w0, g.time_before + sh), min(w1, g.time_after + sh))
                    for g in (hl.correlator.gaps if hl else []) if g.time_after + sh >= w0 and g.time_before + sh <= w1]
            lane(f"{h}:other", "other threads\n(log records)", h, "activity", _draw_activity, h, sh,
                 rows.get(h, []), {t for t, _ in tids}, gaps)

    n = max(len(lanes.lanes), 1)
    height = 2.1 + 0.52 * n + 0.6
    fig = Figure(figsize=(width, height), dpi=dpi)
    top = 1 - 1.25 / height
    bottom = 0.95 / height
    ax = fig.add_axes([0.215, bottom, 0.765, top - bottom])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(_x(w0), _x(w1))
    ax.set_yticks(range(len(lanes.lanes)))
    ax.set_yticklabels([_shown(l["label"]) for l in lanes.lanes])
    for i in range(len(lanes.lanes)):
        if i % 2 == 0:
            ax.axhspan(i - 0.5, i + 0.5, color="#f2f2f2", zorder=0, lw=0)
    # host separators and names
    from matplotlib.transforms import blended_transform_factory
    tr = blended_transform_factory(fig.transFigure, ax.transData)
    groups = []
    for i, l in enumerate(lanes.lanes):
        if groups and groups[-1][0] == l["host"]:
            groups[-1][2] = i
        else:
            if groups:
                ax.axhline(i - 0.5, color=BLACK, lw=1.2, zorder=1)
            groups.append([l["host"], i, i])
    for h, i0, i1 in groups:
        role = _host_role(a, h, m)
        fig.text(0.012, (i0 + i1) / 2, short(f"{role}{a.display_host(h)}", 8 + 6 * (i1 - i0 + 1)),
                 transform=tr, rotation=90, ha="center", va="center", fontsize=9, weight="bold")
        fig.add_artist(Line2D([0.022, 0.022], [i0 - 0.4, i1 + 0.4], transform=tr, color=BLACK, lw=1))
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#cccccc", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    loc = mdates.AutoDateLocator(tz=timezone.utc, minticks=6, maxticks=14)
    ax.xaxis.set_major_locator(loc)
    fmtr = mdates.ConciseDateFormatter(loc, tz=timezone.utc, show_offset=True)
    fmtr.formats = ["%Y", "%b", "%d", "%H:%M", "%H:%M", "%H:%M:%S.%f"]
    fmtr.zero_formats = ["", "%Y", "%b", "%b-%d", "%H:%M", "%H:%M"]
    fmtr.offset_formats = ["", "%Y", "%Y-%m", "%Y-%m-%d UTC", "%Y-%m-%d %H:%M UTC", "%Y-%m-%d %H:%M UTC"]
    ax.xaxis.set_major_formatter(fmtr)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)

    ctx = {"ax": ax, "w0": w0, "w1": w1, "span": span, "data": data, "lanes": lanes, "a": a}
    for i, fn, args in plan:
        fn(ctx, i, *args)

    # a daemon's silence, across its lanes
    for h, g0, g1 in data.get("host_silences", []):
        ys = [i for i, l in enumerate(lanes.lanes) if l["host"] == h]
        ax.add_patch(Rectangle((_x(g0), min(ys) - 0.5), _x(g1) - _x(g0), len(ys), facecolor=PURPLE,
                               alpha=0.07, lw=0, zorder=1))
    # the death, across every lane
    for t in data["death_times"]:
        ax.axvline(_x(t), color=VERMILLION, lw=1.0, ls=(0, (4, 2)), zorder=2)

    # ---- words: verdict, what is shown, what is not
    v = inc["verdict"] or inc["finding"]
    if v is not None:
        data["verdict"] = v.cause
        side = f", detected by the {v.detected_by}" if getattr(v, "detected_by", None) else ""
        fig.text(0.01, 1 - 0.18 / height, f"{v.cause}", fontsize=13, weight="bold", va="top",
                 color=VERMILLION if v.cause != Cause.CANCELLED else BLUE)
        fig.text(0.01 + 0.0085 * len(v.cause) + 0.02, 1 - 0.2 / height, f"confidence {v.confidence}{side}",
                 fontsize=9, va="top", color="#333333")
        # the headline: the cause in words and the decisive fact
        fig.text(0.01, 1 - 0.47 / height, _wrap(getattr(v, "headline", "") or one_line(v.summary, 320), width),
                 fontsize=9.5, va="top", linespacing=1.3)
    elif m is not None:
        data["verdict"] = None
        fig.text(0.01, 1 - 0.18 / height, f"migration {m.outcome}", fontsize=13, weight="bold", va="top",
                 color=GREEN if m.outcome == "succeeded" else BLACK)
        fig.text(0.01, 1 - 0.5 / height,
                 short(f"{m.domain or '?'}: {m.mode or 'migration'} from {a.display_host(m.host)} to "
                       f"{m.dconnuri or '?'}, no failure verdict", 190), fontsize=9.5, va="top")
    else:
        fig.text(0.01, 1 - 0.18 / height, "no migration and no keepalive death in these logs",
                 fontsize=13, weight="bold", va="top")
        fig.text(0.01, 1 - 0.5 / height, "showing the whole log: activity of each daemon", fontsize=9.5, va="top")
    if m is not None:
        ax.set_title(short(f"migration of {m.domain or '?'} ({m.id}, {m.mode or 'mode unknown'}) "
                           f"{fmt_time(m.start)} .. {fmt_time(m.end, date=False)} UTC", 150),
                     loc="left", fontsize=9, color="#333333")
    elif inc["deaths"]:
        d = inc["deaths"][0]
        ax.set_title(short(f"keepalive death of {d.owner} connection {d.client} on {a.display_host(d.host)} "
                           f"at {fmt_time(d.time)} UTC", 150), loc="left", fontsize=9, color="#333333")

    notes = []
    lost = [h for h in hosts if h in unreadable(a)]
    if lost:
        # the picture says it, not only standard error: its thread rows and activity are missing
        what = visible(f"{', '.join(a.display_host(h) for h in lost)}: log not readable again, so no thread rows "
                f"or activity (draw a scan's timelines before its result is closed)")
        notes.insert(0, what)
        ax.text(0.5, 0.5, _wrap(what, width * 0.6), transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color=VERMILLION, weight="bold", zorder=20,
                bbox=dict(boxstyle="round,pad=0.4", fc="white", ec=VERMILLION, alpha=0.9))
    om = data["omitted"]
    if om["before"] > 0.5:
        notes.append(f"{fmt_duration(om['before'])} of log before {fmt_time(w0, date=False)[:8]} not shown")
    if om["after"] > 0.5:
        notes.append(f"{fmt_duration(om['after'])} after {fmt_time(w1, date=False)[:8]} not shown")
    shifted = [f"{a.display_host(h)} shifted by {-host_shift(a, h) * 1000:+.0f} ms (clock offset)"
               for h in hosts if host_shift(a, h) != 0.0 or (len(hosts) > 1 and h != hosts[0])]
    if inc["others"]:
        others = inc["others"]
        notes.append(f"{len(others)} other incident(s) not drawn: "
                     + ", ".join(short(getattr(o, 'id', None) or f"death at {fmt_time(o.time, date=False)}", 28)
                                 for o in others[:3]) + (" …" if len(others) > 3 else ""))
    undrawn = [a.display_host(h.label) for h in a.hosts if h.label not in hosts]
    if undrawn:
        notes.append(f"{', '.join(short(u, 30) for u in undrawn[:3])}: nothing about this incident")
    foot = "x: UTC" + (" on the source's clock; " + "; ".join(shifted) if shifted else "")
    fig.text(0.01, 0.1 / height, short(foot + ("  |  " + "; ".join(notes) if notes else ""), 230),
             fontsize=8, color="#333333", va="bottom")
    data["notes"] = notes

    # legend: only the kinds of marks that are in the picture
    handles = _legend(data)
    if handles:
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.3 / height), ncol=min(len(handles), 7),
                   fontsize=8, frameon=False, handlelength=1.6, columnspacing=1.2)
    data["lanes"] = [dict(l) for l in lanes.lanes]
    fig.loganalyzer = data
    for t in fig.findobj(Text):
        t.set_text(_shown(t.get_text()))
    return fig


# ---- lane drawers
def _label(ctx, x, y, text, **kw):
    kw.setdefault("fontsize", 7.5)
    kw.setdefault("va", "center")
    kw.setdefault("clip_on", True)
    ctx["ax"].text(x, y, text, **kw)


def _wrap(text: str, width_in: float) -> str:
    import textwrap
    n = int(width_in * 72 * 0.97 / (9.5 * 0.62))
    return "\n".join(textwrap.wrap(text, n)[:2])


def _side(ctx, t) -> dict:
    """Labels right of a mark, or left of it near the right edge."""
    return {"ha": "right" if t > ctx["w0"] + 0.72 * ctx["span"] else "left"}


def _host_role(a, h, m) -> str:
    if m is None:
        return ""
    for mid in (m.id, m.peer, m.peer_client):
        x = a.migration(mid) if mid else None
        if x is not None and x.host == h:
            return {"source": "source: ", "destination": "destination: ", "client": "client: "}.get(x.role, "")
    return ""


def _clip(ctx, t):
    return min(max(t, ctx["w0"]), ctx["w1"])


def _draw_migration(ctx, y, m, sh):
    ax = ctx["ax"]
    end = m.end if m.end is not None else (ctx["w1"] - sh)
    ph = list(m.phases)
    if m.start is not None and (not ph or ph[0].time is None or ph[0].time > m.start + ctx["span"] * 0.01):
        ph.insert(0, Phase("started", m.start, m.started.line if m.started else None))
    ctx["data"].setdefault("phases", [])
    last_small = None
    for i, (name, t, _line) in enumerate(ph):
        if t is None:
            continue
        t_end = ph[i + 1].time if i + 1 < len(ph) and ph[i + 1].time is not None else end
        t0, t1 = _clip(ctx, t + sh), _clip(ctx, max(t_end, t) + sh)
        col, hatch = PHASE_STYLE.get(name, ("#dddddd", ""))
        if name.endswith("cancelled"):
            col, hatch = ORANGE, "xx"
        x0, x1 = _x(t0), _x(t1)
        if t1 - t0 < ctx["span"] * 0.002:
            x1 = x0 + (_x(ctx["w1"]) - _x(ctx["w0"])) * 0.002
        ax.add_patch(Rectangle((x0, y - 0.28), x1 - x0, 0.56, facecolor=col, hatch=hatch,
                               edgecolor=BLACK, lw=0.6, zorder=3, alpha=0.9))
        ctx["data"]["phases"].append((name, t + sh))
        frac = (t1 - t0) / ctx["span"]
        txt = name.replace("_", " ")
        if (t1 - t0) < ctx["span"] * 0.01 and m.end is not None:
            continue
        if frac > 0.012 * max(len(txt), 4) * 0.6:
            _label(ctx, (x0 + x1) / 2, y, txt, ha="center", fontsize=8, zorder=5,
                   bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
        elif last_small is None or t0 - last_small > ctx["span"] * 0.06:
            _label(ctx, x0, y - 0.3, txt, ha="left", va="bottom", fontsize=7, zorder=5)
            last_small = t0
    # outcome at the end
    if m.end is not None:
        col = {"succeeded": GREEN, "failed": VERMILLION, "cancelled": ORANGE}.get(m.outcome, GREY)
        mk = {"succeeded": "o", "failed": "X", "cancelled": "s"}.get(m.outcome, "o")
        xe = _x(_clip(ctx, m.end + sh))
        ax.plot([xe], [y], marker=mk, color=col, mec=BLACK, ms=9, zorder=6, ls="none")
        _label(ctx, xe, y - 0.3, f" {m.outcome} {fmt_time(m.end + sh, date=False)} ", va="bottom",
               fontsize=7.5, zorder=6, **_side(ctx, m.end + sh))
        ctx["data"].setdefault("marks", set()).add("outcome")
    # errors of threads not drawn get marked here
    lane_keys = {l["key"] for l in ctx["lanes"].lanes}
    errs = [e for e in m.errors if f"{m.host}:tid{e.tid}" not in lane_keys]
    _errors(ctx, y, errs, sh)


def _draw_qemu(ctx, y, m, sh):
    ax = ctx["ax"]
    xs, ys = [], []
    last = None
    for s in m.stats:
        t, tr, tot = s.time, s.transferred, s.total
        if t is None or tr is None or not tot:
            continue
        xs.append(_x(t + sh))
        ys.append(y + 0.38 - 0.76 * min(1.0, tr / tot))
        last = s
    if xs:
        ax.fill_between(xs, ys, [y + 0.38] * len(xs), step="post", color=SKY, alpha=0.55, lw=0, zorder=3)
        ax.step(xs, ys, where="post", color=BLUE, lw=1.2, zorder=4)
        mb = last.transferred / 1e6
        tot = last.total / 1e6
        _label(ctx, xs[-1], y + 0.12, f"{mb:,.1f} of {tot:,.1f} MB sent ({100 * mb / tot:.0f}%) ", ha="right",
               va="center", fontsize=7.5, zorder=6,
               bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        ctx["data"]["progress"] = [(x, v) for x, v in zip(xs, ys)]
        ctx["data"].setdefault("marks", set()).add("progress")
    # status changes: merge the ones too close to read apart
    groups = []
    for q in m.qemu_status:
        if q.time is None:
            continue
        if groups and (q.time + sh) - groups[-1][0] < ctx["span"] * 0.03:
            groups[-1][1].append(q.status)
        else:
            groups.append([q.time + sh, [q.status]])
    for i, (t, sts) in enumerate(groups):
        x = _x(_clip(ctx, t))
        bad = any(s in ("failed", "cancelled", "cancelling", "error") for s in sts)
        ax.plot([x], [y], marker="v", color=VERMILLION if bad else BLACK, ms=6, zorder=6, ls="none")
        close = i > 0 and t - groups[i - 1][0] < ctx["span"] * 0.15 and i % 2 == 1
        _label(ctx, x, y + 0.2 if close else y - 0.22, " " + "→".join(sts) + " ", va="center",
               fontsize=7.5, zorder=6, **_side(ctx, t),
               bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    if groups:
        ctx["data"].setdefault("marks", set()).add("qemu_status")


def _draw_conn(ctx, y, c, sh, deaths):
    ax = ctx["ax"]
    data = ctx["data"]
    created = c.created.time if c.created is not None else None
    closed = c.closed.time if c.closed is not None else (c.disposed.time if c.disposed is not None else None)
    t0 = created + sh if created is not None else ctx["w0"]
    t1 = closed + sh if closed is not None else ctx["w1"]
    x0, x1 = _x(_clip(ctx, t0)), _x(_clip(ctx, t1))
    ax.plot([x0, x1], [y, y], color=BLUE, lw=3, solid_capstyle="butt", zorder=3)
    brief = closed is not None and created is not None and (t1 - t0) < 0.1 * ctx["span"]
    if created is not None and t0 >= ctx["w0"]:
        ax.plot([x0], [y], marker=">", color=BLUE, ms=8, zorder=5, ls="none")
        _label(ctx, x0, y + 0.3, f" opened{', closed after ' + fmt_duration(t1 - t0) if brief else ''} ",
               va="center", fontsize=7, **_side(ctx, t0))
        data.setdefault("marks", set()).add("opened")
    elif created is not None:
        _label(ctx, x0, y + 0.3, f"← opened {fmt_time(t0, date=False)[:8]}", ha="left", fontsize=7)
    # the silent stretch: from the last message received to the death (or the close)
    death_t = min((d.time + sh for d in deaths if d.time is not None), default=None)
    if c.last_received is not None and death_t is not None and death_t > c.last_received + sh:
        s0, s1 = c.last_received + sh, death_t
        ax.add_patch(Rectangle((_x(_clip(ctx, s0)), y - 0.42), _x(_clip(ctx, s1)) - _x(_clip(ctx, s0)), 0.84,
                               facecolor="#dddddd", edgecolor=GREY, hatch="\\\\", lw=0.5, zorder=2))
        _label(ctx, _x(_clip(ctx, s0)), y - 0.24,
               f"  no reply from the peer for {fmt_duration(s1 - s0)}", ha="left", fontsize=7.5, zorder=6,
               bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
        ax.plot([_x(_clip(ctx, s0))], [y], marker="o", color=GREEN, mec=BLACK, ms=6, zorder=6, ls="none")
        data["silences"].append((s0, s1))
        data.setdefault("marks", set()).update({"silence", "last_rx"})
    elif c.last_received is not None and ctx["w0"] <= c.last_received + sh <= ctx["w1"]:
        ax.plot([_x(c.last_received + sh)], [y], marker="o", color=GREEN, mec=BLACK, ms=6, zorder=6, ls="none")
        data.setdefault("marks", set()).add("last_rx")
    # keepalive pings (each RPC_KEEPALIVE_TIMEOUT tick above 0 sends one)
    for tk in c.ticks:
        if tk.time is None:
            continue
        t = tk.time + sh
        if not ctx["w0"] <= t <= ctx["w1"]:
            continue
        if tk.count_to_death == 0:
            continue
        near_end = closed is not None and abs(t - t1) < ctx["span"] * 0.03
        ax.plot([_x(t)], [y], marker="|", color=BLACK, ms=13, mew=1.6, zorder=6, ls="none")
        if not near_end:
            _label(ctx, _x(t), y + 0.3, f"{tk.count_to_death}", ha="center", fontsize=7, zorder=6)
        data["pings"].append(t)
        data.setdefault("pings_by_host", {}).setdefault(c.host, []).append(t)
        data.setdefault("marks", set()).add("ping")
    # the death
    for d in deaths:
        if d.time is None:
            continue
        t = d.time + sh
        xd = _x(t)
        ax.plot([xd], [y], marker="X", color=VERMILLION, mec=BLACK, mew=0.8, ms=15, zorder=8, ls="none")
        label = f"keepalive death  countToDeath=0 idle={d.idle if d.idle is not None else '?'}"
        _label(ctx, xd, y - 0.3, label + "  ", ha="right", va="center", fontsize=8, weight="bold",
               zorder=9, color=BLACK, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=VERMILLION, lw=0.8))
        data["death_times"].append(t)
        data["death_labels"].append(label)
        data.setdefault("marks", set()).add("death")
    if closed is not None and ctx["w0"] <= t1 <= ctx["w1"]:
        ax.plot([x1], [y], marker="s", color=BLACK, ms=5, zorder=7, ls="none")
        why = f" closed{(' (' + c.close_reason_name + ')') if c.close_reason_name else ''}"
        if not brief:
            _label(ctx, x1, y + 0.3, why + " ", fontsize=7, **_side(ctx, t1))
        data.setdefault("marks", set()).add("closed")


def _draw_thread(ctx, y, host, tid, sh, rows, deaths):
    ax = ctx["ax"]
    xs = _binned(ctx, [r.time + sh for r in rows if r.tid == tid])
    if xs:
        ax.eventplot([xs], lineoffsets=[y], linelengths=[0.45], colors=[GREY], linewidths=0.6, zorder=3)
        ctx["data"].setdefault("marks", set()).add("activity")
    a = ctx["a"]
    errs = [e for e in a.errors if e.tid == tid and e.level == "error" and _host_of_err(a, e) == host]
    _errors(ctx, y, errs, sh)
    for d in deaths:
        ax.plot([_x(d.time + sh)], [y], marker="X", color=VERMILLION, mec=BLACK, mew=0.6, ms=9, zorder=8, ls="none")


def _binned(ctx, times, bins: int = 500) -> list:
    """One raster line per occupied bin (span/bins wide): the picture is the same, the
    SVG stays small for busy threads."""
    w = ctx["span"] / bins
    seen = set()
    out = []
    for t in times:
        k = int((t - ctx["w0"]) / w)
        if k not in seen:
            seen.add(k)
            out.append(_x(ctx["w0"] + (k + 0.5) * w))
    return out


def _host_of_err(a, e):
    from .common import host_of_path
    cache = a.__dict__.setdefault("_report_path_host", {})
    if e.path not in cache:
        cache[e.path] = host_of_path(a, e.path)
    return cache[e.path]


def _draw_activity(ctx, y, host, sh, rows, skip_tids, silences=()):
    ax = ctx["ax"]
    xs = _binned(ctx, [r.time + sh for r in rows if r.tid not in skip_tids])
    if xs:
        ax.eventplot([xs], lineoffsets=[y], linelengths=[0.45], colors=[GREY], linewidths=0.5, zorder=3)
        ctx["data"].setdefault("marks", set()).add("activity")
    # the daemon's silence: the longest stretch with no record at all (any thread), from the
    # records, or from the silences the correlator found when they cannot be read again
    allt = sorted(r.time + sh for r in rows)
    gaps = [(b - a_, a_, b) for a_, b in zip(allt, allt[1:])] if len(allt) >= 2 else \
        [(g1 - g0, g0, g1) for g0, g1 in silences]
    if gaps:
        g, g0, g1 = max(gaps)
        if g >= 8.0 and g >= 0.15 * ctx["span"]:
            ax.add_patch(Rectangle((_x(g0), y - 0.45), _x(g1) - _x(g0), 0.9, facecolor="none",
                                   edgecolor=PURPLE, hatch=".", lw=0.8, zorder=2))
            _label(ctx, (_x(g0) + _x(g1)) / 2, y, f"daemon logged nothing for {fmt_duration(g)}", ha="center",
                   fontsize=8, zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=PURPLE, lw=0.6))
            ctx["data"]["silences"].append((g0, g1))
            ctx["data"].setdefault("host_silences", []).append((host, g0, g1))
            ctx["data"].setdefault("marks", set()).add("daemon_silence")


def _errors(ctx, y, errs, sh):
    ax = ctx["ax"]
    pts = sorted(((e.time + sh, e) for e in errs if e.time is not None
                  and ctx["w0"] <= e.time + sh <= ctx["w1"]), key=lambda p: p[0])
    clusters = []
    for t, e in pts:
        if clusters and t - clusters[-1][-1][0] < ctx["span"] * 0.04:
            clusters[-1].append((t, e))
        else:
            clusters.append([(t, e)])
    for k, cl in enumerate(clusters):
        for t, e in cl:
            ax.plot([_x(t)], [y], marker="D", color=VERMILLION, mec=BLACK, mew=0.5, ms=6, zorder=7, ls="none")
            ctx["data"]["errors"].append((t, e.text.split("\n", 1)[0][:200]))
        t, e = cl[0]
        more = f" (+{len(cl) - 1} more)" if len(cl) > 1 else ""
        ax.text(_x(t), y + 0.3, " " + short(e.text, 58) + more + " ", va="center", fontsize=7,
                color="#8a2f00", zorder=7, clip_on=True, **_side(ctx, t),
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    if clusters:
        ctx["data"].setdefault("marks", set()).add("error")


def _legend(data):
    marks = data.get("marks", set())
    h = []
    if data.get("phases"):
        h.append(Patch(facecolor=BLUE, hatch="//", edgecolor=BLACK, label="migration phase"))
    if "progress" in marks:
        h.append(Patch(facecolor=SKY, edgecolor=BLUE, label="QEMU data sent"))
    if "qemu_status" in marks:
        h.append(Line2D([], [], marker="v", color=BLACK, ls="none", label="QEMU status change"))
    if "opened" in marks:
        h.append(Line2D([], [], marker=">", color=BLUE, ls="-", lw=3, label="connection open"))
    if "ping" in marks:
        h.append(Line2D([], [], marker="|", color=BLACK, ms=10, mew=1.6, ls="none",
                        label="keepalive ping (countToDeath left)"))
    if "last_rx" in marks:
        h.append(Line2D([], [], marker="o", color=GREEN, mec=BLACK, ls="none", label="last message from peer"))
    if "silence" in marks:
        h.append(Patch(facecolor="#dddddd", edgecolor=GREY, hatch="\\\\", label="no reply"))
    if "daemon_silence" in marks:
        h.append(Patch(facecolor="none", edgecolor=PURPLE, hatch=".", label="daemon silent"))
    if "death" in marks:
        h.append(Line2D([], [], marker="X", color=VERMILLION, mec=BLACK, ms=10, ls="none", label="keepalive death"))
    if "error" in marks:
        h.append(Line2D([], [], marker="D", color=VERMILLION, mec=BLACK, ls="none", label="error logged"))
    if "closed" in marks:
        h.append(Line2D([], [], marker="s", color=BLACK, ls="none", label="closed"))
    if "activity" in marks:
        h.append(Line2D([], [], marker="|", color=GREY, ls="none", label="log records of the thread(s)"))
    return h
