"""The demo's year of audit history, written for this project: every patient, date and review is invented.

    from coder.sample import history
    history.write(engine)  # icdcoder demo, on a fresh database holding the bundled rule base

A department goes live with the bundled rule base on GO_LIVE (2024-12-16) and codes with it
through YEAR (2025, the year before the bundled sample's discharges, so no day is in the future).
On the 25th of each month a sample of the month's discharge homepages (DISCHARGES, invented by
the generator of homepage.csv, plus a few more ways of writing some diagnoses) is imported, coded
by the 08:00 run and reviewed within three days by 李娜, 张伟 and 王芳: they confirm the right auto-codes,
correct the wrong ones and code the failures (no_match, ambiguous) by hand. At each month's end
王芳, the rule author, answers what the month's reviews show: she writes or changes the rules for
the texts corrected or coded by hand most often (up to CAPACITY changes a month, for texts seen at
least twice), each change's reason citing the audit ids it answers ("答复审核 #12, #15"). So the
next month's lines are coded better: precision and coverage rise through the year. Some of the
coders' corrections come from the medical record, not the text (肺炎 that the record shows is
支原体肺炎); no rule can answer those, so precision stays a little below 1.

Everything goes through the services a department uses (import_diagnoses, run_coding,
apply_action, add_rule and change_rule, each judged against the audited history), so statuses,
codes, logs, audit rows and rule history are what they would be; then each row's timestamps are
set to its simulated day (the report groups lines by diagnosis.updated_at, the day of the last
person's action). The random choices use a fixed seed, so the history is the same every time.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, func, select, update

from coder.audit.actions import apply_action
from coder.db.models import (
    audit_action,
    code_log,
    coding_rule,
    coding_run,
    diagnosis,
    fail_log,
    homepage,
    icd_code,
    line_codes,
    norm_history,
    norm_rule,
    rule_history,
    rulebase_state,
)
from coder.imports.lines import Layout
from coder.sample.make_homepage import (
    DX,
    HEADERS,
    PROCEDURE_PAIRS,
    PX,
    WARDS,
    Case,
    Ward,
    _allowed,
    _birth_for,
    _cells,
    _group,
    _weighted,
)
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import add_rule, change_rule, list_rules
from coder.services.run import run_coding
from rulebase.codes import code_list
from rulebase.states import ReviewAction, Status

YEAR = 2025
GO_LIVE = dt.datetime(YEAR - 1, 12, 16, 9, 0)  # the dictionary, normalization and bundled rules
SEED = 2025
AUTHOR = "王芳"  # the rule author, who also reviews a few records
CODERS = ((5, "李娜"), (4, "张伟"), (2, "王芳"))  # (weight, coder): who reviews a record
DISCHARGES = 28  # a month's sample of discharges: some 105 lines
LAST_DISCHARGE, CODED_DAY, REVIEW_DAYS = 24, 25, 3  # discharged on days 1-24, coded on the 25th, reviewed in 3 days
ANSWER_DAY = 28  # 王芳 changes the rules in the afternoon, after the month's reviews
CAPACITY = 3  # rule changes a month at most
AT_LEAST = 2  # audited lines a change must answer (a text seen once waits for a second)
MAX_CITED = 30  # audit ids a reason cites

# More ways clinicians write some diagnoses than homepage.csv uses: the bundled rules miscode or
# miss these, and 王芳's changes answer them.
EXTRA: dict[str, list[tuple[str, str]]] = {
    "ci_late": [("脑梗塞后遗症", "I69.300"), ("陈旧性脑梗塞", "I69.300")],
    "post_pci": [("冠心病 支架植入术后", "Z95.501")],
    "ua": [("不稳定性心绞痛", "I20.000"), ("冠心病 不稳定性心绞痛", "I25.103,I20.000")],
    "gallstone": [("急性胆囊炎 胆囊结石", "K80.000"), ("胆囊结石伴胆囊炎", "K80.100")],
    "hf": [("心衰", "I50.900"), ("慢性心功能不全", "I50.900")],
    "lung_ca": [("右肺腺癌", "C34.900")],
}
PX_EXTRA: dict[str, list[tuple[str, str]]] = {
    "lap_chole": [("腹腔镜中转开腹胆囊切除术", "51.2200")],
}

# Codes a coder sometimes changes from what the text says, because the medical record says more
# (the sputum culture, the risk factors): (code as written, the record's code, share of lines).
CONTEXT = {
    "J18.900": ("J15.700", 0.03),  # 肺炎: the record shows mycoplasma
    "I10.x00x004": ("I10.x00x032", 0.10),  # 高血压病3级: the record shows very high risk
    "D64.900": ("D63.800", 0.05),  # 贫血: a dialysis patient's, renal
    "E11.900": ("E11.201", 0.02),  # 2型糖尿病: the record shows nephropathy
}


@dataclass(frozen=True)
class Fix:
    """A rule change 王芳 makes once the reviews show the need. It answers the lines persons coded
    `code` (corrected to it, or coded by hand) that it makes the rules code right. `old` None: a new
    rule of `code`; else a new version of the stored rule of `rule` (default: `code`) whose pattern
    is `old`, with the fields given (a new pattern, priority or exclude)."""

    code: str
    why: str
    pattern: str | None = None
    priority: int | None = None
    exclude: str | None = None
    old: str | None = None
    rule: str | None = None

    def answers(self, stored: dict[str, Any] | None, text: str | None) -> bool:
        if not text:
            return False
        if stored is not None and self.exclude is not None:  # it stops a rule miscoding these
            return _search(stored["pattern"], text) and _search(self.exclude, text)
        pattern = self.pattern or stored["pattern"]
        exclude = stored["exclude"] if stored is not None else self.exclude
        return _search(pattern, text) and not (exclude and _search(exclude, text))


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


FIXES = (
    # wrong auto-codes (corrections)
    Fix("I69.300", "脑梗死后遗症、陈旧性脑梗死应编 I69.300，不是 I63.900", "脑梗死后遗症|陈旧性脑梗死", 1),
    Fix(
        "I20.000",
        "“不稳定性心绞痛”也是不稳定型心绞痛（与冠心病同写时两个诊断各编一码）",
        "不稳定[型性]?心绞痛",
        old="不稳定(型)?心绞痛",
    ),
    Fix(
        "K80.000",
        "胆囊结石伴急性胆囊炎应编 K80.000，不是 K81.000",
        "胆囊结石伴急性.{0,2}胆囊炎|急性胆囊炎.{0,2}胆囊结石",
        1,
    ),
    Fix(
        "51.2200",
        "中转开腹的胆囊切除术是开腹胆囊切除 51.2200",
        exclude="中转开腹",
        old="腹腔镜.{0,4}胆囊切除",
        rule="51.2300",
    ),
    # ambiguous: which code wins
    Fix(
        "Z95.501",
        "冠心病伴支架术后、PCI术后：编支架术后状态 Z95.501",
        "(冠状动脉|冠脉)?.{0,4}支架(植入|置入)(术)?后|PCI术后",
        1,
        old="(冠状动脉|冠脉).{0,4}支架(植入|置入)(术)?后|PCI术后",
    ),
    Fix("I27.900", "慢阻肺伴肺心病：编肺源性心脏病 I27.900", priority=1, old="肺源性心脏病|肺心病"),
    Fix(
        "C34.900",
        "肺腺癌；肺恶性肿瘤伴恶性胸腔积液编 C34.900",
        "(肺|支气管肺)(恶性肿瘤|癌|腺癌|鳞癌)",
        1,
        old="(肺|支气管肺)(恶性肿瘤|癌)",
    ),
    Fix(
        "N18.900",
        "尿毒症也是慢性肾衰竭",  # 慢性肾脏病5期 肾性贫血 is two diagnoses: both coded, no priority needed
        "慢性肾(脏病|功能不全|衰竭)|尿毒症",
        old="慢性肾(脏病|功能不全|衰竭)",
    ),
    Fix(
        "36.0700",
        "造影+支架、冠脉支架、PCI：编支架置入 36.0700",
        "(经皮)?(冠状动脉|冠脉).{0,4}支架(置入|植入)术?|经皮冠状动脉介入治疗",
        1,
        old="(经皮)?冠状动脉.{0,4}支架(置入|植入)术?",
    ),
    Fix(
        "96.7100", "气管插管+呼吸机：编呼吸机辅助通气 96.7100", priority=1, old="呼吸机(辅助)?(通气|治疗)|有创机械通气"
    ),
    Fix("13.4100", "超声乳化+人工晶体：编超声乳化 13.4100", priority=1, old="白内障超声乳化|超声乳化.{0,6}白内障"),
    # no rule matched
    Fix("I21.900", "ST段抬高型、非ST段抬高型心肌梗死", "急性.{0,8}心肌梗(死|塞)", old="急性.{0,4}心肌梗(死|塞)"),
    Fix("I50.900", "心衰、全心衰竭、心功能不全", "心(力|功能)?衰(竭)?|心功能不全", old="心(力|功能)衰竭"),
    Fix("I11.900", "高血压性心脏病", "高血压性心脏病"),
    Fix("E11.900", "2型糖尿病伴血糖控制不佳仍是无并发症", "^(2|II)型糖尿病(伴血糖控制不佳)?$", old="^(2|II)型糖尿病$"),
    Fix("E14.900", "未写分型的糖尿病", "^糖尿病$"),
    Fix("E78.100", "高甘油三酯血症", "高甘油三酯血症"),
    Fix("M10.900", "痛风、痛风性关节炎", "痛风(性关节炎)?"),
    Fix("E87.800", "电解质紊乱", "电解质紊乱"),
    Fix("E05.000", "Graves病", "Graves病|弥漫性毒性甲状腺肿"),
    Fix("D64.900", "轻、中、重度贫血", "^(轻度|中度|重度)?贫血$", old="^贫血$"),
    Fix("G20.x00", "帕金森病", "帕金森病"),
    Fix("R42.x00", "头晕、眩晕（作为诊断时）", "^(头晕|眩晕)$"),
    Fix("J18.900", "肺部感染按肺炎编", "肺炎|肺部感染", old="肺炎"),
    Fix("J15.700", "支原体肺炎", "支原体肺炎"),
    Fix("C34.100", "肺上叶的癌", "肺上叶.{0,2}(腺癌|鳞癌|癌|恶性肿瘤)"),
    Fix("K35.200", "阑尾炎伴穿孔", "阑尾炎伴穿孔"),
    Fix("K80.100", "胆囊结石伴（慢性）胆囊炎", "胆囊结石伴(慢性)?胆囊炎"),
    Fix("C16.300", "胃窦癌", "胃窦(癌|恶性肿瘤)"),
    Fix("M51.202", "腰椎间盘突出（症）、L4/5椎间盘突出", "腰椎间盘突出|L[0-9]/[0-9]椎间盘突出"),
    Fix("M80.900", "骨质疏松伴病理性骨折", "骨质疏松(症)?伴病理性骨折"),
    Fix("D25.900", "子宫多发性肌瘤", "子宫(平滑|多发(性)?)?肌瘤", old="子宫(平滑)?肌瘤"),
    Fix("N80.100", "卵巢巧克力囊肿", "卵巢巧克力囊肿|卵巢子宫内膜异位囊肿"),
    Fix("C67.900", "膀胱尿路上皮癌", "膀胱(恶性肿瘤|癌|尿路上皮癌)", old="膀胱(恶性肿瘤|癌)"),
    Fix("P36.900", "新生儿败血症", "新生儿败血症"),
    Fix("H52.100", "高度近视", "高度近视"),
    Fix("37.7800", "临时起搏器", "临时(心脏)?起搏器(置入|植入)"),
    Fix("37.3400", "导管消融", "射频消融|导管消融", old="射频消融"),
    Fix("34.9100", "胸腔穿刺（抽液）", "胸腔穿刺"),
    Fix("38.9300", "深静脉置管、锁骨下静脉穿刺置管", "深静脉置管|静脉穿刺置管"),
    Fix("99.0400", "红细胞输注", "红细胞输注"),
    Fix("51.2300", "LC 是腹腔镜胆囊切除术", "^LC$"),
    Fix("43.8900", "远端胃癌根治术", "胃大部切除|远端胃癌根治", old="胃大部切除"),
    Fix("45.7300", "右半结肠癌根治术", "右半结肠(切除|癌根治)", old="右半结肠切除"),
    Fix("68.2900", "宫腔镜子宫内膜息肉电切", "子宫肌瘤(切除|剔除)|子宫内膜息肉电切", old="子宫肌瘤(切除|剔除)"),
    Fix("14.7900", "玻璃体腔注药", "玻璃体腔注(药|射)"),
)

ROW_HEADERS = HEADERS[: HEADERS.index("编码员")]  # the export's other columns are left unread anyway


@dataclass
class Line:
    truth: str  # the code the coder gives it
    from_record: bool  # the record, not the text, decides the code (CONTEXT)


@dataclass
class History:
    """What write() made: counts for the demo's summary."""

    months: int = 0
    discharges: int = 0
    lines: int = 0
    runs: int = 0
    actions: Counter = field(default_factory=Counter)  # confirm, correct, code
    rule_changes: int = 0
    first: str = ""
    last: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.first,
            "to": self.last,
            "months": self.months,
            "discharges": self.discharges,
            "lines": self.lines,
            "runs": self.runs,
            "reviews": dict(sorted(self.actions.items())),
            "rule_changes": self.rule_changes,
        }


