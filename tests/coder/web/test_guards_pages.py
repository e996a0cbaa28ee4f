"""The /guards pages over HTTP: coders view, authors change (CSRF, test then save, judged against
the audited history, force), history, and the nav link."""

from __future__ import annotations

import re

import pytest

from coder.services import guards as guards_service
from coder.services import rules as rules_service
from coder.services import users as accounts
from coder.services.diagnoses import import_diagnoses
from coder.web import create_app
from tests.conftest import write_csv

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
AUTHOR, CODER = "王芳", "李娜"


def _client(app, name):
    c = app.test_client()
    token = TOKEN.search(c.get("/login").get_data(as_text=True)).group(1)
    r = c.post("/login", data={"name": name, "password": "password1", "csrf_token": token})
    assert r.status_code == 302
    c.token = TOKEN.search(c.get("/guards").get_data(as_text=True)).group(1)
    return c


@pytest.fixture
def app(seeded, tmp_path):
    """A rule for 肺炎 and an audited history where a person coded 可疑肺炎 as J18.900."""
    rules_service.add_rule(seeded, "J18.900", "肺炎", "icdcoder test")
    f = write_csv(
        tmp_path / "h.csv", ["record_id", "description", "code", "coder"], [["r1", "可疑肺炎", "J18.900", "张伟"]]
    )
    import_diagnoses(seeded, f)
    accounts.add_user(seeded, AUTHOR, "author", "password1")
    accounts.add_user(seeded, CODER, "coder", "password1")
    app = create_app(seeded)
    app.test_engine = seeded
    return app


def _guard(app, cue):
    return next(g for g in guards_service.list_guards(app.test_engine) if g.cue == cue)


def test_coders_see_the_table_but_cannot_change_it(app):
    coder = _client(app, CODER)
    page = coder.get("/guards").get_data(as_text=True)
    assert 'href="/guards"' in page and "疑似" in page and "不排除|待排除" in page
    assert 'id="add"' not in page  # no form for a coder
    g = _guard(app, "疑似")
    assert coder.get(f"/guards/{g.id}").status_code == 200
    r = coder.post(f"/guards/{g.id}/enabled", data={"csrf_token": coder.token, "version": g.version, "enabled": "0"})
    assert r.status_code == 403
    assert _guard(app, "疑似").enabled


def test_a_post_without_csrf_is_refused(app):
    author = _client(app, AUTHOR)
    g = _guard(app, "疑似")
    r = author.post(f"/guards/{g.id}/enabled", data={"version": g.version, "enabled": "0"})
    assert r.status_code in (400, 403)
    assert _guard(app, "疑似").enabled


def test_an_author_tests_then_adds_a_guard(app):
    author = _client(app, AUTHOR)
    fields = {"csrf_token": author.token, "cue": "疑诊", "kind": "uncertain", "scope": "before", "text": "疑诊肺炎"}
    tested = author.post("/guards/new", data={**fields, "action": "test"})
    body = tested.get_data(as_text=True)
    assert tested.status_code == 200 and "不确定诊断（不自动编码）" in body and "J18.900" in body
    assert "疑诊" not in {g.cue for g in guards_service.list_guards(app.test_engine)}  # a test writes nothing
    saved = author.post("/guards/new", data={**fields, "action": "save"})
    assert saved.status_code == 302
    assert _guard(app, "疑诊").scope == "before"
    shown = author.get(saved.headers["Location"]).get_data(as_text=True)
    assert "第 1 版" in shown and AUTHOR in shown  # the history names the logged-in author


def test_a_change_that_uncodes_audited_lines_needs_force(app):
    author = _client(app, AUTHOR)
    g = _guard(app, "可疑")
    service_engine = app.test_engine
    guards_service.set_guard_enabled(service_engine, g.id, False, author="t")  # 可疑肺炎 codes again
    g = _guard(app, "可疑")
    data = {"csrf_token": author.token, "version": g.version, "enabled": "1"}
    refused = author.post(f"/guards/{g.id}/enabled", data=data)
    assert refused.status_code == 409 and "1 条原本编码正确" in refused.get_data(as_text=True)
    assert not _guard(app, "可疑").enabled
    forced = author.post(f"/guards/{g.id}/enabled", data={**data, "force": "1"})
    assert forced.status_code == 302 and _guard(app, "可疑").enabled


def test_a_stale_form_is_refused(app):
    author = _client(app, AUTHOR)
    g = _guard(app, "未见")
    guards_service.change_guard(app.test_engine, g.id, "另一位", note="改过")
    fields = {"csrf_token": author.token, "version": g.version, "cue": "未见", "kind": "negated", "scope": "any"}
    r = author.post(f"/guards/{g.id}", data={**fields, "action": "save"})
    assert r.status_code == 409 and "另一位" in r.get_data(as_text=True)
    assert _guard(app, "未见").scope == "before"
