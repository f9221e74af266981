"""loganalyzer.explore (issue 7): the notebook calls and the df.libvirt accessor, on real samples.

Every line number used here is checked against the log text with samplelib.quote."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import loganalyzer
from loganalyzer import explore
from samplelib import ROOT, quote, sample

P2P_SRC = "p2p-keepalive-timeout/src-libvirtd.log"
P2P_DST = "p2p-keepalive-timeout/dst-libvirtd.log"
DCONN_CLIENT = "0x7fd78402e550"     # EXPECTED.md: dconn_client
DCONN_KA = "0x5602cad67830"
DCONN_CONN = "0x5602cad66b90"


@pytest.fixture(scope="module")
def p2p():
    paths = [str(sample(P2P_SRC)), str(sample(P2P_DST))]
    return loganalyzer.events(paths), loganalyzer.analyze(paths)


@pytest.fixture(scope="module")
def df(p2p):
    return p2p[0]


@pytest.fixture(scope="module")
def analysis(p2p):
    return p2p[1]


def _src(df):
    return str(sample(P2P_SRC))


# -- exports -----------------------------------------------------------------------------------

def test_the_cli_names_are_python_names():
    # CLI `events` and `analyze` (and `scan`, lazily) under the same names
    for name in ("events", "analyze", "events_frame", "render_report", "timeline", "verdicts",
                 "evidence", "thread_lines", "pointer_life", "pointer_lifetimes", "window",
                 "migration_records"):
        assert callable(getattr(loganalyzer, name)), name
        assert name in loganalyzer.__all__
    assert "scan" in loganalyzer.__all__


def test_scan_is_the_function_even_after_its_package_is_imported():
    import loganalyzer.fleet  # noqa: F401  (binds the package on loganalyzer)
    assert callable(loganalyzer.scan)
    assert loganalyzer.scan is loganalyzer.fleet.scan


def test_events_is_the_event_table_with_the_input_facts(df):
    direct = loganalyzer.events_frame([str(sample(P2P_SRC)), str(sample(P2P_DST))])
    pd.testing.assert_frame_equal(df.reset_index(drop=True), direct.reset_index(drop=True))
    facts = pd.DataFrame(df.attrs["inputs"])
    assert list(facts["records"]) == [int((df["path"] == p).sum()) for p in facts["path"]]
    assert set(facts["libvirt_version"]) == {"9.0.0"}
    # a Path works too
    one = loganalyzer.events(sample(P2P_DST))
    assert len(one) == facts["records"].iloc[1]


def test_kinds_counts_every_record(df):
    k = df.libvirt.kinds()
    assert k.sum() == len(df)
    assert k["RPC_KEEPALIVE_TIMEOUT"] == int((df["kind"] == "RPC_KEEPALIVE_TIMEOUT").sum()) > 0


def test_accessor_refuses_a_frame_that_is_not_an_event_table():
    with pytest.raises(AttributeError, match="not an event table"):
        pd.DataFrame({"a": [1]}).libvirt.thread(1)


# -- threads -----------------------------------------------------------------------------------

def test_thread_lines_of_the_migration_worker(df):
    quote(P2P_SRC, 3780, "13693: debug : virDomainMigratePerform3Params")
    quote(P2P_SRC, 6373, "13693: info : virNetClientDispose:737 : RPC_CLIENT_DISPOSE")
    t = df.libvirt.thread(13693, path="src")
    assert (t["tid"] == 13693).all()
    assert set(t["path"]) == {_src(df)}
    assert {3780, 6373} <= set(t["line"])
    # every record of that thread in the source log, in file order
    assert len(t) == int(((df["tid"] == 13693) & (df["path"] == _src(df))).sum())
    assert t["line"].is_monotonic_increasing
    assert explore.thread_lines(df, 13693, path="src").equals(t)
    # time bounds
    cut = df.libvirt.thread(13693, path="src", until="2026-11-25 20:29:24")
    assert cut["time"].max() <= pd.Timestamp("2026-11-25 20:29:24", tz="UTC") and len(cut) < len(t)


# -- pointers ----------------------------------------------------------------------------------

def test_pointer_life_of_the_dconn_client_runs_from_new_to_dispose(df):
    quote(P2P_SRC, 3843, f"RPC_CLIENT_NEW: client={DCONN_CLIENT}")
    quote(P2P_SRC, 3845, f"RPC_KEEPALIVE_NEW: ka={DCONN_KA} client={DCONN_CLIENT}")
    quote(P2P_SRC, 6280, f"client={DCONN_CLIENT} countToDeath=0 idle=30")
    life = df.libvirt.pointer(DCONN_CLIENT)
    assert list(life["lifetime"].unique()) == [1]
    first, last = life.iloc[0], life.iloc[-1]
    assert (first["line"], first["kind"], first["event"]) == (3843, "RPC_CLIENT_NEW", "new")
    assert (last["line"], last["kind"], last["event"]) == (6373, "RPC_CLIENT_DISPOSE", "dispose")
    # RPC_KEEPALIVE_NEW names the client but creates the keepalive: not a new client lifetime
    assert life.loc[life["line"] == 3845, "event"].item() == ""
    assert 6280 in set(life["line"]) and not life["disposed"].any()
    # every record that holds the pointer text, and only those
    text = df["message"].str.contains(DCONN_CLIENT, regex=False).fillna(False)
    assert set(life.index) == set(df.index[text])


def test_pointer_life_matches_whole_pointers_only(df):
    assert df.libvirt.pointer(DCONN_CLIENT[:-1]).empty          # a prefix of a real pointer
    assert len(df.libvirt.pointer(DCONN_CLIENT.upper().replace("0X", "0x"))) > 0
    assert len(df.libvirt.pointer(int(DCONN_CLIENT, 16))) == len(df.libvirt.pointer(DCONN_CLIENT))


def test_keepalive_lifetime_and_its_ticks(df):
    quote(P2P_SRC, 6291, f"RPC_KEEPALIVE_DISPOSE: ka={DCONN_KA}")
    lt = df.libvirt.lifetimes(DCONN_KA)
    assert len(lt) == 1
    row = lt.iloc[0]
    assert (row["created_by"], row["created_line"], row["disposed_by"], row["disposed_line"]) == (
        "RPC_KEEPALIVE_NEW", 3845, "RPC_KEEPALIVE_DISPOSE", 6291)
    ticks = df.libvirt.pointer(DCONN_KA).query("kind == 'RPC_KEEPALIVE_TIMEOUT'")
    counts = [json.loads(f)["countToDeath"] for f in ticks["fields"]]
    assert counts == ["5", "4", "3", "2", "1", "0"]


@pytest.mark.parametrize("rel, ptr, lifetimes", [
    # EXPECTED.md: the dst server-client pointer is reused for an unrelated virsh connection
    ("short-keepalive/dst-libvirtd.log", "0x56510ff7e270", [(776, 4232), (4798, 5050)]),
    # EXPECTED.md: first a short `virsh list` connection, then the dconn's server-side client
    ("v11.3-domjobabort/dst-libvirtd.log", "0x55e07bf5d290", [(584, 882), (894, 4978)]),
])
def test_a_reused_pointer_has_two_lifetimes(rel, ptr, lifetimes):
    for new, dispose in lifetimes:
        quote(rel, new, f"RPC_SERVER_CLIENT_NEW: client={ptr}")
        quote(rel, dispose, f"RPC_SERVER_CLIENT_DISPOSE: client={ptr}")
    d = loganalyzer.events(sample(rel))
    life = explore.pointer_life(d, ptr)
    assert sorted(life["lifetime"].unique()) == [1, 2]
    for n, (new, dispose) in enumerate(lifetimes, 1):
        one = life[life["lifetime"] == n]
        assert one["line"].min() == new and one["line"].max() == dispose
        assert one.loc[one["line"] == new, "event"].item() == "new"
        assert one.loc[one["line"] == dispose, "event"].item() == "dispose"
    lt = d.libvirt.lifetimes(ptr)
    assert list(zip(lt["created_line"], lt["disposed_line"])) == lifetimes
    # select one lifetime by number or by an event inside it
    second = d.libvirt.pointer(ptr, lifetime=2)
    assert second["line"].min() == lifetimes[1][0]
    inside = d.libvirt.pointer(ptr, at=(str(sample(rel)), lifetimes[1][0] + 3))
    assert inside.equals(second)


def _synthetic_log(tmp_path):
    lines = [
        "OBJECT_NEW: obj=0xaa00 classname=virNetClient",
        "RPC_CLIENT_NEW: client=0xaa00 sock=0xbb00",
        "RPC_CLIENT_MSG_RX: client=0xaa00 len=28",
        "RPC_CLIENT_DISPOSE: client=0xaa00",
        "OBJECT_DISPOSE: obj=0xaa00",
        "OBJECT_UNREF: obj=0xaa00",
        "OBJECT_NEW: obj=0xaa00 classname=virKeepAlive",
        "RPC_KEEPALIVE_NEW: ka=0xaa00 client=0xcc00",
        "RPC_KEEPALIVE_NEW: ka=0xdd00 client=0xaa00",
    ]
    funcs = ["virObjectNew", "virNetClientNew", "virNetClientCallDispatch", "virNetClientDispose",
             "vir_object_finalize", "virObjectUnref", "virObjectNew", "virKeepAliveNew", "virKeepAliveNew"]
    p = tmp_path / "libvirtd.log"
    p.write_text("".join(f"2026-11-25 20:00:0{i}.000+0000: 100: info : {f}:1 : {m}\n"
                         for i, (f, m) in enumerate(zip(funcs, lines))))
    return p


def test_object_probes_of_one_object_share_a_lifetime(tmp_path):
    d = loganalyzer.events(_synthetic_log(tmp_path))
    life = d.libvirt.pointer("0xaa00")
    assert list(life["lifetime"]) == [1, 1, 1, 1, 1, 1, 2, 2, 2]
    assert list(life["event"]) == ["new", "new", "", "dispose", "dispose", "", "new", "new", ""]
    # the unref after the dispose is a stale reference
    assert list(life["disposed"]) == [False] * 4 + [True, True] + [False] * 3
    lt = d.libvirt.lifetimes("0xaa00")
    assert list(lt["classname"]) == ["virNetClient", "virKeepAlive"]
    assert list(lt["created_by"]) == ["OBJECT_NEW,RPC_CLIENT_NEW", "OBJECT_NEW,RPC_KEEPALIVE_NEW"]


# -- windows -----------------------------------------------------------------------------------

def test_window_by_line(df):
    w = df.libvirt.around(line=6280, path="src", before=2, after=3)
    assert list(w["line"]) == [6278, 6279, 6280, 6281, 6282, 6283]
    assert set(w["path"]) == {_src(df)}
    with pytest.raises(ValueError, match="path"):
        df.libvirt.around(line=6280)                     # two inputs: which one?
    assert explore.window(df, line=6280, path="src-libvirtd.log", before=2, after=3).equals(w)


def test_window_around_an_event_object(df, analysis):
    death = analysis.keepalive_deaths[0]
    assert death.line == 6280
    w = df.libvirt.around(death, before=0, after=2)
    assert list(w["line"]) == [6280, 6281, 6282]


def test_window_by_time_spans_both_hosts(df, analysis):
    death = analysis.keepalive_deaths[0]
    t = pd.Timestamp(death.time, unit="s", tz="UTC")
    # the destination daemon was SIGSTOPped: around the death only the source logged
    w = df.libvirt.around(time=death.time, before=1, after=1)
    assert set(w["path"]) == {_src(df)}
    assert w["time"].between(t - pd.Timedelta("1s"), t + pd.Timedelta("1s")).all()
    # wide enough to reach the destination's first line after the stop (20:29:55.800)
    quote(P2P_DST, 4160, "2026-11-25 20:29:55.800")
    wide = df.libvirt.around(time="2026-11-25 20:29:53.724", before="0.1s", after=pd.Timedelta("2.1s"))
    assert {4160} <= set(wide.loc[wide["path"] == str(sample(P2P_DST)), "line"])
    assert wide["time"].is_monotonic_increasing


# -- migrations --------------------------------------------------------------------------------

def test_migration_records(df, analysis):
    r = df.libvirt.migration(analysis)
    mig = explore.pick_migration(analysis)
    assert mig.role == "source" and mig.tid == 13693
    assert set(r["migration"]) == {mig.id}
    assert set(r["path"]) == {_src(df)}
    reasons = r.set_index("line")["reason"]
    assert "worker" in reasons[3780]                                     # the API call
    assert "dconn client" in reasons[3843] and "dconn client" in reasons[6373]
    assert "dconn ka" in reasons[6280] and "dconn ka" in reasons[6291]  # on the event loop thread
    quote(P2P_SRC, 6289, f"qemuMigrationSrcConnectionClosed:5813 : conn={DCONN_CONN}")
    assert "dconn conn" in reasons[6289]
    assert r["reason"].str.contains("monitor").any()
    assert "error" in reasons[6293]
    # the worker's part stays between the migration's start and end
    w = r[r["reason"].str.contains("worker")]
    assert w["line"].min() == mig.started.line and w["line"].max() <= mig.ended.line
    # nothing of another thread that has no link to the migration
    assert set(r["tid"].dropna()) <= {13693, 13681} | set(r.loc[r["reason"].str.contains("monitor|domain"), "tid"].dropna())
    # same call with the Migration object; peer=True adds the destination's view
    assert explore.migration_records(df, mig).equals(r)
    both = df.libvirt.migration(analysis, peer=True)
    assert set(both["migration"]) == {mig.id, mig.peer}
    assert both["time"].is_monotonic_increasing


def test_migration_needs_its_log_in_the_table(analysis):
    only_dst = loganalyzer.events(sample(P2P_DST))
    with pytest.raises(ValueError, match="no records"):
        only_dst.libvirt.migration(analysis)


# -- the analysis ------------------------------------------------------------------------------

def test_verdicts_and_evidence(df, analysis):
    v = loganalyzer.verdicts(analysis)
    assert set(v["cause"]) == {"dconn-keepalive-timeout"}
    mig = explore.pick_migration(analysis)
    ev = loganalyzer.evidence(mig)
    assert len(ev) == len(mig.verdict.evidence) and 6280 in set(ev["line"])
    assert ev["time"].dt.tz is not None
    rec = df.libvirt.evidence(mig.verdict)
    assert set(rec["line"]) <= set(ev["line"]) and 6280 in set(rec["line"])
    assert "note" in rec and rec["note"].str.len().gt(0).any()


def test_render_report_text_and_json(analysis, tmp_path):
    text = loganalyzer.render_report(analysis, "text")
    assert "dconn-keepalive-timeout" in text and "remedies" in text
    out = tmp_path / "a.json"
    js = loganalyzer.render_report(analysis, "json", output=out)
    assert json.loads(out.read_text()) == json.loads(js)
    with pytest.raises(ValueError):
        loganalyzer.render_report(analysis, "pdf")


def test_brief_and_quiet(df):
    life = df.libvirt.pointer(DCONN_CLIENT)
    b = life.libvirt.quiet().libvirt.brief(width=60)
    assert {"input", "line", "time", "tid", "message", "lifetime", "event"} <= set(b.columns)
    assert b["message"].str.len().max() <= 60
    assert not b["message"].str.startswith("RPC_CLIENT_MSG").any()
    assert set(b["input"]) == {"src-libvirtd.log"}


def test_timeline_returns_a_figure(analysis):
    pytest.importorskip("loganalyzer.report.timeline")
    fig = loganalyzer.timeline(analysis)
    assert fig.loganalyzer["death_times"]


def test_time_bounds_include_records_stamped_exactly_at_them(df, analysis):
    mig = explore.pick_migration(analysis)
    quote(P2P_SRC, 3780, "2026-11-25 20:29:23.367+0000: 13693:")
    t = df.libvirt.thread(mig.tid, path=mig.path, since=mig.start, until=mig.end)
    # the API call's own line (same millisecond as the migration's start) and the last line
    assert {3780, mig.ended.line} <= set(t["line"])
    assert t["time"].min() == pd.Timestamp("2026-11-25 20:29:23.367", tz="UTC")
    assert t["time"].max() == pd.Timestamp("2026-11-25 20:29:53.782", tz="UTC")
