"""Fixtures for the workbench's pages, over HTTP with Flask's test client, on a real SQLite file and
on the real PostgreSQL server (tests/conftest.py's db_url):

* `web_engine`: a migrated database seeded like the demo (the sample ICD-10 and ICD-9-CM-3 code
  lists, normalization table and rule base, the long-layout list and the homepage export, coded by
  one run: auto-codes, lines of two codes, no_match, ambiguous and invalid_input failures,
  persons' codes from the files), with one account of each role (USERS) and a second coder;
* `web_app`: the workbench on it;
* `client_for(role_or_name)`: a test client logged in through the real login form, its `.csrf`
  the session's CSRF token read from a page's form, with `.form(url, **fields)` posting a form
  with that token.

On SQLite the seeded file is made once per session and copied for each test (the seeding is the
same code as on PostgreSQL, where each test seeds its own schema).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.services import users as accounts
from coder.services.diagnoses import Layout, import_diagnoses
from coder.services.dictionary import import_dictionary
from coder.services.normalization import import_normalization
from coder.services.rules import import_rules
from coder.services.run import run_coding
from coder.web import create_app
from rulebase.codes import ICD9CM3
from tests.conftest import SAMPLE, insert_pending

PASSWORD = "password1"
# One account of each role, and a second coder (two coders on one line).
USERS = {"coder": "李娜", "author": "王芳", "admin": "管理员", "coder2": "张伟"}
ROLES = {"coder": "coder", "author": "author", "admin": "admin", "coder2": "coder"}
SEEDER = "icdcoder test"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Lines whose codes claim overlapping words (冠心病 and 病态窦房结综合征 share the 病), neither
# containing the other: ambiguous under the spans semantics, where the sample's own ambiguous
# example (冠状动脉粥样硬化性心脏病 不稳定型心绞痛) is now a line of two codes.
AMBIGUOUS = ("冠心病态窦房结综合征", "慢性肾脏病态窦房结综合征")


def seed(engine) -> None:
    """The demo's sample, one coding run, and the accounts."""
    import_dictionary(engine, SAMPLE / "codes.csv")
    import_dictionary(engine, SAMPLE / "procedure_codes.csv", system=ICD9CM3)
    import_normalization(engine, SAMPLE / "normalization.csv", SEEDER, "sample normalization")
    import_rules(engine, SAMPLE / "rules.csv", SEEDER, "sample rules")
    import_diagnoses(engine, SAMPLE / "diagnoses.csv")
    import_diagnoses(engine, SAMPLE / "homepage.csv", layout=Layout.HOMEPAGE)
    insert_pending(engine, AMBIGUOUS, prefix="AMB-")
    run_coding(engine)
    for key, name in USERS.items():
        accounts.add_user(engine, name, ROLES[key], PASSWORD)


@pytest.fixture(scope="session")
def seeded_sqlite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("web") / "seeded.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_db(engine)
    seed(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def web_engine(db_url, request):
    """A migrated, seeded database with the USERS (see the module's docstring)."""
    if db_url.startswith("sqlite"):
        target = Path(db_url.removeprefix("sqlite:///"))
        shutil.copyfile(request.getfixturevalue("seeded_sqlite_file"), target)
        engine = make_engine(db_url)
        upgrade_db(engine)  # a no-op: the copy is migrated
    else:
        engine = make_engine(db_url)
        upgrade_db(engine)
        seed(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def web_app(web_engine):
    app = create_app(web_engine)
    app.config["TESTING"] = True
    return app


class Client(FlaskClient):
    """A test client that knows its session's CSRF token."""

    csrf: str = ""
    user: str = ""

    def form(self, url: str, csrf: bool = True, **fields):
        """POST a form as a page does: the fields, with the session's CSRF token unless `csrf` is False."""
        data = {"csrf_token": self.csrf, **fields} if csrf else dict(fields)
        return self.post(url, data=data)

    def refresh_token(self, path: str = "/runs") -> str:
        """The CSRF token as a page's forms carry it (every logged-in page has the logout form)."""
        found = TOKEN.search(self.get(path).get_data(as_text=True))
        if found is None:  # a page under construction: the session holds the same token
            with self.session_transaction() as s:
                self.csrf = s.get("csrf_token", "")
        else:
            self.csrf = found.group(1)
        return self.csrf


def login(app, name: str, password: str = PASSWORD) -> Client:
    """A test client logged in as `name` through the login form."""
    app.test_client_class = Client
    c = app.test_client()
    token = TOKEN.search(c.get("/login").get_data(as_text=True)).group(1)
    r = c.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert r.status_code == 302, f"login of {name} refused ({r.status_code})"
    c.user = name
    c.refresh_token()  # the login starts a new session, with a new token
    return c


@pytest.fixture
def client_for(web_app):
    """client_for("coder" | "author" | "admin" | "coder2" | a user's name) -> a logged-in Client."""

    def make(who: str = "coder") -> Client:
        return login(web_app, USERS.get(who, who))

    return make


@pytest.fixture
def users() -> dict[str, str]:
    return dict(USERS)
