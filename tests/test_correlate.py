"""Issue 3: the correlator, on real logs.

Every expected value comes from the scenario's EXPECTED.md (key lines, pointers, thread ids)
and is checked against the log text itself (`quote`), never from what the code outputs.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from samplelib import (SAMPLES, analyzed, both, connections_in, deaths_in, dst, file_lines,
                       lifetimes, live_object_at, migrations_in, on, quote, rpc_filtered_text, same_file,
                       shift_times, src, truncated_text)

UUID = "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001"   # the guest `tiny` in every lab scenario


def epoch(rel: str, lineno: int) -> float:
    ln = file_lines(rel)[lineno - 1]
    return datetime.strptime(ln[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


# ---------------------------------------------------------------------------------------------
# The keepalive death of the dconn, in three libvirt versions (+ the short-keepalive variant).
# Line numbers and pointers: each scenario's EXPECTED.md "Key lines" / "Pointers" sections.
# ---------------------------------------------------------------------------------------------
KEEPALIVE = {
    "p2p-keepalive-timeout": dict(           # libvirt 9.0
        uri="qemu+unix:///session?socket=/tmp/vlab/dst/run/libvirt/libvirt-sock",
        migrate_uri="tcp://127.0.0.1:49302",
        api=(3780, "virDomainMigratePerform3Params:5378 : dom=0x7fd778004290, (VM: name=tiny, uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001)"),
        open=(3812, "virConnectOpenAuth:1269 : name=qemu+unix:///session?socket=/tmp/vlab/dst/run/libvirt/libvirt-sock"),
        new=(3843, "RPC_CLIENT_NEW: client=0x7fd78402e550 sock=0x5602cad4e8f0"),
        setka=(3920, "virConnectSetKeepAlive:1423 : conn=0x5602cad66b90, interval=5, count=5"),
        start=(3921, "RPC_KEEPALIVE_START: ka=0x5602cad67830 client=0x7fd78402e550 interval=5 count=5"),
        death=(6280, "RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30"),
        error=(6282, "error : virKeepAliveTimerInternal:134 : internal error: connection closed due to keepalive timeout"),
        close=(6287, "virNetClientCloseLocked:788 : client=0x7fd78402e550, sock=0x5602cad4e8f0, reason=2"),
        callback=(6289, "qemuMigrationSrcConnectionClosed:5813 : conn=0x5602cad66b90, reason=2, vm=tiny"),
        dispose=(6373, "RPC_CLIENT_DISPOSE: client=0x7fd78402e550"),
        client="0x7fd78402e550", conn="0x5602cad66b90", ka="0x5602cad67830",
        interval=5, count=5, idle=30, ticks=6, worker=13693, evloop=13681,
        dst_new=(775, "RPC_SERVER_CLIENT_NEW: client=0x563972ecd270 sock=0x563972ec66f0"),
        dst_prepare=(1032, "virDomainMigratePrepare3Params:5281 : dconn=0x7fd38c013090"),
        dst_client="0x563972ecd270",
    ),
    "v7.0-p2p-keepalive-timeout": dict(
        uri="qemu+unix:///session?socket=/tmp/vlab-v/dst/run/libvirt/libvirt-sock",
        migrate_uri="tcp://127.0.0.1:49851",
        api=(3548, "virDomainMigratePerform3Params:5105 : dom=0x7f8c34006b80, (VM: name=tiny, uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001)"),
        open=(3567, "virConnectOpenAuth:1273 : name=qemu+unix:///session?socket=/tmp/vlab-v/dst/run/libvirt/libvirt-sock"),
        new=(3598, "RPC_CLIENT_NEW: client=0x7f8c5802f550 sock=0x55750c7b68f0"),
        setka=(3675, "virConnectSetKeepAlive:1360 : conn=0x7f8c20012170, interval=5, count=5"),
        start=(3676, "RPC_KEEPALIVE_START: ka=0x7f8c20014810 client=0x7f8c5802f550 interval=5 count=5"),
        death=(6008, "RPC_KEEPALIVE_TIMEOUT: ka=0x7f8c20014810 client=0x7f8c5802f550 countToDeath=0 idle=30"),
        error=(6010, "error : virKeepAliveTimerInternal:137 : internal error: connection closed due to keepalive timeout"),
        close=(6015, "virNetClientCloseLocked:793 : client=0x7f8c5802f550, sock=0x55750c7b68f0, reason=2"),
        callback=(6017, "qemuMigrationSrcConnectionClosed:4670 : conn=0x7f8c20012170, reason=2, vm=tiny"),
        dispose=(6088, "RPC_CLIENT_DISPOSE: client=0x7f8c5802f550"),
        client="0x7f8c5802f550", conn="0x7f8c20012170", ka="0x7f8c20014810",
        interval=5, count=5, idle=30, ticks=6, worker=26424, evloop=26412,
        dst_new=(782, "RPC_SERVER_CLIENT_NEW: client=0x561f5da0d240 sock=0x561f5da086f0"),
        dst_prepare=(1039, "virDomainMigratePrepare3Params:5008 : dconn=0x7fc0d4012270"),
        dst_client="0x561f5da0d240",
    ),
    "v11.3-p2p-keepalive-timeout": dict(
        uri="qemu+unix:///session?socket=/tmp/vlab-v/dst/run/libvirt/libvirt-sock",
        migrate_uri="tcp://127.0.0.1:49801",
        api=(4353, "virDomainMigratePerform3Params:5475 : dom=0x7fc15c001260, (VM: name=tiny, uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001)"),
        open=(4388, "virConnectOpenAuth:1315 : name=qemu+unix:///session?socket=/tmp/vlab-v/dst/run/libvirt/libvirt-sock"),
        new=(4419, "RPC_CLIENT_NEW: client=0x7fc15c001fe0 sock=0x7fc15c003bb0"),
        setka=(4496, "virConnectSetKeepAlive:1414 : conn=0x7fc15c0030f0, interval=5, count=5"),
        start=(4497, "RPC_KEEPALIVE_START: ka=0x7fc15c004d80 client=0x7fc15c001fe0 interval=5 count=5"),
        death=(7167, "RPC_KEEPALIVE_TIMEOUT: ka=0x7fc15c004d80 client=0x7fc15c001fe0 countToDeath=0 idle=30"),
        error=(7169, "error : virKeepAliveTimerInternal:134 : internal error: connection closed due to keepalive timeout"),
        close=(7174, "virNetClientCloseLocked:788 : client=0x7fc15c001fe0, sock=0x7fc15c003bb0, reason=2"),
        callback=(7176, "qemuMigrationSrcConnectionClosed:6064 : conn=0x7fc15c0030f0, reason=2, vm=tiny"),
        dispose=(7274, "RPC_CLIENT_DISPOSE: client=0x7fc15c001fe0"),
        client="0x7fc15c001fe0", conn="0x7fc15c0030f0", ka="0x7fc15c004d80",
        interval=5, count=5, idle=30, ticks=6, worker=24125, evloop=24115,
        dst_new=(837, "RPC_SERVER_CLIENT_NEW: client=0x56013248c460 sock=0x560132487580"),
        dst_prepare=(1198, "virDomainMigratePrepare3Params:5363 : dconn=0x7f581c001b70"),
        dst_client="0x56013248c460",
    ),
    "short-keepalive": dict(                 # keepalive_interval=2, keepalive_count=3
        uri="qemu+unix:///session?socket=/tmp/vlab-extra/dst/run/libvirt/libvirt-sock",
        migrate_uri="tcp://127.0.0.1:49603",
        api=(3781, "virDomainMigratePerform3Params:5378 : dom=0x7f07ec007690, (VM: name=tiny, uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001)"),
        open=(3813, "virConnectOpenAuth:1269 : name=qemu+unix:///session?socket=/tmp/vlab-extra/dst/run/libvirt/libvirt-sock"),
        new=(3844, "RPC_CLIENT_NEW: client=0x7f080002e550 sock=0x5586b34748f0"),
        setka=(3921, "virConnectSetKeepAlive:1423 : conn=0x7f07cc013b90, interval=2, count=3"),
        start=(3922, "RPC_KEEPALIVE_START: ka=0x7f07cc016030 client=0x7f080002e550 interval=2 count=3"),
        death=(4920, "RPC_KEEPALIVE_TIMEOUT: ka=0x7f07cc016030 client=0x7f080002e550 countToDeath=0 idle=8"),
        error=(4922, "error : virKeepAliveTimerInternal:134 : internal error: connection closed due to keepalive timeout"),
        close=(4927, "virNetClientCloseLocked:788 : client=0x7f080002e550, sock=0x5586b34748f0, reason=2"),
        callback=(4929, "qemuMigrationSrcConnectionClosed:5813 : conn=0x7f07cc013b90, reason=2, vm=tiny"),
        dispose=(5038, "RPC_CLIENT_DISPOSE: client=0x7f080002e550"),
        client="0x7f080002e550", conn="0x7f07cc013b90", ka="0x7f07cc016030",
        interval=2, count=3, idle=8, ticks=4, worker=21232, evloop=21220,
        dst_new=(776, "RPC_SERVER_CLIENT_NEW: client=0x56510ff7e270 sock=0x56510ff506f0"),
        dst_prepare=(1033, "virDomainMigratePrepare3Params:5281 : dconn=0x56510ff69b90"),
        dst_client="0x56510ff7e270",
    ),
}
KA_SCENARIOS = list(KEEPALIVE)
SRC_KEYS = ("api", "open", "new", "setka", "start", "death", "error", "close", "callback", "dispose")


def _src(sc):
    return f"{sc}/src-libvirtd.log"


def _dst(sc):
    return f"{sc}/dst-libvirtd.log"


@pytest.mark.parametrize("sc", KA_SCENARIOS)
def test_keepalive_key_lines_are_in_the_logs(sc):
    """The table above quotes the logs correctly (guards the test data itself)."""
    k = KEEPALIVE[sc]
    for key in SRC_KEYS:
        quote(_src(sc), *k[key])
    quote(_dst(sc), *k["dst_new"])
    quote(_dst(sc), *k["dst_prepare"])


def _the_death(a, sc):
    k = KEEPALIVE[sc]
    ds = deaths_in(a, _src(sc))
    assert [d.line for d in ds] == [k["death"][0]], \
        f"exactly one keepalive death (countToDeath=0) in the source log, at line {k['death'][0]}"
    return ds[0]


def _the_src_migration(a, sc):
    ms = migrations_in(a, _src(sc), "source")
    assert len(ms) == 1, [(m.id, m.role, m.domain) for m in a.migrations]
    return ms[0]


@pytest.mark.parametrize("with_dst", [False, True], ids=["src", "src+dst"])
@pytest.mark.parametrize("sc", KA_SCENARIOS)
class TestDconnKeepaliveDeath:
    def analysis(self, sc, with_dst):
        return both(sc) if with_dst else src(sc)

    def test_death_pointers_and_timing(self, sc, with_dst):
        k = KEEPALIVE[sc]
        d = _the_death(self.analysis(sc, with_dst), sc)
        assert d.client == k["client"] and d.ka == k["ka"]
        assert d.idle == k["idle"]                       # interval x (count + 1)
        assert d.tid == k["evloop"]                      # the daemon main thread runs the timer
        assert d.time == pytest.approx(epoch(_src(sc), k["death"][0]), abs=0.002)

    def test_client_pointer_leads_to_its_rpc_client_new(self, sc, with_dst):
        k = KEEPALIVE[sc]
        c = _the_death(self.analysis(sc, with_dst), sc).connection
        assert c is not None, "the dead client pointer must resolve to a connection object"
        assert c.direction == "outgoing"
        assert c.client == k["client"]
        assert c.created is not None and c.created.line == k["new"][0], "its RPC_CLIENT_NEW line"
        assert (SAMPLES / _src(sc)).samefile(c.created.path)

    def test_connection_uri_conn_ka_keepalive(self, sc, with_dst):
        k = KEEPALIVE[sc]
        c = _the_death(self.analysis(sc, with_dst), sc).connection
        assert c.uri == k["uri"]                       # virConnectOpenAuth name= in the same thread
        assert k["open"][0] in [e.line for e in c.evidence], "the virConnectOpenAuth line is evidence"
        assert c.conn == k["conn"]                     # virConnectSetKeepAlive conn= -> RPC_KEEPALIVE_START
        assert c.ka == k["ka"]
        assert (c.keepalive_interval, c.keepalive_count) == (k["interval"], k["count"])

    def test_connection_close_and_dispose(self, sc, with_dst):
        k = KEEPALIVE[sc]
        c = _the_death(self.analysis(sc, with_dst), sc).connection
        assert c.close_reason == 2                       # VIR_CONNECT_CLOSE_REASON_KEEPALIVE
        assert c.closed is not None and c.closed.line in (k["close"][0], k["callback"][0])
        assert c.disposed is not None and c.disposed.line == k["dispose"][0]

    def test_ticks_count_down_and_only_the_last_is_a_death(self, sc, with_dst):
        k = KEEPALIVE[sc]
        a = self.analysis(sc, with_dst)
        c = _the_death(a, sc).connection
        ctd = [t.count_to_death for t in c.ticks]
        assert ctd == list(range(k["count"], -1, -1))          # count, count-1, ..., 0
        assert [t.idle for t in c.ticks] == [k["interval"] * (i + 1) for i in range(k["ticks"])]
        assert len(deaths_in(a, _src(sc))) == 1

    def test_death_evidence_has_error_and_close(self, sc, with_dst):
        k = KEEPALIVE[sc]
        d = _the_death(self.analysis(sc, with_dst), sc)
        lines = {e.line for e in d.evidence}
        assert k["death"][0] in lines
        assert k["error"][0] in lines, "the 'connection closed due to keepalive timeout' error"
        assert lines & {k["close"][0], k["callback"][0]}, "the reason=2 close of the same connection"

    def test_death_belongs_to_the_migration_of_tiny(self, sc, with_dst):
        a = self.analysis(sc, with_dst)
        d = _the_death(a, sc)
        m = _the_src_migration(a, sc)
        assert d.owner == "dconn"
        assert d.migration == m.id
        assert m.dconn is d.connection
        assert d.connection.migration == m.id

    def test_migration_object(self, sc, with_dst):
        k = KEEPALIVE[sc]
        a = self.analysis(sc, with_dst)
        m = _the_src_migration(a, sc)
        assert (m.role, m.domain, m.uuid) == ("source", "tiny", UUID)
        assert m.api == "virDomainMigratePerform3Params"
        assert m.flags == 0x3 and set(m.flag_names) == {"live", "peer2peer"}     # flags=0x3
        assert m.mode == "peer-to-peer native"
        assert m.dconnuri == k["uri"] and m.migrate_uri == k["migrate_uri"]
        assert m.tid == k["worker"]
        assert m.outcome == "failed"
        assert m.start == pytest.approx(epoch(_src(sc), k["api"][0]), abs=0.01)
        death_t = epoch(_src(sc), k["death"][0])
        assert m.end is not None and death_t <= m.end <= death_t + 5
        assert m.dconn_open is not None and m.dconn_open.line == k["open"][0]
        assert m.dconn.created.line == k["new"][0]

    def test_migration_errors_in_order(self, sc, with_dst):
        m = _the_src_migration(self.analysis(sc, with_dst), sc)
        texts = [e.text for e in m.errors]
        lost = [i for i, t in enumerate(texts) if "Lost connection to destination host" in t]
        closed = [i for i, t in enumerate(texts) if "client socket is closed" in t]
        assert lost and closed and lost[0] < closed[0]
        assert [e.line for e in m.errors] == sorted(e.line for e in m.errors)


@pytest.mark.parametrize("sc", KA_SCENARIOS)
class TestTwoHostsKeepalive:
    def test_destination_migration_is_paired(self, sc):
        k = KEEPALIVE[sc]
        a = both(sc)
        s = _the_src_migration(a, sc)
        ds = migrations_in(a, _dst(sc), "destination")
        assert len(ds) == 1
        d = ds[0]
        assert d.domain == "tiny" and d.uuid in (None, UUID)
        assert d.api == "virDomainMigratePrepare3Params" and d.started.line == k["dst_prepare"][0]
        assert s.peer == d.id and d.peer == s.id
        assert d.outcome == "failed"

    def test_destination_server_client_linked_to_source_dconn(self, sc):
        k = KEEPALIVE[sc]
        a = both(sc)
        s = _the_src_migration(a, sc)
        d = migrations_in(a, _dst(sc), "destination")[0]
        assert d.controlling_client == k["dst_client"]
        server = [c for c in connections_in(a, _dst(sc)) if c.direction == "incoming" and c.migration == d.id]
        assert len(server) == 1
        server = server[0]
        assert server.client == k["dst_client"] and server.created.line == k["dst_new"][0]
        assert server.purpose == "peer-daemon"
        assert s.dconn.peer == server.id and server.peer == s.dconn.id

    def test_clock_offset_near_zero(self, sc):
        # both daemons ran on one machine with one clock (TIMELINE.txt): the true offset is 0
        a = both(sc)
        assert len(a.pairs) == 1
        off = a.pairs[0]["clock_offset"]
        assert off is not None and abs(off) < 0.05

    def test_each_side_keeps_its_view(self, sc):
        a = both(sc)
        d = _the_death(a, sc)
        peer_conn = d.peer_connection
        assert peer_conn is not None and peer_conn.client == KEEPALIVE[sc]["dst_client"]

    def test_destination_alone(self, sc):
        k = KEEPALIVE[sc]
        a = dst(sc)
        ds = migrations_in(a, _dst(sc), "destination")
        assert len(ds) == 1 and ds[0].domain == "tiny"
        assert ds[0].controlling_client == k["dst_client"]
        assert ds[0].peer is None


# ---------------------------------------------------------------------------------------------
# client-sigstop: a frozen `virsh event --loop` dies by the daemon's keepalive; no migration.
# ---------------------------------------------------------------------------------------------
SIGSTOP = "client-sigstop/src-libvirtd.log"


@pytest.mark.parametrize("with_dst", [False, True], ids=["src", "src+dst"])
def test_client_sigstop_death_is_a_virsh_connection(with_dst):
    a = both("client-sigstop") if with_dst else src("client-sigstop")
    quote(SIGSTOP, 512, "RPC_SERVER_CLIENT_NEW: client=0x56523e331160 sock=0x56523e3046f0")
    quote(SIGSTOP, 518, "virKeepAliveNew:188 : client=0x56523e331160, interval=5, count=5")
    quote(SIGSTOP, 572, "remoteDispatchConnectOpenHelper:3289 : server=0x56523e2ef880 client=0x56523e331160")
    quote(SIGSTOP, 705, "remoteDispatchConnectDomainEventCallbackRegisterAnyHelper:430 : server=0x56523e2ef880 client=0x56523e331160")
    quote(SIGSTOP, 1348, "RPC_KEEPALIVE_TIMEOUT: ka=0x56523e31da10 client=0x56523e331160 countToDeath=0 idle=30")
    quote(SIGSTOP, 1350, "internal error: connection closed due to keepalive timeout")
    quote(SIGSTOP, 1413, "RPC_SERVER_CLIENT_DISPOSE: client=0x56523e331160")
    ds = deaths_in(a, SIGSTOP)
    assert [d.line for d in ds] == [1348]
    d = ds[0]
    assert d.client == "0x56523e331160" and d.ka == "0x56523e31da10" and d.idle == 30
    c = d.connection
    assert c is not None and c.direction == "incoming"
    assert c.created.line == 512 and c.disposed.line == 1413
    assert "remoteDispatchConnectOpen" in c.apis
    assert "remoteDispatchConnectDomainEventCallbackRegisterAny" in c.apis   # what virsh event does
    assert (c.keepalive_interval, c.keepalive_count) == (5, 5)              # libvirtd.conf, line 518
    assert d.owner == "management"
    assert d.migration is None
    assert a.migrations == []


# ---------------------------------------------------------------------------------------------
# virtlogd-client: local RPC_CLIENT_NEW (virtlogd) in the migration worker thread are not dconns.
# ---------------------------------------------------------------------------------------------
VL_SRC = "virtlogd-client/src-libvirtd.log"
VL_DST = "virtlogd-client/dst-libvirtd.log"
VL_SRC_CLIENTS = {   # client -> (NEW line, DISPOSE line); from grep RPC_CLIENT_NEW/_DISPOSE
    "0x7f8c5802e010": (801, 809), "0x7f8c5802e160": (823, 3494),
    "0x7f8c5802e550": (3907, 4722),                                   # the dconn
    "0x7f8c5802e6a0": (4250, 4274), "0x7f8c5802e7f0": (4597, 4621),   # virtlogd, worker thread 23851
}
VL_DST_CLIENTS = {"0x7f8a5c034010": (956, 964), "0x7f8a5c034160": (978, 3954)}


@pytest.mark.parametrize("with_dst", [False, True], ids=["src", "src+dst"])
def test_virtlogd_clients_never_linked_to_a_migration(with_dst):
    for cl, (new, disp) in VL_SRC_CLIENTS.items():
        quote(VL_SRC, new, f"RPC_CLIENT_NEW: client={cl}")
        quote(VL_SRC, disp, f"RPC_CLIENT_DISPOSE: client={cl}")
    quote(VL_SRC, 3984, "virConnectSetKeepAlive:1423 : conn=0x7f8c44002270, interval=5, count=5")
    a = both("virtlogd-client") if with_dst else src("virtlogd-client")
    m = migrations_in(a, VL_SRC, "source")
    assert len(m) == 1
    m = m[0]
    assert m.dconn is not None and m.dconn.client == "0x7f8c5802e550" and m.dconn.created.line == 3907
    assert m.dconn.conn == "0x7f8c44002270"
    outgoing = [c for c in connections_in(a, VL_SRC) if c.direction == "outgoing"]
    for c in outgoing:
        if c.client == "0x7f8c5802e550":
            continue
        assert c.migration is None, f"{c.client} (created line {c.created and c.created.line}) is a virtlogd client"
        assert c.purpose != "dconn"
        assert c is not m.dconn
    assert {c.client for c in outgoing} >= set(VL_SRC_CLIENTS), "every RPC_CLIENT_NEW becomes a connection"
    assert m.outcome == "succeeded" and m.verdict is None


def test_virtlogd_clients_on_destination_not_linked():
    for cl, (new, disp) in VL_DST_CLIENTS.items():
        quote(VL_DST, new, f"RPC_CLIENT_NEW: client={cl}")
    quote(VL_DST, 769, "remoteDispatchDomainMigratePrepare3ParamsHelper:8996 : server=0x55ec4ed40880 client=0x55ec4ed83160")
    a = both("virtlogd-client")
    for c in connections_in(a, VL_DST):
        if c.direction == "outgoing":
            assert c.migration is None and c.purpose != "dconn", c
    d = migrations_in(a, VL_DST, "destination")
    assert len(d) == 1 and d[0].controlling_client == "0x55ec4ed83160"


# ---------------------------------------------------------------------------------------------
# Pointer reuse: every link points at the latest NEW before the line, never across a dispose.
# ---------------------------------------------------------------------------------------------
ALL_LAB = sorted(p.parent.name for p in SAMPLES.glob("*/src-libvirtd.log"))


def _check_lifetimes(a, path):
    """For every connection created in `path`: it is the object its pointer names at each of
    its evidence lines (latest NEW before, no DISPOSE in between), and every death, tick and
    pointer-carrying evidence line lies within created..disposed."""
    problems = []
    for c in connections_in(a, path):
        if c.created is None or c.client is None:
            continue
        if not same_file(c.created.path, path if str(path).startswith("/") else SAMPLES / path):
            continue
        life = [lt for lt in lifetimes(path, c.client) if lt[0] == c.created.line]
        if not life:
            problems.append(f"{c.id}: created at {c.created.line}, which is no NEW of {c.client}")
            continue
        new, disp = life[0]
        if c.disposed is not None and c.disposed.line != disp:
            problems.append(f"{c.id} ({c.client}, NEW {new}): disposed at {c.disposed.line}, log says {disp}")
        lines = [e.line for e in c.evidence if "virConnectOpen" not in e.text]
        lines += [t.line for t in c.ticks]
        for ln in lines:
            if ln < new or (disp is not None and ln > disp):
                problems.append(f"{c.id} ({c.client}, lives {new}..{disp}): evidence line {ln} outside its life")
        for e in c.evidence:
            if "virConnectOpen" in e.text and e.line > new:
                problems.append(f"{c.id}: opening line {e.line} after its creation {new}")
    for d in on_path(a.keepalive_deaths, path):
        if d.connection is None or d.client is None:
            continue
        want = live_object_at(path, d.client, d.line)
        got = d.connection.created.line if d.connection.created else None
        if want is None:
            if got is not None:
                problems.append(f"death {d.line}: no live {d.client} there, linked to NEW {got}")
        elif got != want[0]:
            problems.append(f"death {d.line}: {d.client} is NEW {want[0]} there, linked to {got}")
    return problems


def on_path(objs, path):
    return on(objs, path)


@pytest.mark.parametrize("sc", ALL_LAB)
def test_no_link_crosses_a_dispose(sc):
    a = both(sc)
    problems = _check_lifetimes(a, _src(sc)) + _check_lifetimes(a, _dst(sc))
    assert not problems, "\n".join(problems[:20])


def _server_conn_of(a, mig):
    cs = [c for c in a.connections if c.direction == "incoming" and c.migration == mig.id]
    assert len(cs) == 1, [(c.id, c.client) for c in cs]
    return cs[0]


@pytest.mark.parametrize("sc", [s for s in ALL_LAB if (SAMPLES / s / "dst-libvirtd.log").exists()])
def test_destination_prepare_binds_the_live_server_client(sc):
    """The Prepare call's `client=` means the latest RPC_SERVER_CLIENT_NEW before it."""
    a = both(sc)
    for d in migrations_in(a, _dst(sc), "destination"):
        if d.controlling_client is None:
            continue
        want = live_object_at(_dst(sc), d.controlling_client, d.started.line)
        assert want is not None
        c = _server_conn_of(a, d)
        assert c.created.line == want[0]


