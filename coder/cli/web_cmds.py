"""icdcoder serve: the coders' workbench in the browser."""

from __future__ import annotations

import logging
import threading

import click

from .options import db_option, open_db


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Requests served at once.")
@click.option("--secure-cookies", is_flag=True, help="Send the session cookie over HTTPS only (behind a TLS proxy).")
@click.option(
    "-v", "--verbose", is_flag=True, help="Log each request (method, path, status, time; never a query or form)."
)
@db_option
def serve_cmd(host: str, port: int, threads: int, secure_cookies: bool, verbose: bool, db_url: str | None) -> None:
    """Serve the workbench: worklist, lines, rules, normalization, reports, runs (README: The workbench).

    Every page needs a login (icdcoder users add NAME --role coder|author|admin). Stops on Ctrl-C or
    SIGTERM; exit 0.
    """
    from waitress import serve

    from ..web import create_app

    engine = open_db(db_url)
    app = create_app(engine, secure_cookies=secure_cookies)
    # The rule base and audited history (rule tests, suggestions), read while the first page loads.
    threading.Thread(target=_warm, args=(engine,), name="icdcoder-warm", daemon=True).start()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"icdcoder workbench on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    serve(app, host=host, port=port, threads=threads, ident="icdcoder")


def _warm(engine) -> None:
    from rulebase.codes import SYSTEMS

    from ..audit.ruletest import warm
    from ..services.suggestions import suggester

    try:
        warm(engine)
        with engine.connect() as conn:
            for system in SYSTEMS:
                suggester(conn, system)
    except Exception:  # noqa: BLE001 - only a head start: the first page that needs them reads them itself
        logging.getLogger("icdcoder.web").warning("could not read the rule base and history ahead of the first use")


COMMANDS = [serve_cmd]
