"""Mining at scale: a seeded synthetic history of realistic shape, mined once; prints the figures.

    python benchmarks/mining_bench.py                  # 100,000 lines (10,000 texts, 500 codes)
    python benchmarks/mining_bench.py --lines 1000000  # the issue's size: 100,000 texts, 5,000 codes
    python benchmarks/mining_bench.py --holdout 0.2    # also: mine 80% of the texts, code the rest

Texts are built the way Chinese diagnoses are written: a code's literal core (site + head noun,
the head at the end: 股骨颈骨折, 2型糖尿病) with qualifiers in front (急性, 左侧, 2型) and after
(伴出血, 3级, (右)); some codes are specific siblings of a general one (…性肾病 under …), some
lines run two diagnoses together. Text frequency is Zipf-like, so a few texts repeat a lot.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rulebase.mining import Example, MiningOptions, mine  # noqa: E402

SITES = (
    "肺 心 肝 肾 胃 结肠 胆囊 脑 膝关节 股骨颈 甲状腺 乳腺 前列腺 食管 十二指肠 胰腺 脾 膀胱 子宫 卵巢 颈椎 腰椎 "
    "冠状动脉 下肢静脉 支气管 鼻窦 咽 喉 中耳 视网膜 皮肤 淋巴结 腹股沟 直肠 阑尾 肛门 输尿管 主动脉 桡骨 胫骨 "
    "肱骨 踝关节 髋关节 肩关节 角膜 牙龈 扁桃体 腮腺 鼻 眼睑 泪囊 声带 气管 胸膜 心包 心肌 二尖瓣 门静脉"
).split()
PARTS = "上叶 下叶 远端 近端 头部 体部 尾部 前壁 后壁 下段 上段 中段 内侧 外侧".split()
HEADS = (
    "炎 癌 结石 囊肿 息肉 骨折 脓肿 出血 梗死 狭窄 扩张 溃疡 肿物 良性肿瘤 结核 纤维化 萎缩 损伤 穿孔 "
    "破裂 坏死 积液 增生 功能不全 畸形 瘘 血肿 钙化 硬化 感染"
).split()
FRONT = "急性 慢性 左侧 右侧 双侧 复发性 重度 轻度 多发性 陈旧性 亚急性 早期 晚期 继发性 原发性 不完全性".split()
BACK = ["伴出血", "伴感染", "术后", "(右)", "(左)", "待查", "3级", "II期", "并发症", "可能", "伴梗阻", "随访"]
COMPLICATIONS = "肾病 视网膜病变 周围神经病变 酮症酸中毒 足病 胃轻瘫".split()


def codes_and_cores(n_codes: int, rng: random.Random) -> list[tuple[str, str]]:
    """(code, core) pairs; every fifth general core gets specific siblings (core + 性 + complication)."""
    cores: list[str] = []
    seen: set[str] = set()
    while len(cores) < n_codes:
        site = rng.choice(SITES)
        part = rng.choice(PARTS) if rng.random() < 0.5 else ""
        core = site + part + rng.choice(HEADS)
        if core in seen:
            continue
        seen.add(core)
        cores.append(core)
        if rng.random() < 0.2:
            for comp in rng.sample(COMPLICATIONS, 2):
                sib = core + "性" + comp
                if sib not in seen and len(cores) < n_codes:
                    seen.add(sib)
                    cores.append(sib)
    return [(f"{chr(65 + k % 26)}{k // 26 % 100:02d}.{k:04d}", core) for k, core in enumerate(cores)]


def variant(core: str, rng: random.Random) -> str:
    front = "".join(rng.sample(FRONT, rng.choice((0, 0, 1, 1, 2))))
    back = rng.choice(BACK) if rng.random() < 0.35 else ""
    return front + core + back


def workload(lines: int, n_texts: int, n_codes: int, seed: int = 0, noise: float = 0.01) -> list[Example]:
    """Examples: distinct texts with their codes and line counts (Zipf-like), a little miscoding."""
    rng = random.Random(seed)
    pairs = codes_and_cores(n_codes, rng)
    code_weight = [1.0 / (k + 1) ** 0.6 for k in range(len(pairs))]
    texts: dict[str, str] = {}
    attempts = 0
    while len(texts) < n_texts and attempts < n_texts * 20:
        attempts += 1
        code, core = rng.choices(pairs, code_weight)[0] if attempts % 7 else pairs[attempts // 7 % len(pairs)]
        text = variant(core, rng)
        if rng.random() < 0.02:  # two diagnoses run together on one line: coded as the first
            text += " " + variant(rng.choice(pairs)[1], rng)
        texts.setdefault(text, code)
    ordered = sorted(texts)
    rng.shuffle(ordered)
    weights = [1.0 / (r + 1) ** 1.0 for r in range(len(ordered))]
    total_w = sum(weights)
    all_codes = [c for c, _ in pairs]
    out: list[Example] = []
    left = lines
    for r, text in enumerate(ordered):
        n = max(1, round(lines * weights[r] / total_w)) if r < len(ordered) - 1 else max(1, left)
        n = min(n, max(1, left - (len(ordered) - r - 1)))
        left -= n
        codes = {texts[text]: n}
        wrong = sum(1 for _ in range(min(n, 50)) if rng.random() < noise)
        if wrong and n > wrong:
            codes[texts[text]] = n - wrong
            codes[rng.choice(all_codes)] = wrong
        out.append(Example(text, codes, text))
    return out


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the fold workers)."""
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--texts", type=int, default=None, help="distinct texts (default lines / 10)")
    ap.add_argument("--codes", type=int, default=None, help="codes (default texts / 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", type=float, default=0.0, help="fraction of distinct texts to hold out and code")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    n_texts = a.texts or max(100, a.lines // 10)
    n_codes = a.codes or max(10, n_texts // 20)
    t0 = time.perf_counter()
    history = workload(a.lines, n_texts, n_codes, a.seed)
    gen = time.perf_counter() - t0
    test: list[Example] = []
    if a.holdout:
        rng = random.Random(a.seed + 1)
        rng.shuffle(history)
        cut = int(len(history) * a.holdout)
        test, history = history[:cut], history[cut:]
    cpu_before = _cpu()
    result = mine(history, (), MiningOptions(seed=a.seed))
    cpu = _cpu()
    mine_cpu = cpu - cpu_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    accepted = [p for p in result.proposals if p.accepted]
    figures = {
        "lines": result.lines,
        "texts": result.texts,
        "codes": len({c for e in history for c in e.codes}),
        "generate_s": round(gen, 2),
        "mine_s": round(result.seconds, 2),
        "cpu_s": round(cpu, 2),  # this process and the fold workers: the wall time depends on the load
        "mine_cpu_s": round(mine_cpu, 2),  # of it, mining (main + fold workers)
        "peak_rss_mb": round(peak_mb),
        "peak_rss_fold_worker_mb": round(child_mb),
        "proposals": len(result.proposals),
        "accepted": len(accepted),
        "by_kind": {
            str(k): sum(1 for p in accepted if p.kind == k) for k in sorted({p.kind for p in result.proposals})
        },
    }
    if test:
        import dataclasses

        from rulebase.engine import RuleSet

        # Proposals' rules have no id (importing gives them one); the engine names winners by id.
        rules = [dataclasses.replace(p.rule, id=k + 1) for k, p in enumerate(accepted)]
        rs = RuleSet(rules, normalizer=lambda s: s)
        coded = right = 0
        for e in test:
            d = rs.decide(e.text)
            if d.outcome == "coded":
                coded += 1
                right += max(e.codes, key=e.codes.get) == d.code
        figures["holdout_texts"] = len(test)
        figures["holdout_coverage"] = round(coded / len(test), 4)
        figures["holdout_precision"] = round(right / coded, 4) if coded else None
    if a.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for k, v in figures.items():
            print(f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