def test_reused_server_client_v11_3_domjobabort():
    """v11.3-domjobabort EXPECTED.md: on the destination, 0x55e07bf5d290 was first a short
    `virsh list` connection (NEW 584, DISPOSE 882), then reused for the dconn (NEW 894)."""
    D = "v11.3-domjobabort/dst-libvirtd.log"
    quote(D, 584, "RPC_SERVER_CLIENT_NEW: client=0x55e07bf5d290 sock=0x55e07bf498f0")
    quote(D, 882, "RPC_SERVER_CLIENT_DISPOSE: client=0x55e07bf5d290")
    quote(D, 894, "RPC_SERVER_CLIENT_NEW: client=0x55e07bf5d290 sock=0x55e07bf498f0")
    quote(D, 1197, "remoteDispatchDomainMigratePrepare3ParamsHelper:9162 : server=0x55e07bf4a770 client=0x55e07bf5d290")
    quote(D, 4978, "RPC_SERVER_CLIENT_DISPOSE: client=0x55e07bf5d290")
    a = both("v11.3-domjobabort")
    objs = [c for c in connections_in(a, D) if c.client == "0x55e07bf5d290"]
    assert sorted((c.created.line, c.disposed.line) for c in objs) == [(584, 882), (894, 4978)]
    d = migrations_in(a, D, "destination")[0]
    server = _server_conn_of(a, d)
    assert server.created.line == 894
    first = [c for c in objs if c.created.line == 584][0]
    assert first.migration is None and first.purpose != "peer-daemon"
    s = migrations_in(a, "v11.3-domjobabort/src-libvirtd.log", "source")[0]
    assert s.dconn.client == "0x7f1814001a50"
    assert s.dconn.peer == server.id, "the source dconn pairs with the dconn's server client (NEW 894), " \
                                      "not with the earlier virsh connection at the same address (NEW 584)"
    assert first.peer is None


