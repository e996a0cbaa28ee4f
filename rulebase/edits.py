"""Code edits: checks of a coded record that mark a line for review, never change its code.

An edit is one row of the hospital's table (`CodeEdit`, kept in the database with its history);
`Checker` applies the enabled ones to one record's lines, the patient's sex and age, and the
dictionary's word on each code, and returns the hits (`EditHit`: line, edit, kind, reason).

Codes are compared by their parts: a combination code (E11.401+G63.2*) is its dagger part and its
asterisk part, and each part by its category (letter and two digits: O80 of O80.000x001), so the
national extension codes fall in the ranges the WHO categories are written in. The asterisk part
a combination carries has its dagger with it: such a code is never "an asterisk without its dagger".
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .codes import PROCEDURE
from .errors import FieldInvalid
from .states import EditKind
from .versioned import VersionedItem

MAX_MESSAGE = 200
MAX_CODES = 500
SEXES = {"M": "男", "F": "女"}


class EditInvalid(FieldInvalid):
    """A code edit (a row of the table, a sheet's row) is not acceptable; the message names it."""


# --- codes as the edits see them ------------------------------------------------------------------

_CATEGORY = re.compile(r"[A-Z][0-9]{2}")
_ENTRY = re.compile(r"([A-Z][0-9]{2})(?:-([A-Z][0-9]{2}))?|([A-Z][0-9]{2}\.[0-9x][0-9A-Zx]*)")


class Part(NamedTuple):
    """One code of a (possibly combination) code: its text without mark, category, and mark."""

    code: str  # G63.2
    category: str | None  # G63; None for a code of no ICD-10 category (a procedure code)
    mark: str  # "*" asterisk, "†" dagger, "" none


def parts_of(code: str) -> tuple[Part, ...]:
    """The parts of a code: E11.401+G63.2* is (E11.401, dagger) and (G63.2, asterisk)."""
    pieces = code.split("+")
    out = []
    for i, piece in enumerate(pieces):
        mark = piece[-1] if piece[-1:] in ("*", "†") else ""
        bare = piece[:-1] if mark else piece
        if not mark and len(pieces) > 1 and i == 0:
            mark = "†"  # the first code of a combination is its dagger (etiology) code
        cat = bare[:3]
        out.append(Part(bare, cat if _CATEGORY.fullmatch(cat) else None, mark))
    return tuple(out)


class CodeSet(NamedTuple):
    """Codes an edit names, written "O00-O99,N70-N98,C53,G63.2": categories, category ranges (both
    ends included) and code prefixes more specific than a category."""

    ranges: tuple[tuple[str, str], ...]
    prefixes: tuple[str, ...]
    text: str

    def covers(self, part: Part) -> bool:
        if part.category is None:
            return False
        cat = part.category
        for lo, hi in self.ranges:
            if lo <= cat <= hi:
                return True
        return any(part.code.startswith(p) for p in self.prefixes)


def code_set(text: str | None, what: str, where: str) -> CodeSet | None:
    """The codes of an edit's `codes` (or `other_codes`) column; None when empty."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_CODES:
        raise EditInvalid(f"{where}: {what} is longer than {MAX_CODES} characters", what)
    ranges, prefixes = [], []
    for raw in re.split(r"[,，;；\s]+", re.sub(r"\s*[-–—~～]\s*", "-", text.strip())):
        entry = raw.rstrip("*†")
        m = _ENTRY.fullmatch(entry)
        if not entry:
            continue
        if m is None:
            raise EditInvalid(
                f"{where}: {what} entry {raw!r} is not a category (O80), a range of categories (O00-O99) "
                "or a code (G63.2); separate entries with commas",
                what,
            )
        if m.group(3):
            prefixes.append(m.group(3))
            continue
        lo, hi = m.group(1), m.group(2) or m.group(1)
        if lo[0] != hi[0] or lo > hi:
            raise EditInvalid(
                f"{where}: {what} range {raw!r} is not a range: write the lower category first, both of one letter",
                what,
            )
        ranges.append((lo, hi))
    if not ranges and not prefixes:
        return None
    canonical = ",".join([f"{lo}-{hi}" if lo != hi else lo for lo, hi in ranges] + prefixes)
    return CodeSet(tuple(ranges), tuple(prefixes), canonical)


# --- the patient's age ----------------------------------------------------------------------------

# Days one unit is at least and at most: a month is 28 to 31 days, a year 365 or 366.
_UNITS = {
    "岁": (365, 366),
    "周岁": (365, 366),
    "个月": (28, 31),
    "月": (28, 31),
    "周": (7, 7),
    "天": (1, 1),
    "日": (1, 1),
    "小时": (1 / 24, 1 / 24),
    "时": (1 / 24, 1 / 24),
}
_AGE_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(周岁|岁|个月|月|周|天|日|小时|时)?")


class AgeSpan(NamedTuple):
    """The ages, in days, an age as written can mean: 45 is at least 45 years and less than 46."""

    low: float
    high: float  # excluded


def parse_age(text: str | None) -> AgeSpan | None:
    """An age as the homepage writes it (45, 45岁, 3月, 1岁3月, 12天, 6小时) as the span of days it
    means, or None when there is none or it is not an age. The one place an age is read."""
    if not text or not text.strip():
        return None
    low = high = 0.0
    pos, t, last = 0, text.strip(), None
    while pos < len(t):
        m = _AGE_PART.match(t, pos)
        if m is None or m.end() == pos:
            return None
        unit = m.group(2)
        if unit is None:
            if m.end() != len(t) or last is not None:
                return None  # a bare number is the whole age, in years
            unit = "岁"
        n = float(m.group(1))
        lo, hi = _UNITS[unit]
        low, high, last = low + n * lo, high + n * hi, hi
        pos = m.end()
    if last is None:
        return None
    return AgeSpan(low, high + last)  # up to one more of the smallest unit written


def age_words(days: int) -> str:
    """Days as a person reads them in a reason (28天, 1岁)."""
    return f"{days // 365}岁" if days >= 365 and days % 365 == 0 else f"{days}天"


# --- the table's rows -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeEdit(VersionedItem):
    """One configurable edit. Construction checks it: an invalid edit cannot exist.

    `codes`: the codes it is about (every code when empty, for the kinds that allow it);
    `other_codes`: exclusive: the codes that may not stand beside `codes`; asterisk_alone: the
    dagger codes an asterisk of `codes` needs (empty: any code that is not an asterisk);
    `sex`: the only sex the codes are for (M, F); `min_days`/`max_days`: the ages they are for."""

    kind: str
    message: str
    codes: str | None = None
    other_codes: str | None = None
    sex: str | None = None
    min_days: int | None = None
    max_days: int | None = None
    enabled: bool = True
    id: int | None = None
    version: int = 1
    note: str | None = None
    where: str | None = field(default=None, compare=False, repr=False)
    covered: CodeSet | None = field(init=False, compare=False, repr=False)
    others: CodeSet | None = field(init=False, compare=False, repr=False)

    KEYS = (
        "id", "kind", "codes", "other_codes", "sex", "min_days", "max_days", "message", "enabled", "note", "version",
    )  # fmt: skip
    NOUN = "edit"
    INVALID = EditInvalid

    def __post_init__(self) -> None:
        where = self.label
        try:
            kind = EditKind(self.kind)
        except ValueError:
            raise EditInvalid(
                f"{where}: kind {self.kind!r} is not an edit kind; choose from {', '.join(EditKind)}", "kind"
            ) from None
        object.__setattr__(self, "kind", kind)
        message = (self.message or "").strip() if isinstance(self.message, str) else ""
        if not message:
            raise EditInvalid(f"{where}: the message (what a coder reads on the line) is empty", "message")
        if len(message) > MAX_MESSAGE:
            raise EditInvalid(f"{where}: the message is longer than {MAX_MESSAGE} characters", "message")
        object.__setattr__(self, "message", message)
        covered = code_set(self.codes, "codes", where)
        others = code_set(self.other_codes, "other_codes", where)
        object.__setattr__(self, "codes", covered.text if covered else None)
        object.__setattr__(self, "other_codes", others.text if others else None)
        object.__setattr__(self, "covered", covered)
        object.__setattr__(self, "others", others)
        sex = (self.sex or "").strip().upper() or None
        sex = {"男": "M", "女": "F"}.get(sex, sex)
        object.__setattr__(self, "sex", sex)
        for name in ("min_days", "max_days"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 200 * 366):
                raise EditInvalid(
                    f"{where}: {name} must be a whole number of days from 0 to {200 * 366}, not {v!r}", name
                )
        self._check_kind(kind, where, covered, others, sex)
        if self.note is not None and len(self.note) > 500:
            raise EditInvalid(f"{where}: note is longer than 500 characters", "note")

    def _check_kind(self, kind, where, covered, others, sex) -> None:
        if kind in (EditKind.SEX, EditKind.AGE, EditKind.EXCLUSIVE) and covered is None:
            raise EditInvalid(f"{where}: a {kind} edit needs the codes it is about (codes, e.g. O00-O99)", "codes")
        if kind == EditKind.SEX:
            if sex not in SEXES:
                raise EditInvalid(
                    f"{where}: a sex edit needs the sex its codes are for: M (男) or F (女), not {sex!r}", "sex"
                )
        elif sex is not None:
            raise EditInvalid(f"{where}: sex is only for a sex edit", "sex")
        if kind == EditKind.AGE:
            if self.min_days is None and self.max_days is None:
                raise EditInvalid(
                    f"{where}: an age edit needs min_days or max_days (the ages its codes are for)", "min_days"
                )
            if self.min_days is not None and self.max_days is not None and self.min_days > self.max_days:
                raise EditInvalid(
                    f"{where}: min_days {self.min_days} is more than max_days {self.max_days}", "max_days"
                )
        elif self.min_days is not None or self.max_days is not None:
            raise EditInvalid(
                f"{where}: min_days and max_days are only for an age edit",
                "min_days" if self.min_days is not None else "max_days",
            )
        if kind == EditKind.EXCLUSIVE and others is None:
            raise EditInvalid(
                f"{where}: an exclusive edit needs other_codes (the codes that exclude its codes)", "other_codes"
            )
        if others is not None and kind not in (EditKind.EXCLUSIVE, EditKind.ASTERISK_ALONE):
            raise EditInvalid(f"{where}: other_codes is only for an exclusive or asterisk_alone edit", "other_codes")

    def covers(self, part: Part) -> bool:
        return self.covered is None or self.covered.covers(part)


# --- checking a record ----------------------------------------------------------------------------


class EditLine(NamedTuple):
    """One line of a record as the edits read it: its first code and the others stored beside it
    (comma-separated, None for a line of one code). The main line of a kind is its lowest seq, and
    the main diagnosis is that line's first code."""

    id: int
    kind: str  # discharge, procedure, ...
    seq: int
    code: str | None
    other_codes: str | None = None
    # Whether a line of the same kind comes before it in the record; None: worked out from the
    # lines given (a caller that leaves out the lines without a code says it for each line).
    later: bool | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        if self.code is None:
            return ()
        return (self.code, *self.other_codes.split(",")) if self.other_codes else (self.code,)


class Patient(NamedTuple):
    sex: str | None  # M, F, None when not stated
    age: str | None  # as written


class EditHit(NamedTuple):
    line_id: int
    edit_id: int | None
    edit_version: int
    kind: str  # an EditKind value
    reason: str  # Chinese, with the code


class _Facts(NamedTuple):
    """What the edits say about one code, whatever the record: worked out once per code."""

    parts: tuple[Part, ...]
    icd10: bool
    lone_asterisk: bool  # an asterisk code written alone (not a combination's)
    sex: tuple[CodeEdit, ...]
    age: tuple[CodeEdit, ...]
    star: tuple[CodeEdit, ...]  # asterisk_alone edits for it, the most specific ones
    star_main: tuple[CodeEdit, ...]
    dup: tuple[CodeEdit, ...]
    excl: tuple[tuple[CodeEdit, int], ...]  # exclusive edits it is on: (edit, 0 for codes / 1 for other_codes)
    daggers: frozenset[int]  # ids (python id) of asterisk_alone edits this code is a dagger for
    loud: bool  # an edit of one line (sex, age, asterisk) is about it
    paired: bool  # an edit of two lines (duplicate, exclusive) is about it


class _Code(NamedTuple):
    """One code of one line, with what the edits say about it."""

    line: EditLine
    code: str
    facts: _Facts


def _said(c: _Code) -> str:
    return f"第 {c.line.seq} 行 {c.code}"


class Checker:
    """The enabled edits, ready to check records. Build one per run (or per action): what the edits
    say about each code is worked out the first time the code is seen and then looked up."""

    def __init__(self, edits: Iterable[CodeEdit]):
        self.edits = tuple(e for e in edits if e.enabled)
        by_kind: dict[str, list[CodeEdit]] = {k: [] for k in EditKind}
        for e in self.edits:
            by_kind[e.kind].append(e)
        self.by_kind = {k: tuple(v) for k, v in by_kind.items()}
        self._facts: dict[str, _Facts] = {}

    def __bool__(self) -> bool:
        return bool(self.edits)

    def facts(self, code: str) -> _Facts:
        f = self._facts.get(code)
        if f is None:
            f = self._facts[code] = self._work_out(code)
        return f

    def quiet(self, code: str, active: Mapping[str, bool]) -> bool:
        """Whether a record of this one code, whoever the patient, has no hit: no edit of one code
        is about it and the dictionary has it active (a run's common case, asked cheaply)."""
        f = self._facts.get(code)
        if f is None:
            f = self.facts(code)
        if f.loud:
            return False
        if active.get(code) is True:
            return True
        return not any(e.covers(p) for e in self.by_kind[EditKind.DICTIONARY] for p in f.parts)

    def _work_out(self, code: str) -> _Facts:
        k = self.by_kind
        parts = parts_of(code)
        icd10 = all(p.category is not None for p in parts)
        if not icd10:
            return _Facts(parts, False, False, (), (), (), (), (), (), frozenset(), False, False)
        lone = len(parts) == 1 and parts[0].mark == "*"

        def on(edits: Sequence[CodeEdit]) -> tuple[CodeEdit, ...]:
            return tuple(e for e in edits if any(e.covers(p) for p in parts))

        star: tuple[CodeEdit, ...] = ()
        if lone:
            star = on(k[EditKind.ASTERISK_ALONE])
            specific = tuple(e for e in star if e.covered is not None)
            star = specific or star  # an edit naming this asterisk code says more than the general one
        excl = tuple(
            (e, side)
            for e in k[EditKind.EXCLUSIVE]
            for side, s in ((0, e.covered), (1, e.others))
            if any(s.covers(p) for p in parts)
        )
        non_star = [p for p in parts if p.mark != "*"]
        daggers = frozenset(
            id(e)
            for e in k[EditKind.ASTERISK_ALONE]
            if non_star and (e.others is None or any(p.mark == "†" or e.others.covers(p) for p in non_star))
        )
        sex, age, dup = on(k[EditKind.SEX]), on(k[EditKind.AGE]), on(k[EditKind.DUPLICATE])
        star_main = on(k[EditKind.ASTERISK_MAIN]) if lone else ()
        loud = bool(sex or age or star or star_main)
        return _Facts(parts, True, lone, sex, age, star, star_main, dup, excl, daggers, loud, bool(dup or excl))

    def check(
        self,
        lines: Sequence[EditLine],
        patient: Patient | None,
        active: Mapping[str, bool],
        together: Mapping[tuple[int, str], Hashable] | None = None,
    ) -> list[EditHit]:
        """The hits on one record's lines (all lines of the record), every code of every line.
        `active`: code -> whether the dictionary has it active; absent: not in it. `together`:
        (line id, code) -> the combination application that gave the line that code (the store
        reads it from code_log): lines holding a code one application gave them all are one
        diagnosis written on each source line, not the same code twice."""
        hits: list[EditHit] = []
        dictionary = self.by_kind[EditKind.DICTIONARY]
        loud: list[_Code] = []
        for line in lines:
            if line.code is None:
                continue
            for code in line.codes if line.other_codes else (line.code,):
                f = self.facts(code)
                state = active.get(code)
                if state is not True:
                    said = "不在编码字典中" if state is None else "在编码字典中已停用"
                    for e in dictionary:
                        if any(e.covers(p) for p in f.parts):
                            hits.append(_hit(line, e, f"{code} {said}"))
                if (f.loud or f.paired) and line.kind != PROCEDURE:
                    loud.append(_Code(line, code, f))
        if loud:
            if any(c.facts.loud for c in loud):
                self._single(lines, loud, patient, hits)
            if len(loud) > 1:
                by_kind: dict[str, list[_Code]] = {}
                for c in loud:
                    if c.facts.paired:
                        by_kind.setdefault(c.line.kind, []).append(c)
                for same in by_kind.values():
                    if len(same) > 1:
                        self._pairs(same, hits, together or {})
        return hits

    def _single(self, lines, loud: list[_Code], patient: Patient | None, hits: list[EditHit]) -> None:
        """The edits of one code: sex, age, an asterisk code alone or as the main diagnosis."""
        sex = patient.sex if patient else None
        span = parse_age(patient.age) if patient else None
        for line, code, f in loud:
            for e in f.sex:
                if sex is not None and sex != e.sex:
                    hits.append(_hit(line, e, f"{code}，病案性别为{SEXES[sex]}"))
            for e in f.age:
                if span is None:
                    continue
                if e.max_days is not None and span.low > e.max_days:
                    hits.append(_hit(line, e, f"{code}，年龄 {patient.age}（应在 {age_words(e.max_days)}以内）"))
                elif e.min_days is not None and span.high <= e.min_days:
                    hits.append(_hit(line, e, f"{code}，年龄 {patient.age}（应在 {age_words(e.min_days)}及以上）"))
        if any(c.facts.star or c.facts.star_main for c in loud):
            mains = {}
            for line in lines:
                if line.later is None and (line.kind not in mains or line.seq < mains[line.kind]):
                    mains[line.kind] = line.seq
            others = [(ln, c) for ln in lines if ln.kind != PROCEDURE for c in ln.codes]
            for line, code, f in loud:
                main = mains.get(line.kind) == line.seq if line.later is None else not line.later
                if main and code == line.code:
                    for e in f.star_main:
                        hits.append(_hit(line, e, f"{code} 为主要诊断"))
                for e in f.star:
                    if not any(
                        other.kind == line.kind and (other.id, c) != (line.id, code) and id(e) in self.facts(c).daggers
                        for other, c in others
                    ):
                        need = f"（应有 {e.other_codes} 的剑号编码）" if e.other_codes else ""
                        hits.append(_hit(line, e, f"{code}，病案中无其病因（剑号）编码{need}"))

    def _pairs(self, same: list[_Code], hits: list[EditHit], together: Mapping[tuple[int, str], Hashable]) -> None:
        """The edits between two codes of one kind (two lines, or one line's two codes): the same
        code twice, codes that exclude each other."""
        same = sorted(same, key=lambda c: c.line.seq)  # stable: a line's codes stay in their order
        seen: dict[str, _Code] = {}
        for c in same:
            f = c.facts
            if not f.dup:
                continue
            first = next((seen[p.code] for p in f.parts if p.code in seen), None)
            if first is not None:
                mine = together.get((c.line.id, c.code))
                if mine is None or mine != together.get((first.line.id, first.code)):
                    shared = next(p.code for p in f.parts if p.code in {q.code for q in first.facts.parts})
                    if c.code == first.code:
                        said = f"{c.code}（与第 {first.line.seq} 行相同）"
                    else:  # a combination code and its own part, or two combinations sharing one
                        said = f"{c.code} 与{_said(first)} 都含 {shared}"
                    for e in f.dup:
                        hits.append(_hit(c.line, e, said))
            for p in f.parts:
                seen.setdefault(p.code, c)
        for i, c in enumerate(same):
            for e, side in c.facts.excl:
                partners = [
                    other
                    for j, other in enumerate(same)
                    if j != i and any(x is e and s != side for x, s in other.facts.excl)
                ]
                if partners:
                    with_ = "、".join(_said(o) for o in partners)
                    hits.append(_hit(c.line, e, f"{c.code} 与{with_}"))


def _hit(line: EditLine, edit: CodeEdit, detail: str) -> EditHit:
    return EditHit(line.id, edit.id, edit.version, str(edit.kind), f"{edit.message}：{detail}")


# --- the starter set ------------------------------------------------------------------------------

# A fresh database starts with these (migration 0012); the table is the hospital's to change.
STARTER: tuple[CodeEdit, ...] = (
    CodeEdit(EditKind.DICTIONARY, "编码不在字典中或已停用"),
    CodeEdit(EditKind.SEX, "妊娠、分娩和产褥期编码仅用于女性", codes="O00-O99", sex="F"),
    CodeEdit(EditKind.SEX, "女性生殖器官疾病编码仅用于女性", codes="N70-N98,C51-C58,D06,D25-D28,D39", sex="F"),
    CodeEdit(EditKind.SEX, "男性生殖器官疾病编码仅用于男性", codes="N40-N51,C60-C63,D29,D40", sex="M"),
    CodeEdit(EditKind.AGE, "起源于围生期的情况仅用于出生 28 天以内", codes="P00-P96", max_days=28),
    CodeEdit(EditKind.ASTERISK_ALONE, "星号编码须与其剑号编码同时编码"),
    CodeEdit(EditKind.ASTERISK_ALONE, "糖尿病性多神经病须与糖尿病编码同时编码", codes="G63.2", other_codes="E10-E14"),
    CodeEdit(EditKind.ASTERISK_MAIN, "星号编码不能作为主要诊断"),
    CodeEdit(EditKind.DUPLICATE, "同一编码在病案中重复"),
    CodeEdit(EditKind.EXCLUSIVE, "1型与2型糖尿病不能同时编码", codes="E10", other_codes="E11"),
    CodeEdit(EditKind.EXCLUSIVE, "特指类型糖尿病与未特指糖尿病不能同时编码", codes="E10-E13", other_codes="E14"),
    CodeEdit(EditKind.EXCLUSIVE, "原发性高血压与高血压性心脏病、肾病不能同时编码", codes="I10", other_codes="I11-I13"),
    CodeEdit(EditKind.EXCLUSIVE, "单胎顺产与剖宫产不能同时编码", codes="O80", other_codes="O82"),
)
