"""Regenerates homepage.csv, the demo's discharge homepage export (住院病案首页) in the wide layout.

    python -m coder.sample.make_homepage

Written for this project: every patient, date and note is invented. One row per discharge, as a
HIS exports the homepage: the patient fields, the discharge summary's own run-on list (出院诊断),
the main diagnosis and up to eight other diagnoses as name/code pairs, the main procedure and up to
four others, the coder, and three columns the importer must leave unread (手术名称, 病程记录, 总费用).

The names are written the ways clinicians write them (abbreviations, full-width digits, Roman
numerals, qualifiers, a few diseases and procedures no rule covers). The earliest 40 % of the
discharges (the history) are coded in full, as a coder would code them; the rest are pending, with
empty code cells, except a few a coder had started. Codes are in the national clinical version's
style and are all in codes.csv (ICD-10) or procedure_codes.csv (ICD-9-CM-3).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

# --- Diagnoses: each concept is a list of (the text as written, the code a coder gives it). ------
DX: dict[str, list[tuple[str, str]]] = {
    # heart
    "cad": [
        ("冠心病", "I25.103"),
        ("冠状动脉粥样硬化性心脏病", "I25.103"),
        ("冠状动脉粥硬化性心脏病", "I25.103"),
        ("冠心病 稳定型心绞痛", "I25.103"),
        ("冠状动脉粥样硬化性心脏病 稳定型心绞痛", "I25.103"),
    ],
    "ua": [
        ("不稳定型心绞痛", "I20.000"),
        ("冠状动脉粥样硬化性心脏病 不稳定型心绞痛", "I20.000"),
        ("冠心病 不稳定型心绞痛", "I20.000"),
        ("冠心病-不稳定性心绞痛", "I20.000"),
    ],
    "ami": [
        ("急性前壁心肌梗死", "I21.900"),
        ("急性下壁心肌梗塞", "I21.900"),
        ("急性广泛前壁心肌梗死", "I21.900"),
        ("急性ST段抬高型心肌梗死", "I21.900"),
        ("急性非ST段抬高型心肌梗死", "I21.900"),
    ],
    "af": [
        ("心房颤动", "I48.x00"),
        ("阵发性房颤", "I48.x00"),
        ("持续性心房颤动", "I48.x00"),
        ("阵发性心房颤动", "I48.x00"),
    ],
    "hf": [
        ("慢性心力衰竭", "I50.900"),
        ("心功能衰竭", "I50.900"),
        ("慢性心力衰竭 心功能Ⅲ级（NYHA分级）", "I50.900"),
        ("全心衰竭", "I50.900"),
        ("心功能不全", "I50.900"),
    ],
    "pvc": [("室性早搏", "I49.300"), ("频发室性期前收缩", "I49.300")],
    "svt": [("阵发性室上性心动过速", "I47.100"), ("室上速", "I47.100")],
    "avb": [
        ("三度房室传导阻滞", "I44.200"),
        ("Ⅲ度房室传导阻滞", "I44.200"),
        ("完全性房室传导阻滞", "I44.200"),
    ],
    "sss": [("病态窦房结综合征", "I49.500"), ("病态窦房结综合症", "I49.500"), ("病窦综合征", "I49.500")],
    "post_pci": [
        ("冠状动脉支架植入术后", "Z95.501"),
        ("冠脉支架植入术后", "Z95.501"),
        ("PCI术后", "Z95.501"),
        ("冠心病 PCI术后", "Z95.501"),
    ],
    "htn": [
        ("高血压", "I10.x00"),
        ("原发性高血压", "I10.x00"),
        ("高血压病", "I10.x00"),
        ("高血压病1级", "I10.x00x002"),
        ("高血压1级（低危）", "I10.x00x002"),
        ("高血压病2级（高危）", "I10.x00x003"),
        ("高血压病2级", "I10.x00x003"),
        ("高血压病3级", "I10.x00x004"),
        ("高血压病 3级", "I10.x00x004"),
        ("高血压３级", "I10.x00x004"),
        ("高血压病3级（极高危）", "I10.x00x032"),
        ("高血压3级很高危", "I10.x00x032"),
        ("高血压病３级(很高危)", "I10.x00x032"),
        ("高血压性心脏病", "I11.900"),
    ],
    "cor_pulm": [
        ("慢性肺源性心脏病", "I27.900"),
        ("肺心病", "I27.900"),
        ("慢性阻塞性肺疾病 慢性肺源性心脏病", "I27.900"),
    ],
    "pe": [("肺栓塞", "I26.900"), ("急性肺动脉栓塞", "I26.900")],
    # metabolism
    "dm2": [
        ("2型糖尿病", "E11.900"),
        ("Ⅱ型糖尿病", "E11.900"),
        ("２型糖尿病", "E11.900"),
        ("2型糖尿病伴血糖控制不佳", "E11.900"),
    ],
    "dm_unspec": [("糖尿病", "E14.900")],
    "dm1": [("1型糖尿病", "E10.900"), ("Ⅰ型糖尿病", "E10.900")],
    "dka": [("2型糖尿病酮症酸中毒", "E11.101"), ("Ⅱ型糖尿病性酮症酸中毒", "E11.101")],
    "dn": [("2型糖尿病性肾病", "E11.201"), ("Ⅱ型糖尿病性肾病", "E11.201"), ("2型糖尿病肾病Ⅳ期", "E11.201")],
    "dr": [("2型糖尿病视网膜病变", "E11.301"), ("2型糖尿病性视网膜病变", "E11.301")],
    "dpn": [("2型糖尿病性周围神经病变", "E11.401+G63.2*"), ("Ⅱ型糖尿病周围神经病变", "E11.401+G63.2*")],
    "lipid": [("高脂血症", "E78.500"), ("高血脂症", "E78.500"), ("高甘油三酯血症", "E78.100")],
    "uric": [("高尿酸血症", "E79.000")],
    "gout": [("痛风", "M10.900"), ("痛风性关节炎", "M10.900")],
    "hypok": [("低钾血症", "E87.600")],
    "hyperk": [("高钾血症", "E87.500")],
    "electrolyte": [("电解质紊乱", "E87.800")],
    "hypoalb": [("低蛋白血症", "E88.001"), ("低白蛋白血症", "E88.001")],
    "hypothyroid": [("甲状腺功能减退症", "E03.900"), ("甲减", "E03.900")],
    "hyperthyroid": [("甲状腺功能亢进症", "E05.900"), ("甲亢", "E05.900"), ("Graves病", "E05.000")],
    "obesity": [("肥胖症", "E66.900")],
    "hypoglycemia": [("低血糖症", "E16.200"), ("低血糖", "E16.200")],
    "osteoporosis": [("骨质疏松症", "M81.900"), ("骨质疏松", "M81.900")],
    "anemia": [("贫血", "D64.900"), ("中度贫血", "D64.900")],
    "renal_anemia": [("肾性贫血", "D63.800")],
    # brain
    "ci": [
        ("脑梗死", "I63.900"),
        ("急性脑梗死", "I63.900"),
        ("腔隙性脑梗死", "I63.900"),
        ("多发性腔隙性脑梗死", "I63.900"),
        ("脑梗塞", "I63.900"),
        ("急性脑梗塞（左侧基底节区）", "I63.900"),
    ],
    "ci_late": [("脑梗死后遗症", "I69.300"), ("陈旧性脑梗死", "I69.300")],
    "ich": [("脑出血", "I61.900"), ("基底节区脑出血", "I61.900"), ("高血压性脑出血", "I61.900")],
    "tia": [("短暂性脑缺血发作", "G45.900"), ("TIA", "G45.900")],
    "parkinson": [("帕金森病", "G20.x00")],
    "epilepsy": [("癫痫", "G40.900"), ("继发性癫痫", "G40.900")],
    "cerebral_as": [("脑动脉粥样硬化", "I67.200")],
    "dizziness": [("头晕", "R42.x00"), ("眩晕", "R42.x00")],
    # lungs
    "copd_ae": [
        ("慢性阻塞性肺疾病急性加重", "J44.100"),
        ("COPD急性加重", "J44.100"),
        ("慢阻肺急性加重期", "J44.100"),
        ("慢性阻塞性肺疾病急性加重期", "J44.100"),
    ],
    "copd": [("慢性阻塞性肺疾病", "J44.900"), ("慢阻肺", "J44.900"), ("COPD", "J44.900")],
    "pneumonia": [("肺炎", "J18.900"), ("社区获得性肺炎", "J18.900"), ("重症肺炎", "J18.900"), ("肺部感染", "J18.900")],
    "mycoplasma": [("支原体肺炎", "J15.700")],
    "asthma": [("支气管哮喘", "J45.900"), ("支气管哮喘急性发作", "J45.900"), ("哮喘", "J45.900")],
    "bronchitis": [("急性支气管炎", "J20.900")],
    "uri": [("急性上呼吸道感染", "J06.900")],
    "resp_failure": [
        ("Ⅱ型呼吸衰竭", "J96.900x002"),
        ("2型呼吸衰竭", "J96.900x002"),
        ("呼吸衰竭", "J96.900"),
        ("急性呼吸衰竭", "J96.900"),
    ],
    "effusion": [("胸腔积液", "J90.x00"), ("右侧胸腔积液", "J90.x00")],
    "lung_ca": [
        ("右肺恶性肿瘤", "C34.900"),
        ("肺癌", "C34.900"),
        ("左肺癌", "C34.900"),
        ("右肺上叶腺癌", "C34.100"),
        ("右肺恶性肿瘤 恶性胸腔积液", "C34.900"),
    ],
    # digestive
    "appendicitis": [
        ("急性阑尾炎", "K35.900"),
        ("急性化脓性阑尾炎", "K35.900"),
        ("阑尾炎", "K35.900"),
        ("急性坏疽性阑尾炎伴穿孔", "K35.200"),
    ],
    "gallstone": [
        ("胆囊结石", "K80.200"),
        ("胆囊多发结石", "K80.200x003"),
        ("胆囊结石伴慢性胆囊炎", "K80.100"),
        ("胆囊结石伴急性胆囊炎", "K80.000"),
        ("急性结石性胆囊炎", "K81.000"),
    ],
    "hernia": [("右侧腹股沟斜疝", "K40.900"), ("腹股沟斜疝", "K40.900"), ("左侧腹股沟直疝", "K40.900")],
    "gastric_ca": [("胃癌", "C16.900"), ("胃恶性肿瘤", "C16.900"), ("胃窦癌", "C16.300")],
    "colon_ca": [("结肠癌", "C18.900"), ("升结肠癌", "C18.900"), ("乙状结肠恶性肿瘤", "C18.900")],
    "chemo": [("胃癌术后化疗", "Z51.102"), ("结肠癌术后化疗", "Z51.102")],
    "breast_ca": [("左乳腺恶性肿瘤", "C50.900"), ("右乳腺癌", "C50.900")],
    "breast_chemo": [("乳腺癌术后化疗", "Z51.102")],
    "pancreatitis": [("急性胰腺炎", "K85.900"), ("急性胆源性胰腺炎", "K85.900"), ("急性水肿型胰腺炎", "K85.900")],
    "ileus": [("肠梗阻", "K56.700"), ("不完全性肠梗阻", "K56.700")],
    "gastritis": [("慢性浅表性胃炎", "K29.500"), ("慢性萎缩性胃炎", "K29.500")],
    "ulcer": [("胃溃疡", "K25.900")],
    "cirrhosis": [("肝硬化", "K74.600"), ("乙肝肝硬化失代偿期", "K74.600")],
    "hbv": [("慢性乙型病毒性肝炎", "B18.100"), ("慢性乙型肝炎", "B18.100")],
    "constipation": [("便秘", "K59.000")],
    # bones
    "hip_fracture": [
        ("右股骨颈骨折", "S72.000"),
        ("左股骨颈骨折", "S72.000"),
        ("右侧股骨颈骨折（GardenⅣ型）", "S72.000"),
    ],
    "knee_oa": [("膝关节骨性关节炎", "M17.900"), ("双膝骨关节炎", "M17.900"), ("右膝关节骨性关节炎", "M17.900")],
    "disc": [("腰椎间盘突出症", "M51.202"), ("L4/5椎间盘突出", "M51.202")],
    "radius_fracture": [("右桡骨远端骨折", "S52.500"), ("左桡骨远端粉碎性骨折", "S52.500")],
    "spine_fracture": [("腰1椎体压缩性骨折", "S32.000"), ("腰椎压缩性骨折", "S32.000")],
    "osteoporotic_fracture": [("骨质疏松伴病理性骨折", "M80.900")],
    "femoral_head": [("右侧股骨头缺血性坏死", "M87.000"), ("股骨头坏死", "M87.000")],
    # women
    "myoma": [("子宫肌瘤", "D25.900"), ("子宫平滑肌瘤", "D25.900"), ("子宫多发性肌瘤", "D25.900")],
    "ovarian_cyst": [
        ("左侧卵巢囊肿", "N83.200"),
        ("右卵巢囊肿", "N83.200"),
        ("卵巢囊肿", "N83.200"),
        ("卵巢巧克力囊肿", "N80.100"),
    ],
    "adenomyosis": [("子宫腺肌病", "N80.000"), ("子宫腺肌症", "N80.000")],
    "ectopic": [("异位妊娠", "O00.900"), ("宫外孕", "O00.900"), ("右侧输卵管妊娠", "O00.100")],
    "polyp": [("子宫内膜息肉", "N84.000")],
    # urinary
    "bph": [("前列腺增生", "N40.x00"), ("良性前列腺增生", "N40.x00"), ("前列腺增生症", "N40.x00")],
    "kidney_stone": [("左肾结石", "N20.000"), ("右肾结石", "N20.000"), ("双肾结石", "N20.000"), ("肾结石", "N20.000")],
    "ureter_stone": [("右输尿管上段结石", "N20.100"), ("左输尿管结石", "N20.100")],
    "hydronephrosis": [("右肾积水", "N13.301"), ("左肾积水", "N13.301")],
    "bladder_ca": [("膀胱恶性肿瘤", "C67.900"), ("膀胱癌", "C67.900"), ("膀胱尿路上皮癌", "C67.900")],
    "bladder_stone": [("膀胱结石", "N21.000")],
    "uti": [("尿路感染", "N39.000"), ("泌尿道感染", "N39.000")],
    # kidneys
    "ckd": [
        ("慢性肾脏病5期", "N18.900"),
        ("慢性肾功能不全", "N18.900"),
        ("慢性肾衰竭", "N18.900"),
        ("尿毒症", "N18.900"),
        ("慢性肾脏病5期 肾性贫血", "N18.900"),
    ],
    "nephrotic": [("肾病综合征", "N04.900"), ("肾病综合症", "N04.900")],
    # newborns
    "nn_jaundice": [("新生儿黄疸", "P59.900"), ("新生儿高胆红素血症", "P59.900"), ("新生儿病理性黄疸", "P59.900")],
    "nn_pneumonia": [("新生儿肺炎", "P23.900")],
    "preterm": [("早产儿", "P07.300"), ("早产儿（胎龄34周）", "P07.300")],
    "lbw": [("低出生体重儿", "P07.100")],
    "asphyxia": [("新生儿轻度窒息", "P21.900"), ("新生儿窒息", "P21.900")],
    "nn_hypoglycemia": [("新生儿低血糖", "P70.400"), ("新生儿低血糖症", "P70.400")],
    "wet_lung": [("新生儿湿肺", "P22.100")],
    "nn_sepsis": [("新生儿败血症", "P36.900")],
    # eyes
    "cataract": [
        ("老年性白内障", "H25.900"),
        ("右眼老年性白内障", "H25.900"),
        ("左眼老年性白内障", "H25.900"),
        ("白内障", "H25.900"),
    ],
    "glaucoma": [("青光眼", "H40.900"), ("急性闭角型青光眼", "H40.200"), ("原发性闭角型青光眼", "H40.200")],
    "pterygium": [("翼状胬肉", "H11.000"), ("右眼翼状胬肉", "H11.000")],
    "retinal_detachment": [("孔源性视网膜脱离", "H33.000"), ("右眼视网膜脱离", "H33.000")],
    "myopia": [("高度近视", "H52.100")],
}

# Concepts one sex cannot have.
SEX_ONLY = {
    "bph": "男",
    "myoma": "女",
    "ovarian_cyst": "女",
    "adenomyosis": "女",
    "ectopic": "女",
    "polyp": "女",
    "breast_ca": "女",
    "breast_chemo": "女",
}

# Concepts of which a record holds at most one (besides the rule that a concept appears once).
GROUP = {
    "ua": "cad",
    "ami": "cad",
    "dm1": "dm",
    "dm_unspec": "dm",
    "dka": "dm",
    "copd_ae": "copd",
    "mycoplasma": "pneumonia",
    "renal_anemia": "anemia",
    "hyperk": "hypok",
    "ci_late": "ci",
    "dn": "dm_complication",
    "dr": "dm_complication",
    "dpn": "dm_complication",
}

# Concepts that only go with a diabetes already on the list (a complication needs no dm1 beside it).
NEEDS_NO_DM1 = {"dn", "dr", "dpn"}

# --- Procedures: (the text as written, the code a coder gives it). ---------------------------------
PX: dict[str, list[tuple[str, str]]] = {
    "cag": [("冠状动脉造影术", "88.5500"), ("冠状动脉造影", "88.5500"), ("选择性冠状动脉造影术", "88.5500")],
    "stent": [
        ("经皮冠状动脉支架置入术", "36.0700"),
        ("经皮冠状动脉药物洗脱支架植入术", "36.0700"),
        ("冠状动脉支架植入术", "36.0700"),
        ("冠脉支架植入术（LAD）", "36.0700"),
        ("经皮冠状动脉介入治疗（PCI）", "36.0700"),
    ],
    "cag_stent": [("冠状动脉造影+支架置入术", "36.0700")],
    "ptca": [("经皮冠状动脉腔内血管成形术", "00.6600"), ("PTCA", "00.6600")],
    "dcb": [("冠状动脉药物球囊扩张术", "00.6600x004"), ("经皮冠状动脉药物涂层球囊成形术", "00.6600x004")],
    "pacemaker": [
        ("永久心脏起搏器置入术", "37.8000"),
        ("双腔永久起搏器植入术", "37.8300"),
        ("临时起搏器置入术", "37.7800"),
    ],
    "ablation": [("心脏射频消融术", "37.3400"), ("射频消融术", "37.3400"), ("房颤导管消融术", "37.3400")],
    "cerebral_angio": [("全脑血管造影术", "88.4100"), ("脑血管造影", "88.4100")],
    "thrombolysis": [("静脉溶栓治疗", "99.1000"), ("rt-PA静脉溶栓", "99.1000")],
    "lumbar_puncture": [("腰椎穿刺术", "03.3100"), ("腰穿", "03.3100")],
    "intubation": [("气管插管", "96.0400"), ("经口气管插管术", "96.0400")],
    "ventilation": [
        ("呼吸机辅助通气", "96.7100"),
        ("有创呼吸机辅助通气", "96.7100"),
        ("呼吸机治疗", "96.7100"),
        ("有创呼吸机辅助通气（大于等于96小时）", "96.7200"),
        ("气管插管+呼吸机辅助通气", "96.7100"),
    ],
    "niv": [("无创呼吸机辅助通气", "93.9000"), ("无创正压通气", "93.9000")],
    "cpap": [("经鼻持续气道正压通气（CPAP）", "93.9000"), ("CPAP辅助通气", "93.9000")],
    "bronchoscopy": [("电子支气管镜检查", "33.2200"), ("纤维支气管镜检查术", "33.2200")],
    "chest_drain": [("胸腔闭式引流术", "34.0400")],
    "thoracentesis": [("胸腔穿刺抽液术", "34.9100")],
    "cvc": [("深静脉置管术", "38.9300"), ("右锁骨下静脉穿刺置管术", "38.9300")],
    "transfusion": [("悬浮红细胞输注", "99.0400")],
    "lap_chole": [("腹腔镜下胆囊切除术", "51.2300"), ("腹腔镜胆囊切除术", "51.2300"), ("LC", "51.2300")],
    "open_chole": [("开腹胆囊切除术", "51.2200"), ("胆囊切除术", "51.2200")],
    "appendectomy": [("阑尾切除术", "47.0900"), ("腹腔镜下阑尾切除术", "47.0100"), ("腹腔镜阑尾切除术", "47.0100")],
    "hernia_repair": [("右侧腹股沟斜疝无张力修补术", "53.0500"), ("腹股沟疝修补术", "53.0500")],
    "gastrectomy": [("远端胃大部切除术", "43.8900"), ("腹腔镜辅助远端胃癌根治术", "43.8900")],
    "hemicolectomy": [("右半结肠切除术", "45.7300"), ("腹腔镜下右半结肠癌根治术", "45.7300")],
    "gastroscopy": [("电子胃镜检查", "44.1300"), ("无痛胃镜检查", "44.1300")],
    "colonoscopy": [("电子结肠镜检查", "45.2300"), ("肠镜检查", "45.2300")],
    "chemotherapy": [("静脉化疗", "99.2500"), ("FOLFOX方案化疗", "99.2500"), ("化学治疗", "99.2500")],
    "mastectomy": [("乳腺癌改良根治术", "85.4300")],
    "thr": [("人工全髋关节置换术", "81.5100"), ("右侧全髋关节置换术", "81.5100"), ("人工髋关节置换术", "81.5100")],
    "hemi": [("人工股骨头置换术", "81.5200"), ("半髋关节置换术", "81.5200")],
    "tkr": [("人工全膝关节置换术", "81.5400"), ("右膝关节表面置换术", "81.5400")],
    "discectomy": [("腰椎间盘髓核摘除术", "80.5100"), ("椎间孔镜下腰椎间盘髓核摘除术", "80.5100")],
    "radius_orif": [("桡骨远端骨折切开复位内固定术", "79.3200"), ("右桡骨远端骨折切开复位钢板内固定术", "79.3200")],
    "hip_crif": [("股骨颈骨折闭合复位空心钉内固定术", "79.1500")],
    "pkp": [("经皮椎体后凸成形术", "81.6600"), ("PKP", "81.6600")],
    "myomectomy": [
        ("子宫肌瘤切除术", "68.2900"),
        ("经腹子宫肌瘤剔除术", "68.2900"),
        ("腹腔镜下子宫肌瘤剔除术", "68.2900x003"),
    ],
    "hysterectomy": [("经腹全子宫切除术", "68.4900"), ("全子宫切除术", "68.4900"), ("腹腔镜下全子宫切除术", "68.4100")],
    "cystectomy": [("卵巢囊肿剔除术", "65.2900"), ("腹腔镜下左侧卵巢囊肿剔除术", "65.2500")],
    "salpingectomy": [("腹腔镜下右侧输卵管切除术", "66.6200"), ("输卵管切除术", "66.6200")],
    "hysteroscopy": [("宫腔镜检查术", "68.1200")],
    "polypectomy": [("宫腔镜下子宫内膜息肉电切术", "68.2900")],
    "turp": [("经尿道前列腺电切术", "60.2900"), ("TURP", "60.2900"), ("经尿道前列腺等离子电切术", "60.2900")],
    "turbt": [("经尿道膀胱肿瘤电切术", "57.4900"), ("TURBT", "57.4900")],
    "pcnl": [("经皮肾镜碎石取石术", "55.0400")],
    "eswl": [("体外冲击波碎石术", "98.5100"), ("ESWL", "98.5100")],
    "catheter": [("留置导尿术", "57.9400"), ("导尿术", "57.9400")],
    "phaco": [
        ("白内障超声乳化抽吸术", "13.4100"),
        ("右眼白内障超声乳化抽吸术", "13.4100"),
        ("超声乳化白内障吸除术", "13.4100"),
    ],
    "iol": [("人工晶体植入术", "13.7100"), ("人工晶状体植入术", "13.7100")],
    "phaco_iol": [("白内障超声乳化抽吸+人工晶体植入术", "13.4100")],
    "pterygium_op": [("翼状胬肉切除术", "11.3900"), ("翼状胬肉切除联合自体结膜移植术", "11.3900")],
    "trabeculectomy": [("小梁切除术", "12.6400")],
    "vitrectomy": [("玻璃体切除术", "14.7400"), ("经睫状体平坦部玻璃体切割术", "14.7400")],
    "intravitreal": [("玻璃体腔注药术", "14.7900")],
    "hd": [("血液透析", "39.9500")],
    "hdf": [("血液透析滤过", "39.9500x007")],
    "avf": [("左前臂动静脉内瘘成形术", "39.2700"), ("动静脉造瘘术", "39.2700")],
    "hd_catheter": [("右颈内静脉临时透析导管置入术", "38.9500"), ("颈内静脉血透置管术", "38.9500")],
    "kidney_biopsy": [("经皮肾穿刺活检术", "55.2300"), ("肾穿刺活检", "55.2300")],
    "phototherapy": [("蓝光治疗", "99.8300"), ("新生儿蓝光照射治疗", "99.8300")],
}


@dataclass(frozen=True)
class Case:
    """A reason for admission: the main diagnosis, who has it, and what is done for it."""

    main: str
    weight: int
    ages: tuple[int, int]
    complaint: str
    procedures: tuple[tuple[int, tuple[str, ...]], ...] = ((1, ()),)  # (weight, procedure concepts)
    sex: str | None = None


@dataclass(frozen=True)
class Ward:
    name: str
    records: int
    male: float
    stay: tuple[int, int]
    cost: tuple[int, int]
    treatment: str
    cases: tuple[Case, ...]
    others: tuple[tuple[int, str], ...]  # (weight, diagnosis concept)
    extra: tuple[int, int]  # how many other diagnoses: from, to


CARDIAC_OTHERS = (
    (9, "htn"),
    (5, "dm2"),
    (5, "lipid"),
    (2, "af"),
    (2, "hf"),
    (2, "post_pci"),
    (1, "uric"),
    (1, "ckd"),
    (1, "ci_late"),
    (1, "hypok"),
    (1, "gastritis"),
    (1, "bph"),
    (1, "dpn"),
)
MEDICAL_OTHERS = (
    (8, "htn"),
    (5, "dm2"),
    (4, "lipid"),
    (2, "cad"),
    (2, "af"),
    (2, "hypok"),
    (2, "pneumonia"),
    (1, "hypoalb"),
    (1, "anemia"),
    (1, "electrolyte"),
    (1, "ci_late"),
    (1, "osteoporosis"),
    (1, "bph"),
    (1, "cerebral_as"),
)
SURGICAL_OTHERS = (
    (6, "htn"),
    (4, "dm2"),
    (2, "lipid"),
    (2, "cad"),
    (2, "hypok"),
    (2, "anemia"),
    (1, "hypoalb"),
    (1, "gastritis"),
    (1, "hbv"),
    (1, "ci_late"),
    (1, "copd"),
    (1, "constipation"),
)

WARDS = (
    Ward(
        "心血管内科",
        48,
        0.62,
        (3, 11),
        (9000, 30000),
        "抗血小板聚集、调脂稳定斑块、控制心室率",
        (
            Case(
                "cad",
                8,
                (48, 86),
                "反复胸闷2年，加重1周",
                ((5, ()), (4, ("cag",)), (3, ("cag", "stent")), (1, ("cag_stent",)), (1, ("cag", "dcb"))),
            ),
            Case(
                "ua",
                8,
                (45, 85),
                "胸痛3天",
                (
                    (2, ()),
                    (3, ("cag",)),
                    (5, ("cag", "stent")),
                    (1, ("cag", "stent", "stent")),
                    (1, ("cag", "ptca")),
                    (1, ("cag_stent",)),
                ),
            ),
            Case("ami", 5, (42, 88), "突发胸痛4小时", ((1, ()), (5, ("cag", "stent")), (1, ("cag_stent",)))),
            Case("af", 4, (50, 86), "心悸1周", ((4, ()), (2, ("ablation",)))),
            Case("hf", 4, (60, 92), "活动后气促加重伴双下肢水肿5天"),
            Case("htn", 3, (40, 80), "头晕、头痛1月"),
            Case("pvc", 1, (30, 70), "心悸半月"),
            Case("svt", 1, (20, 60), "反复发作性心悸3年", ((1, ()), (3, ("ablation",)))),
            Case("avb", 2, (65, 90), "黑矇2次", ((1, ("pacemaker",)),)),
            Case("sss", 1, (60, 88), "乏力、头晕3月", ((1, ("pacemaker",)),)),
        ),
        CARDIAC_OTHERS,
        (0, 5),
    ),
    Ward(
        "神经内科",
        32,
        0.55,
        (5, 16),
        (8000, 26000),
        "抗血小板聚集、改善循环、营养神经",
        (
            Case(
                "ci",
                10,
                (45, 90),
                "左侧肢体无力1天",
                ((6, ()), (2, ("cerebral_angio",)), (1, ("thrombolysis",))),
            ),
            Case(
                "ich",
                3,
                (45, 85),
                "突发头痛伴右侧肢体无力3小时",
                ((2, ()), (1, ("intubation", "ventilation")), (1, ("cvc",))),
            ),
            Case("tia", 3, (45, 80), "发作性言语不清2次", ((3, ()), (1, ("cerebral_angio",)))),
            Case("parkinson", 2, (58, 85), "肢体抖动3年，加重2月"),
            Case("epilepsy", 2, (18, 70), "发作性意识丧失伴四肢抽搐1天", ((2, ()), (1, ("lumbar_puncture",)))),
            Case("dizziness", 2, (40, 80), "头晕3天"),
        ),
        MEDICAL_OTHERS,
        (1, 6),
    ),
    Ward(
        "呼吸内科",
        32,
        0.6,
        (5, 15),
        (7000, 35000),
        "抗感染、化痰、平喘",
        (
            Case(
                "copd_ae",
                8,
                (55, 90),
                "反复咳嗽咳痰10年，气促加重3天",
                ((6, ()), (2, ("niv",)), (1, ("intubation", "ventilation"))),
            ),
            Case("pneumonia", 8, (20, 92), "发热、咳嗽5天", ((6, ()), (1, ("bronchoscopy",)))),
            Case("mycoplasma", 1, (16, 45), "咳嗽1周"),
            Case("asthma", 3, (18, 75), "喘息2天"),
            Case(
                "lung_ca", 3, (50, 82), "咳嗽、痰中带血1月", ((1, ()), (2, ("bronchoscopy",)), (1, ("thoracentesis",)))
            ),
            Case("effusion", 1, (40, 85), "胸闷气短2周", ((1, ("chest_drain",)), (1, ("thoracentesis",)))),
            Case("pe", 1, (40, 85), "突发呼吸困难1天"),
            Case("bronchitis", 1, (18, 70), "咳嗽咳痰3天"),
        ),
        (
            (6, "htn"),
            (3, "dm2"),
            (3, "resp_failure"),
            (2, "cor_pulm"),
            (2, "copd"),
            (2, "hypok"),
            (2, "hypoalb"),
            (1, "hf"),
            (1, "af"),
            (1, "effusion"),
            (1, "electrolyte"),
            (1, "cad"),
        ),
        (1, 6),
    ),
    Ward(
        "内分泌科",
        24,
        0.5,
        (5, 12),
        (5000, 15000),
        "控制血糖、降压、调脂",
        (
            Case("dm2", 8, (35, 80), "口干、多饮、多尿1年"),
            Case("dn", 3, (45, 80), "发现血糖升高10年，双下肢水肿1月"),
            Case("dpn", 3, (45, 80), "双足麻木3月"),
            Case("dka", 2, (20, 60), "恶心、呕吐2天"),
            Case("dm1", 1, (16, 35), "多饮、多尿、消瘦1月"),
            Case("hyperthyroid", 2, (20, 55), "心悸、多汗、体重下降3月"),
            Case("hypoglycemia", 1, (55, 85), "意识模糊1小时"),
            Case("gout", 1, (30, 70), "右足第一跖趾关节红肿疼痛2天"),
        ),
        (
            (7, "htn"),
            (5, "lipid"),
            (2, "dr"),
            (2, "dpn"),
            (2, "dn"),
            (2, "obesity"),
            (2, "hypothyroid"),
            (2, "uric"),
            (1, "osteoporosis"),
            (1, "hypok"),
            (1, "cad"),
            (1, "uti"),
            (1, "ci_late"),
        ),
        (1, 6),
    ),
    Ward(
        "普外科",
        38,
        0.52,
        (3, 14),
        (10000, 60000),
        "抗感染、补液、营养支持",
        (
            Case(
                "appendicitis",
                7,
                (14, 70),
                "转移性右下腹痛1天",
                ((1, ()), (4, ("appendectomy",)), (1, ("appendectomy", "transfusion"))),
            ),
            Case(
                "gallstone",
                8,
                (30, 80),
                "反复右上腹痛2年",
                ((1, ()), (6, ("lap_chole",)), (1, ("open_chole",)), (1, ("lap_chole", "gastroscopy"))),
            ),
            Case("hernia", 5, (30, 85), "右侧腹股沟可复性肿物1年", ((1, ("hernia_repair",)),)),
            Case(
                "gastric_ca",
                3,
                (45, 80),
                "上腹部隐痛2月",
                ((1, ("gastroscopy", "gastrectomy")), (1, ("gastrectomy", "transfusion"))),
            ),
            Case(
                "colon_ca",
                3,
                (45, 82),
                "大便性状改变3月",
                ((1, ("colonoscopy", "hemicolectomy")), (1, ("hemicolectomy",))),
            ),
            Case("chemo", 3, (45, 78), "胃癌术后3月，返院化疗", ((1, ("chemotherapy",)),)),
            Case("breast_ca", 2, (35, 70), "发现左乳肿物1月", ((1, ("mastectomy",)),), "女"),
            Case("breast_chemo", 1, (35, 70), "乳腺癌术后，返院化疗", ((1, ("chemotherapy",)),), "女"),
            Case("pancreatitis", 2, (30, 75), "上腹痛伴呕吐1天"),
            Case("ileus", 2, (40, 85), "腹胀、停止排气排便2天", ((3, ()), (1, ("gastroscopy",)))),
        ),
        SURGICAL_OTHERS,
        (0, 4),
    ),
    Ward(
        "骨科",
        28,
        0.45,
        (5, 16),
        (15000, 70000),
        "抗凝、镇痛、功能锻炼",
        (
            Case(
                "hip_fracture",
                7,
                (62, 94),
                "跌倒致右髋部疼痛、活动受限1天",
                ((3, ("hemi",)), (2, ("thr",)), (2, ("hip_crif",)), (1, ("hemi", "transfusion"))),
            ),
            Case("knee_oa", 5, (55, 82), "双膝关节疼痛5年，加重半年", ((2, ()), (4, ("tkr",)))),
            Case("disc", 5, (25, 68), "腰痛伴左下肢放射痛3月", ((2, ()), (4, ("discectomy",)))),
            Case("radius_fracture", 3, (35, 80), "摔伤致右腕部肿痛1小时", ((1, ("radius_orif",)),)),
            Case("spine_fracture", 2, (60, 88), "弯腰搬物后腰痛3天", ((1, ("pkp",)),)),
            Case("femoral_head", 2, (40, 70), "右髋部疼痛2年", ((1, ("thr",)),)),
            Case("osteoporotic_fracture", 1, (68, 90), "腰背痛1周", ((1, ()), (1, ("pkp",)))),
        ),
        (
            (7, "htn"),
            (4, "dm2"),
            (4, "osteoporosis"),
            (2, "cad"),
            (1, "lipid"),
            (1, "anemia"),
            (1, "hypoalb"),
            (1, "ci_late"),
            (1, "af"),
            (1, "copd"),
            (1, "bph"),
        ),
        (0, 5),
    ),
    Ward(
        "妇科",
        24,
        0.0,
        (3, 9),
        (8000, 30000),
        "抗感染、补液",
        (
            Case(
                "myoma",
                7,
                (30, 55),
                "发现子宫肌瘤2年，经量增多半年",
                ((4, ("myomectomy",)), (3, ("hysterectomy",)), (1, ("myomectomy", "transfusion"))),
            ),
            Case("ovarian_cyst", 5, (20, 50), "体检发现盆腔包块1周", ((1, ("cystectomy",)),)),
            Case("adenomyosis", 3, (35, 52), "痛经进行性加重3年", ((1, ("hysterectomy",)),)),
            Case("ectopic", 4, (20, 40), "停经45天，阴道流血伴下腹痛1天", ((5, ("salpingectomy",)), (1, ()))),
            Case(
                "polyp", 3, (28, 60), "月经淋漓不尽2月", ((1, ("hysteroscopy", "polypectomy")), (1, ("polypectomy",)))
            ),
        ),
        ((3, "anemia"), (2, "htn"), (1, "dm2"), (1, "myoma"), (1, "ovarian_cyst"), (1, "hypok"), (1, "hypothyroid")),
        (0, 3),
    ),
    Ward(
        "泌尿外科",
        22,
        0.75,
        (3, 10),
        (9000, 35000),
        "抗感染、解痉、补液",
        (
            Case("bph", 7, (58, 90), "排尿困难2年", ((1, ("turp",)), (1, ("turp", "catheter"))), "男"),
            Case("kidney_stone", 5, (25, 75), "左侧腰痛1周", ((3, ("pcnl",)), (2, ("eswl",)), (1, ()))),
            Case("ureter_stone", 4, (20, 70), "右侧腰腹部绞痛6小时", ((2, ("eswl",)), (1, ()))),
            Case("bladder_ca", 3, (50, 85), "无痛性肉眼血尿1月", ((3, ("turbt",)), (1, ("turbt", "catheter")))),
            Case("bladder_stone", 1, (55, 85), "尿频、尿痛1月", ((1, ("catheter",)), (1, ()))),
            Case("uti", 2, (25, 85), "尿频、尿急、尿痛3天"),
        ),
        ((6, "htn"), (3, "dm2"), (2, "hydronephrosis"), (2, "uti"), (1, "bph"), (1, "ckd"), (1, "cad"), (1, "hypok")),
        (0, 4),
    ),
    Ward(
        "新生儿科",
        14,
        0.55,
        (4, 12),
        (3000, 20000),
        "蓝光照射、抗感染、营养支持",
        (
            Case("nn_jaundice", 6, (2, 14), "皮肤黄染2天", ((2, ("phototherapy",)), (1, ()))),
            Case("nn_pneumonia", 3, (3, 25), "咳嗽、吐沫2天", ((3, ()), (1, ("cpap",)))),
            Case("preterm", 3, (1, 6), "早产后气促1小时", ((1, ("cpap",)), (1, ()))),
            Case("wet_lung", 1, (1, 3), "生后呻吟、气促2小时", ((1, ("cpap",)), (1, ()))),
            Case("nn_sepsis", 1, (5, 25), "反应差、发热1天"),
        ),
        ((3, "nn_jaundice"), (2, "lbw"), (2, "asphyxia"), (2, "nn_hypoglycemia"), (1, "nn_pneumonia"), (1, "preterm")),
        (0, 3),
    ),
    Ward(
        "眼科",
        18,
        0.48,
        (2, 6),
        (6000, 18000),
        "抗炎、预防感染",
        (
            Case(
                "cataract",
                10,
                (55, 88),
                "右眼视物模糊2年",
                ((4, ("phaco", "iol")), (2, ("phaco_iol",)), (1, ("phaco",))),
            ),
            Case("glaucoma", 3, (45, 80), "左眼胀痛伴视力下降2天", ((1, ("trabeculectomy",)),)),
            Case("pterygium", 2, (40, 75), "右眼内眦肉状物生长3年", ((1, ("pterygium_op",)),)),
            Case("retinal_detachment", 2, (25, 70), "右眼前黑影飘动伴视物遮挡5天", ((1, ("vitrectomy",)),)),
            Case("dr", 2, (45, 75), "双眼视力下降半年", ((1, ("intravitreal",)), (1, ("vitrectomy",)))),
        ),
        ((5, "htn"), (4, "dm2"), (1, "myopia"), (1, "cad"), (1, "lipid")),
        (0, 3),
    ),
    Ward(
        "肾内科",
        20,
        0.56,
        (6, 16),
        (9000, 40000),
        "纠正贫血、降压、护肾",
        (
            Case(
                "ckd",
                8,
                (30, 85),
                "乏力、纳差1月",
                (
                    (2, ()),
                    (3, ("hd", "hd")),
                    (2, ("hd_catheter", "hd", "hd", "hd")),
                    (2, ("avf", "hd", "hd")),
                    (1, ("hdf", "hd")),
                ),
            ),
            Case("nephrotic", 3, (18, 70), "双下肢水肿2周", ((1, ("kidney_biopsy",)), (1, ()))),
            Case("dn", 3, (45, 80), "双下肢水肿伴泡沫尿3月", ((2, ()), (1, ("hd", "hd")))),
        ),
        (
            (8, "htn"),
            (4, "renal_anemia"),
            (3, "dm2"),
            (2, "hyperk"),
            (2, "hypoalb"),
            (1, "uric"),
            (1, "hf"),
            (1, "cad"),
            (1, "electrolyte"),
        ),
        (1, 6),
    ),
)

CODERS = ("李娜", "王芳", "张伟")
HISTORY_SHARE = 0.4
READMISSIONS = 14
STARTED = 4  # pending records of which a coder has already coded one line

HEADERS = (
    ["病案号", "住院次数", "性别", "年龄", "出生日期", "入院时间", "出院时间", "出院科别", "出院诊断"]
    + ["出院主要诊断名称", "出院主要诊断编码"]
    + [f"出院其他诊断{part}{i}" for i in range(1, 9) for part in ("名称", "编码")]
    + ["主要手术操作名称", "主要手术操作编码"]
    + [f"其他手术操作{part}{i}" for i in range(1, 5) for part in ("名称", "编码")]
    + ["编码员", "手术名称", "病程记录", "总费用"]
)
DIAGNOSIS_PAIRS = 9
PROCEDURE_PAIRS = 5


@dataclass
class Discharge:
    mrn: str
    admission_no: int
    sex: str
    birth: dt.date
    newborn: bool
    admitted: dt.datetime
    discharged: dt.datetime
    ward: Ward
    case: Case
    diagnoses: list[tuple[str, str]]
    procedures: list[tuple[str, str]]


def _weighted(rng: random.Random, options):
    weights = [w for w, _ in options]
    return rng.choices([o for _, o in options], weights=weights)[0]


def _full_years(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _birth_for(rng: random.Random, age: int, on: dt.date) -> dt.date:
    """A birth date at which a person is `age` full years old on `on`."""
    latest = on.replace(year=on.year - age)
    earliest = on.replace(year=on.year - age - 1) + dt.timedelta(days=1)
    birth = earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))
    assert _full_years(birth, on) == age
    return birth


def _variant(rng: random.Random, options: list[tuple[str, str]]) -> tuple[str, str]:
    """One way of writing a concept: the first (the usual one) more often than the others."""
    return options[0] if rng.random() < 0.4 else rng.choice(options)


def _group(concept: str) -> str:
    return GROUP.get(concept, concept)


def _allowed(concept: str, sex: str, taken: set[str], chosen: list[str]) -> bool:
    if SEX_ONLY.get(concept, sex) != sex or concept in chosen or _group(concept) in taken:
        return False
    return not (concept in NEEDS_NO_DM1 and "dm1" in chosen)


def _diagnoses(rng: random.Random, ward: Ward, case: Case, sex: str, age: int) -> list[tuple[str, str]]:
    chosen = [case.main]
    taken = {_group(case.main)}
    low, high = ward.extra
    if not case.main.startswith("nn_") and ward.name != "新生儿科":
        high = min(high, low + max(1, age // 15))  # the old have more
    wanted = rng.randint(low, max(low, high))
    for _ in range(wanted * 4):
        if len(chosen) > wanted:
            break
        concept = _weighted(rng, ward.others)
        if _allowed(concept, sex, taken, chosen):
            chosen.append(concept)
            taken.add(_group(concept))
    return [_variant(rng, DX[c]) for c in chosen]


def _procedures(rng: random.Random, case: Case) -> list[tuple[str, str]]:
    plan = _weighted(rng, case.procedures)
    out: list[tuple[str, str]] = []
    for concept in plan:
        same = [p for p in out if p in PX[concept]]
        # a repeated procedure (dialysis sessions) keeps its wording; another one is picked afresh
        out.append(same[0] if same else rng.choice(PX[concept]))
    return out[:PROCEDURE_PAIRS]


_NUMBERING = (
    lambda i, t: f"{i}.{t}",
    lambda i, t: f"{i}.{t} ",
    lambda i, t: f"{i}、{t}；",
    lambda i, t: f"{i}．{t} ",
)


def _summary(rng: random.Random, diagnoses: list[tuple[str, str]]) -> str:
    """The discharge summary's list, as the clinician typed it in one box."""
    names = []
    for text, code in diagnoses:
        concept = next(k for k, v in DX.items() if (text, code) in v)
        alike = [t for t, c in DX[concept] if c == code]
        alike = [t for t in alike if not any(side in t + text for side in "左右双")]  # keep the side
        names.append(rng.choice(alike) if alike and rng.random() < 0.2 else text)
    if len(names) == 1 and rng.random() < 0.5:
        return names[0]
    style = rng.choice(_NUMBERING)
    return "".join(style(i, t) for i, t in enumerate(names, 1)).strip().rstrip("；")


