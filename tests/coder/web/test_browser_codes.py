"""A line of two codes in a real browser: headless Chromium against `icdcoder serve` on the workbench's
seeded database (tests/coder/web/conftest.py), where a run coded 冠状动脉粥样硬化性心脏病 不稳定型心绞痛
as I25.103 + I20.000. The coder sees both codes and their words, corrects the second one in the list
with the code search as you type, and the page then shows the new list."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from coder.db.connect import make_engine
from coder.db.models import diagnosis

from .browser import browser_or_skip, chrome, free_port, start_server
from .conftest import PASSWORD, USERS

TWO = "冠状动脉粥样硬化性心脏病 不稳定型心绞痛"


@pytest.fixture(scope="module")
def served(tmp_path_factory, seeded_sqlite_file):
    browser_or_skip()
    path = tmp_path_factory.mktemp("browser-codes") / "seeded.db"
    shutil.copyfile(seeded_sqlite_file, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    port = free_port()
    server = start_server(url, port)
    driver = chrome()
    yield {"base": f"http://127.0.0.1:{port}", "driver": driver, "engine": engine, "shots": path.parent}
    driver.quit()
    server.terminate()
    server.wait(timeout=10)
    engine.dispose()


def _wait(driver, condition, seconds: float = 5):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def test_a_coder_sees_both_codes_and_corrects_the_second(served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec

    s, d = served, served["driver"]
    with s["engine"].connect() as conn:
        line = conn.execute(
            select(diagnosis.c.id).where(diagnosis.c.description == TWO, diagnosis.c.status == "coded").limit(1)
        ).scalar_one()
    d.get(s["base"] + "/login")
    d.find_element(By.ID, "name").send_keys(USERS["coder"])
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "login").click()
    _wait(d, ec.visibility_of_element_located((By.CSS_SELECTOR, "header.top")))

    d.get(f"{s['base']}/diagnoses/{line}")
    assert "I25.103, I20.000" in d.find_element(By.ID, "line-codes").text
    marks = d.find_elements(By.CSS_SELECTOR, "p.normalized mark.part")
    assert [m.text for m in marks] == ["冠状动脉粥样硬化性心脏病", "不稳定型心绞痛"]
    # each code's words in its own colour
    assert marks[0].value_of_css_property("background-color") != marks[1].value_of_css_property("background-color")
    parts = d.find_elements(By.CSS_SELECTOR, ".rule-part")
    assert len(parts) == 2 and "I25.103" in parts[0].text and "I20.000" in parts[1].text
    d.save_screenshot(str(s["shots"] / "two-codes-line.png"))

    # The correction box holds the list; the coder replaces the second code, choosing it from the
    # search as you type (which searches the code being typed, not the whole list).
    form = d.find_element(By.CSS_SELECTOR, "form[action*='/correct']")
    box = form.find_element(By.CSS_SELECTOR, "input[name='code']")
    assert box.get_attribute("value") == "I25.103,I20.000"
    box.send_keys(Keys.END, Keys.BACK_SPACE * len("I20.000"), "I21.9")
    choice = _wait(d, ec.visibility_of_element_located((By.CSS_SELECTOR, "form[action*='/correct'] .suggest li")))
    assert choice.text.split()[0] == "I21.900"
    choice.click()
    assert box.get_attribute("value") == "I25.103,I21.900"
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    flash = _wait(d, ec.visibility_of_element_located((By.CSS_SELECTOR, ".flash")))
    assert "I25.103, I21.900" in flash.text
    assert "I25.103, I21.900" in d.find_element(By.ID, "line-codes").text
    assert d.find_element(By.CSS_SELECTOR, "form[action*='/correct'] input[name='code']").get_attribute("value") == (
        "I25.103,I21.900"
    )
    with s["engine"].connect() as conn:
        row = conn.execute(select(diagnosis).where(diagnosis.c.id == line)).one()
    assert (row.status, row.code, row.other_codes, row.coded_by) == ("corrected", "I25.103", "I21.900", USERS["coder"])
