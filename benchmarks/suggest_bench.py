"""Suggestions for failures at hospital scale: a seeded workload, build and query times, P@1 and P@5.

    python benchmarks/suggest_bench.py [--texts 200000] [--queries 10000] [--codes 5000] [--seed 7]

The history is Chinese diagnosis-like text as clinicians write it: a head noun at the end
(肺炎, 心绞痛, 骨折), a site and qualifiers in front (急性, 左侧, 不稳定型), and per code many
variants: abbreviations (冠心病 for 冠状动脉粥样硬化性心脏病), typos, qualifier order, full-width and
roman numerals, stray punctuation, run-together additions (伴…, …待查). A few lines are coded to a
sibling code, as real coders disagree. The queries are held-out variants: texts of the same codes
that the history never contains, so P@1/P@5 measure generalization, not lookup.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rulebase.mining import Example  # noqa: E402
from rulebase.suggest import Suggester  # noqa: E402

HEADS = [
    ("肺炎", ("肺部感染",)),
    ("支气管炎", ()),
    ("心绞痛", ("心绞疼",)),
    ("心力衰竭", ("心衰", "心功能不全")),
    ("心肌梗死", ("心梗", "心肌梗塞")),
    ("高血压", ("高血压病",)),
    ("糖尿病", ("DM",)),
    ("骨折", ()),
    ("结石", ()),
    ("囊肿", ()),
    ("息肉", ()),
    ("恶性肿瘤", ("癌", "CA")),
    ("良性肿瘤", ("瘤",)),
    ("溃疡", ()),
    ("出血", ()),
    ("梗死", ("梗塞",)),
    ("狭窄", ()),
    ("脱位", ()),
    ("扭伤", ()),
    ("感染", ()),
    ("脓肿", ()),
    ("积液", ()),
    ("增生", ()),
    ("功能障碍", ()),
    ("损伤", ("伤",)),
    ("动脉瘤", ()),
    ("静脉曲张", ()),
    ("血栓形成", ("血栓",)),
    ("肾病", ()),
    ("贫血", ()),
]
SITES = (
    "肺 左肺 右肺上叶 支气管 冠状动脉 心脏 二尖瓣 主动脉 胃 胃窦 十二指肠 结肠 乙状结肠 直肠 肝 胆囊 胆总管 胰腺 "
    "脾 肾 左肾 输尿管 膀胱 前列腺 子宫 卵巢 乳腺 甲状腺 颈椎 腰椎 股骨颈 胫骨 桡骨远端 锁骨 肱骨 踝关节 膝关节 "
    "髋关节 脑 基底节 小脑 视网膜 鼻窦 咽 喉 食管 下肢静脉 下肢动脉 颈动脉 皮肤 淋巴结 腹股沟"
).split()
QUALS = (
    "急性 慢性 亚急性 重症 复发性 不稳定型 稳定型 陈旧性 社区获得性 医院获得性 原发性 继发性 多发性 "
    "双侧 左侧 右侧 开放性 闭合性 粉碎性 中度 重度 轻度 2型 1型 妊娠期 老年性 先天性 外伤性 病毒性 细菌性"
).split()
ABBREVIATIONS = {"冠状动脉": "冠脉", "慢性阻塞性": "慢阻", "心力衰竭": "心衰", "支气管": "支"}
TYPOS = {"型": "性", "梗": "埂", "炎": "严", "瘤": "留", "脉": "咏", "肾": "贤", "胆": "旦", "痛": "疼"}
EXTRAS = (
    "（待查） 待查 术后 伴感染 伴出血 ？ 可能 （复发） 史 Ⅱ级 Ⅲ期 2级 3级很高危 （左） （右） 晚期 早期 "
    "伴梗阻 并发症 治疗后 个人史"
).split()
SYNONYMS = dict(HEADS)
FULLWIDTH = str.maketrans("0123456789()", "０１２３４５６７８９（）")


def codes(n: int, rnd: random.Random) -> dict[str, tuple[str, str, str]]:
    """n codes, each a (qualifier, site, head) combination, named in the national extension's form."""
    out: dict[str, tuple[str, str, str]] = {}
    seen = set()
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while len(out) < n:
        head = rnd.randrange(len(HEADS))
        combo = (rnd.choice(["", *QUALS]), rnd.choice(["", *SITES]), head)
        if combo in seen:
            continue
        seen.add(combo)
        code = f"{letters[head % 26]}{rnd.randrange(100):02d}.{rnd.randrange(1000):03d}x{len(out) % 1000:03d}"
        out[code] = (combo[0], combo[1], HEADS[head][0])
    return out


