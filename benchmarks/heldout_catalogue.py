"""The disease catalogue behind benchmarks.heldout: written for this project, not copied from any list.

Codes have the national clinical version's shape (extension codes included); the titles and the
ways of writing them are what a Chinese discharge homepage shows. One line per code:

    code  form|form|...  [flags]

The first form is the title; the others are what clinicians also write (abbreviations, synonyms,
another word order). A digit before 型/级/期/度 is a numeral the generator writes as 2, ２, II, Ⅱ
or 二. Flags: `S` — a side (左侧/右侧/双侧) may be written without changing the code;
`L` — only 左侧/右侧 (双侧 is a sibling with its own code, as for 双侧腹股沟疝 K40.200);
`+急性` — that qualifier may be written without changing the code.

Families are generated below the list: fractures by side (左/右 code differently here, as a
hospital's extension codes do), tumours by site (primary, secondary, benign), hypertension by grade
and risk, chronic kidney disease by stage.
"""

from __future__ import annotations

from typing import NamedTuple

LISTED = """
I25.103 冠状动脉粥样硬化性心脏病|冠心病|冠状动脉粥样硬化心脏病|冠状动脉性心脏病|冠脉粥样硬化性心脏病
I20.000 不稳定型心绞痛|不稳定性心绞痛|UA
I20.900 心绞痛
I20.800x004 稳定型心绞痛|稳定性心绞痛|劳力性心绞痛
I21.900 急性心肌梗死|急性心梗|AMI
I21.000 急性前壁心肌梗死|急性前壁心梗
I21.100 急性下壁心肌梗死|急性下壁心梗
I21.400 急性非ST段抬高型心肌梗死|急性非ST段抬高心肌梗死|NSTEMI
I25.200 陈旧性心肌梗死|陈旧性心梗|陈旧心肌梗死
I48.x00 心房颤动|房颤|心房纤颤
I48.x00x002 阵发性心房颤动|阵发性房颤
I48.x00x003 持续性心房颤动|持续性房颤
I48.x01 心房扑动|房扑
I50.900 心力衰竭|心衰|心功能不全 +慢性
I50.000x007 充血性心力衰竭|充血性心衰
I50.100 左心衰竭|左心衰|急性左心衰竭
I50.900x008 慢性心功能不全急性加重|慢性心衰急性加重
I49.900 心律失常|心律不齐
I47.100 室上性心动过速|室上速|阵发性室上性心动过速
I47.200 室性心动过速|室速
I49.300 室性早搏|室早|室性期前收缩
I49.100 房性早搏|房早|房性期前收缩
I44.200 三度房室传导阻滞|III度房室传导阻滞|完全性房室传导阻滞
I49.500 病态窦房结综合征|病窦综合征|病窦
I42.000 扩张型心肌病|扩张性心肌病
I42.100 肥厚型梗阻性心肌病|梗阻性肥厚型心肌病
I34.000 二尖瓣关闭不全
I35.000 主动脉瓣狭窄
I05.000 风湿性二尖瓣狭窄
I27.200 肺动脉高压
I26.900 肺栓塞|肺动脉栓塞
I80.200 下肢深静脉血栓形成|下肢深静脉血栓|下肢DVT S
I83.900 下肢静脉曲张|大隐静脉曲张 S
I70.203 下肢动脉硬化闭塞症|下肢动脉粥样硬化闭塞症 S
I71.000 主动脉夹层|主动脉夹层动脉瘤
I11.900 高血压性心脏病|高心病
I12.900 高血压肾病|高血压性肾病|高血压肾损害
I63.900 脑梗死|脑梗|脑梗塞 +急性 +复发性
I63.500x003 多发性脑梗死|多发脑梗死|多发性脑梗塞
I63.800x002 腔隙性脑梗死|腔梗|腔隙性脑梗塞
I69.300 脑梗死后遗症|脑梗后遗症
I61.900 脑出血|脑溢血 +急性
I61.000x002 基底节区脑出血|基底节出血
I60.900 蛛网膜下腔出血
G45.900 短暂性脑缺血发作|TIA
I67.200 脑动脉粥样硬化|脑动脉硬化
I65.200 颈动脉狭窄 S
I67.100 脑动脉瘤|颅内动脉瘤
I95.900 低血压
R55.x00 晕厥
J44.900 慢性阻塞性肺疾病|慢阻肺|COPD|慢性阻塞性肺病
J44.100 慢性阻塞性肺疾病急性加重|慢阻肺急性加重|AECOPD|COPD急性加重
J44.000 慢性阻塞性肺疾病伴急性下呼吸道感染|慢阻肺伴感染
J45.900 支气管哮喘|哮喘
J45.901 支气管哮喘急性发作|哮喘急性发作
J46.x00 哮喘持续状态|重症哮喘
J20.900 急性支气管炎
J42.x00 慢性支气管炎|慢支
J44.800x001 慢性喘息性支气管炎|喘息性支气管炎
J06.900 急性上呼吸道感染|上呼吸道感染|上感
J18.900 肺炎|肺部感染
J18.903 重症肺炎
J18.000 支气管肺炎
J15.700 支原体肺炎|肺炎支原体肺炎|支原体感染性肺炎
J69.000 吸入性肺炎
J15.900 细菌性肺炎
J12.900 病毒性肺炎
J18.200 坠积性肺炎
J18.100 大叶性肺炎
J15.100 铜绿假单胞菌肺炎|绿脓杆菌肺炎
J84.100 间质性肺炎|肺间质纤维化|间质性肺疾病
J47.x00 支气管扩张症|支气管扩张|支扩
J47.x01 支气管扩张伴感染|支扩伴感染
J96.900 呼吸衰竭|呼衰
J96.000 急性呼吸衰竭
J96.100 慢性呼吸衰竭
J96.101 II型呼吸衰竭|2型呼吸衰竭|二型呼衰
J93.900 气胸 S
J93.100 自发性气胸 S
J90.x00 胸腔积液|胸水 S
J43.900 肺气肿
R91.x00x001 肺结节|肺部结节|肺小结节 S
J03.900 急性扁桃体炎
J35.000 慢性扁桃体炎
J02.900 急性咽炎
J31.200 慢性咽炎
J32.900 慢性鼻窦炎|鼻窦炎 S
J34.200 鼻中隔偏曲
J33.900 鼻息肉 S
J38.100 声带息肉 S
A16.200 肺结核|继发性肺结核
A15.000x001 肺结核涂阳
K80.200x003 胆囊结石|胆结石
K80.100x005 胆囊结石伴慢性胆囊炎|慢性胆囊炎伴胆囊结石|胆囊结石并慢性胆囊炎
K80.000x003 胆囊结石伴急性胆囊炎|急性胆囊炎伴胆囊结石
K80.500 胆总管结石|胆管结石
K81.000 急性胆囊炎
K81.100 慢性胆囊炎
K83.000 胆管炎|急性胆管炎
K82.800x001 胆囊息肉|胆囊息肉样病变
K35.800 急性阑尾炎|急阑
K35.300x001 急性阑尾炎伴穿孔|急性穿孔性阑尾炎
K36.x00 慢性阑尾炎
K29.500 慢性胃炎
K29.300 慢性浅表性胃炎|浅表性胃炎
K29.400 慢性萎缩性胃炎|萎缩性胃炎
K29.100 急性胃炎
K25.900 胃溃疡
K25.400 胃溃疡伴出血
K26.900 十二指肠球部溃疡|十二指肠溃疡
K26.400 十二指肠溃疡伴出血|十二指肠球部溃疡伴出血
K92.208 上消化道出血
K92.209 下消化道出血
K56.700 肠梗阻
K56.600x002 不完全性肠梗阻|不全性肠梗阻|不完全肠梗阻
K56.500x001 粘连性肠梗阻
K74.600 肝硬化
K70.300 酒精性肝硬化
K74.600x007 乙型肝炎肝硬化|乙肝肝硬化|肝炎后肝硬化
K76.000 脂肪肝|非酒精性脂肪肝
K75.900 肝功能异常|肝功能损害|肝损害
K72.900 肝功能衰竭|肝衰竭
K85.900 急性胰腺炎
K85.100 急性胆源性胰腺炎|胆源性胰腺炎
K86.100 慢性胰腺炎
K40.900 腹股沟疝|腹股沟斜疝 L
K40.901 复发性腹股沟疝 L
K40.200 双侧腹股沟疝|双侧腹股沟斜疝
K43.900 切口疝|腹壁切口疝
K42.900 脐疝
K21.000 反流性食管炎|胃食管反流病|GERD
K22.200 食管狭窄
K57.300 结肠憩室
K63.500 结肠息肉
K62.100 直肠息肉
K64.900 痔|混合痔|痔疮
K61.000 肛周脓肿|肛旁脓肿
K60.300 肛瘘
K52.900 急性胃肠炎|胃肠炎
K59.000 便秘
K58.900 肠易激综合征
K50.900 克罗恩病
K51.900 溃疡性结肠炎
K31.700 胃息肉
K66.000 腹腔粘连|肠粘连
A09.000 感染性腹泻
E11.900 2型糖尿病|2型糖尿病不伴有并发症|糖尿病2型|2型糖尿病血糖控制不佳
E11.401+G63.2* 2型糖尿病性周围神经病变|2型糖尿病周围神经病变|糖尿病周围神经病变(2型)
E11.201+N08.3* 2型糖尿病性肾病|2型糖尿病肾病|糖尿病肾病(2型)
E11.301+H36.0* 2型糖尿病性视网膜病变|2型糖尿病视网膜病变
E11.101 2型糖尿病酮症酸中毒|2型糖尿病伴酮症酸中毒
E11.100x003 2型糖尿病酮症|2型糖尿病伴酮症
E11.501 2型糖尿病足|2型糖尿病性足病
E11.600x031 2型糖尿病伴血糖控制不佳|2型糖尿病伴高血糖
E11.700x011 2型糖尿病伴多个并发症|2型糖尿病伴多种并发症
E10.900 1型糖尿病|糖尿病1型
E10.101 1型糖尿病酮症酸中毒|1型糖尿病伴酮症酸中毒
E14.900 糖尿病
E16.200 低血糖症|低血糖
O24.400 妊娠期糖尿病|GDM
O24.900x011 妊娠合并糖尿病
E03.900 甲状腺功能减退症|甲减|甲状腺功能减退
E05.900 甲状腺功能亢进症|甲亢|甲状腺功能亢进
E06.300 桥本甲状腺炎|慢性淋巴细胞性甲状腺炎|桥本氏甲状腺炎
E04.101 甲状腺结节 S
E04.200 结节性甲状腺肿|多发性甲状腺结节
E78.500 高脂血症|血脂异常
E78.000 高胆固醇血症
E78.100 高甘油三酯血症
E79.000 高尿酸血症
M10.900 痛风|痛风性关节炎
E87.600 低钾血症|低血钾
E87.100 低钠血症|低血钠
E87.500 高钾血症
E86.x00 脱水
E87.200 代谢性酸中毒
E66.900 肥胖症|肥胖
E55.900 维生素D缺乏
E43.x00 重度营养不良
E46.x00 营养不良
D64.900 贫血
D50.900 缺铁性贫血
D63.800 慢性病贫血
D69.600 血小板减少症|血小板减少
D70.x00 粒细胞缺乏症|粒细胞缺乏
D72.800x001 白细胞减少症|白细胞减少
D68.900 凝血功能障碍|凝血功能异常
D46.900 骨髓增生异常综合征|MDS
C92.000 急性髓系白血病|急性髓细胞白血病|AML
C91.000 急性淋巴细胞白血病|ALL
C90.000 多发性骨髓瘤|MM
C85.900 非霍奇金淋巴瘤|淋巴瘤
C83.300 弥漫大B细胞淋巴瘤|DLBCL
N18.900 慢性肾脏病|慢性肾病|CKD
N17.900 急性肾衰竭|急性肾损伤|AKI
N18.000x001 慢性肾衰竭尿毒症期|尿毒症
N20.000 肾结石 S
N20.100 输尿管结石 S
N20.200 肾结石伴输尿管结石 S
N21.000 膀胱结石
N39.000 泌尿道感染|尿路感染|泌尿系感染 +复发性
N30.000 急性膀胱炎
N10.x00 急性肾盂肾炎
N40.x00 前列腺增生|良性前列腺增生|前列腺肥大
N41.100 慢性前列腺炎
N13.300 肾积水 S
N13.201 肾积水伴输尿管结石 S
N28.101 肾囊肿|单纯性肾囊肿 S
N04.900 肾病综合征
N03.900 慢性肾炎综合征|慢性肾炎|慢性肾小球肾炎
N02.800 IgA肾病
N32.800x002 膀胱过度活动症
N43.300 睾丸鞘膜积液|鞘膜积液 S
N45.900 附睾炎 S
G40.900 癫痫
G40.301 癫痫大发作|全面强直阵挛发作
G20.x00 帕金森病|帕金森氏病
F03.x00 痴呆
G30.900 阿尔茨海默病|老年性痴呆
F01.900 血管性痴呆
G43.900 偏头痛
G51.000 面神经麻痹|特发性面神经麻痹|面瘫|贝尔麻痹 S
G50.000 三叉神经痛 S
R51.x00 头痛
R42.x00 头晕|眩晕
H81.100 良性阵发性位置性眩晕|耳石症|BPPV
H81.000 梅尼埃病|美尼尔综合征|梅尼埃综合征
G47.300 睡眠呼吸暂停综合征|阻塞性睡眠呼吸暂停低通气综合征|OSAHS
F32.900 抑郁状态|抑郁症|抑郁发作
F41.900 焦虑状态|焦虑症
F41.200 焦虑抑郁状态|混合性焦虑和抑郁障碍
F20.900 精神分裂症
F31.900 双相情感障碍
F10.200 酒精依赖综合征|酒精依赖
G62.900 周围神经病|周围神经病变
G61.000 吉兰-巴雷综合征|格林巴利综合征
G35.x00 多发性硬化
G70.000 重症肌无力
G93.100 缺氧缺血性脑病
G91.900 脑积水
G44.200 紧张型头痛|紧张性头痛
M17.900 膝关节骨性关节炎|膝骨关节炎|膝关节骨关节炎|膝关节退行性病变 L
M17.000 双侧膝关节骨性关节炎|双膝骨关节炎|双侧膝骨关节炎
M16.900 髋关节骨关节炎|髋骨关节炎 L
M16.000 双侧髋关节骨关节炎|双髋骨关节炎
M51.202 腰椎间盘突出症|腰椎间盘突出|腰间盘突出
M50.201 颈椎间盘突出症|颈椎间盘突出
M47.802 颈椎病
M47.201 神经根型颈椎病
M47.803 腰椎退行性病变|腰椎退变
M48.061 腰椎管狭窄症|腰椎管狭窄
M43.100 腰椎滑脱症|腰椎滑脱
M81.900 骨质疏松症|骨质疏松|骨质疏松症(老年性)
M80.900 骨质疏松伴病理性骨折|骨质疏松性骨折
M06.900 类风湿关节炎|类风湿性关节炎|RA
M45.x00 强直性脊柱炎|AS
M32.900 系统性红斑狼疮|红斑狼疮|SLE
M35.000 干燥综合征
M75.100 肩袖损伤|肩袖撕裂 S
M75.000 肩关节周围炎|肩周炎|冻结肩 S
M65.300 扳机指|屈指肌腱狭窄性腱鞘炎 S
M65.400 桡骨茎突狭窄性腱鞘炎 S
M23.200 半月板损伤|膝关节半月板损伤|半月板撕裂 S
M54.500 腰痛|下腰痛
M79.100 肌痛
M86.900 骨髓炎 S
M87.000 股骨头缺血性坏死|股骨头坏死 S
M72.000 掌腱膜挛缩症 S
M70.200 鹰嘴滑囊炎 S
M77.100 肱骨外上髁炎|网球肘 S
O80.000 单胎顺产|顺产|自然分娩
O82.000 剖宫产|剖宫产术分娩|单胎剖宫产
O34.201 瘢痕子宫|剖宫产史瘢痕子宫|疤痕子宫
O42.900 胎膜早破
O60.100 早产
O13.x00 妊娠期高血压|妊娠期高血压疾病
O14.900 子痫前期|先兆子痫
O14.100 重度子痫前期|重度先兆子痫
O99.000 妊娠合并贫血
O21.000 妊娠剧吐
O03.900 自然流产
O02.100 稽留流产
O00.100 输卵管妊娠|宫外孕|异位妊娠 S
O36.500 胎儿生长受限|胎儿宫内发育迟缓|FGR
O32.100 臀位|臀先露
O48.x00 过期妊娠|延期妊娠
O26.600 妊娠期肝内胆汁淤积症|妊娠期肝内胆汁淤积|ICP
O72.100 产后出血
N80.000 子宫腺肌病|子宫腺肌症
D25.900 子宫平滑肌瘤|子宫肌瘤
N83.200 卵巢囊肿 S
N80.100 卵巢子宫内膜异位囊肿|卵巢巧克力囊肿|巧克力囊肿 S
N84.000 子宫内膜息肉
N85.000 子宫内膜增生
N87.000 宫颈上皮内瘤变1级|CIN1级|CIN1|宫颈低级别鳞状上皮内病变
N87.100 宫颈上皮内瘤变2级|CIN2级|CIN2
D06.900 宫颈上皮内瘤变3级|CIN3级|CIN3|宫颈高级别鳞状上皮内病变
N72.x00 宫颈炎|慢性宫颈炎
N70.900 输卵管炎|附件炎 S
N73.900 盆腔炎|盆腔炎性疾病
N92.000 月经过多
N97.900 不孕症|女性不孕症
N81.200 子宫脱垂
N81.100 阴道前壁膨出|膀胱膨出
N95.100 绝经综合征|更年期综合征
A41.900 脓毒症|败血症
R65.101 脓毒性休克|感染性休克
A49.900 细菌感染
B18.100 慢性乙型病毒性肝炎|慢性乙型肝炎|慢性乙肝|乙肝
B18.200 慢性丙型病毒性肝炎|慢性丙型肝炎|丙肝
B19.900 病毒性肝炎
A08.400 病毒性肠炎
B02.900 带状疱疹 S
B02.200 带状疱疹后神经痛 S
B37.000 口腔念珠菌病|鹅口疮
B34.900 病毒感染
A46.x00 丹毒 S
L03.100 蜂窝织炎 S
L02.900 皮肤脓肿 S
L40.900 银屑病|牛皮癣
L50.900 荨麻疹|急性荨麻疹 +慢性
L30.900 皮炎
L20.900 特应性皮炎|异位性皮炎
L23.900 接触性皮炎
L89.900 压疮|压力性溃疡|褥疮
L72.000 表皮样囊肿|皮脂腺囊肿
L60.000 嵌甲|甲沟炎 S
H25.900 老年性白内障|年龄相关性白内障|白内障 S
H40.900 青光眼 S
H40.200 原发性闭角型青光眼|急性闭角型青光眼 S
H33.000 视网膜脱离|孔源性视网膜脱离 S
H35.300 黄斑变性|年龄相关性黄斑变性 S
H34.800x001 视网膜静脉阻塞 S
H11.000 翼状胬肉 S
H10.900 结膜炎 S
H52.100 近视 S
H66.900 中耳炎 S
H65.200 慢性分泌性中耳炎|分泌性中耳炎 S
H91.900 耳聋|听力下降 S
H91.200 突发性耳聋|突发性聋 S
H93.100 耳鸣 S
S06.000 脑震荡
S06.500 创伤性硬膜下出血|外伤性硬膜下血肿|硬膜下血肿
S06.600 创伤性蛛网膜下腔出血|外伤性蛛网膜下腔出血
S06.400 硬膜外血肿|外伤性硬膜外血肿
S22.300 肋骨骨折 S
S22.400 多发性肋骨骨折|多发肋骨骨折 S
S32.000 腰椎骨折
S22.000 胸椎骨折
S32.000x041 腰椎压缩性骨折|腰椎压缩骨折
S01.800 头皮裂伤|头部裂伤
S61.900 手部开放性伤口|手外伤 S
S63.500 腕关节扭伤 S
S93.400 踝关节扭伤|踝扭伤 S
S83.500 膝关节前交叉韧带损伤|前交叉韧带断裂 S
S36.000 脾破裂
S27.100 创伤性血胸
T78.400 过敏反应|变态反应
T42.400 安定类药物中毒
T60.000 有机磷农药中毒|有机磷中毒
T58.x00 一氧化碳中毒|CO中毒
T30.000 烧伤
T14.000 软组织挫伤|多处软组织挫伤
Z51.102 恶性肿瘤化学治疗|肿瘤化疗|化疗
Z51.002 恶性肿瘤放射治疗|肿瘤放疗|放疗
Z51.103 恶性肿瘤靶向治疗|靶向治疗
Z51.808 恶性肿瘤免疫治疗|免疫治疗
Z95.501 冠状动脉支架植入后状态|冠脉支架植入术后|PCI术后|冠状动脉支架置入术后
Z95.000 心脏起搏器植入状态|起搏器植入术后|起搏器术后
Z96.600 人工关节置换术后|关节置换术后 S
Z98.800 手术后状态|术后
Z48.000 手术后换药|伤口换药
Z47.000 骨折内固定装置取出|内固定取出|骨折术后内固定取出
Z30.200 绝育
Z34.900 妊娠状态|孕
Z86.700 脑血管病个人史|脑梗死个人史
Z92.200 长期服用抗凝药
R50.900 发热|发热待查
R10.400 腹痛|腹痛待查
R07.400 胸痛|胸痛待查
R05.x00 咳嗽
R06.000 呼吸困难
R31.x00 血尿
R56.800 抽搐
R40.200 昏迷
R63.400 体重下降|消瘦
R00.200 心悸
R11.x00 恶心伴呕吐|恶心呕吐
R18.x00 腹水|腹腔积液
R59.000 淋巴结肿大
R73.000 糖耐量异常|糖耐量减低|IGT
R94.300 心电图异常
Q21.100 房间隔缺损|ASD
Q21.000 室间隔缺损|VSD
Q25.000 动脉导管未闭|PDA
Q53.900 隐睾 S
Q65.800 发育性髋关节发育不良 S
P07.300 早产儿
P59.900 新生儿黄疸|新生儿高胆红素血症
P22.000 新生儿呼吸窘迫综合征
P23.900 新生儿肺炎
K02.900 龋病|龋齿
K05.300 慢性牙周炎|牙周炎
K04.700 根尖周脓肿
K08.100 牙列缺损
K12.000 复发性口腔溃疡|口腔溃疡
D17.900 脂肪瘤 S
D18.000 血管瘤 S
D24.x00 乳腺良性肿瘤|乳腺纤维腺瘤 S
N60.200 乳腺纤维囊性乳腺病|乳腺增生|乳腺增生症 S
N61.x00 乳腺炎|急性乳腺炎 S
N63.x00 乳腺肿物|乳房肿块|乳腺结节 S
"""

