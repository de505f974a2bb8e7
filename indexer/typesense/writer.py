"""Writing records into a Typesense collection, with the embedded index's semantics.

- Incremental by id and content hash, duplicates and ``--prune`` as in
  `indexer.incremental` (shared with the embedded writer); what the collection holds is
  read back with an export of ids and hashes.
- The URL's collection name is an *alias*. A first run, or ``--rebuild``, writes a new
  collection (``NAME_<time>``) and points the alias at it only when it is complete; the
  old collection is then dropped. Searches see the old collection until the swap.
- Documents go in batches of BATCH as upserts by id: an import repeated after a failure
  (a leader killed mid-batch) writes nothing twice. Failures that the cluster reports per
  document during an election are retried with the rest (`connection.retrying`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable

from indexer.incremental import index_files, plan, pruned
from indexer.index.writer import IndexSummary
from indexer.typesense import connection
from indexer.typesense.documents import DOCUMENT_VERSION, collection_schema, record_to_ts

BATCH = 200  # documents per import request
# Beside the alias, a small collection NAME__meta holds one document per collection
# written: its document format version and when it was built.
META_SUFFIX = "__meta"


class CollectionMismatch(RuntimeError):
    """The collection was written by another version of the document format."""


def _alias_target(ts, name: str, log) -> str | None:
    from typesense import exceptions as tx

    try:
        got = connection.retrying(lambda: ts.aliases[name].retrieve(), "reading an alias", log)
    except tx.ObjectNotFound:
        return None
    return got["collection_name"]


def _existing(ts, collection: str, log):
    """id → content hash, text hash → id, source → ids of *collection* (an export)."""
    by_id: dict[str, str] = {}
    by_text: dict[str, str] = {}
    by_source: dict[str, list[str]] = {}
    raw = connection.retrying(lambda: ts.collections[collection].documents.export(
        {"include_fields": "id,content_hash,text_hash,source"}), "an export", log)
    for line in raw.splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        by_id[d["id"]] = d.get("content_hash", "")
        by_text[d.get("text_hash", "")] = d["id"]
        by_source.setdefault(d.get("source", "").split("#", 1)[0], []).append(d["id"])
    return by_id, by_text, by_source


def _record_version(ts, alias: str, collection: str, log) -> None:
    from typesense import exceptions as tx

    meta = alias + META_SUFFIX
    with contextlib.suppress(tx.ObjectAlreadyExists):
        connection.retrying(lambda: ts.collections.create({
            "name": meta, "fields": [{"name": "version", "type": "int32"}]}),
            "creating a collection", log)
    _import(ts, meta, [{"id": collection, "version": DOCUMENT_VERSION,
                        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}], log)


def collection_info(ts, alias: str, collection: str, log=None) -> dict:
    """The meta document of *collection* ({} when there is none)."""
    from typesense import exceptions as tx

    try:
        return connection.retrying(
            lambda: ts.collections[alias + META_SUFFIX].documents[collection].retrieve(),
            "a read", log)
    except tx.ObjectNotFound:
        return {}


def _check_version(ts, alias: str, collection: str, log) -> None:
    meta = collection_info(ts, alias, collection, log)
    if meta.get("version") != DOCUMENT_VERSION:
        raise CollectionMismatch(
            f"collection {collection} was written by another version of Gongkai "
            f"(format {meta.get('version')}, this one writes {DOCUMENT_VERSION}); "
            "rebuild it with --rebuild")


def _import(ts, collection: str, docs: list[dict], log) -> None:
    """Upsert *docs*, again and again for those the cluster refused, until all are in."""
    pending = docs
    deadline = time.monotonic() + connection.RETRY_FOR
    while pending:
        # Sent as JSON lines and read back by import_results: the client's own parser
        # fails on a blank last line, which a node answered with during an election
        # (on CI) although every document was written. Outside an election neither the
        # leader nor a forwarding follower ends with one (tried on 0.24.1).
        body = "\n".join(json.dumps(d) for d in pending)
        text = connection.retrying(
            lambda b=body: ts.collections[collection].documents.import_(
                b, {"action": "upsert"}), "an import", log)
        results = import_results(text, len(pending))
        failed = [d for d, r in zip(pending, results, strict=True) if not r.get("success")]
        if not failed:
            return
        errors = {r.get("error", "") for r in results if not r.get("success")}
        if time.monotonic() > deadline or not all(_transient_text(e) for e in errors):
            raise connection.ClusterUnavailable(
                f"Typesense refused {len(failed)} documents: {sorted(errors)[0][:200]}")
        log.retries += 1
        time.sleep(0.5)
        pending = failed


UNCONFIRMED = {"success": False, "error": "no answer for this document (could not read it)"}


def import_results(text: str | bytes, sent: int) -> list[dict]:
    """One result per document sent, from an import's answer of one JSON line each.
    Blank lines are skipped; a document whose line is missing or unreadable counts as
    not confirmed (a transient failure: the upsert is sent again, which writes nothing
    twice)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    results = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            got = json.loads(line)
        except json.JSONDecodeError:
            got = UNCONFIRMED
        results.append(got if isinstance(got, dict) else UNCONFIRMED)
    results = results[:sent]
    return results + [UNCONFIRMED] * (sent - len(results))


def _transient_text(error: str) -> bool:
    # Per-document errors seen while a leader is being elected or a node lags behind.
    return any(s in error.lower() for s in ("not a leader", "leader", "timed out", "lag",
                                              "unavailable", "could not", "500"))


REPLICATION_WAIT = 60.0  # seconds the end of a run waits for every node to catch up


