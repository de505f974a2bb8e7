"""Gongkai search application: search over the index (``search_app.search``, no Flask),
the Flask web front end and JSON API, and the ``gongkai`` command line."""

from __future__ import annotations


def create_app(config: dict | None = None):
    """The Flask app (application factory: nothing is created or read at import).

    Config keys (besides Flask's own):
    - ``INDEX_DIR``: the index to serve, a directory or a ``typesense://`` backend URL
      (default: ``search_app.search.default_location()``: $GONGKAI_BACKEND, else the
      index directory);
    - ``BACKEND``: a ready `SearchBackend` to use instead (the caller keeps ownership);
    - ``EXPORT_MAX_ROWS``: cap on CSV export rows (5,000);
    - ``RATELIMIT_*``: see ``search_app.web.ratelimit.RATE_DEFAULTS``;
    - ``TRUST_PROXY``: number of reverse proxies in front whose X-Forwarded-* to trust (0).
    """
    # Flask is imported here so that `gongkai --help` and the CLI never pay for it.
    import atexit

    from flask import Flask

    from search_app.web import api, export, reports, views
    from search_app.web.backend import EXTENSION, BackendHolder
    from search_app.web.errors import register_error_handlers
    from search_app.web.present import register_template_helpers
    from search_app.web.security import init_security

    app = Flask(__name__)
    app.config.from_mapping(INDEX_DIR=None, BACKEND=None, EXPORT_MAX_ROWS=5000, TRUST_PROXY=0)
    if config:
        app.config.update(config)
    if app.config["INDEX_DIR"] is None and app.config["BACKEND"] is None:
        from search_app.search import default_location

        app.config["INDEX_DIR"] = default_location()

    app.json.ensure_ascii = False  # journalists read the JSON; keep Chinese readable
    app.json.sort_keys = False  # keep the contract's field order
    register_template_helpers(app)

    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUST_PROXY"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)

    holder = BackendHolder(app.config["INDEX_DIR"] or "", app.config["BACKEND"])
    app.extensions[EXTENSION] = holder
    # Flask has no "app stopped" signal; the holder closes at interpreter exit, and
    # `gongkai serve` closes it explicitly when waitress returns.
    atexit.register(holder.close)

    init_security(app)
    register_error_handlers(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(reports.bp)
    return app