def test_reused_server_client_v11_3_domjobabort_clock_offset():
    # src RPC_CLIENT_NEW of the dconn and dst RPC_SERVER_CLIENT_NEW (894) are both at 21:08:27.631
    quote("v11.3-domjobabort/src-libvirtd.log", 4419, "2026-11-25 21:08:27.631+0000: 25527: info : virNetClientNew:311 : RPC_CLIENT_NEW: client=0x7f1814001a50")
    quote("v11.3-domjobabort/dst-libvirtd.log", 894, "2026-11-25 21:08:27.631+0000: 25519: info")
    a = both("v11.3-domjobabort")
    off = a.pairs[0]["clock_offset"]
    assert off is not None and abs(off) < 0.005


def test_reused_server_client_short_keepalive():
    """short-keepalive EXPECTED.md: dst server client 0x56510ff7e270 (the dconn, NEW 776,
    DISPOSE 4232) is reused for an unrelated virsh connection at line 4798."""
    D = "short-keepalive/dst-libvirtd.log"
    quote(D, 776, "RPC_SERVER_CLIENT_NEW: client=0x56510ff7e270")
    quote(D, 4232, "RPC_SERVER_CLIENT_DISPOSE: client=0x56510ff7e270")
    quote(D, 4798, "RPC_SERVER_CLIENT_NEW: client=0x56510ff7e270 sock=0x56510ff504f0")
    quote(D, 5050, "RPC_SERVER_CLIENT_DISPOSE: client=0x56510ff7e270")
    a = both("short-keepalive")
    objs = sorted((c for c in connections_in(a, D) if c.client == "0x56510ff7e270"), key=lambda c: c.created.line)
    assert [(c.created.line, c.disposed.line) for c in objs] == [(776, 4232), (4798, 5050)]
    assert objs[0].migration is not None and objs[1].migration is None
    assert objs[1].peer is None and objs[1].purpose != "peer-daemon"
    # the dst tick at 4161 (countToDeath=3 idle=2) belongs to the first object, and is no death
    quote(D, 4161, "RPC_KEEPALIVE_TIMEOUT: ka=0x56510ff6aab0 client=0x56510ff7e270 countToDeath=3 idle=2")
    assert 4161 in [t.line for t in objs[0].ticks]
    assert deaths_in(a, D) == []