def _note(rng: random.Random, d: Discharge) -> str:
    """A clinical-note-like sentence (invented), which the importer must never store."""
    who = "患儿" if d.newborn else "患者"
    age = f"生后{(d.admitted.date() - d.birth).days}天" if d.newborn else f"{_full_years(d.birth, d.admitted.date())}岁"
    first = f"{who}{d.sex}，{age}，因“{d.case.complaint}”于{d.admitted:%m月%d日}入院。"
    middle = f"入院后完善相关检查，予{d.ward.treatment}等治疗"
    if d.procedures:
        day = d.admitted + dt.timedelta(days=rng.randint(1, max(1, (d.discharged - d.admitted).days - 1)))
        middle += f"，于{day:%m月%d日}行{d.procedures[0][0]}，过程顺利"
    last = f"，病情好转，于{d.discharged:%m月%d日}出院。"
    if rng.random() < 0.06:
        return first + "\n" + middle + last  # a note pasted with its line break
    return first + middle + last


def _surgery_name(rng: random.Random, d: Discharge) -> str:
    if not d.procedures:
        return ""
    names = list(dict.fromkeys(t for t, _ in d.procedures))
    return "+".join(names[:2]) if len(names) > 1 and rng.random() < 0.4 else names[0]


def _admission(rng: random.Random, ward: Ward, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if rng.random() < 0.3:  # through the emergency department, at any hour
        start = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)))
    else:
        start = dt.datetime.combine(day, dt.time(rng.randint(8, 11), rng.randrange(60)))
    stay = rng.randint(*ward.stay)
    end = dt.datetime.combine(start.date() + dt.timedelta(days=stay), dt.time(rng.randint(9, 16), rng.randrange(60)))
    return start, end


