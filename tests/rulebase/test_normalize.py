from rulebase.normalize import normalize_text


def test_nfkc_fullwidth_and_roman_numerals():
    assert normalize_text("高血压病３级（极高危）") == "高血压病3级(极高危)"
    assert normalize_text("Ⅱ型糖尿病") == "II型糖尿病"


def test_blanks_collapse_and_trim():
    assert normalize_text("  冠心病\t稳定型\r\n心绞痛\u3000 ") == "冠心病 稳定型 心绞痛"


def test_empty():
    assert normalize_text(None) == ""
    assert normalize_text(" \n\t ") == ""