# -- a log made by concatenation --------------------------------------------------------------
@pytest.fixture(scope="module")
def concatenated(tmp_path_factory):
    """Test input made by concatenating two real logs: p2p-keepalive-timeout/src-libvirtd.log,
    then the same log again with every timestamp moved one hour later (as if the daemon ran
    the same scenario again an hour later in the same log file). Every pointer of the first
    run recurs in the second: the dconn client 0x7fd78402e550, its ka, its conn, the server
    clients."""
    rel = _src("p2p-keepalive-timeout")
    first = list(file_lines(rel))
    second = shift_times(first, 3600)
    p = tmp_path_factory.mktemp("concat") / "src-libvirtd.log"
    p.write_text("\n".join(first + second) + "\n")
    return p, len(first), analyzed(str(p))


def test_concatenated_logs_two_migrations_two_dconns(concatenated):
    p, n, a = concatenated
    k = KEEPALIVE["p2p-keepalive-timeout"]
    ms = sorted((m for m in a.migrations if m.role == "source"), key=lambda m: m.started.line)
    assert [m.started.line for m in ms] == [k["api"][0], n + k["api"][0]]
    assert [m.outcome for m in ms] == ["failed", "failed"]
    assert [m.dconn.created.line for m in ms] == [k["new"][0], n + k["new"][0]]
    assert ms[0].dconn is not ms[1].dconn
    assert [m.dconn.disposed.line for m in ms] == [k["dispose"][0], n + k["dispose"][0]]