def _discharges(rng: random.Random) -> list[Discharge]:
    total = sum(w.records for w in WARDS)
    mrns = [f"{n:07d}" for n in rng.sample(range(10000, 99999), total)]
    first_day = dt.date(2026, 1, 3)
    out: list[Discharge] = []
    for ward in WARDS:
        for _ in range(ward.records):
            case = _weighted(rng, [(c.weight, c) for c in ward.cases])
            sex = case.sex or ("男" if rng.random() < ward.male else "女")
            if ward.name == "新生儿科":
                day = first_day + dt.timedelta(days=rng.randint(30, 170))  # born in 2026
                age = rng.randint(*case.ages)
                birth = day - dt.timedelta(days=age)
            else:
                day = first_day + dt.timedelta(days=rng.randint(0, 170))
                age = rng.randint(*case.ages)
                birth = _birth_for(rng, age, day)
            admitted, discharged = _admission(rng, ward, day)
            out.append(
                Discharge(
                    mrns.pop(),
                    1,
                    sex,
                    birth,
                    ward.name == "新生儿科",
                    admitted,
                    discharged,
                    ward,
                    case,
                    _diagnoses(rng, ward, case, sex, age),
                    _procedures(rng, case) if ward.name != "内分泌科" else [],
                )
            )
    # Some patients come back: a second admission under the same 病案号, taking the place of a
    # first admission of the same ward (so the ward's count stays), after the first discharge.
    again_wards = ("心血管内科", "呼吸内科", "眼科", "肾内科", "内分泌科", "神经内科")
    firsts = [d for d in out if d.ward.name in again_wards and d.discharged.date() < dt.date(2026, 5, 1)]
    chosen = rng.sample(firsts, READMISSIONS)
    used = {id(d) for d in chosen}
    for first in chosen:
        second = rng.choice([d for d in out if d.ward is first.ward and id(d) not in used])
        used.add(id(second))
        day = first.discharged.date() + dt.timedelta(days=rng.randint(8, 45))
        second.admitted, second.discharged = _admission(rng, second.ward, day)
        case = first.case if rng.random() < 0.7 else second.case
        if first.sex != second.sex or case.sex not in (None, first.sex):
            case = first.case
        second.mrn, second.admission_no, second.sex, second.birth = first.mrn, 2, first.sex, first.birth
        second.case = case
        age = _full_years(second.birth, second.admitted.date())
        second.diagnoses = _diagnoses(rng, second.ward, case, second.sex, age)
        second.procedures = _procedures(rng, case) if second.ward.name != "内分泌科" else []
        if second.ward.name == "眼科" and second.procedures:  # the other eye this time
            second.procedures = [(t.replace("右眼", "左眼"), c) for t, c in second.procedures]
            second.diagnoses = [(t.replace("右眼", "左眼"), c) for t, c in second.diagnoses]
    out.sort(key=lambda d: (d.discharged, d.mrn))
    return out


