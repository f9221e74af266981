"""Log text made visible: no control or bidi character reaches a terminal or a file raw.

A log line can carry terminal control sequences (`ESC ]0;title BEL`, `ESC [2J`, OSC 8
links) and Unicode bidi overrides (U+202E) that reorder what a reader sees.  The text
and markdown reports pass every piece of log text through visible(), which writes each
such character as its escape (`\\x1b`, `\\u202e`): control characters (C0, DEL, C1, so also
tab, CR and LF inside log text), format characters (bidi embeddings, overrides and
isolates, zero-width characters), line and paragraph separators, and surrogates.  The
report's own line breaks and indentation are written around the text, never through it.
"""
from __future__ import annotations

import unicodedata

_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def _escape(ch: str) -> str:
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def visible(text) -> str:
    """str(text) with every control, format (bidi), separator and surrogate character
    written as its backslash escape."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():                     # (the common case: nothing to look at)
        return s
    cat = unicodedata.category
    return "".join(_escape(c) if cat(c) in _HIDDEN else c for c in s)