def test_concatenated_logs_each_death_to_its_own_connection(concatenated):
    p, n, a = concatenated
    k = KEEPALIVE["p2p-keepalive-timeout"]
    ms = sorted((m for m in a.migrations if m.role == "source"), key=lambda m: m.started.line)
    ds = sorted(a.keepalive_deaths, key=lambda d: d.line)
    assert [d.line for d in ds] == [k["death"][0], n + k["death"][0]]
    assert [d.connection.created.line for d in ds] == [k["new"][0], n + k["new"][0]]
    assert [d.migration for d in ds] == [ms[0].id, ms[1].id]


def test_concatenated_logs_no_link_crosses_a_dispose(concatenated):
    p, n, a = concatenated
    problems = _check_lifetimes(a, str(p))
    assert not problems, "\n".join(problems[:20])


# ---------------------------------------------------------------------------------------------
# When evidence is missing
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rpc_filtered(tmp_path_factory):
    """A `3:rpc`-filtered log made from the real p2p-keepalive-timeout/src-libvirtd.log: every
    record with an `RPC_*` probe (RPC_CLIENT_NEW, RPC_KEEPALIVE_*, RPC_SERVER_CLIENT_*, ...)
    and every debug/info record of the rpc category (functions virNet*, virKeepAlive*:
    virNetClientCloseLocked ... reason=2, virKeepAliveTimerInternal, ...) is dropped; errors
    and warnings stay (`3:` keeps them), as do `virConnectOpenAuth`, `virConnectSetKeepAlive`
    and the qemu driver lines."""
    text, dropped = rpc_filtered_text(_src("p2p-keepalive-timeout"))
    assert "RPC_" not in text and dropped > 2000
    assert "virNetClientCloseLocked" not in text
    p = tmp_path_factory.mktemp("rpcfilter") / "src-libvirtd.log"
    p.write_text(text)
    lines = text.splitlines()
    find = lambda s: [i for i, ln in enumerate(lines, 1) if s in ln]
    err = find("internal error: connection closed due to keepalive timeout")
    cb = find("qemuMigrationSrcConnectionClosed:5813 : conn=0x5602cad66b90, reason=2, vm=tiny")
    assert len(err) == 1 and len(cb) == 1
    return p, err[0], cb[0], analyzed(str(p))


