"""Which logs belong to one host's stream, and what the host is called.

A log's place says whose it is: a sosreport (its host name file), a folder named after the
host, or the `hostname:` header line libvirt writes at start-up.  The logs of one place and
one rotation base (libvirtd.log, libvirtd.log.1, libvirtd.log-20261201.gz) are one stream,
read oldest first."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..sources import is_log_name

# folders of guest (QEMU, LXC, ...) logs inside a libvirt log folder: not daemon logs
GUEST_DIRS = {"qemu", "lxc", "ch", "libxl", "swtpm", "bhyve", "vbox", "uml"}
# folder names that say nothing about the host
GENERIC_DIRS = {"", ".", "libvirt", "log", "logs", "var", "containers", "tmp", "sos_strings",
                "varlog", "var-log"}
GENERIC_HOSTNAMES = {"", "vm", "localhost", "localhost.localdomain", "(none)", "unknown", "host",
                     "localhost6", "localhost6.localdomain6"}
STANDARD_BASES = re.compile(r"^(libvirtd|virt[a-z]+d)\.log$")
SOS_NAME = re.compile(r"^sosreport-(?P<host>.+?)(?:-[\w]+)?-\d{4}-\d{2}-\d{2}-\w+$")
SOS_HOSTNAME_FILES = ("sos_commands/host/hostname", "sos_commands/general/hostname",
                      "sos_commands/host/hostname_-f", "sos_commands/general/hostname_-f",
                      "etc/hostname", "hostname")


def logical_name(rel_parts: list[str]) -> str:
    """The log's own name: sos_strings/libvirt/var.log.libvirt.libvirtd.log.tailed -> libvirtd.log."""
    name = rel_parts[-1]
    if name.endswith(".tailed"):
        name = name[:-len(".tailed")]
        for prefix in ("var.log.containers.libvirt.libvirt.", "var.log.containers.libvirt.",
                       "var.log.libvirt.", "var.log."):
            if name.startswith(prefix):
                return name[len(prefix):]
    return name


def sos_candidate(rel_parts: list[str]) -> tuple | None:
    """(sub-location) when a path inside a sosreport is one of its libvirt logs."""
    rel = "/".join(rel_parts)
    name = rel_parts[-1]
    if len(rel_parts) == 4 and rel.startswith("var/log/libvirt/") and is_log_name(name):
        return ("var/log/libvirt",)
    if rel.startswith("sos_strings/") and name.endswith(".tailed") and "libvirt" in name \
            and is_log_name(name):
        logical = name[:-len(".tailed")]
        if logical.startswith("var.log.containers."):
            return ("var/log/containers/libvirt",)
        if any(f".{g}." in logical for g in GUEST_DIRS):
            return None
        return ("var/log/libvirt",)
    if rel.startswith("var/log/containers/libvirt/") and is_log_name(name) \
            and not any(p in GUEST_DIRS for p in rel_parts[4:-1]):
        return ("var/log/containers/libvirt",)
    return None


def folder_host(parts: list[str], fallback: str) -> str:
    """The nearest folder name that can name a host."""
    for p in reversed(parts):
        if p.lower() not in GENERIC_DIRS:
            return p
    return fallback


def sos_host(root_name: str, hostname_text: str | None) -> str:
    """A sosreport's host: its hostname file, else its folder's name."""
    if hostname_text:
        line = hostname_text.strip().splitlines()[0].strip() if hostname_text.strip() else ""
        if line and line.lower() not in GENERIC_HOSTNAMES and " " not in line:
            return line
    m = SOS_NAME.match(root_name)
    if m:
        return m["host"]
    return root_name


@dataclass
class StreamTask:
    """One host stream: the unit of parallel work."""
    index: int
    label: str
    host: str
    members: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)


def group_streams(members: list) -> list[StreamTask]:
    """The members as streams, each oldest first, with a host name and a unique label."""
    groups: dict[tuple, list] = {}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    for g in groups.values():
        if all(m.first_time is not None for m in g):
            g.sort(key=lambda m: (m.first_time, m.order))
        else:
            g.sort(key=lambda m: m.order)
    # host names: the hostname header unless generic or claimed by several physical hosts
    header_of = {}
    for key, g in groups.items():
        hk = g[0].host_key
        hn = next((m.hostname for m in reversed(g) if m.hostname), None)
        if hn and hn.lower() not in GENERIC_HOSTNAMES:
            header_of.setdefault(hk, hn)
    claimed: dict[str, set] = {}
    for hk, hn in header_of.items():
        claimed.setdefault(hn, set()).add(hk)
    name_of = {}
    for key, g in groups.items():
        hk = g[0].host_key
        hn = header_of.get(hk)
        name_of[hk] = hn if hn and len(claimed[hn]) == 1 else g[0].context_host
    # different physical hosts with the same name: add the base of the log (then a number)
    by_name: dict[str, list] = {}
    for hk, n in name_of.items():
        by_name.setdefault(n, []).append(hk)
    for n, hks in by_name.items():
        if len(hks) > 1:
            for hk in hks:
                g = next(g for g in groups.values() if g[0].host_key == hk)
                name_of[hk] = f"{n}/{g[0].base[:-4] if g[0].base.endswith('.log') else g[0].base}"
    tasks = []
    used = set()
    streams_per_host: dict = {}
    for key, g in groups.items():
        streams_per_host[g[0].host_key] = streams_per_host.get(g[0].host_key, 0) + 1
    order = sorted(groups.items(), key=lambda kv: (name_of[kv[1][0].host_key], kv[1][0].base, str(kv[0])))
    for key, g in order:
        host = name_of[g[0].host_key]
        label = host if streams_per_host[g[0].host_key] == 1 else f"{host}/{g[0].base}"
        base_label, n = label, 1
        while label in used:
            n += 1
            label = f"{base_label}~{n}"
        used.add(label)
        tasks.append(StreamTask(len(tasks), label, host, g))
    return tasks
