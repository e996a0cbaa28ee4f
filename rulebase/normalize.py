"""Text normalization applied to every description before matching (README: matching semantics)."""

from __future__ import annotations

import unicodedata


def normalize_text(text: str | None) -> str:
    """NFKC (full-width to half-width, （ to (, ２ to 2, Ⅱ to II), every kind of blank to one space, trimmed.

    str.split() with no argument splits on every Unicode whitespace character, so newlines,
    tabs and the ideographic space all collapse to a single space in one pass.
    """
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).split())
