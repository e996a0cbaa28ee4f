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
ICD10 = "icd10"  # diagnoses
ICD9CM3 = "icd9cm3"  # procedures (ICD-9-CM-3)
SYSTEMS = (ICD10, ICD9CM3)
# ICD-9-CM-3 as the national clinical version writes it: two digits (36), then a dot and one to four
# digits (36.07, 36.0700), then an x-extension (00.6600x004); the WHO list stops at two digits (00.01).
FORMS = {
    ICD10: re.compile(rf"{_ICD10_PART}[*†]?(?:\+{_ICD10_PART}\*)?"),
    ICD9CM3: re.compile(r"[0-9]{2}(?:\.[0-9]{1,4}(?:x[0-9]{3})?)?"),
}
EXAMPLES = {ICD10: "I25.103, I10.x00x032, E11.401+G63.2*", ICD9CM3: "36.0700, 00.6600x004, 39.9500x007"}
NAMES = {ICD10: "ICD-10", ICD9CM3: "ICD-9-CM-3"}

# The kind of line that procedures are: every other kind of line (discharge, admission, ...) is a
# diagnosis and is coded in ICD-10.
PROCEDURE = "procedure"


def system_of_kind(kind: str) -> str:
    """The code system a line of this kind is coded in: the one place that says it."""
    return ICD9CM3 if kind == PROCEDURE else ICD10


def system_of_code(code: str) -> str | None:
    """The system whose form `code` has, or None (the forms do not overlap)."""
    for system, form in FORMS.items():
        if form.fullmatch(code):
            return system
    return None


def form_problem(code: str, system: str = ICD10) -> str | None:
    """Why `code` is not a code of `system` as written, or None."""
    if FORMS[system].fullmatch(code):
        return None
    other = system_of_code(code)
    if other is not None:
        why = f"it is an {NAMES[other]} code (a code list of that system is imported with --system {other})"
    elif any(unicodedata.category(c) in ("Cf", "Cc") or (c.isspace() and c != " ") for c in code):
        why = "it holds an invisible or control character"
    elif unicodedata.normalize("NFKC", code) != code:
        why = "it holds full-width characters"
    elif FORMS[system].fullmatch(code.upper().replace("X", "x")):
        why = "its letters are lower-case"
    else:
        why = "it does not have the form of one"
    return f"code {code!r} is not an {NAMES[system]} code: {why}; write it as, e.g., {EXAMPLES[system]}"


_LIST_SEPARATORS = str.maketrans({"，": ",", "、": ",", ";": ",", "；": ",", " ": ",", "\n": ","})


def code_list(text: str | None) -> tuple[str, ...]:
    """A list of codes as a person writes it (`I25.103,I20.000`; also ， 、 ; or blanks between),
    each once, in the order given. `+` is part of a combination code (E11.401+G63.2*), not a separator."""
    if not text:
        return ()
    return tuple(dict.fromkeys(c for c in text.translate(_LIST_SEPARATORS).split(",") if c))