def write(engine: Engine) -> History:
    """The year of history on `engine`: a fresh demo database holding the dictionary, the
    normalization table and the bundled rules, and no lines yet."""
    _date_setup(engine)
    rng = random.Random(SEED)
    out = History(first=f"{YEAR}-01", last=f"{YEAR}-12")
    state = _Answers()
    serial = 0
    with tempfile.TemporaryDirectory(prefix="icdcoder-history-") as tmp:
        for month in range(1, 13):
            rows, truths = [], []
            for _ in range(DISCHARGES):
                serial += 1
                row, truth = _discharge(rng, serial, dt.date(YEAR, month, rng.randint(1, LAST_DISCHARGE)))
                rows.append(row)
                truths.append(truth)
            day = dt.date(YEAR, month, CODED_DAY)
            lines = _import(engine, Path(tmp) / f"{YEAR}-{month:02d}.csv", rows, truths, day)
            _run(engine, day)
            _review(engine, rng, lines, day, REVIEW_DAYS - 1, out.actions)
            out.discharges += len(rows)
            out.lines += len(lines)
            out.runs += 1
            out.rule_changes += _answer(engine, dt.date(YEAR, month, ANSWER_DAY), state)
            out.months += 1
    return out


# --- the setup, dated to the go-live ------------------------------------------------------------