def test_rpc_filtered_death_still_found(rpc_filtered):
    p, err, cb, a = rpc_filtered
    assert len(a.keepalive_deaths) == 1
    d = a.keepalive_deaths[0]
    assert d.line == err
    assert cb in [e.line for e in d.evidence], "qemuMigrationSrcConnectionClosed ... reason=2 links it"


def test_rpc_filtered_death_linked_to_migration_via_close_callback(rpc_filtered):
    p, err, cb, a = rpc_filtered
    d = a.keepalive_deaths[0]
    ms = [m for m in a.migrations if m.role == "source"]
    assert len(ms) == 1 and ms[0].domain == "tiny" and ms[0].outcome == "failed"
    assert d.migration == ms[0].id
    assert d.connection is not None and d.connection.conn == "0x5602cad66b90"
    assert ms[0].dconn is d.connection
    assert d.connection.uri == KEEPALIVE["p2p-keepalive-timeout"]["uri"]
    assert (d.connection.keepalive_interval, d.connection.keepalive_count) == (5, 5)


def test_rpc_filtered_lower_confidence_and_says_why(rpc_filtered):
    p, err, cb, a = rpc_filtered
    d = a.keepalive_deaths[0]
    assert d.confidence in ("medium", "low")
    notes = " ".join(d.notes + (d.connection.notes if d.connection else []))
    assert "RPC probes are filtered" in notes


def test_real_rpc_filtered_sample():
    R = "rpc-filtered-keepalive/src-libvirtd.log"
    quote(R, 16030, "error : virKeepAliveTimerInternal:134 : internal error: connection closed due to keepalive timeout")
    quote(R, 16035, "qemuMigrationSrcConnectionClosed:5813 : conn=0x7f9d900322b0, reason=2, vm=tiny")
    quote(R, 12778, "virConnectOpenAuth:1269 : name=qemu+unix:///session?socket=/tmp/vlab-extra/dst/run/libvirt/libvirt-sock")
    quote(R, 12818, "virConnectSetKeepAlive:1423 : conn=0x7f9d900322b0, interval=5, count=5")
    assert not any("RPC_" in ln for ln in file_lines(R))
    for a in (src("rpc-filtered-keepalive"), both("rpc-filtered-keepalive")):
        ds = deaths_in(a, R)
        assert [d.line for d in ds] == [16030]
        d = ds[0]
        m = migrations_in(a, R, "source")[0]
        assert d.migration == m.id and m.domain == "tiny" and m.outcome == "failed"
        assert d.connection is not None and d.connection.conn == "0x7f9d900322b0"
        assert (d.connection.keepalive_interval, d.connection.keepalive_count) == (5, 5)
        assert 16035 in [e.line for e in d.evidence]
        assert d.confidence != "high"
        assert "RPC probes are filtered" in " ".join(d.notes)


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """The real p2p-keepalive-timeout/src-libvirtd.log from line 4000 on (a rotated or
    sos-tailed log): the dconn was opened (3812), created (3843) and given keepalive (3921)
    before it starts; Perform3, the ticks, the death (6280) and the close are inside."""
    p = tmp_path_factory.mktemp("trunc") / "src-libvirtd.log"
    p.write_text(truncated_text(_src("p2p-keepalive-timeout"), 4000))
    return p, 3999, analyzed(str(p))