def _wait_replicated(target, alias: str, documents: int) -> int:
    """Wait until every node that answers serves *alias* with *documents* documents: a
    write is acknowledged once a majority has it, and a follower may answer a read
    before it has applied the last ones (a search right after a run could miss them,
    and a count read there is short). The count the nodes reached, lowest first."""
    from typesense import exceptions as tx

    deadline = time.monotonic() + REPLICATION_WAIT
    seen = []
    for node in target.nodes:
        one = connection.client(connection.Target(target.api_key, (node,), target.collection,
                                                  target.protocol), timeout=5.0)
        count = None
        while time.monotonic() < deadline:
            try:
                count = int(one.collections[alias].retrieve()["num_documents"])
                if count == documents:
                    break
            except tx.ObjectNotFound:
                pass
            except Exception as exc:  # noqa: BLE001 - a node that is down is not waited for
                if connection.transient(exc):
                    break
                raise
            time.sleep(0.1)
        if count is not None:
            seen.append(count)
    return min(seen, default=documents)


def _to_ts(job: tuple) -> dict:
    return record_to_ts(*job)


def _analysed(jobs, batch: int, procs: int):
    """Batches of Typesense documents for the `incremental.Write` *jobs*, analysed in
    *procs* processes (our analysis runs here, not in the engine: one process did
    0.5-0.7 MB/s). Jobs are taken a round of batches at a time, so that memory stays
    bounded whatever the input."""
    import multiprocessing

    pool = multiprocessing.get_context("fork").Pool(procs) if procs > 1 else None
    try:
        round_: list[tuple] = []
        for job in jobs:
            round_.append((job.record, job.content_hash, job.text_hash))
            if len(round_) >= batch * max(1, procs):
                yield from _batches(round_, batch, pool)
                round_ = []
        if round_:
            yield from _batches(round_, batch, pool)
    finally:
        if pool is not None:
            pool.terminate()


def _batches(round_: list[tuple], batch: int, pool):
    docs = pool.map(_to_ts, round_, chunksize=8) if pool else [_to_ts(j) for j in round_]
    for i in range(0, len(docs), batch):
        yield docs[i:i + batch]


def index_items_typesense(url: str, items: Iterable, *, rebuild: bool = False,
                          prune_roots: Iterable[str] | None = None,
                          progress: Callable[[IndexSummary], None] | None = None,
                          batch: int = BATCH, procs: int = 1) -> IndexSummary:
    """Index what a reader pipeline yields into the collection of backend *url*,
    analysing in *procs* processes; the summary has the embedded writer's fields plus
    ``retries`` (writes repeated through elections or a node's death)."""
    target = connection.parse_url(url)
    ts = connection.client(target, timeout=30.0)
    log = connection.RetryLog()
    summary = IndexSummary()
    start = time.perf_counter()
    alias = target.collection
    current = _alias_target(ts, alias, log)
    fresh = rebuild or current is None
    if fresh:
        collection = f"{alias}_{time.strftime('%Y%m%d%H%M%S')}_{int(time.time() * 1000) % 1000:03d}"
        connection.retrying(lambda: ts.collections.create(collection_schema(collection)),
                            "creating a collection", log)
        by_id, by_text, by_source = {}, {}, {}
    else:
        collection = current
        _check_version(ts, alias, collection, log)
        by_id, by_text, by_source = _existing(ts, collection, log)
    try:
        last = 0.0
        for docs in _analysed(plan(items, summary, by_id, by_text), batch, procs):
            _import(ts, collection, docs, log)
            now = time.perf_counter()
            if progress and now - last > 0.5:
                last = now
                progress(summary)
        if prune_roots is not None and not fresh:
            gone = pruned(by_source, prune_roots)
            for i in range(0, len(gone), batch):
                ids = ",".join(f"`{d}`" for d in gone[i:i + batch])
                connection.retrying(lambda ids=ids: ts.collections[collection].documents.delete(
                    {"filter_by": f"id:=[{ids}]"}), "a delete", log)
            summary.removed = len(gone)
        _record_version(ts, alias, collection, log)
    except BaseException:
        if fresh:  # a collection nobody points at yet
            with contextlib.suppress(Exception):  # the original error is the one to report
                ts.collections[collection].delete()
        raise
    if fresh:
        connection.retrying(lambda: ts.aliases.upsert(alias, {"collection_name": collection}),
                            "moving the alias", log)
        if current is not None and current != collection:
            try:
                connection.retrying(lambda: ts.collections[current].delete(),
                                    "dropping the old collection", log)
                ts.collections[alias + META_SUFFIX].documents[current].delete()
            except Exception:  # noqa: BLE001 - a leftover collection is harmless
                pass
    # What the collection holds now, from what the run did: a count read from a node
    # may lag behind (a follower that has not applied the last writes yet).
    expected = len(by_id) + summary.added - summary.removed
    summary.documents = _wait_replicated(target, alias, expected)
    summary.seconds = time.perf_counter() - start
    summary.retries = log.retries
    return summary


def index_paths_typesense(url: str, paths, *, field_map: dict | None = None,
                          procs: int | None = None, prune: bool = False,
                          **kwargs) -> IndexSummary:
    """`indexer.index.writer.index_paths` into a Typesense collection: every document
    under *paths*, parsed in *procs* workers. FileNotFoundError (a missing path) and
    ValueError (a bad field map or URL) are raised before the cluster is touched."""
    connection.parse_url(url)
    return index_files(lambda items, **kw: index_items_typesense(url, items, **kw), paths,
                       field_map=field_map, procs=procs, prune=prune, **kwargs)
