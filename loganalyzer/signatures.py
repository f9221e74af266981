"""Which libvirt function wrote a bare message (journal text has no function, level or thread).

`journalctl -o short-precise` of libvirt's journald output shows only the message.  The lines
the correlator reads by function are written by a few dozen functions whose format strings
are distinctive: each is recognised here by the shape of its message, so the record can carry
the function (and level) it carries in the file log.  The formats below are libvirt's own log
formats (its VIR_DEBUG/VIR_WARN strings, libvirt 7.0, 9.0 and 11.3; the field guide lists
them), turned into patterns: %p is a pointer or (nil), %s any text, %d a number.

Two kinds of lines are not told apart by their text alone:
  - the later lines of a migration API (`params["key"]=(type)value` of every *Params API,
    Begin3's `xml %s`, a client's `Using migration protocol N`): they belong to the migration
    API whose entry line came last in the same daemon's stream (one Recogniser per stream
    remembers it);
  - `server=%p client=%p msg=%p rerr=%p args=%p ret=%p`, the line of every generated
    remoteDispatch*Helper: the call's name is not in it; it is given the function name
    DISPATCH_UNNAMED, and the correlator reads it as a dispatch of an unknown call.
A message that matches nothing keeps no function.
"""
from __future__ import annotations

import re

# (function, level, format) - level None: debug (or the level a message's error prefix shows)
FORMATS = (
    # connections and keepalive
    ("virConnectOpenAuth", None, "name=%s, auth=%p, flags=0x%x"),
    ("virConnectOpen", None, "name=%U"),
    ("virConnectSetKeepAlive", None, "conn=%p, interval=%d, count=%u"),
    ("virKeepAliveNew", None, "client=%p, interval=%d, count=%u"),
    ("virNetClientCloseLocked", None, "client=%p, sock=%p, reason=%d"),
    ("virNetServerClientCloseLocked", None, "client=%p"),
    ("virNetServerProgramSendError", None, "prog=%d ver=%d proc=%d type=%d serial=%u msg=%p rerr=%p"),
    # public API entry lines of migrations (VIR_DOMAIN_DEBUG puts "dom=%p, (VM: ...)" first)
    ("virDomainMigratePerform3Params", None,
     "%D, dconnuri=%s, params=%p, nparams=%d, cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, flags=0x%x"),
    ("virDomainMigratePerform3", None,
     "%D, xmlin=%s cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, dconnuri=%s, uri=%s, "
     "flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigratePerform", None, "%D, cookie=%p, cookielen=%d, uri=%s, flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigrateBegin3Params", None,
     "%D, params=%p, nparams=%d, cookieout=%p, cookieoutlen=%p, flags=0x%x"),
    ("virDomainMigrateBegin3", None, "%D, xmlin=%s cookieout=%p, cookieoutlen=%p, flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigrateConfirm3Params", None,
     "%D, params=%p, nparams=%d, cookiein=%p, cookieinlen=%d, flags=0x%x, cancelled=%d"),
    ("virDomainMigrateConfirm3", None, "%D, cookiein=%p, cookieinlen=%d, flags=0x%x, cancelled=%d"),
    ("virDomainMigratePrepare3Params", None,
     "dconn=%p, params=%p, nparams=%d, cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, "
     "uri_out=%p, flags=0x%x"),
    ("virDomainMigratePrepare3", None,
     "dconn=%p, cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, uri_in=%s, uri_out=%p, "
     "flags=0x%x, dname=%s, bandwidth=%d, dom_xml=%s"),
    ("virDomainMigratePrepare2", None,
     "dconn=%p, cookie=%p, cookielen=%p, uri_in=%s, uri_out=%p,flags=0x%x, dname=%s, bandwidth=%d, dom_xml=%s"),
    ("virDomainMigratePrepare", None,
     "dconn=%p, cookie=%p, cookielen=%p, uri_in=%s, uri_out=%p, flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigratePrepareTunnel3Params", None,
     "conn=%p, stream=%p, params=%p, nparams=%d, cookiein=%p, cookieinlen=%d, cookieout=%p, "
     "cookieoutlen=%p, flags=0x%x"),
    ("virDomainMigratePrepareTunnel3", None,
     "conn=%p, stream=%p, cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, flags=0x%x, "
     "dname=%s, bandwidth=%d, dom_xml=%s"),
    ("virDomainMigratePrepareTunnel", None, "conn=%p, stream=%p, flags=0x%x, dname=%s, bandwidth=%d, dom_xml=%s"),
    ("virDomainMigrateFinish3Params", None,
     "dconn=%p, params=%p, nparams=%d, cookiein=%p, cookieinlen=%d, cookieout=%p, cookieoutlen=%p, "
     "flags=0x%x, cancelled=%d"),
    ("virDomainMigrateFinish3", None,
     "dconn=%p, dname=%s, cookiein=%p, cookieinlen=%d, cookieout=%p,cookieoutlen=%p, dconnuri=%s, uri=%s, "
     "flags=0x%x, retcode=%d"),
    ("virDomainMigrateToURI3", None, "%D, dconnuri=%s, params=%p, nparms=%u flags=0x%x"),
    ("virDomainMigrateToURI2", None, "%D, dconnuri=%s, miguri=%s, dxml=%s, flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigrateToURI", None, "%D, duri=%s, flags=0x%x, dname=%s, bandwidth=%d"),
    ("virDomainMigrate3", None, "%D, dconn=%p, params=%p, nparms=%u flags=0x%x"),
    # (virDomainMigrate writes the same line: both are a client's migrate call)
    ("virDomainMigrate2", None, "%D, dconn=%p, flags=0x%x, dname=%s, uri=%s, bandwidth=%d"),
    # qemu driver, source side
    # (xmlin= may hold a domain XML over many lines: the first keys are enough to tell them apart)
    ("qemuMigrationSrcPerformPeer2Peer", None, "driver=%p, sconn=%p, vm=%p, xmlin=%*"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "driver=%p, sconn=%p, dconn=%p, dconnuri=%s, vm=%p, xmlin=%*"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "Prepare3 %p"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "Perform3 %p uri=%s"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "Finish3 %p ret=%d"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "Confirm3 %p cancelled=%d vm=%p"),
    ("qemuMigrationSrcPerformPeer2Peer3", None, "Offline migration, skipping Perform phase"),
    ("qemuMigrationSrcPerformPeer2Peer3", "warning", "Guest %s probably left in 'paused' state on source"),
    ("qemuMigrationSrcPerformPeer2Peer2", None, "driver=%p, sconn=%p, dconn=%p, vm=%p, dconnuri=%s, flags=0x%x, %*"),
    ("qemuMigrationSrcPerformPeer2Peer2", None, "Prepare2 %p"),
    ("qemuMigrationSrcPerformPeer2Peer2", None, "Perform %p"),
    ("qemuMigrationSrcPerformPeer2Peer2", None, "Finish2 %p ret=%d"),
    ("qemuMigrationSrcPerform", None, "driver=%p, conn=%p, vm=%p, xmlin=%*"),
    ("qemuMigrationSrcConnectionClosed", None, "conn=%p, reason=%d, vm=%s"),
    ("qemuMigrationAnyConnectionClosed", None, "vm=%s, conn=%p, asyncJob=%s, phase=%s"),
    ("qemuMigrationAnyConnectionClosed", None, "Aborting outgoing migration after Begin phase"),
    ("qemuMigrationAnyConnectionClosed", None, "Connection closed while resuming failed post-copy migration"),
    ("qemuMigrationAnyConnectionClosed", None, "Migration protocol interrupted in post-copy mode"),
    ("qemuMigrationAnyConnectionClosed", "warning", "The connection which controls migration of domain %s was closed"),
    ("qemuMigrationAnyConnectionClosed", "warning",
     "Migration of domain %s finished but we don't know if the domain was successfully started on "
     "destination or not"),
    ("qemuMigrationSrcCancel", None, "Cancelling outgoing migration of domain %s"),
    ("qemuMigrationSrcCancel", None, "Canceling unfinished outgoing migration of domain %s"),
    ("qemuMigrationSrcCancel", None, "Waiting for migration to be canceled"),
    # qemu driver, destination side
    ("qemuMigrationDstPrepareFresh", None,
     "name=%s, origname=%s, protocol=%s, port=%d, listenAddress=%s, %*"),
    ("qemuMigrationDstPrepareFresh", None, "Migrate hook filter returned nothing; using the original XML"),
    ("qemuMigrationDstPrepareFresh", None, "Using hook-filtered domain XML: %*"),
    ("qemuMigrationDstPrepareFresh", "warning", "Unable to encode migration cookie"),
    # monitor, QEMU migration status and the QEMU process's end
    ("qemuDomainObjEnterMonitorInternal", None, "Entering monitor (mon=%p vm=%p name=%s)"),
    ("qemuDomainObjEnterMonitorInternal", "warning", "Entering a monitor without owning a job. %*"),
    ("qemuDomainObjEnterMonitorInternal", "warning",
     "This thread seems to be the async job owner; entering monitor without asking for a nested job is dangerous"),
    ("qemuDomainObjEnterRemote", None, "Entering remote (vm=%p name=%s)"),
    ("qemuProcessHandleMigrationStatus", None, "Migration of domain %p %s changed state to %s"),
    ("qemuProcessHandleMigrationStatus", None, "Correcting paused state reason for domain %s to %s"),
    ("qemuProcessHandleMigrationStatus", None, "Post-copy migration recovered; correcting state for domain %*"),
    ("qemuProcessHandleMigrationStatus", None, "got MIGRATION event without a migration job"),
    ("qemuProcessHandleMigrationStatus", "warning", "Unable to save status on vm %s after state change"),
    ("qemuProcessHandleMigrationPass", None, "Migrating domain %p %s, iteration %d"),
    ("qemuProcessHandleMigrationPass", None, "got MIGRATION_PASS event without a migration job"),
    ("qemuProcessStop", None, "Shutting down vm=%p name=%s id=%d pid=%d, reason=%s, asyncJob=%s, flags=0x%x"),
    ("qemuProcessHandleMonitorEOF", None, "Received EOF on %p '%s'"),
    ("qemuProcessHandleMonitorEOF", None, "Domain is being destroyed, EOF is expected"),
    ("processMonitorEOFEvent", None, "Monitor connection to '%s' closed without SHUTDOWN event; assuming the domain crashed"),
    ("processMonitorEOFEvent", None, "Domain %p '%s' is not active, ignoring EOF"),
    ("processMonitorEOFEvent", None, "Domain %s was restarted, ignoring EOF"),
    # (its first line, "vm=%s, conn=%p", is also qemuProcessAutoDestroyAdd's: not recognised)
    ("qemuProcessAutoDestroy", None, "vm=%s has long-term job active, cancelling"),
    ("qemuProcessAutoDestroy", None, "Killing domain"),
    ("qemuDomainObjTaintMsg", "warning", "Domain id=%d name='%s' uuid=%s is tainted: %s"),
    # (qemuDomainObjBeginJobInternal before libvirt 8.x)
    ("virDomainObjBeginJobInternal", "warning", "Cannot start job (%s) in API %s for domain %s; %*"),
)

