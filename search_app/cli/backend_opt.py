"""``--backend URL`` (and ``$GONGKAI_BACKEND``), shared by index, search, stats and serve.

Without either, nothing changes: the embedded index in ``--index DIR`` (or
``$GONGKAI_INDEX``, or index_data/index). With a ``typesense://`` URL the command works
on that Typesense collection instead (`indexer.typesense`)."""

from __future__ import annotations

import os

from search_app.cli import CliError

URL_FORM = "typesense://API_KEY@HOST:PORT,HOST:PORT,HOST:PORT/COLLECTION"


def add_argument(p) -> None:
    p.add_argument("--backend", metavar="URL",
                   help=f"a Typesense cluster instead of the embedded index: {URL_FORM} "
                        "(default: $GONGKAI_BACKEND, if set)")


def backend_url(args) -> str | None:
    """The backend URL the command should use, or None for the embedded index. A bad
    URL, or --backend beside --index, is a one-line error."""
    from indexer.typesense.connection import BackendURLError, parse_url

    url = getattr(args, "backend", None)
    if url and getattr(args, "index", None):
        raise CliError("--backend and --index name two different indexes: give one")
    if not url and not getattr(args, "index", None):
        url = os.environ.get("GONGKAI_BACKEND") or None
    if url is None:
        return None
    try:
        parse_url(url)
    except BackendURLError as exc:
        raise CliError(f"{exc} (form: {URL_FORM})") from None
    return url


def open_url(url: str):
    """The Typesense backend at *url*, or a one-line error saying why not."""
    from indexer.typesense.connection import BackendURLError, ClusterUnavailable, parse_url
    from search_app.search import open_backend

    try:
        return open_backend(url)
    except (BackendURLError, ClusterUnavailable) as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ == "ObjectNotFound":
            raise CliError(f"no collection {parse_url(url).collection} on "
                           f"{parse_url(url).display} (build one with: gongkai index PATH... "
                           f"--backend URL)") from None
        raise
