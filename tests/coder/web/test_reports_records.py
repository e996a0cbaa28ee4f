"""/reports' 按病案（编码集合） table over HTTP, on the LINES of test_reports (one line a record): the
records' code sets beside the line figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from tests.coder.web.test_reports import PERIOD, _by_id, audited  # noqa: F401 - the fixture


def test_the_page_shows_the_records_code_sets(audited, client_for):  # noqa: F811
    client = client_for("coder")
    plain = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    # the page itself stays quick: the records' figures come on the link's request
    assert 'id="records-link"' in plain and 'id="records_count"' not in plain
    link = re.search(r'id="records-link" href="([^"]+)"', plain).group(1).replace("&amp;", "&")
    r = client.get(link)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "按病案（编码集合）" in html
    # 8 records of one line: 5 confirmed (exact), A2 corrected (icdcoder's code wrong), A3 and B3 coded
    # by hand (icdcoder gave none). Micro: 5 codes in both, 1 icdcoder's only, 3 the persons' only.
    shown = {k: _by_id(html, f"records_{k}") for k in ("count", "exact", "exact_share", "precision", "recall", "f1")}
    assert shown == {
        "count": "8",
        "exact": "5",
        "exact_share": "62.5%",
        "precision": "83.3%",
        "recall": "62.5%",
        "f1": "71.4%",
    }
    # Macro: precision over the 6 records icdcoder coded, recall and F1 over all 8.
    macro = {k: _by_id(html, f"records_macro_{k}") for k in ("precision", "recall", "f1")}
    assert macro == {"precision": "83.3%", "recall": "62.5%", "f1": "62.5%"}