def _age(rng: random.Random, d: Discharge) -> str:
    if d.newborn:
        return f"{(d.admitted.date() - d.birth).days}天"
    years = _full_years(d.birth, d.admitted.date())
    return f"{years}岁" if rng.random() < 0.4 else str(years)


def _cells(pairs: list[tuple[str, str]], size: int, coded: bool | int) -> list[str]:
    """Name/code cells left to right, empty pairs at the end; `coded`: all, none, or the first."""
    cells: list[str] = []
    for i in range(size):
        if i < len(pairs):
            text, code = pairs[i]
            cells += [text, code if coded is True or (coded == 1 and i == 0) else ""]
        else:
            cells += ["", ""]
    return cells


def make(path: Path, seed: int = 2026) -> None:
    rng = random.Random(seed)
    discharges = _discharges(rng)
    history = round(len(discharges) * HISTORY_SHARE)
    started = set(rng.sample(range(history, len(discharges)), STARTED))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADERS)
        for n, d in enumerate(discharges):
            coded: bool | int = n < history
            coder = rng.choice(CODERS) if n < history or n in started else ""
            if n in started:
                coded = 1  # a coder coded the main diagnosis and was called away
            lo, hi = d.ward.cost
            cost = rng.uniform(lo, hi) * (1 + 0.25 * len(d.procedures))
            w.writerow(
                [
                    d.mrn,
                    d.admission_no,
                    d.sex,
                    _age(rng, d),
                    d.birth.isoformat(),
                    f"{d.admitted:%Y-%m-%d %H:%M}",
                    f"{d.discharged:%Y-%m-%d %H:%M}",
                    d.ward.name,
                    _summary(rng, d.diagnoses),
                    *_cells(d.diagnoses, DIAGNOSIS_PAIRS, coded),
                    *_cells(d.procedures, PROCEDURE_PAIRS, coded is True),
                    coder,
                    _surgery_name(rng, d),
                    _note(rng, d),
                    f"{cost:.2f}",
                ]
            )


if __name__ == "__main__":
    make(Path(__file__).with_name("homepage.csv"))