def _date_setup(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (rule_history, norm_history):
            conn.execute(update(table).values(changed_at=GO_LIVE))
        for table in (coding_rule, norm_rule, rulebase_state):
            conn.execute(update(table).values(changed_at=GO_LIVE))
        conn.execute(update(icd_code).values(updated_at=GO_LIVE))


# --- the discharges --------------------------------------------------------------------------------


def _variant(rng: random.Random, concept: str) -> tuple[str, str]:
    options = DX[concept] + EXTRA.get(concept, [])
    return options[0] if rng.random() < 0.4 else rng.choice(options)


def _diagnoses(rng: random.Random, ward: Ward, case: Case, sex: str, age: int) -> list[tuple[str, str]]:
    """As make_homepage chooses them, with the EXTRA ways of writing some."""
    chosen = [case.main]
    taken = {_group(case.main)}
    low, high = ward.extra
    if ward.name != "新生儿科":
        high = min(high, low + max(1, age // 15))
    wanted = rng.randint(low, max(low, high))
    for _ in range(wanted * 4):
        if len(chosen) > wanted:
            break
        concept = _weighted(rng, ward.others)
        if _allowed(concept, sex, taken, chosen):
            chosen.append(concept)
            taken.add(_group(concept))
    return [_variant(rng, c) for c in chosen]


def _procedures(rng: random.Random, case: Case) -> list[tuple[str, str]]:
    """As make_homepage chooses them, with the PX_EXTRA ways of writing some."""
    out: list[tuple[str, str]] = []
    for concept in _weighted(rng, case.procedures):
        same = [p for p in out if p in PX[concept]]
        out.append(same[0] if same else rng.choice(PX[concept] + PX_EXTRA.get(concept, [])))
    return out[:PROCEDURE_PAIRS]


def _discharge(rng: random.Random, serial: int, day: dt.date) -> tuple[list[str], dict[str, list[Line]]]:
    """One homepage row (pending: names without codes) and the codes the coders will give its lines."""
    ward = _weighted(rng, [(w.records, w) for w in WARDS])
    case = _weighted(rng, [(c.weight, c) for c in ward.cases])
    sex = case.sex or ("男" if rng.random() < ward.male else "女")
    discharged = dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.randrange(60)))
    admitted = dt.datetime.combine(
        day - dt.timedelta(days=rng.randint(*ward.stay)), dt.time(rng.randint(8, 11), rng.randrange(60))
    )
    if ward.name == "新生儿科":
        days = rng.randint(*case.ages)
        birth, age, age_text = admitted.date() - dt.timedelta(days=days), 0, f"{days}天"
    else:
        age = rng.randint(*case.ages)
        birth = _birth_for(rng, age, admitted.date())
        age_text = f"{age}岁" if rng.random() < 0.4 else str(age)
    dx = _diagnoses(rng, ward, case, sex, age)
    px = _procedures(rng, case) if ward.name != "内分泌科" else []
    truth = {"discharge": [_truth(rng, code) for _, code in dx], "procedure": [Line(code, False) for _, code in px]}
    summary = " ".join(f"{i}.{text}" for i, (text, _) in enumerate(dx, 1)) if len(dx) > 1 else dx[0][0]
    row = [
        f"25{serial:05d}",
        "1",
        sex,
        age_text,
        birth.isoformat(),
        f"{admitted:%Y-%m-%d %H:%M}",
        f"{discharged:%Y-%m-%d %H:%M}",
        ward.name,
        summary,
        *_cells(dx, 9, False),
        *_cells(px, 5, False),
    ]
    return row, truth


def _truth(rng: random.Random, code: str) -> Line:
    other = CONTEXT.get(code)
    if other is not None and rng.random() < other[1]:
        return Line(other[0], True)
    return Line(code, False)


# --- import, run, review ---------------------------------------------------------------------------


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def _import(engine: Engine, path: Path, rows, truths, day: dt.date) -> dict[int, Line]:
    """The HIS export of the batch, imported at 07:30; its lines' ids and codes to give."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(ROW_HEADERS)
        w.writerows(rows)
    import_diagnoses(engine, path, layout=Layout.HOMEPAGE)
    ids = [f"{r[0]}-1" for r in rows]
    at = _at(day, 7, 30)
    with engine.begin() as conn:
        stored = conn.execute(
            select(diagnosis.c.id, diagnosis.c.record_id, diagnosis.c.kind)
            .where(diagnosis.c.record_id.in_(ids))
            .order_by(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
        ).all()
        conn.execute(update(diagnosis).where(diagnosis.c.record_id.in_(ids)).values(created_at=at, updated_at=at))
        conn.execute(update(homepage).where(homepage.c.record_id.in_(ids)).values(created_at=at, updated_at=at))
    by_record = dict(zip(ids, truths, strict=True))
    taken: Counter = Counter()
    lines = {}
    for d_id, record_id, kind in stored:
        lines[d_id] = by_record[record_id][kind][taken[record_id, kind]]
        taken[record_id, kind] += 1
    assert all(taken[r, k] == len(v) for r, t in by_record.items() for k, v in t.items()), "lines lost in import"
    return lines


def _run(engine: Engine, day: dt.date) -> None:
    """The 08:00 cron run, dated to its day."""
    result = run_coding(engine)
    at = _at(day, 8, 0)
    with engine.begin() as conn:
        conn.execute(
            update(coding_run)
            .where(coding_run.c.id == result.run_id)
            .values(started_at=at, ended_at=at + dt.timedelta(seconds=2), heartbeat_at=at + dt.timedelta(seconds=2))
        )
        for log in (code_log, fail_log):
            ids = select(log.c.diagnosis_id).where(log.c.run_id == result.run_id)
            conn.execute(
                update(log).where(log.c.run_id == result.run_id).values(logged_at=at + dt.timedelta(seconds=1))
            )
            conn.execute(update(diagnosis).where(diagnosis.c.id.in_(ids)).values(attempted_at=at, updated_at=at))


STAMP_AUDIT = update(audit_action).where(audit_action.c.id == bindparam("a_id")).values(acted_at=bindparam("at"))
STAMP_LINE = update(diagnosis).where(diagnosis.c.id == bindparam("d_id")).values(updated_at=bindparam("at"))


def _review(engine: Engine, rng: random.Random, lines: dict[int, Line], day: dt.date, within: int, actions: Counter):
    """Each record to one coder, on one of the days after the run; a coder's day in one transaction."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(diagnosis.c.id, diagnosis.c.record_id, diagnosis.c.status, diagnosis.c.code, diagnosis.c.other_codes)
            .where(diagnosis.c.id.in_(list(lines)))
            .order_by(diagnosis.c.id)
        ).all()
        names = dict(conn.execute(select(icd_code.c.code, icd_code.c.name)).all())
    who: dict[str, tuple[str, int]] = {}
    sessions: dict[tuple[int, str], list] = defaultdict(list)
    for r in rows:
        if r.record_id not in who:
            who[r.record_id] = (_weighted(rng, CODERS), rng.randint(0, within))
        coder, offset = who[r.record_id]
        sessions[offset, coder].append(r)
    for (offset, coder), todo in sorted(sessions.items()):
        when = _at(day + dt.timedelta(days=offset), 9 if offset == 0 else 8, rng.randrange(30))
        stamps: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for r in todo:
                line = lines[r.id]
                truth = code_list(line.truth)  # a line of two diagnoses has two codes
                if r.status == Status.CODED and line_codes(r.code, r.other_codes) == truth:
                    action, code, remark = ReviewAction.CONFIRM, None, None
                elif r.status == Status.CODED:
                    action, code = ReviewAction.CORRECT, line.truth
                    said = "、".join(names[c] for c in truth)
                    remark = f"据病历：{said}" if line.from_record else f"应为{said}"
                else:
                    action, code, remark = ReviewAction.CODE, line.truth, None
                done = apply_action(conn, r.id, action, coder, code, remark)
                stamps.append({"a_id": done.audit_id, "d_id": r.id, "at": when})
                actions[str(action)] += 1
                when += dt.timedelta(seconds=rng.randint(40, 200))
            conn.execute(STAMP_AUDIT, stamps)
            conn.execute(STAMP_LINE, stamps)