# Fractures: the site, its code, and the side's extension code (left 1, right 2); the bare title
# is the unspecified side.
FRACTURES = """
S72.000 股骨颈骨折
S72.100 股骨粗隆间骨折|股骨转子间骨折
S72.300 股骨干骨折
S72.400 股骨远端骨折|股骨髁骨折
S82.000 髌骨骨折
S82.100 胫骨平台骨折
S82.200 胫骨干骨折|胫骨骨折
S82.400 腓骨骨折
S82.500 内踝骨折
S82.600 外踝骨折
S82.800x011 双踝骨折
S82.800x021 三踝骨折
S42.000 锁骨骨折
S42.200 肱骨近端骨折|肱骨外科颈骨折
S42.300 肱骨干骨折
S42.400 肱骨髁上骨折
S52.500 桡骨远端骨折|桡骨下端骨折|Colles骨折
S52.000 尺骨鹰嘴骨折
S52.100 桡骨头骨折
S62.300 掌骨骨折
S62.600 指骨骨折
S92.000 跟骨骨折
S92.300 跖骨骨折
S32.500 耻骨骨折
S42.100 肩胛骨骨折
"""

# Tumour sites: the site as written, the primary's code (恶性肿瘤 / 癌), and, where the hospital
# sees them, the benign code; secondaries take the C77-C79 code of the site.
TUMOURS = """
肺 C34.900 D14.300 C78.000
左肺上叶 C34.100x011
右肺上叶 C34.100x012
右肺下叶 C34.300x012
胃 C16.900 - -
胃窦 C16.300
贲门 C16.000
食管 C15.900
结肠 C18.900 D12.600
乙状结肠 C18.700 D12.500
升结肠 C18.200
直肠 C20.x00 D12.800
肝 C22.900 D13.400 C78.700
肝细胞 C22.000
胆囊 C23.x00
胰腺 C25.900 - -
胰头 C25.000
乳腺 C50.900 - -
左乳 C50.900x011
右乳 C50.900x012
甲状腺 C73.x00 D34.x00
宫颈 C53.900
子宫内膜 C54.100
卵巢 C56.x00 D27.x00
前列腺 C61.x00
膀胱 C67.900 D30.300
肾 C64.x00 D30.000
鼻咽 C11.900
喉 C32.900
舌 C02.900
脑 C71.900 D33.200 C79.300
骨 C41.900 D16.900 C79.500
淋巴结 - - C77.900
腹膜 - - C78.600
肾上腺 - D35.000 C79.700
"""

