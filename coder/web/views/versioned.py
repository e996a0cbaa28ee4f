"""The pages of a judged versioned table (guards, combinations), declared once: the list with a form to
add, an item with its history and a form to change it, and enabling. 试验 judges the change against the
audited history and writes nothing; 保存 is refused (409) when the change breaks correctly coded audited
lines unless the author ticks force; a form another person's change made stale is refused (409) too.

Each table's module names what differs: its words, its fields, its services and its templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from coder.errors import ChangeRefused, IcdCoderError, NotFound
from coder.services.rules import StaleForm

from ..app import engine, person
from .forms import shown_version, stale_message


def _ticked(name: str) -> bool:
    return request.form.get(name) in ("1", "on")


@dataclass(frozen=True, slots=True)
class JudgedTable:
    noun: str  # what the flash messages call an item (提示词, 组合编码)
    endpoint: str  # the item page's endpoint ("guards.show")
    id_arg: str  # its URL argument ("guard_id")
    fields: tuple[str, ...]  # the form fields read from a request
    blank_form: Callable[[], dict[str, Any]]
    form_of: Callable[[Any], dict[str, Any]]  # an item as its change form
    values: Callable[[dict[str, Any]], dict[str, Any]]  # a form as the service's keyword arguments
    refusal: Callable[[ChangeRefused], str]  # the words when a save is refused for what it breaks
    preview: Callable[..., Any]  # (item id or None, values) -> what 试验 shows
    add: Callable[..., Any]  # service: (engine, author=, reason=, force=, **values)
    change_at: Callable[..., Any]  # service: (engine, id, seen version, author, reason, force, **values)
    fetch: Callable[..., Any]  # service: (engine, id) -> item and history
    show_template: str
    item_name: str  # the item's name in the show template (guard, combo)
    list_template: str
    list_context: Callable[[], dict[str, Any]]  # the table (and what else the list page shows)
    context: Callable[[], dict[str, Any]]  # what else both pages show (choices, the test text)

    def form_of_request(self) -> dict[str, Any]:
        out = self.blank_form()
        for k in self.fields:
            if k in request.form:
                out[k] = request.form.get(k, "")
        out["force"] = _ticked("force")
        return out

    def _render(self, template: str, status: int, preview, impact, **context):
        return (
            render_template(
                template,
                **context,
                **self.context(),
                preview=preview,
                impact=impact if impact is not None else (preview.impact if preview is not None else None),
            ),
            status,
        )

    def list_page(self, form, preview=None, error=None, status=200, impact=None, refused=False):
        """The table with the form to add an item (blank, or as sent with what went wrong)."""
        context = self.list_context()
        return self._render(
            self.list_template, status, preview, impact, **context, form=form, refused=refused, error=error
        )

    def show_page(self, item_id: int, form=None, preview=None, error=None, status=200, impact=None, refused=False):
        try:
            shown = self.fetch(engine(), item_id)
        except NotFound:
            abort(404)
        return self._render(
            self.show_template,
            status,
            preview,
            impact,
            **{self.item_name: shown.item},
            history=shown.history,
            form=form if form is not None else self.form_of(shown.item),
            refused=refused,
            error=error,
        )

    def _to_item(self, item_id: int):
        return redirect(url_for(self.endpoint, **{self.id_arg: item_id}))

    def create(self):
        """POST .../new: 试验 shows the change judged; 保存 adds the item."""
        form = self.form_of_request()
        try:
            values = self.values(form)
            if request.form.get("action", "test") != "save":
                return self.list_page(form, preview=self.preview(None, values))
            done = self.add(engine(), author=person(), reason=form.get("reason") or None, force=form["force"], **values)
        except ChangeRefused as exc:
            return self.list_page(form, error=self.refusal(exc), impact=exc.impact, refused=True, status=409)
        except IcdCoderError as exc:
            return self.list_page(form, error=str(exc), status=422)
        flash(f"{self.noun} {done.new.id} 已添加（第 1 版）。")
        return self._to_item(done.new.id)

    def edit(self, item_id: int):
        """POST .../ID: 试验 or 保存 a change of the version the form was shown at."""
        seen = shown_version()
        form = {**self.form_of_request(), "version": seen}
        try:
            values = self.values(form)
            if request.form.get("action", "test") != "save":
                return self.show_page(item_id, form, preview=self.preview(item_id, values))
            done = self.change_at(
                engine(), item_id, seen, person(), form.get("reason") or None, form["force"], **values
            )
        except NotFound:
            abort(404)
        except StaleForm as exc:
            form["version"] = exc.current
            return self.show_page(item_id, form, error=stale_message(exc, self.noun, self.noun), status=409)
        except ChangeRefused as exc:
            return self.show_page(item_id, form, error=self.refusal(exc), impact=exc.impact, refused=True, status=409)
        except IcdCoderError as exc:
            return self.show_page(item_id, form, error=str(exc), status=422)
        if not done.changed:
            flash(f"{self.noun} {item_id} 没有变化（与当前版本相同），未保存。", "warning")
        else:
            flash(f"{self.noun} {item_id} 已保存为第 {done.new.version} 版。")
        return self._to_item(item_id)

    def toggle(self, item_id: int):
        """POST .../ID/enabled: enable or disable, judged like any change."""
        enabled = request.form.get("enabled") in ("1", "on", "true")
        reason = request.form.get("reason", "").strip() or None
        try:
            done = self.change_at(
                engine(), item_id, shown_version(), person(), reason, _ticked("force"), enabled=enabled
            )
        except NotFound:
            abort(404)
        except StaleForm as exc:
            return self.show_page(item_id, error=stale_message(exc, self.noun, self.noun), status=409)
        except ChangeRefused as exc:
            return self.show_page(item_id, error=self.refusal(exc), impact=exc.impact, refused=True, status=409)
        except IcdCoderError as exc:
            return self.show_page(item_id, error=str(exc), status=422)
        state = "启用" if enabled else "停用"
        flash(
            f"{self.noun} {item_id} 已{state}（第 {done.new.version} 版）。"
            if done.changed
            else f"{self.noun} {item_id} 本来就已{state}。"
        )
        return self._to_item(item_id)