def test_truncated_death_created_before_log_starts(truncated):
    p, off, a = truncated
    assert [d.line for d in a.keepalive_deaths] == [6280 - off]
    d = a.keepalive_deaths[0]
    assert d.client == "0x7fd78402e550" and d.idle == 30
    assert d.connection is not None and d.connection.created is None
    notes = " ".join(d.notes + d.connection.notes)
    assert "created before this log starts" in notes
    assert d.confidence != "high"


def test_truncated_death_never_linked_to_a_wrong_object(truncated):
    p, off, a = truncated
    d = a.keepalive_deaths[0]
    for c in a.connections:
        if c is not d.connection and c.client == "0x7fd78402e550":
            pytest.fail(f"another connection object for the dead pointer: {c}")
    # no connection created inside the log may carry the dead client's evidence
    assert all(c.created is None for c in a.connections if c.client == d.client)
    if d.migration is not None:
        m = next(m for m in a.migrations if m.id == d.migration)
        assert m.domain == "tiny" and m.role == "source"
    # a connection whose opening is not in the log cannot be called daemon-internal
    assert d.owner != "internal" and d.connection.purpose != "internal"


def test_truncated_log_still_shows_the_failed_migration(truncated):
    """After line 4000 the log still has `Setting 'migration out' phase to 'perform3'` (4061),
    the death and `qemuMigrationSrcConnectionClosed: conn=0x5602cad66b90, reason=2, vm=tiny`
    (6289), `Lost connection to destination host` (6293), `confirm3_cancelled` (6341) and
    `Stopping async job: migration out (... name=tiny)` (6377): a failed outgoing migration
    of tiny, killed by that death."""
    rel = _src("p2p-keepalive-timeout")
    quote(rel, 4061, "Setting 'migration out' phase to 'perform3'")
    quote(rel, 6293, "operation failed: Lost connection to destination host")
    quote(rel, 6377, "Stopping async job: migration out (vm=0x7fd784004840 name=tiny)")
    p, off, a = truncated
    ms = [m for m in a.migrations if m.role == "source" and m.domain == "tiny"]
    assert len(ms) == 1, a.migrations
    assert ms[0].outcome == "failed"
    assert a.keepalive_deaths[0].migration == ms[0].id


# ---------------------------------------------------------------------------------------------
# client-managed (non-p2p) migrations have no dconn
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sc", ["nonp2p-ok", "client-keepalive-nonp2p", "client-keepalive-nonp2p-late"])
def test_nonp2p_source_has_no_dconn(sc):
    """EXPECTED.md: 'There is no dconn in this mode ... virDomainMigratePerform3Params has
    dconnuri=<null>'. A later `virConnectOpenAuth name=qemu:///session` in a worker thread
    (another client opening the local driver) is not the migration's destination connection."""
    rel = _src(sc)
    perform = [ln for ln in file_lines(rel) if "virDomainMigratePerform3Params:" in ln and "dconnuri=" in ln]
    assert perform and all("dconnuri=<null>" in ln for ln in perform)
    for a in (src(sc), both(sc)):
        m = migrations_in(a, rel, "source")
        assert len(m) == 1
        m = m[0]
        assert m.mode == "client-managed native" and not m.p2p
        assert m.dconn is None
        assert m.dconnuri in (None, "<null>"), f"dconnuri taken from an unrelated line: {m.dconnuri!r}"
        assert m.dconn_open is None
        assert not [e for e in m.evidence if "virConnectOpen" in e.text]


@pytest.mark.parametrize("sc", ["nonp2p-ok", "client-keepalive-nonp2p-late", "client-keepalive-nonp2p", "tunnelled-ok",
                                "dst-qemu-killed", "domain-exists", "p2p-ok", "domjobabort", "dst-daemon-killed"])
def test_clock_offset_is_near_zero_when_shown(sc):
    # src and dst ran on one machine (same clock): any estimate must be close to 0
    a = both(sc)
    for p in a.pairs:
        if p["clock_offset"] is not None:
            assert abs(p["clock_offset"]) < 1.0, p


# ---------------------------------------------------------------------------------------------
# Evidence is real, objects are complete
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sc", ALL_LAB)
def test_every_object_evidence_is_the_real_line(sc):
    a = both(sc)
    bad = []
    objs = list(a.connections) + list(a.keepalive_deaths) + list(a.migrations)
    for o in objs:
        for e in o.evidence:
            real = file_lines(e.path)[e.line - 1]
            text = e.text[:-len(" [...]")] if e.text.endswith(" [...]") else e.text
            if not real.startswith(text) and text not in real:
                bad.append(f"{e.path}:{e.line}: {e.text[:80]!r} != {real[:80]!r}")
    assert not bad, "\n".join(bad[:10])


def test_close_keeps_the_objects_and_drops_the_live_maps():
    """At the end of the stream the pointer and per-thread maps are dropped (memory, and what a
    scan worker sends back); the objects they pointed at stay in the lists."""
    a = src("p2p-keepalive-timeout")
    hc = a.hosts[0].correlator
    assert a.migrations and a.keepalive_deaths and a.connections
    assert hc.live is None and hc._last_rec is None
    # the objects the live maps pointed at are still reachable from the results
    assert a.keepalive_deaths[0].connection in a.connections


def test_no_death_from_ticks_alone():
    """lock-timeout/src-libvirtd.log has 10 RPC_KEEPALIVE_TIMEOUT ticks (countToDeath=5) and
    no countToDeath=0: no death."""
    L = "lock-timeout/src-libvirtd.log"
    ticks = [ln for ln in file_lines(L) if "countToDeath=" in ln]
    assert len(ticks) == 10 and not [t for t in ticks if "countToDeath=0 " in t]
    a = src("lock-timeout")
    assert a.keepalive_deaths == []
    assert not [f for f in a.findings if "keepalive" in f.cause]