# Hypertension: grade 1..3, and risk strata; the extension x0GR (R: 0 none, 1 高危, 2 极高危, 3 中危, 4 低危).
RISKS = (("", 0), ("高危", 1), ("极高危", 2), ("中危", 3), ("低危", 4))
CKD_STAGES = {1: "N18.100", 2: "N18.200", 3: "N18.300", 4: "N18.400", 5: "N18.500"}


class Disease(NamedTuple):
    code: str
    forms: tuple[str, ...]  # the title first
    side_free: bool = False  # a side may be written without changing the code
    bilateral: bool = True  # ... 双侧 too (False: 双侧 codes elsewhere)
    qualifiers: tuple[str, ...] = ()  # qualifiers that may be written without changing the code
    family: str = ""  # what generated it, for the report


def _listed(block: str, family: str) -> list[Disease]:
    out = []
    for line in block.strip().splitlines():
        code, forms, *flags = line.split()
        out.append(
            Disease(
                code,
                tuple(forms.split("|")),
                "S" in flags or "L" in flags,
                "L" not in flags,
                tuple(f[1:] for f in flags if f.startswith("+")),
                family,
            )
        )
    return out


def _fractures() -> list[Disease]:
    out = []
    for line in FRACTURES.strip().splitlines():
        code, forms = line.split()
        names = forms.split("|")
        out.append(Disease(code, tuple(names), family="fracture"))
        stem = code.split("x")[0]
        base = 10 if "x" in code else 0
        for n, (side, short) in enumerate((("左侧", "左"), ("右侧", "右")), start=1):
            ext = f"{stem}x{int(code.split('x')[1]) + n if base else n:03d}"
            sided = [f"{side}{names[0]}", f"{short}{names[0]}", f"{names[0]}({short}侧)"]
            sided += [f"{side}{alias}" for alias in names[1:]]
            out.append(Disease(ext, tuple(sided), family="fracture"))
    return out


