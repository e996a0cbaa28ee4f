import pytest

from coder.imports.splitting import split_numbered


@pytest.mark.parametrize(
    "text,items",
    [
        ("1.冠心病2.高血压病（3级很高危）3.2型糖尿病", ["冠心病", "高血压病（3级很高危）", "2型糖尿病"]),
        ("1、肺炎；2、慢性阻塞性肺疾病急性加重", ["肺炎", "慢性阻塞性肺疾病急性加重"]),
        ("１．胃炎２．胆囊结石", ["胃炎", "胆囊结石"]),
        ("1.急性阑尾炎 2.高血压病3级", ["急性阑尾炎", "高血压病3级"]),
        ("1.冠心病", ["冠心病"]),
        ("冠心病", ["冠心病"]),
        ("1.5cm肝囊肿", ["1.5cm肝囊肿"]),
        ("高血压病3级", ["高血压病3级"]),
    ],
)
def test_numbered_lists_split_in_order(text, items):
    assert split_numbered(text) == items
