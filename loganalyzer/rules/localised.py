"""The messages the rules depend on as a daemon prints them in other languages: libvirt's
own translations (po/ of each release, read by tools/catalogue_build.py into the generated
catalogue's data) of `End of file while reading data`, the keepalive timeout, `client socket
is closed`, `Lost connection to destination host`, … in de, fr, es, ja, zh_CN, ru, pt_BR.

Each translation becomes a pattern with the meaning, cause, role and remedies of the
hand-written pattern that recognises the English text; its id is ``<that id>@<language>``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from . import generated, printf
from .patterns import ErrorPattern


class Localised:
    def __init__(self, patterns: list[ErrorPattern], anchors: dict[str, list[int]]):
        self.patterns = patterns
        self._anchors = anchors
        self._prefilter: Optional[re.Pattern] = (
            re.compile("|".join(re.escape(a) for a in sorted(anchors, key=len, reverse=True))) if anchors else None)

    def might_match(self, text: str) -> bool:
        return self._prefilter is not None and self._prefilter.search(text) is not None

    def candidates(self, text: str) -> list[ErrorPattern]:
        if not self.might_match(text):
            return []
        idx = sorted({i for a, owners in self._anchors.items() if a in text for i in owners})
        return [self.patterns[i] for i in idx]


@lru_cache(maxsize=1)
def load() -> Localised:
    from .catalogue import PATTERNS       # the hand-written patterns the translations take after
    cat = generated.load()
    patterns: list[ErrorPattern] = []
    anchors: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    hands: dict[str, Optional[ErrorPattern]] = {}
    for lang, table in sorted(cat.translations.items()):
        for english, translations in sorted(table.items()):
            if english not in hands:
                hands[english] = _hand_pattern(PATTERNS, english)
            hand = hands[english]
            if hand is None:
                continue      # a code's prefix, or a text no rule depends on
            if english.endswith(": %s") and english[:-4] in table:
                # 'End of file while reading data: %s' (an ssh stderr before strerror) cannot be
                # told from the plain text and its strerror once both are translated: the plain
                # text's translation decides
                continue
            for tr in translations:
                lits = [x.strip() for x in printf.literal_text(tr) if x.strip()]
                if not lits or tr == english:
                    continue
                base = f"{hand.id}@{lang}"
                seen[base] = seen.get(base, 0) + 1
                pid = base + (f"-{seen[base]}" if seen[base] > 1 else "")
                pat = ErrorPattern(
                    id=pid, regex=re.compile(printf.to_regex(tr.rstrip())), cause=hand.cause, role=hand.role,
                    meaning=f"{hand.meaning} (libvirt's {lang} translation of '{english}')",
                    remedies=hand.remedies, versions=f"{hand.versions}; {lang} translation",
                    ambiguous_with=hand.ambiguous_with, anchors=(max(lits, key=len),),
                    example=printf.example(tr.rstrip()))
                anchors.setdefault(max(lits, key=len), []).append(len(patterns))
                patterns.append(pat)
    return Localised(patterns, anchors)


def _hand_pattern(patterns, english: str) -> Optional[ErrorPattern]:
    """The hand-written pattern that recognises the English text as a whole."""
    example = printf.example(english)
    for p in patterns:
        m = p.regex.match(example)
        if m is not None and m.end() == len(example):
            return p
    return None