def _tumours() -> list[Disease]:
    out = []
    for line in TUMOURS.strip().splitlines():
        site, primary, *rest = line.split()
        benign = rest[0] if rest else "-"
        secondary = rest[1] if len(rest) > 1 else "-"
        if primary != "-":
            forms = [f"{site}恶性肿瘤", f"{site}癌", f"{site}恶性肿物"]
            if site in ("淋巴结",):
                forms = forms[:1]
            out.append(Disease(primary, tuple(forms), family="tumour"))
            out.append(
                Disease(
                    _history_code(primary, len(out)),
                    (f"{site}恶性肿瘤术后", f"{site}癌术后", f"{site}癌个人史"),
                    family="tumour",
                )
            )
        if benign != "-":
            out.append(Disease(benign, (f"{site}良性肿瘤", f"{site}良性肿物"), family="tumour"))
        if secondary != "-":
            out.append(
                Disease(
                    secondary,
                    (f"{site}继发恶性肿瘤", f"{site}转移癌", f"继发性{site}恶性肿瘤", f"{site}转移"),
                    family="tumour",
                )
            )
    return out


def _history_code(primary: str, n: int) -> str:
    """The personal-history code (Z85.x) of a primary's chapter, with an extension of its own per site."""
    chapter = {"C1": "Z85.000", "C2": "Z85.000", "C3": "Z85.100", "C5": "Z85.400", "C6": "Z85.500", "C7": "Z85.800"}
    return f"{chapter.get(primary[:2], 'Z85.900')}x{n + 1:03d}"