def variant(parts: tuple[str, str, str], rnd: random.Random) -> str:
    """One way a clinician writes the diagnosis of these parts."""
    qual, site, head = parts
    syn = SYNONYMS[head]
    if syn and rnd.random() < 0.3:
        head = rnd.choice(syn)
    pieces = [qual, site, head]
    if qual and rnd.random() < 0.2:  # 左肺急性肺炎
        pieces = [site, qual, head]
    text = "".join(pieces)
    for long, short in ABBREVIATIONS.items():
        if long in text and rnd.random() < 0.4:
            text = text.replace(long, short)
    for _ in range(rnd.choice((0, 0, 1, 1, 2))):
        r = rnd.random()
        if r < 0.35:
            extra = rnd.choice(EXTRAS)
            text = text + extra if rnd.random() < 0.7 else extra + text
        elif r < 0.6:
            i = rnd.randrange(len(text))
            ch = TYPOS.get(text[i])
            if ch:
                text = text[:i] + ch + text[i + 1 :]
        elif r < 0.75 and len(text) > 4:
            i = rnd.randrange(1, len(text) - 1)
            text = text[:i] + text[i + 1 :]
        elif r < 0.85:
            text = text.translate(FULLWIDTH) + rnd.choice(("", "，", "。", " "))
        else:
            text = rnd.choice(("1.", "2、", "（1）", "#")) + text
    return text


def workload(n_texts: int, n_queries: int, n_codes: int, seed: int):
    rnd = random.Random(seed)
    book = codes(n_codes, rnd)
    names = list(book)
    by_text: dict[str, Counter] = {}
    first: dict[str, str] = {}  # the code a text was written for
    attempts = 0
    while len(by_text) < n_texts and attempts < n_texts * 50:
        attempts += 1
        code = names[min(int(rnd.paretovariate(0.6)) - 1, n_codes - 1)] if rnd.random() < 0.3 else rnd.choice(names)
        text = variant(book[code], rnd)
        if text in by_text:
            continue
        first[text] = code
        lines = max(1, int(rnd.paretovariate(1.2)))
        c = by_text[text] = Counter({code: lines})
        if rnd.random() < 0.03:  # a coder chose a sibling code for some of its lines
            c[rnd.choice(names)] += max(1, lines // 3)
    history = [Example(t, dict(c), t) for t, c in by_text.items()]
    queries: list[tuple[str, str]] = []
    seen = set(by_text)
    while len(queries) < n_queries:
        code = rnd.choice(names)
        text = variant(book[code], rnd)
        if text not in seen:
            seen.add(text)
            queries.append((text, code))
    return history, queries


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=200_000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--codes", type=int, default=5_000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    history, queries = workload(a.texts, a.queries, a.codes, a.seed)
    t1, c1 = time.perf_counter(), time.process_time()
    suggester = Suggester(history)
    t2, c2 = time.perf_counter(), time.process_time()
    results = suggester.suggest_many([q for q, _ in queries])
    t3, c3 = time.perf_counter(), time.process_time()
    p1 = sum(1 for (_, code), s in zip(queries, results, strict=True) if s and s[0].code == code)
    p5 = sum(1 for (_, code), s in zip(queries, results, strict=True) if code in {x.code for x in s})
    empty = sum(1 for s in results if not s)
    n = len(queries)
    print(
        f"history: {len(history):,} distinct texts, {sum(sum(e.codes.values()) for e in history):,} lines, "
        f"{a.codes:,} codes; {n:,} held-out queries (workload {t1 - t0:.1f}s)"
    )
    # CPU seconds beside the wall clock: on a shared machine the wall clock counts others' work too
    print(f"build  {t2 - t1:6.2f} s  (cpu {c2 - c1:.2f} s)")
    print(f"query  {t3 - t2:6.2f} s  (cpu {c3 - c2:.2f} s; {1000 * (t3 - t2) / n:.3f} ms per query)")
    print(f"total  {t3 - t1:6.2f} s  (cpu {c3 - c1:.2f} s)")
    print(f"P@1 {p1 / n:.3f}  P@5 {p5 / n:.3f}  empty {empty}")


if __name__ == "__main__":
    main()
