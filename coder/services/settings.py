"""The settings a person may change per database (`icdcoder settings`): today the matching semantics."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Engine

from coder.errors import SettingInvalid
from coder.store import settings as store
from rulebase.states import Matching


class Setting(NamedTuple):
    name: str
    value: str
    choices: tuple[str, ...]
    meaning: str


MEANINGS = {
    Matching.SPANS: "codes at separate places in one line are several diagnoses, all coded; a match inside "
    "another code's match drops out; overlapping codes are ambiguous",
    Matching.STRICT: "the paper's semantics: any two codes at the top priority are ambiguous",
}


def show_settings(engine: Engine) -> list[Setting]:
    with engine.connect() as conn:
        value = store.matching(conn)
    return [Setting(store.MATCHING, value.value, tuple(m.value for m in Matching), MEANINGS[value])]


def change_setting(engine: Engine, name: str, value: str) -> dict[str, Any]:
    """Store a setting; a change of the matching semantics makes the next run retry failed lines."""
    if name != store.MATCHING:
        raise SettingInvalid(f"unknown setting {name!r}; the settings are: {store.MATCHING}")
    with engine.begin() as conn:
        changed = store.set_matching(conn, value)
    return {"name": name, "value": value, "changed": changed}