def test_ticks_recorded_on_their_connection():
    """Issue 3: keepalive objects record every tick. lock-timeout/src-libvirtd.log: 5 ticks on
    virsh's server client 0x557e04c42270 (lines 4039 ... 4466) and 5 on 0x557e04c42380."""
    L = "lock-timeout/src-libvirtd.log"
    quote(L, 4039, "RPC_KEEPALIVE_TIMEOUT: ka=0x557e04c2eab0 client=0x557e04c42270 countToDeath=5 idle=5")
    quote(L, 4084, "RPC_KEEPALIVE_TIMEOUT: ka=0x557e04c2eb50 client=0x557e04c42380 countToDeath=5 idle=5")
    a = src("lock-timeout")
    per = {c.client: len(c.ticks) for c in a.connections if c.client in ("0x557e04c42270", "0x557e04c42380")}
    assert per == {"0x557e04c42270": 5, "0x557e04c42380": 5}


def test_dst_daemon_killed_close_reason_eof():
    S = "dst-daemon-killed/src-libvirtd.log"
    lines = [i for i, ln in enumerate(file_lines(S), 1)
             if "virNetClientCloseLocked" in ln and "client=0x7f9ab802f550" in ln]
    assert lines and "reason=1" in file_lines(S)[lines[0] - 1]
    a = src("dst-daemon-killed")
    m = migrations_in(a, S, "source")[0]
    assert m.dconn.client == "0x7f9ab802f550" and m.dconn.conn == "0x7f9ab8031210"
    assert m.dconn.close_reason == 1
    assert a.keepalive_deaths == []


# ---------------------------------------------------------------------------------------------
# API: loganalyzer.analyze and the DataFrames
# ---------------------------------------------------------------------------------------------
def test_package_exports_analyze():
    """Issue 3 API: `loganalyzer.analyze(paths) -> Analysis`."""
    import loganalyzer
    assert callable(getattr(loganalyzer, "analyze", None)), "loganalyzer.analyze is not exported"


def test_frames_migrations():
    a = both("p2p-keepalive-timeout")
    df = a.frames.migrations
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    s = df[df.role == "source"].iloc[0].to_dict()
    assert (s["domain"], s["uuid"], s["outcome"]) == ("tiny", UUID, "failed")
    assert (s["dconn_client"], s["dconn_conn"], s["dconn_ka"]) == ("0x7fd78402e550", "0x5602cad66b90", "0x5602cad67830")
    assert s["line"] == 3780 and s["mode"] == "peer-to-peer native"
    assert set(s["flags"].split(",")) == {"live", "peer2peer"}
    assert str(s["start"]).startswith("2026-11-25 20:29:23.367")
    d = df[df.role == "destination"].iloc[0].to_dict()
    assert d["peer"] == s["id"] and s["peer"] == d["id"]


def test_frames_connections():
    a = src("p2p-keepalive-timeout")
    df = a.frames.connections
    assert isinstance(df, pd.DataFrame)
    rows = df[df.client == "0x7fd78402e550"]
    assert len(rows) == 1
    r = rows.iloc[0].to_dict()
    assert (r["direction"], r["purpose"], r["conn"], r["ka"]) == ("outgoing", "dconn", "0x5602cad66b90", "0x5602cad67830")
    assert (r["created_line"], r["disposed_line"], r["close_reason"]) == (3843, 6373, "keepalive")
    assert (r["keepalive_interval"], r["keepalive_count"], r["ticks"]) == (5, 5, 6)
    assert r["uri"] == KEEPALIVE["p2p-keepalive-timeout"]["uri"]
    # every RPC_CLIENT_NEW / RPC_SERVER_CLIENT_NEW of the log is one row
    n_new = sum(1 for ln in file_lines(_src("p2p-keepalive-timeout")) if "CLIENT_NEW: client=" in ln)
    assert len(df[df.created_line.notna()]) == n_new


def test_frames_keepalive_deaths():
    a = src("client-sigstop")
    df = a.frames.keepalive_deaths
    assert isinstance(df, pd.DataFrame) and len(df) == 1
    r = df.iloc[0].to_dict()
    assert (r["line"], r["client"], r["idle"], r["owner"], r["direction"], r["created_line"]) == \
        (1348, "0x56523e331160", 30, "management", "incoming", 512)
    assert r["migration"] is None or pd.isna(r["migration"])
    a = src("p2p-keepalive-timeout")
    r = a.frames.keepalive_deaths.iloc[0].to_dict()
    assert (r["line"], r["owner"], r["created_line"], r["tid"]) == (6280, "dconn", 3843, 13681)
    assert str(r["time"]).startswith("2026-11-25 20:29:53.72")


def test_frames_threads():
    a = src("p2p-keepalive-timeout")
    df = a.frames.threads
    assert isinstance(df, pd.DataFrame)
    w = df[df.tid == 13693]
    assert len(w) == 1
    assert "remoteDispatchDomainMigratePerform3Params" in list(w.iloc[0].apis)   # line 3779
    quote(_src("p2p-keepalive-timeout"), 3779, "13693: debug : remoteDispatchDomainMigratePerform3ParamsHelper")
    assert len(df[df.tid == 13681]) == 1                                          # the event loop
    assert df.tid.is_unique


def test_threads_jobs_from_virThreadJob_lines():
    """rpc-filtered-keepalive logs `Thread 19923 (rpc-libvirtd) is now running job
    remoteDispatchDomainMigratePerform3Params` (12718) and `finished job ... with ret=-1` (16205)."""
    R = "rpc-filtered-keepalive/src-libvirtd.log"
    quote(R, 12718, "Thread 19923 (rpc-libvirtd) is now running job remoteDispatchDomainMigratePerform3Params")
    quote(R, 16205, "Thread 19923 (rpc-libvirtd) finished job remoteDispatchDomainMigratePerform3Params with ret=-1")
    a = src("rpc-filtered-keepalive")
    th = [t for t in a.threads if t.tid == 19923]
    assert len(th) == 1 and th[0].worker == "rpc-libvirtd"
    jobs = [j for j in th[0].jobs if j["api"] == "remoteDispatchDomainMigratePerform3Params" and j.get("line") == 12718]
    assert len(jobs) == 1 and jobs[0]["ret"] == -1
    m = migrations_in(a, R, "source")[0]
    assert m.tid == 19923