def _hypertension() -> list[Disease]:
    out = [Disease("I10.x00", ("高血压", "原发性高血压", "高血压病"), family="hypertension")]
    for grade in (1, 2, 3):
        for risk, r in RISKS:
            code = f"I10.x00x0{grade}{r}"
            forms = [f"高血压病{grade}级{risk}", f"高血压{grade}级{risk}", f"原发性高血压{grade}级{risk}"]
            if risk:
                forms += [f"高血压病{grade}级({risk})", f"高血压{grade}级 {risk}组", f"高血压病{grade}级 {risk}"]
                if risk == "极高危":
                    forms += [f"高血压病{grade}级很高危", f"高血压{grade}级(很高危)"]
            out.append(Disease(code, tuple(forms), family="hypertension"))
    return out


def _ckd() -> list[Disease]:
    return [
        Disease(code, (f"慢性肾脏病{stage}期", f"CKD{stage}期", f"慢性肾功能不全{stage}期"), family="ckd")
        for stage, code in CKD_STAGES.items()
    ]


def catalogue() -> list[Disease]:
    """Every disease, each code once (a duplicated code would be a bug in the lists above)."""
    out = _listed(LISTED, "listed") + _fractures() + _tumours() + _hypertension() + _ckd()
    seen: dict[str, Disease] = {}
    for d in out:
        if d.code in seen:
            raise AssertionError(f"code {d.code} twice: {seen[d.code].forms[0]} and {d.forms[0]}")
        seen[d.code] = d
    return out