DISPATCH_UNNAMED = "remoteDispatchHelper"
DISPATCH_FORMAT = "server=%p client=%p msg=%p rerr=%p args=%p ret=%p"

_PIECES = {
    "%p": r"(?:0x[0-9a-fA-F]+|\(nil\))",
    "%s": r"[^\n]*?",
    "%u": r"[0-9]+",
    "%U": r"[a-z][a-z0-9+.-]*:/[^\n]*",      # (virConnectOpen's name=: a URI, not any word)
    "%d": r"-?[0-9]+",
    "%x": r"[0-9a-fA-F]+",
    "%D": r"dom=(?:0x[0-9a-fA-F]+|\(nil\)), \(VM: name=[^\n]*, uuid=[0-9a-fA-F-]*\)",
    "%*": r"[^\n]*",
}
_TOKEN = re.compile(r"%[psudxUD*]")


def format_pattern(fmt: str) -> str:
    """The regular expression of a format string's messages, without its end (RE2 and re read
    it the same way: the fast route for journal text uses it as a prefix)."""
    out, pos = [], 0
    for m in _TOKEN.finditer(fmt):
        out.append(re.escape(fmt[pos:m.start()]))
        out.append(_PIECES[m.group()])
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    return "".join(out)


def _pattern(fmt: str) -> re.Pattern:
    return re.compile(format_pattern(fmt) + r"(?:\n|$)")


