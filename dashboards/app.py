"""Making and serving the Dash app.

:func:`create_app` builds the app around a :class:`~dashboards.state.Dashboard` (debug
off, no static folder: the styles are inline); :func:`make_server` binds it with
werkzeug's threaded server, port 0 meaning any free port, so the command and the browser
tests serve it the same way.

Every request's ``Host`` header is checked (:func:`host_allowed`): a page of another site
whose name was made to resolve to this machine (DNS rebinding) sends its own name, and is
answered 400. Accepted: ``127.0.0.1``, ``localhost`` and ``[::1]``, the address served on
and the names given with ``--allow-host``; with the port served on.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Sequence
from typing import Any, cast

from dashboards.state import Dashboard, DashboardConfig

__all__ = ["LOOPBACK_HOSTS", "create_app", "host_allowed", "make_server", "split_host"]


def create_app(config: DashboardConfig | None = None, board: Dashboard | None = None) -> Any:
    """Return the Dash app for ``config`` (or around an existing ``board``).

    The page's layout is made per page load, so a study added to the storage meanwhile
    appears in the study list.
    """
    import dash

    from dashboards import callbacks
    from dashboards.export import export_formats
    from dashboards.layout import INDEX_STRING, RENDERER, build_layout, page_scripts

    class _Dash(dash.Dash):
        def interpolate_index(  # Dash's documented hook for the page's HTML
            self,
            metas: Any = "",
            title: Any = "",
            css: Any = "",
            config: Any = "",
            scripts: Any = "",
            app_entry: Any = "",
            favicon: Any = "",
            renderer: Any = "",
        ) -> Any:
            return cast(Any, super()).interpolate_index(
                metas=metas,
                title=title,
                css=css,
                config=config,
                scripts=page_scripts(scripts),  # the scripts the page needs, no others
                app_entry=app_entry,
                favicon=favicon,
                renderer=renderer,
            )

    board = board or Dashboard(config or DashboardConfig())
    app = _Dash(
        __name__,
        title="mmfree-cosim dashboard",
        assets_folder="_no_assets",
        include_assets_files=False,
        serve_locally=True,
        update_title="",
        suppress_callback_exceptions=False,
    )
    app.index_string = INDEX_STRING
    app.renderer = RENDERER  # Dash's documented hook for the renderer's start script
    formats = export_formats()

    def layout() -> Any:
        names = board.catalog.names()
        study = board.catalog.initial()
        initial = callbacks.initial_state(board, study)
        return build_layout(names, study, board.config.refresh_s, formats, initial)

    # Dash checks callbacks against a validation layout, which it otherwise makes by calling
    # the layout function once and then sends with every page: give it the bare page.
    cast(Any, app).validation_layout = build_layout([], "", board.config.refresh_s, formats)
    app.layout = layout
    callbacks.register(app, board)
    app.server.config["dashboard"] = board
    _check_hosts(app.server, board.config.allowed_hosts)
    _serve_layout_once(app, board, formats)
    return app


def _serve_layout_once(app: Any, board: Dashboard, formats: list[tuple[str, str]]) -> None:
    """Answer the page's layout request with JSON made once per study version.

    Dash makes and serialises the layout on every page load (a 10,000-trial study's is
    400 KB: about 30 ms, on the first render's critical path). The same JSON, as Dash's
    own layout route would send it (plotly's encoder), is kept while the study list, the
    study shown and its data version are unchanged (:meth:`Dashboard.first_page` keeps
    the first figure itself).
    """
    import flask
    from plotly.io.json import to_json_plotly

    from dashboards import callbacks
    from dashboards.layout import build_layout

    path = app.config.requests_pathname_prefix + "_dash-layout"
    held: list[Any] = []  # [names, study, initial state, JSON]
    lock = threading.Lock()

    def serve() -> Any:
        if flask.request.path != path or flask.request.method != "GET":
            return None
        names = board.catalog.names()
        study = board.catalog.initial()
        initial = callbacks.initial_state(board, study)
        with lock:
            if not held or held[0] != names or held[1] != study or held[2] is not initial:
                page = build_layout(names, study, board.config.refresh_s, formats, initial)
                held[:] = [names, study, initial, to_json_plotly(page).encode("utf-8")]
            body = held[3]
        return flask.Response(body, mimetype="application/json")

    app.server.before_request(serve)


#: Host names every dashboard answers to (with the port it serves on).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def split_host(header: str) -> tuple[str, int | None] | None:
    """Return ``(name, port)`` of a ``Host`` header (``None`` when it is malformed).

    ``[::1]:8050`` gives ``("::1", 8050)``; a header without a port gives ``None`` for it.
    """
    header = header.strip()
    if header.startswith("["):
        name, sep, rest = header[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, sep, port_text = header.partition(":")
        if ":" in port_text or (sep and not port_text):
            return None
        port_text = port_text if sep else None
    if not name or (port_text is not None and not (port_text.isascii() and port_text.isdigit())):
        return None
    port = int(port_text) if port_text is not None else None
    if port is not None and not 0 < port < 65536:
        return None
    return name.lower(), port


def host_allowed(
    header: str, port: int | None, names: frozenset[str], any_address: bool = False
) -> bool:
    """Return whether a request's ``Host`` header names this server.

    Args:
        header: The ``Host`` header.
        port: The port served on (``None``: not bound yet, any port).
        names: Host names and addresses accepted (lower case).
        any_address: Also accept any IP address (served on all interfaces): an address,
            unlike a name, cannot be made to point elsewhere.
    """
    import ipaddress

    parsed = split_host(header)
    if parsed is None:
        return False
    name, asked = parsed
    if port is not None and (asked or 80) != port:
        return False
    if name in names:
        return True
    if any_address:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


def _check_hosts(server: Any, extra: Sequence[str]) -> None:
    """Answer 400 to a request whose ``Host`` header does not name this server."""
    import flask

    names = LOOPBACK_HOSTS | {h.strip().strip("[]").lower() for h in extra}
    server.config["cosim_hosts"] = (names, None, False)

    def check() -> Any:
        allowed, port, any_address = server.config["cosim_hosts"]
        if host_allowed(flask.request.headers.get("Host", ""), port, allowed, any_address):
            return None
        return flask.Response(
            "400 Bad Request: this dashboard answers only to the names it serves on "
            "(127.0.0.1, localhost, [::1] or --allow-host)\n",
            status=400,
            mimetype="text/plain",
        )

    server.before_request(check)


def make_server(app: Any, host: str = "127.0.0.1", port: int = 8050) -> Any:
    """Return a threaded werkzeug server for ``app`` (``port`` 0: any free port).

    Raises:
        DashboardError: The address cannot be bound (port in use, unknown host).
    """
    from werkzeug.serving import make_server as werkzeug_server

    from dashboards.errors import DashboardError

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        # werkzeug prints why it cannot bind and exits 1: keep the print, raise one error
        with contextlib.redirect_stderr(io.StringIO()):
            server = werkzeug_server(host, port, app.server, threaded=True)
    except (OSError, SystemExit) as exc:
        # the OSError is the SystemExit's context: its reason, never the exit code
        cause = exc.__context__ if isinstance(exc, SystemExit) else exc
        reason = getattr(cause, "strerror", None) or "cannot bind the address"
        raise DashboardError(
            f"cannot serve on {host}:{port}: {reason}; choose another --port (0: any free one)"
        ) from None
    names, _, _ = app.server.config.get("cosim_hosts", (LOOPBACK_HOSTS, None, False))
    bound = host.strip("[]").lower()
    wildcard = bound in ("0.0.0.0", "::", "")
    app.server.config["cosim_hosts"] = (
        names | ({bound} if not wildcard else set()),
        int(server.port),
        wildcard,
    )
    return server