# --- 王芳 answers the month's reviews ----------------------------------------------------------------


@dataclass
class _Answers:
    done: set[int] = field(default_factory=set)  # FIXES made (their index)
    cited: set[int] = field(default_factory=set)  # audit ids a change already answers


def _answer(engine: Engine, day: dt.date, state: _Answers) -> int:
    """The month's rule changes: the FIXES answering the most audited lines not answered yet (a
    wrong auto-code counts twice), at most CAPACITY, each answering at least AT_LEAST lines."""
    rules = {}
    for r in list_rules(engine):
        rules.setdefault((r["code"], r["pattern"]), r)
    with engine.connect() as conn:
        audits = conn.execute(
            select(audit_action.c.id, audit_action.c.action, audit_action.c.new_code, audit_action.c.normalized)
            .where(audit_action.c.action.in_([ReviewAction.CORRECT, ReviewAction.CODE]))
            .order_by(audit_action.c.id)
        ).all()
    ranked = []
    for n, fix in enumerate(FIXES):
        if n in state.done:
            continue
        stored = None
        if fix.old is not None:
            stored = rules.get((fix.rule or fix.code, fix.old))
            if stored is None:
                raise AssertionError(f"history: no stored rule {fix.rule or fix.code} {fix.old!r} to change")
        answered = [
            a
            for a in audits
            if a.id not in state.cited and a.new_code == fix.code and fix.answers(stored, a.normalized)
        ]
        weight = sum(2 if a.action == ReviewAction.CORRECT else 1 for a in answered)
        if len(answered) >= AT_LEAST:
            ranked.append((-weight, n, fix, stored, [a.id for a in answered]))
    made = 0
    when = _at(day, 15, 30)
    for _, n, fix, stored, ids in sorted(ranked, key=lambda x: x[:2])[:CAPACITY]:
        shown = ", ".join(f"#{i}" for i in ids[:MAX_CITED])
        more = f" 等 {len(ids)} 条" if len(ids) > MAX_CITED else ""
        reason = f"答复审核 {shown}{more}：{fix.why}"
        with engine.connect() as conn:
            last = conn.execute(select(func.max(rule_history.c.id))).scalar_one() or 0
        if stored is None:
            rule_id = add_rule(
                engine, fix.code, fix.pattern, AUTHOR, exclude=fix.exclude, priority=fix.priority or 0, reason=reason
            ).rule.id  # fmt: skip
        else:
            changes: dict[str, Any] = {}
            if fix.pattern is not None:
                changes["pattern"] = fix.pattern
            if fix.priority is not None:
                changes["priority"] = fix.priority
            if fix.exclude is not None:
                changes["exclude"] = fix.exclude
            rule_id = change_rule(engine, stored["id"], AUTHOR, reason, **changes).new.id
        with engine.begin() as conn:
            conn.execute(update(rule_history).where(rule_history.c.id > last).values(changed_at=when))
            conn.execute(update(coding_rule).where(coding_rule.c.id == rule_id).values(changed_at=when))
            conn.execute(update(rulebase_state).values(changed_at=when))
        state.done.add(n)
        state.cited.update(ids)
        made += 1
        when += dt.timedelta(minutes=25)
    return made