_WORD = re.compile(r"[A-Za-z_]*")


def _first_word(s: str) -> str:
    return _WORD.match(s).group()


# formats indexed by the message's first word, so a message is tried against a few only; their
# patterns compiled when a message first starts with the word (a file-format log needs none of
# them: compiling them all took a tenth of analyze's start-up)
_FORMATS_BY_WORD: dict = {}
for _func, _level, _fmt in FORMATS:
    _FORMATS_BY_WORD.setdefault(_first_word(_fmt.replace("%D", "dom=")), []).append((_fmt, _func, _level))
_INDEX: dict = {}           # word -> [(pattern, function, level)], of the words met so far


def _patterns_of(word: str):
    got = _INDEX.get(word)
    if got is None:
        formats = _FORMATS_BY_WORD.get(word)
        if formats is None:
            return ()
        got = _INDEX[word] = [(_pattern(fmt), func, level) for fmt, func, level in formats]
    return got


_DISPATCH = _pattern(DISPATCH_FORMAT)
# (no format of a function starts with the dispatch line's first word: it is told at once)
_DISPATCH_ALONE = "server" not in _FORMATS_BY_WORD
_MIGRATE_APIS = frozenset(f for f, _, _ in FORMATS if f.startswith("virDomainMigrate"))
# lines a migration API writes after its entry line: its typed parameters, the domain XML of
# Begin3, the protocol chosen by a client's virDomainMigrate*
_API_LATER_LINES = ("params[", "xml ", "Using migration protocol ", "Using peer2peer migration")


class Recogniser:
    """Recognises the functions of one daemon's bare messages, in order (it remembers the last
    *Params API entry line for the params[] lines that follow it)."""

    __slots__ = ("params_api",)     # the migration API whose entry line came last

    def __init__(self):
        self.params_api = None

    def recognise(self, message: str):
        """(function, level or None) of a bare message, or None."""
        if message.startswith(_API_LATER_LINES):
            return (self.params_api, None) if self.params_api else None
        if message.startswith("server=") and _DISPATCH_ALONE and _DISPATCH.match(message):
            return DISPATCH_UNNAMED, None       # (the commonest: one a client's call)
        word = _first_word(message)
        for rx, func, level in _patterns_of(word):
            if rx.match(message):
                if func in _MIGRATE_APIS:
                    self.params_api = func
                return func, level
        if word == "server" and _DISPATCH.match(message):
            return DISPATCH_UNNAMED, None
        return None

