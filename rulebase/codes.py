"""What a code looks like, per code system: checked where codes come in, never corrected.

A code that is not in its system's form is refused with what is wrong with it: a lower-case
letter, a full-width or invisible character, or simply another shape (a date, TRUE, a name).
Converting it silently would make two spellings of one code, or accept a code nobody wrote.
"""

from __future__ import annotations

import re
import unicodedata

# ICD-10 as the national clinical version writes it: a letter and two digits (I10), then a dot and
# up to three digits or x (I25.103, I10.x00), then an x-extension (I10.x00x032, K80.200x003); a
# dagger code may carry * or †, and a combination joins a dagger code and an asterisk code with +
# (E11.401+G63.2*).
_ICD10_PART = r"[A-Z][0-9]{2}(?:\.[0-9x][0-9A-Z]{0,2}(?:x[0-9]{3})?)?"
FORMS = {"icd10": re.compile(rf"{_ICD10_PART}[*†]?(?:\+{_ICD10_PART}\*)?")}
EXAMPLES = {"icd10": "I25.103, I10.x00x032, E11.401+G63.2*"}
NAMES = {"icd10": "ICD-10"}


def form_problem(code: str, system: str = "icd10") -> str | None:
    """Why `code` is not a code of `system` as written, or None."""
    if FORMS[system].fullmatch(code):
        return None
    if any(unicodedata.category(c) in ("Cf", "Cc") or (c.isspace() and c != " ") for c in code):
        why = "it holds an invisible or control character"
    elif unicodedata.normalize("NFKC", code) != code:
        why = "it holds full-width characters"
    elif FORMS[system].fullmatch(code.upper().replace("X", "x")):
        why = "its letters are lower-case"
    else:
        why = "it does not have the form of one"
    return f"code {code!r} is not an {NAMES[system]} code: {why}; write it as, e.g., {EXAMPLES[system]}"
