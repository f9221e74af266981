"""The layers above libvirt that print its errors inside their own text: KubeVirt's
``virError(Code=9, Domain=31, Message='…')``, nova's ``Live Migration failure: …`` and
``MigrationPreCheckError``, libvirt-python's ``libvirtError`` (nova, vdsm), CloudStack's
``org.libvirt.LibvirtException``, OpenNebula's ``Command "virsh … migrate …" failed``,
libvirt's default error printer (``libvirt: QEMU Driver error : …``) and virsh's ``error:``.

The catalogue finds the libvirt message wherever it is; this module says which layer carried
it, and turns virError's numbers into the VIR_ERR_* and VIR_FROM_* names (virterror.h, read
into the generated catalogue's data)."""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

from . import generated


class Wrapper(NamedTuple):
    layer: str                  # who printed the libvirt error
    start: int                  # where the wrapped message starts in the text
    code: Optional[int] = None  # virError's Code=, Domain= (KubeVirt, libvirt-go)
    domain: Optional[int] = None


# (layer, pattern ending where the libvirt message starts); the first that ends before a
# hit and is nearest to it is the layer that carried it
_LAYERS = (
    ("KubeVirt (libvirt-go virError)", re.compile(r"virError\(Code=(?P<code>[0-9]+), Domain=(?P<domain>[0-9]+), "
                                                  r"Message='")),
    ("nova", re.compile(r"Live Migration failure: ")),
    ("nova", re.compile(r"MigrationPreCheckError: (?:Migration pre-check error: )?")),
    ("libvirt-python libvirtError (nova, vdsm)", re.compile(r"libvirt\.libvirtError: |\blibvirtError: ")),
    ("CloudStack (libvirt-java)", re.compile(r"org\.libvirt\.LibvirtException: ")),
    ("OpenNebula", re.compile(r'Command "virsh [^"]*" failed: (?:error: )?')),
    ("libvirt's default error printer", re.compile(r"libvirt: [A-Za-z][A-Za-z ]*? error : ")),
    ("virsh", re.compile(r"(?:^|[\s\[])error: ")),
)


def layers(text: str) -> list[Wrapper]:
    """Every wrapper in a text, by position."""
    out = []
    for name, rx in _LAYERS:
        for m in rx.finditer(text):
            gd = m.groupdict()
            out.append(Wrapper(name, m.end(), int(gd["code"]) if gd.get("code") else None,
                               int(gd["domain"]) if gd.get("domain") else None))
    out.sort(key=lambda w: w.start)
    return out


def carrier(text: str, pos: int) -> Optional[Wrapper]:
    """The wrapper nearest before a message at pos (within the same message), if any."""
    best = None
    for w in layers(text):
        if w.start <= pos and pos - w.start < 120:
            best = w
    return best


def code_name(code: Optional[int]) -> Optional[str]:
    if code is None:
        return None
    names = {v: k for k, v in generated.load().codes.items()}
    return names.get(code)


def domain_name(domain: Optional[int]) -> Optional[str]:
    if domain is None:
        return None
    names = {v: k for k, v in generated.load().domains.items()}
    return names.get(domain)


def describe(text: str, pos: int) -> str:
    """'KubeVirt (libvirt-go virError) carried libvirt's error (Code=9 VIR_ERR_OPERATION_FAILED,
    Domain=31 VIR_FROM_CPU)', or '' when no known layer wraps the message."""
    w = carrier(text, pos)
    if w is None or w.layer == "virsh":
        return ""
    numbers = ""
    if w.code is not None:
        numbers = (f" (Code={w.code} {code_name(w.code) or 'unknown code'}, "
                   f"Domain={w.domain} {domain_name(w.domain) or 'unknown domain'})")
    return f"{w.layer} carried libvirt's error{numbers}"
