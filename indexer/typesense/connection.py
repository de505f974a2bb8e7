"""Reaching a Typesense cluster: the backend URL, a client over every node, and
retries through a leader election.

URL form: ``typesense://API_KEY@HOST:PORT,HOST:PORT,HOST:PORT/COLLECTION`` (every node
listed, so that a client survives the loss of one; ``typesenses://`` for HTTPS). The
collection is an alias that ``--rebuild`` moves to a new collection atomically.

While a cluster elects a new leader (7-10 s after the leader dies, measured on 0.24.1)
writes fail with HTTP 500 and an empty body, and a node being killed refuses
connections: `retrying` repeats an idempotent call (imports are upserts by id) with
bounded exponential backoff, so that no document is lost or written twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote

SCHEMES = {"typesense": "http", "typesenses": "https"}
RETRY_FOR = 90.0  # seconds a call keeps being retried: several elections
T = TypeVar("T")


class BackendURLError(ValueError):
    """A backend URL that cannot be used; the message is one line for the user."""


class ClusterUnavailable(RuntimeError):
    """The cluster did not answer (or kept failing) for RETRY_FOR seconds."""


@dataclass(frozen=True)
class Target:
    api_key: str
    nodes: tuple[tuple[str, int], ...]
    collection: str
    protocol: str = "http"

    @property
    def display(self) -> str:
        """The URL without its key (for messages and logs)."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.nodes)
        scheme = "typesenses" if self.protocol == "https" else "typesense"
        return f"{scheme}://{hosts}/{self.collection}"


def is_backend_url(value: str | None) -> bool:
    return bool(value) and value.split("://", 1)[0] in SCHEMES


def parse_url(url: str) -> Target:
    scheme, sep, rest = (url or "").partition("://")
    if not sep or scheme not in SCHEMES:
        raise BackendURLError(f"backend URL must start with typesense:// (got {url!r})")
    key, at, rest = rest.rpartition("@")
    if not at or not key:
        raise BackendURLError("backend URL needs an API key: typesense://KEY@HOST:PORT/COLLECTION")
    hosts, slash, collection = rest.partition("/")
    collection = collection.strip("/")
    if not slash or not collection or not all(c.isalnum() or c in "_-" for c in collection):
        raise BackendURLError("backend URL needs a collection name (letters, digits, _ or -) "
                              "after the hosts: typesense://KEY@HOST:PORT/COLLECTION")
    nodes = []
    for part in hosts.split(","):
        host, colon, port = part.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BackendURLError(f"backend URL: {part!r} is not HOST:PORT")
        nodes.append((host.strip("[]"), int(port)))
    return Target(unquote(key), tuple(nodes), collection, SCHEMES[scheme])


def client(target: Target, timeout: float = 10.0):
    """A `typesense.Client` over every node of *target* (the client moves on to the next
    node when one does not answer)."""
    try:
        import typesense
    except ImportError as exc:  # the optional extra is not installed
        raise BackendURLError("the typesense backend needs the optional extra: "
                              "pip install -e '.[typesense]'") from exc
    return typesense.Client({
        "nodes": [{"host": h, "port": p, "protocol": target.protocol} for h, p in target.nodes],
        "api_key": target.api_key,
        "connection_timeout_seconds": timeout,
        "num_retries": len(target.nodes),
        "retry_interval_seconds": 0.1,
        "healthcheck_interval_seconds": 2,
    })


@dataclass
class RetryLog:
    """Retries seen by one run (the index summary and the fault tests report them)."""
    retries: int = 0


def transient(exc: BaseException) -> bool:
    """An error worth retrying: the cluster is electing, a node is down or lagging."""
    try:
        import httpx
        from typesense import exceptions as tx
    except ImportError:  # pragma: no cover - no client, nothing to retry
        return False
    if isinstance(exc, tx.ServerError | tx.ServiceUnavailable | tx.Timeout
                  | tx.HTTPStatus0Error | httpx.TransportError | ConnectionError
                  | TimeoutError):
        return True
    # After every node failed to connect the client raises this bare error.
    return type(exc) is tx.TypesenseClientError and "unhealthy" in str(exc)


def retrying(call: Callable[[], T], what: str, log: RetryLog | None = None,
             budget: float = RETRY_FOR) -> T:
    """*call*, repeated with backoff (0.2 s doubling to 4 s) while it fails transiently,
    for at most *budget* seconds; then ClusterUnavailable with *what* in its message."""
    deadline = time.monotonic() + budget
    delay = 0.2
    while True:
        try:
            return call()
        except Exception as exc:
            if not transient(exc):
                raise
            now = time.monotonic()
            if now >= deadline:
                raise ClusterUnavailable(f"the Typesense cluster did not accept {what} for "
                                         f"{budget:.0f} s: {type(exc).__name__} {exc}"
                                         ) from exc
            pause = min(delay, deadline - now) * (0.75 + random.random() / 2)
            if log is not None:
                log.retries += 1
            time.sleep(pause)
            delay = min(4.0, delay * 2)
