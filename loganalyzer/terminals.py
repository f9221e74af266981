"""The grammar's terminals (name -> regular expression, as lark compiles them), without
loading lark: `events` and `analyze` of a small file read only these, not the parser.

They are kept in grammars/libvirtd.terminals.json with the SHA-256 of the grammar text they
were made from; a grammar that changed since is read through lark (grammar.py), as before.
`python -m loganalyzer.grammar` writes the file again; tests/test_grammar.py proves it
equals what lark makes of the grammar.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def grammar_path() -> Path:
    try:  # installed: grammars/ is shipped as the loganalyzer.grammars package
        from importlib.resources import files
        p = files("loganalyzer.grammars") / "libvirtd.lark"
        if p.is_file():
            return Path(str(p))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "grammars" / "libvirtd.lark"


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def kept_path() -> Path:
    return grammar_path().with_suffix(".terminals.json")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kept_terminals(text: str) -> dict | None:
    """The kept terminals, when they were made from this grammar text."""
    try:
        kept = json.loads(kept_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("grammar_sha256") != digest(text):
        return None
    return kept.get("terminals")


def _load() -> dict:
    kept = kept_terminals(grammar_text())
    if kept is not None:
        return kept
    from .grammar import lark_terminals
    return lark_terminals()


TERMINALS = _load()
