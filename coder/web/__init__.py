"""The coders' workbench in the browser (`icdcoder serve`): server-rendered pages, plain HTML forms.

Flask (with its Jinja2 templates and signed-cookie sessions) served by waitress: the use cases are
synchronous service functions, Flask's request/form/session handling is all the web needs, and
waitress is pure Python, so the same `pip install` serves on a Windows desktop or a Linux server.
Every page calls coder.services, never SQL of its own. Every POST carries a CSRF token; every page
but /login needs a logged-in, enabled account; the account's name is the person in every audit and
history row written from the web.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
