"""Making and serving the Dash app.

:func:`create_app` builds the app around a :class:`~dashboards.state.Dashboard` (debug
off, no static folder: the styles are inline); :func:`make_server` binds it with
werkzeug's threaded server, port 0 meaning any free port, so the command and the browser
tests serve it the same way.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from dashboards.state import Dashboard, DashboardConfig

__all__ = ["create_app", "make_server"]


def create_app(config: DashboardConfig | None = None, board: Dashboard | None = None) -> Any:
    """Return the Dash app for ``config`` (or around an existing ``board``).

    The page's layout is made per page load, so a study added to the storage meanwhile
    appears in the study list.
    """
    import dash

    from dashboards import callbacks
    from dashboards.export import export_formats
    from dashboards.layout import INDEX_STRING, build_layout

    board = board or Dashboard(config or DashboardConfig())
    app = dash.Dash(
        __name__,
        title="mmfree-cosim dashboard",
        assets_folder="_no_assets",
        include_assets_files=False,
        serve_locally=True,
        update_title="",
        suppress_callback_exceptions=False,
    )
    app.index_string = INDEX_STRING
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
    return app


def make_server(app: Any, host: str = "127.0.0.1", port: int = 8050) -> Any:
    """Return a threaded werkzeug server for ``app`` (``port`` 0: any free port).

    Raises:
        DashboardError: The address cannot be bound (port in use, unknown host).
    """
    from werkzeug.serving import make_server as werkzeug_server

    from dashboards.errors import DashboardError

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        return werkzeug_server(host, port, app.server, threaded=True)
    except (OSError, SystemExit) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or "cannot bind"
        raise DashboardError(
            f"cannot serve on {host}:{port}: {reason}; choose another --port (0: any free one)"
        ) from None
