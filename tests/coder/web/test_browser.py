"""The workbench in a real browser: headless Chromium against `icdcoder serve` on the demo database.

A coder logs in, opens the worklist, confirms an auto-code, corrects one with the code search as
you type; a rule author tests a rule edit and sees its summary; the report shows its chart.
Screenshots of each page are written to $ICDCODER_SCREENSHOTS (default: the test's tmp folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from coder.db.connect import make_engine
from coder.db.models import audit_action, diagnosis
from coder.services import users as accounts
from coder.services.demo import run_demo

from .browser import browser_or_skip, chrome, free_port, start_server

PASSWORD = "browser-pass-1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    browser_or_skip()
    folder = tmp_path_factory.mktemp("browser")
    path = folder / "demo.db"
    run_demo(path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    accounts.add_user(engine, "测试编码员", "coder", PASSWORD)
    accounts.add_user(engine, "测试作者", "author", PASSWORD)
    port = free_port()
    server = start_server(url, port)
    driver = chrome()
    shots = Path(os.environ.get("ICDCODER_SCREENSHOTS", folder))
    shots.mkdir(parents=True, exist_ok=True)
    yield {"base": f"http://127.0.0.1:{port}", "driver": driver, "engine": engine, "shots": shots}
    driver.quit()
    server.terminate()
    server.wait(timeout=10)
    engine.dispose()


def _wait(driver, css: str, seconds: float = 5):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _login(s, name: str) -> None:
    from selenium.webdriver.common.by import By

    d = s["driver"]
    d.get(s["base"] + "/logout")
    d.get(s["base"] + "/worklist")
    assert "/login" in d.current_url  # no page without a login
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "login").click()
    _wait(d, "header.top")


def _shot(s, name: str) -> None:
    s["driver"].save_screenshot(str(s["shots"] / f"{name}.png"))


def test_a_coder_confirms_and_corrects_in_the_browser(served):
    from selenium.webdriver.common.by import By

    s, d = served, served["driver"]
    _login(s, "测试编码员")
    assert "/worklist" in d.current_url
    _shot(s, "1-worklist")
    d.get(s["base"] + "/worklist?status=coded")
    d.find_element(By.CSS_SELECTOR, "table a[href*='/diagnoses/']").click()
    _wait(d, "mark")  # the matched span, highlighted
    _shot(s, "2-line")
    line_id = int(d.current_url.split("/diagnoses/")[1].split("?")[0])
    d.find_element(By.CSS_SELECTOR, "button[data-key='c']").click()
    _wait(d, ".flash")
    with s["engine"].connect() as conn:
        row = conn.execute(select(diagnosis.c.status, diagnosis.c.coded_by).where(diagnosis.c.id == line_id)).one()
        who = conn.execute(select(audit_action.c.person).where(audit_action.c.diagnosis_id == line_id)).scalars().all()
    assert tuple(row) == ("confirmed", "测试编码员") and who[-1] == "测试编码员"

    # Correct another auto-code, choosing the code from the search as you type.
    d.get(s["base"] + "/worklist?status=coded")
    d.find_element(By.CSS_SELECTOR, "table a[href*='/diagnoses/']").click()
    line_id = int(d.current_url.split("/diagnoses/")[1].split("?")[0])
    form = d.find_element(By.CSS_SELECTOR, "form[action*='/correct']")
    box = form.find_element(By.CSS_SELECTOR, "input[name='code']")
    box.send_keys("I10")
    choice = _wait(d, "form[action*='/correct'] .suggest li")
    chosen = choice.text.split()[0]
    _shot(s, "3-code-search")
    choice.click()
    assert box.get_attribute("value") == chosen
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    _wait(d, ".flash")
    with s["engine"].connect() as conn:
        row = conn.execute(select(diagnosis.c.status, diagnosis.c.code).where(diagnosis.c.id == line_id)).one()
    assert tuple(row) == ("corrected", chosen)


def test_an_author_tests_a_rule_edit_and_reads_the_report(served):
    from selenium.webdriver.common.by import By

    s, d = served, served["driver"]
    _login(s, "测试作者")
    d.get(s["base"] + "/rules?search=心")
    d.find_element(By.CSS_SELECTOR, "table a[href*='/rules/']").click()
    pattern = d.find_element(By.ID, "pattern")
    before = pattern.get_attribute("value")
    pattern.clear()
    pattern.send_keys(before + "|冠心病")
    d.find_element(By.ID, "test").click()
    summary = _wait(d, "section.impact")
    assert "已审核" in summary.text
    _shot(s, "4-rule-test")
    d.get(s["base"] + "/reports")
    chart = _wait(d, "svg")
    assert chart.find_elements(By.CSS_SELECTOR, "polyline")
    _shot(s, "5-reports")


def test_a_coder_cannot_see_the_rule_edit_form(served):
    from selenium.webdriver.common.by import By

    s, d = served, served["driver"]
    _login(s, "测试编码员")
    d.get(s["base"] + "/rules")
    d.find_element(By.CSS_SELECTOR, "table a[href*='/rules/']").click()
    assert not d.find_elements(By.ID, "save")
