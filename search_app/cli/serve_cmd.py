"""``gongkai serve [--host H] [--port P] [--index DIR] [--threads N] [--rate-limit N]
[--trust-proxy N]``: the web app on waitress (a production WSGI server; Flask's debug
server is never used).

When the index does not exist yet it is first built from the bundled sample corpus
(``index_data/sample``), with progress on stderr, so a fresh checkout serves the demo
with one command. A later ``gongkai index`` into the same directory becomes visible
without a restart: the backend reopens the index when a new generation is published.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from search_app.cli import CliError, backend_opt
from search_app.web.ratelimit import RATE_DEFAULTS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="run the web app and JSON API (waitress)",
        description="Serve the search pages, JSON API and exports with waitress. "
                    "Builds the index from the sample corpus first if none exists.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: $GONGKAI_INDEX or index_data/index)")
    p.add_argument("--threads", type=int, default=8, metavar="N",
                   help="worker threads (default: 8)")
    p.add_argument("--rate-limit", type=int, default=None, metavar="N",
                   help="API, feed and export requests a minute per client IP "
                        f"(default: {RATE_DEFAULTS['RATELIMIT_PER_MINUTE']}; 0 = no limit)")
    p.add_argument("--trust-proxy", type=int, default=0, metavar="N",
                   help="how many reverse proxies in front of this server to trust for "
                        "X-Forwarded-For/-Proto/-Host (default: 0, headers ignored)")
    backend_opt.add_argument(p)
    p.set_defaults(func=run)


def app_config(args: argparse.Namespace) -> dict:
    """The app settings the command line chooses (see `search_app.create_app`)."""
    config: dict = {"TRUST_PROXY": args.trust_proxy}
    if args.rate_limit is not None:
        per_minute = args.rate_limit
        config["RATELIMIT_ENABLED"] = per_minute > 0
        if per_minute:
            config["RATELIMIT_PER_MINUTE"] = per_minute
            # The burst never exceeds the minute's allowance: --rate-limit 10 means at
            # most 10 quick requests, not the default burst of 30.
            config["RATELIMIT_BURST"] = min(RATE_DEFAULTS["RATELIMIT_BURST"], per_minute)
    return config


def _progress(started: float):
    last = [0.0]

    def report(summary) -> None:
        now = time.monotonic()
        if now - last[0] < 5.0:  # a line every few seconds: alive, not chatty
            return
        last[0] = now
        done = summary.added + summary.updated + summary.unchanged
        print(f"  indexed {done:,} documents in {now - started:.0f} s", file=sys.stderr,
              flush=True)

    return report


def ensure_index(index_dir: Path, default: bool = False) -> None:
    """Build *index_dir* from the sample corpus when there is no index there yet; the
    default index (built from the sample) is rebuilt when an older version wrote it."""
    from indexer.index import store
    from indexer.index.writer import IndexBusy, index_paths

    try:
        if store.exists(index_dir):
            return
        rebuild = False
    except store.IndexIncompatible as exc:
        if not default:
            raise CliError(str(exc)) from None
        print(f"gongkai: {exc}; rebuilding the default index from the sample",
              file=sys.stderr, flush=True)
        rebuild = True
    sample = store.sample_corpus_dir()
    if sample.resolve().is_relative_to(Path.cwd().resolve()):
        # Sources are stored as given: a relative path keeps the server's directory
        # layout out of the API's `source` field.
        sample = sample.resolve().relative_to(Path.cwd().resolve())
    if not sample.is_dir():
        raise CliError(f"no index at {index_dir} and no sample corpus at {sample}; "
                       f"build one with: gongkai index PATH... --index {index_dir}")
    print(f"gongkai: no index at {index_dir}; building it from {sample} ...",
          file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        summary = index_paths(index_dir, [sample], progress=_progress(started), wait=True,
                              rebuild=rebuild)
    except IndexBusy as exc:
        raise CliError(f"the index at {index_dir} is being written by another process: "
                       f"{exc}") from exc
    print(f"gongkai: indexed {summary.documents:,} documents in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if not (0 < args.port < 65536):
        raise CliError(f"--port must be 1-65535, got {args.port}")
    if args.threads < 1:
        raise CliError(f"--threads must be at least 1, got {args.threads}")
    if args.rate_limit is not None and args.rate_limit < 0:
        raise CliError(f"--rate-limit must be 0 (no limit) or more, got {args.rate_limit}")
    if not 0 <= args.trust_proxy <= 10:
        raise CliError(f"--trust-proxy must be 0-10, got {args.trust_proxy}")
    from search_app.search import default_index_dir

    url = backend_opt.backend_url(args)
    if url is not None:
        from indexer.typesense.connection import parse_url

        backend, shown = backend_opt.open_url(url), parse_url(url).display
        index_dir = Path(default_index_dir())  # not read: the backend is handed in
    else:
        index_dir = Path(args.index) if args.index else Path(default_index_dir())
        ensure_index(index_dir, default=not args.index)
        shown = str(index_dir)
    import waitress

    from search_app import create_app
    from search_app.search import open_backend

    if url is None:
        # Opened here rather than on the first request, so that an index that cannot be
        # served (built with other analysis settings, damaged) stops the command with the
        # reason instead of answering 503 to everyone.
        try:
            backend = open_backend(index_dir)
        except Exception as exc:
            raise CliError(f"cannot open the index at {index_dir}: {exc}") from exc
    app = create_app({"INDEX_DIR": str(index_dir), "BACKEND": backend} | app_config(args))
    print(f"gongkai: serving {shown} on http://{args.host}:{args.port}/ "
          f"({args.threads} threads; Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        # With no proxy trusted, waitress drops X-Forwarded-* so no client can pick its
        # own rate-limit bucket; with proxies trusted, the app's ProxyFix reads them.
        waitress.serve(app, host=args.host, port=args.port, threads=args.threads,
                       ident="gongkai", clear_untrusted_proxy_headers=not args.trust_proxy)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    finally:
        backend.close()
    return 0
