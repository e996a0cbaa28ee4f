"""A seeded generator of realistic rule bases and diagnoses, for differential tests and benchmarks.

Rules are shaped the way coders write them: one to three Chinese fragments joined by `.*` or
`.{0,4}`, optional qualifiers `(急性)?`, alternatives `(综合征|综合症)`, some `^...$` anchors,
some exclusions and priorities. Descriptions are built from those fragments, so some match no
rule, some one, some several.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from rulebase.rule import Rule

SITES = [
    "肺",
    "心",
    "肝",
    "肾",
    "胃",
    "结肠",
    "胆囊",
    "脑",
    "膝关节",
    "股骨",
    "甲状腺",
    "乳腺",
    "前列腺",
    "食管",
    "十二指肠",
    "胰腺",
    "脾",
    "膀胱",
    "子宫",
    "卵巢",
    "颈椎",
    "腰椎",
    "冠状动脉",
    "下肢动脉",
    "下肢静脉",
    "支气管",
    "鼻窦",
    "咽",
    "喉",
    "中耳",
    "视网膜",
    "皮肤",
    "淋巴结",
    "骨髓",
    "腹股沟",
    "直肠",
    "阑尾",
    "肛门",
    "输尿管",
    "主动脉",
]
LESIONS = [
    "炎",
    "癌",
    "恶性肿瘤",
    "良性肿瘤",
    "结石",
    "梗死",
    "出血",
    "感染",
    "衰竭",
    "硬化",
    "溃疡",
    "囊肿",
    "狭窄",
    "骨折",
    "功能不全",
    "占位",
    "息肉",
    "结核",
    "脓肿",
    "穿孔",
    "扩张",
    "损伤",
    "畸形",
    "增生",
    "萎缩",
    "积液",
]
QUALIFIERS = ["急性", "慢性", "化脓性", "复发性", "继发性", "原发性", "先天性", "重度", "轻度", "左侧", "右侧", "双侧"]
ALTERNATIVES = [("综合征", "综合症"), ("梗死", "梗塞"), ("恶性肿瘤", "癌"), ("功能不全", "功能衰竭")]
SUFFIXES = ["伴出血", "术后", "伴感染", "III期", "2级", "(高危)", "待查", "复查", "伴梗阻", "急性加重"]
JOINS = [".*", ".{0,4}", ".{0,2}", ""]


def _terms(rng: random.Random, count: int) -> list[str]:
    """Made-up two- and three-character specific terms (like 嗜铬, 黏液, 间质): what makes 30,000 rules distinct.

    Drawn from 1,500 characters, about the size of the character set of Chinese clinical terms:
    a draw from all 20,000 CJK characters would make an unrealistically bushy prefix tree.
    """
    alphabet = [chr(c) for c in random.Random(1500).sample(range(0x4E00, 0x9FA5), 1500)]
    terms: set[str] = set()
    while len(terms) < count:
        terms.add("".join(rng.choice(alphabet) for _ in range(rng.choice([2, 2, 3]))))
    return sorted(terms)


def _code(rng: random.Random, i: int) -> str:
    return f"{rng.choice('ABCDEGIJKMNRZ')}{i // 100 % 100:02d}.{i % 100:02d}{i // 10000}"


def make_rules(n: int, seed: int = 0, codes: int | None = None) -> list[Rule]:
    """n rules over about n*0.8 codes (several rules may share a code)."""
    rng = random.Random(seed)
    n_codes = codes or max(1, int(n * 0.8))
    terms = _terms(random.Random(seed), max(50, n // 2))
    rules = []
    # A real rule base has one general rule per general term (肺炎, 肾结石), then many specific
    # ones; general first fragments are therefore drawn without repeating.
    general_used: set[str] = set()
    lesions_used: set[str] = set()
    for i in range(n):
        parts = []
        for k in range(rng.choice([1, 1, 2, 2, 3])):
            frag = rng.choice(SITES) + rng.choice(LESIONS)
            if k == 0 and (rng.random() < 0.85 or frag in general_used):
                frag = rng.choice(terms) + frag
            elif k == 0:
                general_used.add(frag)
            if rng.random() < 0.1:
                a, b = rng.choice(ALTERNATIVES)
                frag = f"{rng.choice(SITES)}({a}|{b})"
            parts.append(frag)
        pattern = rng.choice(JOINS).join(parts) if len(parts) > 1 else parts[0]
        if rng.random() < 0.3:
            pattern = f"({rng.choice(QUALIFIERS)})?" + pattern
        if rng.random() < 0.15:
            pattern = f"^{pattern}$"
        if rng.random() < 0.02:
            lesion = rng.choice(LESIONS)
            if lesion not in lesions_used:
                lesions_used.add(lesion)
                pattern = "^.{2,3}" + lesion + "$"  # no usable literal beyond the lesion
        exclude = rng.choice(SUFFIXES) if rng.random() < 0.1 else None
        priority = 1 if rng.random() < 0.05 else 0
        rules.append(
            Rule(id=i + 1, code=_code(rng, rng.randrange(n_codes)), pattern=pattern, exclude=exclude, priority=priority)
        )
    return rules


def make_descriptions(n: int, seed: int = 0, rules: int = 1000) -> Iterator[str]:
    """Diagnosis texts: fragment combinations, qualifiers, suffixes, full-width noise, blanks.

    `rules` sizes the pool of specific terms as make_rules does, so texts and rules share words.
    """
    rng = random.Random(seed + 7919)
    terms = _terms(random.Random(seed), max(50, rules // 2))
    for _ in range(n):
        r = rng.random()
        if r < 0.005:
            yield rng.choice(["", "  ", "\t"])
            continue
        parts = [rng.choice(SITES) + rng.choice(LESIONS) for _ in range(rng.choice([1, 1, 1, 2]))]
        if rng.random() < 0.8:
            parts[0] = rng.choice(terms) + parts[0]
        text = "".join(parts)
        if rng.random() < 0.3:
            text = rng.choice(QUALIFIERS) + text
        if rng.random() < 0.25:
            text += rng.choice(SUFFIXES)
        if rng.random() < 0.05:
            text = text.replace("(", "（").replace(")", "）") + " "
        if rng.random() < 0.05:
            a, b = rng.choice(ALTERNATIVES)
            text = text.replace(a, b)
        yield text


def store(conn, rules, author: str = "bench", keep_ids: bool = False) -> None:
    """Write generated rules and their codes straight into a migrated database (no judging: a benchmark's
    and a differential test's seeding, not a rule author's)."""
    from sqlalchemy import insert

    from coder.db.models import coding_rule, icd_code

    conn.execute(insert(icd_code), [{"code": c, "name": c, "active": True} for c in sorted({r.code for r in rules})])
    fields = ("code", "pattern", "exclude_pattern", "priority")
    conn.execute(
        insert(coding_rule),
        [
            {
                **({"id": r.id} if keep_ids else {}),
                **dict(zip(fields, (r.code, r.pattern, r.exclude, r.priority), strict=True)),
                "enabled": True,
                "version": 1,
                "author": author,
            }
            for r in rules
        ],
    )
