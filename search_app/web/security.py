"""Response headers (CSP and friends) and per-client rate limiting (the limiter itself
is `search_app.web.ratelimit`).

The CSP allows only same-origin resources and no inline script or style attribute: the
pages work without JavaScript, the timeline is inline SVG (markup, not script) and every
style lives in static/gongkai.css.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestURITooLarge

from search_app.web.errors import RateLimited
from search_app.web.ratelimit import RATE_DEFAULTS, TokenBucketLimiter

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Queries are in our URLs; never hand them to the government sites we link to.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

# The longest raw query string parsed at all. Decoding is the one cost a request pays
# before any limit is checked (about 1 s per MB), so anything longer is refused unread
# with a 414. The longest legitimate one (a 500-character query and 20 values of 200
# characters for each filter, percent-encoded) is about 185 KB; waitress itself refuses
# request heads over 256 KB, so this only matters under other servers.
MAX_QUERY_STRING_BYTES = 256 * 1024

def _limited_cost(path: str, config) -> int:
    """Tokens a request to *path* costs; 0 for pages that are not rate limited."""
    if path.endswith(".csv"):
        return int(config["RATELIMIT_EXPORT_COST"])
    if path.startswith("/api/") or path.endswith(".atom"):
        return 1
    return 0


def init_security(app: Flask) -> None:
    for key, value in RATE_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions["gongkai.ratelimit"] = TokenBucketLimiter(
        app.config["RATELIMIT_PER_MINUTE"], app.config["RATELIMIT_BURST"],
        app.config["RATELIMIT_MAX_CLIENTS"])

    @app.before_request
    def _query_string_size():
        if len(request.query_string) > MAX_QUERY_STRING_BYTES:
            raise RequestURITooLarge()

    @app.before_request
    def _rate_limit():
        config = current_app.config
        if not config["RATELIMIT_ENABLED"] or request.method == "OPTIONS":
            return
        cost = _limited_cost(request.path, config)
        if not cost:
            return
        limiter: TokenBucketLimiter = current_app.extensions["gongkai.ratelimit"]
        wait = limiter.take(request.remote_addr or "unknown", cost)
        if wait:
            raise RateLimited(wait)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/") or request.path.endswith(".atom"):
            # Public, read-only, cookie-less data: any origin may read it.
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response
