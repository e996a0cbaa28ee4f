"""Login, logout, CSRF, sessions and headers, over HTTP against a real database."""

from __future__ import annotations

import logging
import re

import pytest

from coder.services import users as accounts
from coder.web import create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(engine):
    accounts.add_user(engine, "李娜", "coder", "password1")
    return create_app(engine)


def _token(client, path="/login") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def _login(client, name="李娜", password="password1", next_path=""):
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": _token(client), "next": next_path}
    )


def test_no_page_without_a_login(app):
    c = app.test_client()
    for path in ("/", "/worklist", "/runs", "/rules", "/reports", "/normalization", "/diagnoses/1", "/api/codes?q=I"):
        r = c.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    assert c.post("/runs", data={}).status_code in (400, 405)  # a POST without a token never reaches a page


def test_login_then_pages_then_logout(app):
    c = app.test_client()
    r = _login(c, next_path="/runs")
    assert r.status_code == 302 and r.headers["Location"] == "/runs"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = c.get("/runs")
    assert page.status_code == 200 and "李娜" in page.get_data(as_text=True)
    assert (
        page.headers["Cache-Control"] == "no-store" and "script-src 'self'" in page.headers["Content-Security-Policy"]
    )
    assert c.post("/logout", data={"csrf_token": _token(c, "/runs")}).status_code == 302
    assert c.get("/runs").status_code == 302  # logged out


def test_a_wrong_password_says_nothing_of_why_and_locks_after_five(app, engine):
    c = app.test_client()
    r = _login(c, password="wrong-one")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    unknown = _login(c, name="nobody", password="wrong-one")
    assert unknown.status_code == 401 and unknown.get_data(as_text=True) == r.get_data(as_text=True).replace(
        'value="' + TOKEN.search(r.get_data(as_text=True)).group(1),
        'value="' + TOKEN.search(unknown.get_data(as_text=True)).group(1),
    )
    for _ in range(4):
        _login(c, password="wrong-one")
    assert _login(c).status_code == 401  # locked now, even with the right password


def test_post_without_or_with_a_wrong_csrf_token_is_refused(app):
    c = app.test_client()
    assert c.post("/login", data={"name": "李娜", "password": "password1"}).status_code == 400
    _token(c)
    r = c.post("/login", data={"name": "李娜", "password": "password1", "csrf_token": "forged"})
    assert r.status_code == 400
    assert _login(c).status_code == 302


def test_next_never_leads_to_another_site(app):
    c = app.test_client()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        r = _login(c, next_path=target)
        assert r.headers["Location"] == "/worklist", target
        c.post("/logout", data={"csrf_token": _token(c, "/runs")})


def test_a_disabled_account_loses_its_session(app, engine):
    c = app.test_client()
    _login(c)
    assert c.get("/runs").status_code == 200
    accounts.disable_user(engine, "李娜")
    assert c.get("/runs").status_code == 302


def test_the_log_names_paths_never_queries_or_forms(app, caplog):
    c = app.test_client()
    with caplog.at_level(logging.INFO, logger="icdcoder.web"):
        _login(c, password="secret-password-typed")
        _login(c)
        c.get("/runs?q=冠心病患者张三")
    text = caplog.text
    assert "GET /runs 200" in text and "login refused for '李娜': wrong_password" in text
    assert "张三" not in text and "secret-password-typed" not in text
