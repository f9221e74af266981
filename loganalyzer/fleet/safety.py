"""Nothing is read from outside what the user gave: member names and links that would land
outside an archive's folder, and symbolic links that leave a scanned folder."""
from __future__ import annotations

import os
import re


def unsafe_member(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name):
        return "absolute member path"
    parts = re.split(r"[\\/]+", name)
    if ".." in parts:
        return "member path with '..'"
    return None


def member_path(name: str) -> str:
    """A safe member's path inside its archive, as shown and matched (without the ./ of
    `tar -C DIR -cf - .` and without empty segments)."""
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def link_escapes(name: str, target: str, hard: bool = False) -> bool:
    """Does a link member point outside the archive?  A hard link's target is a member name."""
    if hard:
        return unsafe_member(target) is not None
    if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
        return True
    base = os.path.dirname(name.rstrip("/"))
    norm = os.path.normpath(os.path.join(base, target))
    return norm == ".." or norm.startswith("../") or norm.startswith("/")


def inside(path: str, root_real: str) -> bool:
    """Is path, its links resolved, root_real or under it?"""
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)
