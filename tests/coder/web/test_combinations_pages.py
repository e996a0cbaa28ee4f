"""The /combinations pages over HTTP: coders view, authors change (CSRF, test then save, judged
against the audited records, force), history, enable/disable, and the nav link."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from coder.db.models import icd_code
from coder.services import combinations as service
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
    c.token = TOKEN.search(c.get("/combinations").get_data(as_text=True)).group(1)
    return c


@pytest.fixture
def app(seeded, tmp_path):
    """Rules for 胃溃疡 and 上消化道出血, and an audited record where a coder kept the two apart."""
    with seeded.begin() as conn:
        conn.execute(
            insert(icd_code), [{"code": "K92.200", "name": "上消化道出血"}, {"code": "K25.400", "name": "胃溃疡伴出血"}]
        )
    rules_service.add_rule(seeded, "K25.900", "^胃溃疡$", "icdcoder test")
    rules_service.add_rule(seeded, "K92.200", "^上消化道出血$", "icdcoder test")
    f = write_csv(
        tmp_path / "h.csv",
        ["record_id", "description", "code", "coder"],
        [["r1", "胃溃疡", "K25.900", "张伟"], ["r1", "上消化道出血", "K92.200", "张伟"]],
    )
    import_diagnoses(seeded, f)
    accounts.add_user(seeded, AUTHOR, "author", "password1")
    accounts.add_user(seeded, CODER, "coder", "password1")
    app = create_app(seeded)
    app.test_engine = seeded
    return app


FIELDS = {"codes": "K25.900,K92.200", "code": "K25.400", "note": "胃溃疡伴出血"}


def test_coders_see_the_table_but_cannot_change_it(app):
    c = service.add_combination(app.test_engine, "K25.900,K92.200", "K25.400", author="a", force=True).new
    coder = _client(app, CODER)
    page = coder.get("/combinations").get_data(as_text=True)
    assert 'href="/combinations"' in page and "K25.900,K92.200" in page and "K25.400" in page
    assert 'id="add"' not in page
    assert coder.get(f"/combinations/{c.id}").status_code == 200
    r = coder.post(f"/combinations/{c.id}/enabled", data={"csrf_token": coder.token, "version": 1, "enabled": "0"})
    assert r.status_code == 403
    r = coder.post("/combinations/new", data={"csrf_token": coder.token, **FIELDS, "action": "save"})
    assert r.status_code == 403
    assert service.show_combination(app.test_engine, c.id).item.enabled


def test_a_post_without_csrf_is_refused(app):
    author = _client(app, AUTHOR)
    r = author.post("/combinations/new", data={**FIELDS, "action": "save", "force": "1"})
    assert r.status_code in (400, 403)
    assert service.list_combinations(app.test_engine) == []


def test_an_author_tests_is_refused_then_forces_and_edits(app):
    author = _client(app, AUTHOR)
    tested = author.post("/combinations/new", data={"csrf_token": author.token, **FIELDS, "action": "test"})
    body = tested.get_data(as_text=True)
    assert tested.status_code == 200 and "已审核病案 <strong>1</strong> 份" in body
    assert service.list_combinations(app.test_engine) == []  # a test writes nothing
    refused = author.post("/combinations/new", data={"csrf_token": author.token, **FIELDS, "action": "save"})
    assert refused.status_code == 409 and "仍然保存" in refused.get_data(as_text=True)
    assert service.list_combinations(app.test_engine) == []
    saved = author.post(
        "/combinations/new", data={"csrf_token": author.token, **FIELDS, "action": "save", "force": "1"}
    )
    assert saved.status_code == 302
    (c,) = service.list_combinations(app.test_engine)
    shown = author.get(saved.headers["Location"]).get_data(as_text=True)
    assert "第 1 版" in shown and AUTHOR in shown
    edited = author.post(
        f"/combinations/{c.id}",
        data={"csrf_token": author.token, **FIELDS, "note": "已核对", "version": 1, "action": "save"},
    )
    assert edited.status_code == 302
    assert service.show_combination(app.test_engine, c.id).item.note == "已核对"
    stale = author.post(
        f"/combinations/{c.id}", data={"csrf_token": author.token, **FIELDS, "version": 1, "action": "save"}
    )
    assert stale.status_code == 409  # shown at version 1, now at 2: told, nothing overwritten
    off = author.post(f"/combinations/{c.id}/enabled", data={"csrf_token": author.token, "version": 2, "enabled": "0"})
    assert off.status_code == 302 and not service.show_combination(app.test_engine, c.id).item.enabled
    bad = author.post(
        "/combinations/new",
        data={"csrf_token": author.token, "codes": "K25.900", "code": "K25.400", "action": "save"},
    )
    assert bad.status_code == 422 and "at least two source codes" in bad.get_data(as_text=True)
