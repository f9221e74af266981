#!/usr/bin/env python3
"""Build loganalyzer's generated error catalogue from libvirt's and QEMU's released sources.

Run by hand (as root: it adds a deb-src list and runs apt-get), when a libvirt or QEMU
release should be added; the output is committed as data:

    python tools/catalogue_build.py                    # fetch, read, place, write
    python tools/catalogue_build.py --place-only       # re-apply causes.tsv to the data

What it does:
1. fetch: ``apt-get source --download-only`` of every libvirt and QEMU version the Debian
   source index lists (deb-src lines for bullseye … sid in
   /etc/apt/sources.list.d/loganalyzer-catalogue-src.sources), into --work (default
   /tmp/loganalyzer-catalogue-src), and unpacks the upstream tarballs there.  Versions the
   mirror cannot deliver are reported and skipped.  Sources stay in --work: nothing of them
   is written into the project but the format strings of error messages.
2. read: every virReportError / virReportSystemError / virReportErrorHelper /
   virReportInvalidArg / virCheckFlags / VIR_EXCLUSIVE_FLAGS_* ... (the reporting macros of
   virerror.h and internal.h are expanded) in the files of the migration path
   (LIBVIRT_PATH), and QEMU's error_setg* / error_report / error_prepend in migration/*.c;
   the prefix each VIR_ERR_* code prints (virErrorMsgStrings in virerror.c), the code and
   domain numbers (virterror.h), and the translations of the messages the rules depend on
   (po/*.po).
3. place: the cause of every message from loganalyzer/rules/data/causes.tsv (code + file +
   words → cause); messages no row places are listed in the data and by
   ``python -m loganalyzer.rules.catalogue --coverage --unplaced``.
4. write loganalyzer/rules/data/catalogue.json.gz (deterministic: same sources, same bytes).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import csource  # noqa: E402
from loganalyzer.rules import printf  # noqa: E402
from loganalyzer.rules import causemap, generated  # noqa: E402

DATA = ROOT / "loganalyzer" / "rules" / "data" / "catalogue.json.gz"
SOURCES_LIST = Path("/etc/apt/sources.list.d/loganalyzer-catalogue-src.sources")
SUITES = "bullseye bookworm bookworm-backports trixie trixie-backports forky sid experimental"

# The files (and, for big files, the functions) on the path of a migration, per libvirt
# version layout.  (glob, function regex or None, why)
LIBVIRT_PATH = (
    ("src/qemu/qemu_migration*.c", None, "the migration driver: Begin/Prepare/Perform/Finish/Confirm"),
    ("src/qemu/qemu_process.c", None, "starting the destination QEMU, incoming migration, QEMU's death"),
    ("src/qemu/qemu_domain.c", None, "domain jobs (≤8.x), monitor entry, definition checks at Prepare"),
    ("src/qemu/qemu_domainjob.c", None, "migration job data"),
    ("src/qemu/qemu_namespace.c", None, "the destination QEMU's /dev: disks and devices it needs"),
    ("src/conf/virdomainjob.c", None, "domain jobs (≥8.x): the state change lock"),
    ("src/qemu/qemu_monitor.c", None, "QEMU monitor: commands, EOF"),
    ("src/qemu/qemu_monitor_json.c", None, "QEMU monitor: replies and their errors"),
    ("src/qemu/qemu_driver.c", r"^qemuDomainMigrat|^qemuDomainAbortJob|^qemuDomainGetJob|^qemuConnectOpen",
     "the migration API entry points of the QEMU driver"),
    ("src/libvirt-domain.c", r"^virDomainMigrat|^virDomainAbortJob|^virDomainGetJob",
     "argument checks of the public migration APIs"),
    ("src/libvirt.c", r"^virConnectOpen|^do?ConnectOpen|^virConnectSetKeepAlive",
     "opening the destination connection"),
    ("src/rpc/*.c", None, "RPC: sockets, client, server, keepalive, TLS, SASL, ssh"),
    ("src/remote/*.c", None, "remote driver and daemon dispatch (the dconn and the client)"),
    ("src/cpu/*.c", None, "CPU comparison at Prepare"),
    ("src/storage/storage_driver.c", None, "storage driver (pre-creating volumes)"),
    ("src/storage/storage_util.c", None, "storage driver helpers"),
    ("src/storage_file/*.c", None, "storage files (≥7.x)"),
    ("src/util/virstoragefile.c", None, "storage files (≤7.x)"),
    ("src/util/virfile.c", None, "files"),
    ("src/locking/*.c", None, "lock managers: virtlockd, sanlock"),
    ("src/util/virlockspace.c", None, "virtlockd's lock spaces: leases held elsewhere"),
    ("src/conf/domain_conf.c", r"CheckABIStability|ABIStability",
     "ABI checks between the source's and the destination's domain definition"),
    ("src/conf/virdomainobjlist.c", None, "the destination's domain list: domain exists"),
)
QEMU_PATH = (("migration/*.c", None, "QEMU's migration code"),)

# The messages the rules depend on: their translations are written into the data.
TRANSLATE = (
    "End of file while reading data",
    "End of file while reading data: %s",
    "connection closed due to keepalive timeout",
    "client socket is closed",
    "Lost connection to destination host",
    "Cannot recv data",
    "Cannot write data",
    "Disconnected from %s due to keepalive timeout",
    "Disconnected from %s due to end of file",
    "Unable to read from monitor",
    "End of file from qemu monitor",
    "qemu unexpectedly closed the monitor: %s",
    "QEMU unexpectedly closed the monitor (vm='%s'): %s",
    "cannot acquire state change lock",
    "Migration without shared storage is unsafe",
)
LANGUAGES = ("de", "fr", "es", "ja", "zh_CN", "ru", "pt_BR")

LIBVIRT_LEAVES = {"virReportErrorHelper", "virReportSystemErrorFull", "virRaiseErrorFull"}
QEMU_LEAVES = {"error_setg", "error_setg_errno", "error_setg_file_open", "error_report",
               "error_prepend", "error_propagate_prepend", "error_reportf_err", "warn_report",
               "error_vreport", "error_setg_win32"}


# ------------------------------------------------------------------------------------------
# 1. fetch
# ------------------------------------------------------------------------------------------

def ensure_deb_src(update: bool) -> None:
    text = ("# deb-src only: loganalyzer's tools/catalogue_build.py reads libvirt's and QEMU's\n"
            "# released sources (apt-get source --download-only) for its error catalogue.\n"
            "Types: deb-src\nURIs: http://deb.debian.org/debian\n"
            f"Suites: {SUITES}\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    if not SOURCES_LIST.exists() or SOURCES_LIST.read_text() != text:
        SOURCES_LIST.write_text(text)
        update = True
    if update:
        subprocess.run(["apt-get", "update"], check=False, stdout=subprocess.DEVNULL)


def source_versions(package: str) -> list[str]:
    out = subprocess.run(["apt-cache", "showsrc", package], capture_output=True, text=True).stdout
    return sorted({m.group(1) for m in re.finditer(r"^Version: (\S+)", out, re.M)})


def upstream(version: str) -> str:
    """1:10.0.2+ds-2+deb13u1 → 10.0.2"""
    v = version.split(":", 1)[-1]
    v = v.rsplit("-", 1)[0]
    return re.split(r"[+~]", v)[0]


def fetch(package: str, work: Path) -> dict[str, Path]:
    """Upstream version → unpacked source directory, one per upstream version."""
    work.mkdir(parents=True, exist_ok=True)
    got: dict[str, Path] = {}
    minors: set[str] = set()
    for deb_version in sorted(source_versions(package), key=_vkey, reverse=True):
        up = upstream(deb_version)
        minor = ".".join(up.split(".")[:2])
        if up in got or minor in minors:
            continue   # one release per major.minor: the newest the index lists
        tarballs = sorted(work.glob(f"{package}_{up}*.orig.tar.*"))
        tarballs = [t for t in tarballs if not t.name.endswith(".asc")]
        if not tarballs:
            r = subprocess.run(["apt-get", "source", "--download-only", f"{package}={deb_version}"],
                               cwd=work, capture_output=True, text=True)
            tarballs = [t for t in sorted(work.glob(f"{package}_{up}*.orig.tar.*")) if not t.name.endswith(".asc")]
            if not tarballs:
                why = [ln for ln in r.stderr.splitlines() if "Failed to fetch" in ln or ln.startswith("E:")]
                print(f"  {package} {deb_version}: not delivered by the mirror "
                      f"({(why or ['?'])[0][:160]})", file=sys.stderr)
                continue
        d = _unpack(tarballs[0], work, package)
        if d is not None:
            got[_version_of(package, d, up)] = d
            minors.add(minor)
            print(f"  {package} {deb_version}: {d}", file=sys.stderr)
    return got


def _unpack(tarball: Path, work: Path, package: str) -> Path | None:
    with tarfile.open(tarball) as tf:
        names = tf.getnames()
        top = names[0].split("/")[0]
        dest = work / top
        if not dest.exists():
            if package == "qemu":   # only what is read: migration/ and the QERR_ texts
                members = [m for m in tf.getmembers()
                           if re.match(r"[^/]+/(migration/|include/qapi/qmp/qerror\.h|VERSION$)", m.name)]
            else:
                members = [m for m in tf.getmembers() if re.match(r"[^/]+/(src/|include/|po/|VERSION)", m.name)]
            tf.extractall(work, members=members, filter="data")
    return dest


def _version_of(package: str, d: Path, fallback: str) -> str:
    if package == "qemu" and (d / "VERSION").exists():
        return (d / "VERSION").read_text().strip()
    m = re.search(r"(\d+\.\d+\.\d+)$", d.name)
    return m.group(1) if m else fallback


def _vkey(v: str):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.:+~-]", v)]


# ------------------------------------------------------------------------------------------
# 2. read
# ------------------------------------------------------------------------------------------

@dataclass
class Site:
    """One reporting call in one version."""
    origin: str             # libvirt | qemu
    version: str
    file: str
    function: str | None
    line: int
    code: str               # VIR_ERR_* (libvirt) or the QEMU call (error_setg, error_report, ...)
    domain: str             # VIR_FROM_* of the file (libvirt)
    format: str | None      # None: the text is not a literal (passed through from elsewhere)
    system: bool = False    # strerror is appended (virReportSystemError, error_setg_errno)
    prepend: bool = False   # QEMU error_prepend: the text is followed by another error
    via: list[str] = field(default_factory=list)


def path_files(src: Path, path_table) -> list[tuple[Path, str | None]]:
    out = []
    for pattern, func_re, _why in path_table:
        for f in sorted(src.glob(pattern)):
            if f.is_file():
                out.append((f, func_re))
    return out


def header_macros(src: Path) -> dict[str, csource.Macro]:
    macros: dict[str, csource.Macro] = {}
    for h in ("src/util/virerror.h", "src/internal.h", "include/qapi/qmp/qerror.h"):
        p = src / h
        if p.exists():
            _, m = csource.split_directives(csource.lex(p.read_text(errors="replace")))
            macros.update(m)
    return macros


# Report helpers called through a function pointer: (member name, the function it points to)
CALLBACKS = {"logFunc": "qemuProcessMonitorReportLogError"}   # qemu_monitor.c mon->logFunc


@dataclass
class ParsedFile:
    rel: str
    code: list
    macros: dict
    funcs: list
    domain: str
    func_re: str | None


@dataclass
class Leaf:
    """What one reporting call is: its codes, where its format is, how the text ends."""
    codes: list[str]
    fmt_i: int
    system: bool = False
    prepend: bool = False
    domain: str | None = None


def read_sites(origin: str, version: str, src: Path) -> list[Site]:
    """Every reporting call on the path, and every call of a report helper (a function
    that passes its own parameter as the text, like qemuProcessReportLogError) with a
    literal for that parameter."""
    macros_h = header_macros(src)
    leaves = LIBVIRT_LEAVES if origin == "libvirt" else QEMU_LEAVES
    table = LIBVIRT_PATH if origin == "libvirt" else QEMU_PATH
    files = []
    for f, func_re in path_files(src, table):
        code, local = csource.split_directives(csource.lex(f.read_text(errors="replace")))
        macros = dict(macros_h)
        macros.update(local)
        dom = local.get("VIR_FROM_THIS")
        files.append(ParsedFile(str(f.relative_to(src)), code, macros, csource.functions(code),
                                dom.body[0].text if dom is not None and dom.body else "", func_re))
    sites: list[Site] = []
    helpers: dict[str, list[tuple]] = {}     # helper name -> [(Leaf, fmt, {conversion: param index})]
    for pf in files:
        for call in csource.find_calls(pf.code, pf.macros, leaves, pf.funcs):
            if call.leaf in ("virRaiseErrorFull",) and len(call.args) < 12:
                continue   # the macro definitions themselves
            leaf = _leaf(origin, call)
            if leaf is None:
                continue
            spec = _helper_spec(leaf, call, pf)
            if spec is not None:
                helpers.setdefault(call.function, []).append(spec)
            if pf.func_re and not (call.function and re.search(pf.func_re, call.function)):
                continue
            sites.extend(_sites_of(origin, version, pf.rel, call, leaf, pf.domain, pf.code, pf.funcs, pf.macros))
    sites.extend(_helper_sites(origin, version, files, helpers))
    return sites


def _leaf(origin: str, call: csource.Call) -> Leaf | None:
    a = call.args
    if origin == "libvirt":
        if call.leaf == "virReportErrorHelper":
            if len(a) < 6:
                return None
            d = _tok_texts(a[0])
            domain = d[0] if d and d[0].startswith("VIR_FROM_") and d[0] != "VIR_FROM_THIS" else None
            return Leaf(_codes(a[1]), 5, domain=domain)
        if call.leaf == "virReportSystemErrorFull":
            return Leaf(["VIR_ERR_SYSTEM_ERROR"], 5, system=True) if len(a) >= 6 else None
        return Leaf(_codes(a[4]), 11)   # virRaiseErrorFull
    fmt_i = {"error_setg": 1, "error_setg_errno": 2, "error_report": 0, "error_prepend": 1,
             "error_propagate_prepend": 2, "error_reportf_err": 1, "warn_report": 0,
             "error_vreport": 0, "error_setg_win32": 2, "error_setg_file_open": -1}.get(call.leaf, 1)
    return Leaf([call.leaf], fmt_i, system=call.leaf == "error_setg_errno",
                prepend=call.leaf in ("error_prepend", "error_propagate_prepend", "error_reportf_err"))


def _sites_of(origin, version, rel, call: csource.Call, leaf: Leaf, domain, code, funcs, macros) -> list[Site]:
    a = call.args
    domain = leaf.domain or domain
    if leaf.fmt_i < 0:    # QEMU error_setg_file_open(errp, errno, filename)
        return [Site(origin, version, rel, call.function, call.line, c, domain, "Could not open '%s': %s",
                     via=call.via) for c in leaf.codes]
    if leaf.fmt_i >= len(a):
        return []
    if origin == "libvirt" and [t.text for t in a[leaf.fmt_i]] == ["NULL"]:
        # no text: the code's own message (virErrorMsg(code, NULL)), e.g. "the CPU is
        # incompatible with host CPU"
        return [Site(origin, version, rel, call.function, call.line, c, domain, "", via=call.via)
                for c in leaf.codes]
    formats = _formats(a, leaf.fmt_i, code, funcs, call, macros)
    return [Site(origin, version, rel, call.function, call.line, c, domain, fmt,
                 system=leaf.system, prepend=leaf.prepend, via=call.via)
            for c in leaf.codes for fmt in formats]


def _helper_spec(leaf: Leaf, call: csource.Call, pf: ParsedFile):
    """(leaf, format, {conversion index: parameter index}) when the call's text takes a
    parameter of the function it is in (that function is a report helper), else None."""
    fn = next((f for f in pf.funcs if f.name == call.function), None)
    if fn is None or not fn.params or leaf.fmt_i < 0 or leaf.fmt_i >= len(call.args):
        return None
    fmt = csource.string_value(call.args[leaf.fmt_i], pf.macros)
    if fmt is None:
        return None
    args = call.args[leaf.fmt_i + 1:]
    mapping = {}
    seq = 0
    for k, p in enumerate(printf.parts(fmt)):
        if not p.conv:
            continue
        idx = (p.pos - 1) if p.pos else seq
        seq += 1
        if p.conv == "s" and idx < len(args):
            names = [t.text for t in args[idx] if t.kind == "ident"]
            if len(names) == 1 and len(args[idx]) == 1 and names[0] in fn.params:
                mapping[k] = fn.params.index(names[0])
    return (leaf, fmt, mapping) if mapping else None


def _helper_sites(origin, version, files: list[ParsedFile], helpers: dict) -> list[Site]:
    """Calls of report helpers with a literal text: one site per format they report.  A
    function that passes its own parameter on to a helper is a helper too (to a fixpoint);
    CALLBACKS names helpers called through function pointers."""
    for _ in range(3):
        added = False
        for pf in files:
            for call in csource.find_calls(pf.code, pf.macros, set(helpers) | set(CALLBACKS), pf.funcs):
                target = CALLBACKS.get(call.leaf, call.leaf)
                fn = next((f for f in pf.funcs if f.name == call.function), None)
                if fn is None or not fn.params or call.function in helpers or target not in helpers:
                    continue
                for leaf, fmt, mapping in helpers[target]:
                    new = {}
                    for k, pi in mapping.items():
                        if pi < len(call.args):
                            names = [t.text for t in call.args[pi] if t.kind == "ident"]
                            if len(call.args[pi]) == 1 and names and names[0] in fn.params:
                                new[k] = fn.params.index(names[0])
                    if new:
                        helpers.setdefault(call.function, []).append((leaf, fmt, new))
                        added = True
        if not added:
            break
    out: list[Site] = []
    for pf in files:
        for call in csource.find_calls(pf.code, pf.macros, set(helpers) | set(CALLBACKS), pf.funcs):
            if pf.func_re and not (call.function and re.search(pf.func_re, call.function)):
                continue
            target = CALLBACKS.get(call.leaf, call.leaf)
            for leaf, fmt, mapping in helpers.get(target, []):
                text = _fill_params(fmt, mapping, call.args, pf.macros)
                if text is None:
                    continue
                for c in leaf.codes:
                    out.append(Site(origin, version, pf.rel, call.function, call.line, c, pf.domain, text,
                                    system=leaf.system, prepend=leaf.prepend, via=call.via + [target]))
    return out


def _fill_params(fmt: str, mapping: dict, args, macros) -> str | None:
    """The helper's format with the literal arguments of this call put in; None when no
    mapped argument is a literal (then the call passes text from elsewhere)."""
    out = []
    filled = False
    for k, p in enumerate(printf.parts(fmt)):
        if not p.conv:
            out.append(printf.escape(p.literal))
            continue
        v = None
        if k in mapping and mapping[k] < len(args):
            v = csource.string_value(args[mapping[k]], macros)
        if v is not None:
            out.append(printf.escape(v))
            filled = True
        else:
            out.append("%" + p.conv)
    return "".join(out) if filled else None


def _tok_texts(arg) -> list[str]:
    return [t.text for t in arg]


def _codes(arg) -> list[str]:
    """The VIR_ERR_* codes an argument can be (a ternary gives two); the unknown code is
    '?' (a variable)."""
    codes = [t.text for t in arg if t.kind == "ident" and t.text.startswith("VIR_ERR_")
             and t.text not in ("VIR_ERR_ERROR", "VIR_ERR_WARNING", "VIR_ERR_NONE")]
    return sorted(set(codes)) or ["?"]


def _formats(a, fmt_i, code, funcs, call, macros) -> list[str | None]:
    """The format strings of a call: its literal format, with literal arguments put in
    (``"%s", _("text")`` gives ``text``; ``__FUNCTION__`` and ``#argname`` in expanded
    macros are literals too), or the literals assigned to a message variable in the same
    function.  [None] when the text comes from elsewhere."""
    fmts = csource.choices(a[fmt_i], macros)
    args = a[fmt_i + 1:]
    if not fmts:
        fmts = _variable_formats(a[fmt_i], code, funcs, call)
        if not fmts:
            return [None]
        return sorted(set(fmts))
    if fmts == ["%s"] and args:
        # "%s", cond ? _("a") : _("b"): each branch is a text of its own
        branches = csource.choices(args[0], macros)
        if branches:
            return sorted({printf.escape(b) for b in branches})
    return sorted({_put_literal_args(f, args, macros) for f in fmts}, key=lambda f: (f is None, f or ""))


def _put_literal_args(fmt: str, args, macros) -> str | None:
    """Substitute arguments that are string literals into their %s.  A format that is only
    a pass-through of a non-literal (``"%s", msg``) gives None."""
    out = []
    seq = 0
    pieces = printf.parts(fmt)
    any_literal_arg = False
    for p in pieces:
        if not p.conv:
            out.append(printf.escape(p.literal))
            continue
        idx = (p.pos - 1) if p.pos else seq
        seq += 1
        arg = args[idx] if idx < len(args) else None
        v = csource.string_value(arg, macros) if (arg is not None and p.conv == "s") else None
        if v is not None:
            any_literal_arg = True
            out.append(printf.escape(v))
        else:
            out.append("%" + p.conv)
    res = "".join(out)
    if res == "%s" and not any_literal_arg:
        return None
    return res


def _variable_formats(arg, code, funcs, call) -> list[str]:
    """``virReportError(code, msg, ...)``: the literals assigned to ``msg`` in the function."""
    idents = [t.text for t in arg if t.kind == "ident" and t.text not in csource.GETTEXT]
    if len(idents) != 1 or not call.function:
        return []
    name = idents[0]
    fn = next((f for f in funcs if f.name == call.function), None)
    if fn is None:
        return []
    toks = code[fn.start:fn.end]
    out = []
    for i, t in enumerate(toks):
        if t.kind == "ident" and t.text == name and i + 1 < len(toks) and toks[i + 1].text == "=":
            j = i + 2
            while j < len(toks) and toks[j].text != ";":
                j += 1
            out.extend(csource.gettext_literals(toks[i + 2:j]))
    return out


def read_prefixes(src: Path) -> dict[str, tuple[str, str]]:
    """VIR_ERR_* → (the message it prints around a text: virErrorMsgStrings' msginfo, the
    message it prints alone: msg)."""
    text = (src / "src/util/virerror.c").read_text(errors="replace")
    code, _ = csource.split_directives(csource.lex(text))
    out: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(code) - 3:
        if code[i].text == "[" and code[i + 1].text.startswith("VIR_ERR_") and code[i + 2].text == "]" \
                and code[i + 3].text == "=":
            name = code[i + 1].text
            args, close = csource.split_args(code, i + 4)
            if len(args) == 2:
                bare, info = csource.string_value(args[0]), csource.string_value(args[1])
                if info is not None:
                    out[name] = (info, bare or "")
            i = close
        i += 1
    return out


def read_procedures(src: Path) -> dict[str, int]:
    """REMOTE_PROC_* → number (remote_protocol.x): virNetServerProgramSendError names the
    procedure whose call failed by its number only."""
    text = (src / "src/remote/remote_protocol.x").read_text(errors="replace")
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\bREMOTE_PROC_([A-Z0-9_]+)\s*=\s*(\d+)", text)}


def read_numbers(src: Path) -> tuple[dict[str, int], dict[str, int]]:
    text = (src / "include/libvirt/virterror.h").read_text(errors="replace")
    codes = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(VIR_ERR_[A-Z0-9_]+)\s*=\s*(\d+)", text)}
    domains = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(VIR_FROM_[A-Z0-9_]+)\s*=\s*(\d+)", text)}
    for k in ("VIR_ERR_NONE", "VIR_ERR_WARNING", "VIR_ERR_ERROR"):
        codes.pop(k, None)
    return codes, domains


def read_po(path: Path) -> dict[str, str]:
    """msgid → msgstr of one .po file (fuzzy and empty translations left out)."""
    out: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    cur = None
    fuzzy = False

    def flush():
        nonlocal entry, fuzzy
        mid = "".join(entry.get("msgid", []))
        mstr = "".join(entry.get("msgstr", []))
        if mid and mstr and not fuzzy:
            out[mid] = mstr
        entry = {}
        fuzzy = False

    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#,") and "fuzzy" in line:
            if entry.get("msgstr"):
                flush()
            fuzzy = True
            continue
        if line.startswith("#") or not line.strip():
            if entry.get("msgstr"):
                flush()
            continue
        m = re.match(r'(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d+\])\s+(".*")$', line)
        if m:
            if m.group(1) == "msgid" and entry.get("msgstr"):
                flush()
            cur = m.group(1)
            entry.setdefault(cur, []).append(csource.unescape(m.group(2)))
        elif line.startswith('"') and cur:
            entry.setdefault(cur, []).append(csource.unescape(line))
    if entry.get("msgstr"):
        flush()
    return out


# ------------------------------------------------------------------------------------------
# 3. merge and place
# ------------------------------------------------------------------------------------------

def entry_id(origin: str, code: str, fmt: str) -> str:
    h = hashlib.sha1(f"{origin}\0{code}\0{fmt}".encode()).hexdigest()[:10]
    return f"{'lv' if origin == 'libvirt' else 'qm'}-{h}"


def merge(sites: list[Site], versions: dict[str, list[str]]) -> tuple[list[dict], list[dict]]:
    """One entry per wording: (origin, code, normalised format); and the pass-through
    sites (no literal text), counted per file."""
    entries: dict[tuple, dict] = {}
    dynamic: dict[tuple, dict] = {}
    for s in sites:
        if s.format is None:
            d = dynamic.setdefault((s.origin, s.file), {"origin": s.origin, "file": s.file, "versions": set(),
                                                       "sites": 0})
            d["versions"].add(s.version)
            d["sites"] += 1
            continue
        fmt = printf.normalise(s.format)
        if s.system:
            fmt += ": %s"
        if s.prepend:
            fmt += "%s"
        key = (s.origin, s.code, fmt)
        e = entries.get(key)
        if e is None:
            e = entries[key] = {"id": entry_id(*key), "origin": s.origin, "code": s.code,
                                "domain": s.domain, "format": fmt, "files": set(), "functions": set(),
                                "versions": set(), "kind": ("system" if s.system else "prepend" if s.prepend
                                                            else "bare" if fmt == "" else "error")}
        e["files"].add(s.file)
        if s.function:
            e["functions"].add(s.function)
        e["versions"].add(s.version)
    order = {o: {v: i for i, v in enumerate(sorted(vs, key=_vkey))} for o, vs in versions.items()}
    out = []
    for e in entries.values():
        e["files"] = sorted(e["files"])
        e["functions"] = sorted(e["functions"])
        e["versions"] = sorted(e["versions"], key=lambda v: order[e["origin"]][v])
        out.append(e)
    out.sort(key=lambda e: (e["origin"], e["files"][0], e["format"], e["code"]))
    dyn = []
    for d in dynamic.values():
        d["versions"] = sorted(d["versions"], key=lambda v: order[d["origin"]][v])
        dyn.append(d)
    dyn.sort(key=lambda d: (d["origin"], d["file"]))
    return out, dyn


def place(entries: list[dict], prefixes: dict) -> None:
    """The cause of every message (causes.tsv) and the word it is indexed under."""
    table = causemap.load()
    bare = {code: per[-1]["bare"] for code, per in prefixes.items() if per}
    texts = [printf.escape(bare.get(e["code"], "")) if e["kind"] == "bare" else e["format"] for e in entries]
    prefixed = [e["origin"] == "libvirt" and any(p["info"].split("%s", 1)[0] for p in prefixes.get(e["code"], []))
                for e in entries]
    for e, key in zip(entries, generated.index_keys(texts, prefixed)):
        e["key"] = key
    for e in entries:
        row = table.place(e["code"], e["files"], e["format"])
        e["cause"] = row.cause if row is not None else None   # a cause id, consequence[:...] or none
        e["rule"] = row.number if row is not None else None


# ------------------------------------------------------------------------------------------
# 4. write
# ------------------------------------------------------------------------------------------

def write(data: dict, path: Path) -> None:
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
            gz.write(raw)


def read(path: Path) -> dict:
    with gzip.open(path, "rb") as fh:
        return json.loads(fh.read())


def build(work: Path, update: bool, only: list[str] | None) -> dict:
    ensure_deb_src(update)
    lv = fetch("libvirt", work)
    qm = fetch("qemu", work)
    if only:
        lv = {v: d for v, d in lv.items() if v in only}
    if not lv:
        raise SystemExit("no libvirt source could be fetched")
    sites: list[Site] = []
    prefixes: dict[str, dict[str, str]] = {}
    numbers: dict[str, int] = {}
    domains: dict[str, int] = {}
    translations: dict[str, dict[str, str]] = {}
    procedures: dict[str, int] = {}
    for v, d in sorted(lv.items(), key=lambda kv: _vkey(kv[0])):
        s = read_sites("libvirt", v, d)
        print(f"libvirt {v}: {len(s)} reporting calls on the migration path", file=sys.stderr)
        sites.extend(s)
        for code, (info, bare) in read_prefixes(d).items():
            prefixes.setdefault(code, {})[v] = (printf.normalise(info), bare)
        c, dm = read_numbers(d)
        numbers.update(c)
        domains.update(dm)
        procedures.update(read_procedures(d))
        for lang in LANGUAGES:
            po = d / "po" / f"{lang}.po"
            if po.exists():
                _translations(read_po(po), lang, prefixes, translations)
    for v, d in sorted(qm.items(), key=lambda kv: _vkey(kv[0])):
        s = read_sites("qemu", v, d)
        print(f"qemu {v}: {len(s)} reporting calls in migration/", file=sys.stderr)
        sites.extend(s)
    versions = {"libvirt": sorted(lv, key=_vkey), "qemu": sorted(qm, key=_vkey)}
    entries, dynamic = merge(sites, versions)
    compact = _compact_prefixes(prefixes)
    place(entries, compact)
    return {
        "about": "Generated by tools/catalogue_build.py from libvirt's and QEMU's released sources "
                 "(Debian source packages); refresh with that script, never edit by hand.",
        "versions": versions,
        "path": {"libvirt": [[g, f, w] for g, f, w in LIBVIRT_PATH], "qemu": [[g, f, w] for g, f, w in QEMU_PATH]},
        "prefixes": compact,
        "codes": dict(sorted(numbers.items(), key=lambda kv: kv[1])),
        "domains": dict(sorted(domains.items(), key=lambda kv: kv[1])),
        "procedures": dict(sorted(procedures.items(), key=lambda kv: kv[1])),
        "translations": translations,
        "messages": entries,
        "dynamic": dynamic,
    }


def _compact_prefixes(prefixes) -> dict[str, list]:
    """code → [{"info": format around a text, "bare": text alone, "versions": [...]}, ...]
    (most codes print the same in every version)."""
    out = {}
    for code, per in sorted(prefixes.items()):
        by: dict[tuple, list[str]] = {}
        for v, pair in per.items():
            by.setdefault(pair, []).append(v)
        out[code] = [{"info": info, "bare": bare, "versions": sorted(vs, key=_vkey)}
                     for (info, bare), vs in sorted(by.items(), key=lambda kv: _vkey(kv[1][-1]))]
    return out


def _translations(po: dict[str, str], lang: str, prefixes, out) -> None:
    """The translations of TRANSLATE and of every code's prefix, keyed by the normalised
    English format."""
    wanted = set(TRANSLATE)
    for per in prefixes.values():
        for info, bare in per.values():
            wanted.update((info, bare))
    for msgid, msgstr in po.items():
        key = printf.normalise(msgid)
        if key in wanted:
            out.setdefault(lang, {}).setdefault(key, [])
            tr = printf.normalise(msgstr)
            if tr not in out[lang][key]:
                out[lang][key].append(tr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/loganalyzer-catalogue-src"))
    ap.add_argument("--output", type=Path, default=DATA)
    ap.add_argument("--update", action="store_true", help="run apt-get update first")
    ap.add_argument("--only", nargs="*", help="libvirt versions to read (default: all the index lists)")
    ap.add_argument("--place-only", action="store_true",
                    help="re-apply causes.tsv to the existing data (no sources needed)")
    args = ap.parse_args(argv)
    if args.place_only:
        data = read(args.output)
        place(data["messages"], data["prefixes"])
    else:
        if os.geteuid() != 0:
            raise SystemExit("run as root: it writes a deb-src list and runs apt-get")
        data = build(args.work, args.update, args.only)
    write(data, args.output)
    n = len(data["messages"])
    placed = sum(1 for e in data["messages"] if e["rule"] is not None)
    print(f"{args.output}: {n} messages, {placed} placed, {n - placed} for review, "
          f"{args.output.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
