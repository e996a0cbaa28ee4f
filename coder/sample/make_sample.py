"""Regenerates diagnoses.csv, the demo's discharge homepages (written for this project; no real patient).

    python -m coder.sample.make_sample

The phrasings are the ways clinicians commonly write these diagnoses, including full-width
punctuation, Roman numerals, numbered lists in one box and a few diagnoses no rule covers.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

PHRASES = [
    "冠心病",
    "冠状动脉粥样硬化性心脏病",
    "冠心病 稳定型心绞痛",
    "冠状动脉粥样硬化性心脏病 不稳定型心绞痛",
    "不稳定型心绞痛",
    "急性前壁心肌梗死",
    "急性下壁心肌梗塞",
    "心房颤动",
    "阵发性房颤",
    "室性早搏",
    "慢性心力衰竭",
    "心功能衰竭",
    "高血压",
    "原发性高血压",
    "高血压病",
    "高血压病1级",
    "高血压病2级（高危）",
    "高血压病3级（极高危）",
    "高血压3级很高危",
    "高血压病 3级",
    "脑梗死",
    "腔隙性脑梗死",
    "脑梗塞后遗症",
    "脑出血",
    "短暂性脑缺血发作",
    "脑动脉粥样硬化",
    "下肢动脉粥样硬化",
    "下肢动脉硬化闭塞症",
    "下肢静脉曲张",
    "2型糖尿病",
    "Ⅱ型糖尿病",
    "２型糖尿病",
    "2型糖尿病性肾病",
    "Ⅱ型糖尿病性肾病",
    "2型糖尿病视网膜病变",
    "2型糖尿病性周围神经病变",
    "糖尿病",
    "高脂血症",
    "高血脂症",
    "甲状腺功能减退症",
    "甲减",
    "低钾血症",
    "肥胖症",
    "肺炎",
    "社区获得性肺炎",
    "支原体肺炎",
    "慢性阻塞性肺疾病",
    "慢性阻塞性肺疾病急性加重",
    "COPD急性加重",
    "慢阻肺",
    "支气管哮喘",
    "急性上呼吸道感染",
    "急性支气管炎",
    "急性阑尾炎",
    "急性化脓性阑尾炎",
    "阑尾炎",
    "胆囊结石",
    "胆囊结石伴慢性胆囊炎",
    "急性结石性胆囊炎",
    "慢性浅表性胃炎",
    "慢性萎缩性胃炎",
    "胃溃疡",
    "反流性食管炎",
    "肝硬化",
    "乙肝肝硬化失代偿期",
    "腹股沟斜疝",
    "便秘",
    "慢性乙型病毒性肝炎",
    "慢性乙型肝炎",
    "慢性肾脏病5期",
    "慢性肾功能不全",
    "肾结石",
    "泌尿道感染",
    "尿路感染",
    "前列腺增生",
    "骨质疏松症",
    "骨质疏松伴病理性骨折",
    "膝关节骨性关节炎",
    "右股骨颈骨折",
    "左股骨颈骨折",
    "右肺恶性肿瘤",
    "肺癌",
    "胃癌",
    "结肠癌",
    "乳腺癌术后化疗",
    "左乳腺恶性肿瘤",
    "子宫平滑肌瘤",
    "子宫肌瘤",
    "贫血",
    "发热",
    "失眠",
    "抑郁状态",
    "老年性白内障",
    "白内障",
    "肺结核",
    "带状疱疹",
    "痛风",
    "帕金森病",
    "系统性红斑狼疮",
    "过敏性紫癜",
    "颈椎病",
    "腰椎间盘突出症",
    "鼻咽癌",
    "病毒性心肌炎",
    "尿路感染性休克",  # two rules claim the shared 感染: ambiguous, a coder decides
]

LISTS = [
    "1.冠心病2.高血压病（3级很高危）3.2型糖尿病",
    "1、慢性阻塞性肺疾病急性加重；2、肺炎；3、慢性心力衰竭",
    "1.脑梗死 2.高血压病2级 3.高脂血症",
    "1.急性化脓性阑尾炎2.低钾血症",
]

PERSON_CODED = [
    ("冠心病", "I25.103"),
    ("高血压病2级", "I10.x00x003"),
    ("胆囊结石", "K80.200"),
    ("2型糖尿病", "E11.900"),
    ("肺炎", "J18.900"),
]


def make(path: Path, records: int = 120, seed: int = 2020) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["record_id", "seq", "description", "code", "coder"])
        for r in range(1, records + 1):
            record = f"ZY2026{r:05d}"
            count = rng.choice([1, 2, 2, 3, 3, 3, 4, 5])
            seq = 1
            if r % 30 == 0:
                w.writerow([record, seq, LISTS[(r // 30) % len(LISTS)], "", ""])
                seq += 3
            for _ in range(count):
                w.writerow([record, seq, rng.choice(PHRASES), "", ""])
                seq += 1
            if r % 40 == 7:
                w.writerow([record, seq, " ", "", ""])  # an empty box on the homepage
                seq += 1
            if r % 10 == 3:
                text, code = rng.choice(PERSON_CODED)
                w.writerow([record, seq, text, code, "李娜"])


if __name__ == "__main__":
    make(Path(__file__).with_name("diagnoses.csv"))
