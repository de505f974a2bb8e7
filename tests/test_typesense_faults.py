"""Nodes that die under Gongkai, on the session's real 3-node Typesense cluster
(conftest.py): the leader SIGKILLed in the middle of an indexing run (the run completes,
with the same documents as a clean run, none twice), the leader SIGKILLed while
searches are being answered (every search answers, with the right total), and a node
restarted after missing writes (it catches up and answers them).

Each test leaves the cluster with three healthy nodes. Waits are bounded by TIMEOUT,
which only catches a hang; nothing assumes a machine's speed (the kill happens after a
given number of documents, not after a given time)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from search_app.search import SearchRequest, open_backend

pytest_plugins = ["tests.web_fixtures"]

TIMEOUT = 120


def url_for(cluster, collection: str) -> str:
    return cluster.url.rsplit("/", 1)[0] + "/" + collection


def exported_ids(url: str) -> list[str]:
    from indexer.typesense import connection

    client = connection.client(connection.parse_url(url))
    raw = connection.retrying(lambda: client.collections[url.rsplit("/", 1)[1]]
                              .documents.export({"include_fields": "id"}), "an export")
    return [json.loads(line)["id"] for line in raw.splitlines() if line.strip()]


@pytest.fixture()
def cluster(typesense_cluster):
    typesense_cluster.wait_until_healthy(TIMEOUT)
    yield typesense_cluster
    for i in range(len(typesense_cluster.status())):  # three healthy nodes again
        if not typesense_cluster.status()[i]["alive"]:
            typesense_cluster.restart(i)
    typesense_cluster.wait_until_healthy(TIMEOUT)


def test_leader_killed_during_an_indexing_run_loses_and_doubles_nothing(cluster,
                                                                        sample_records):
    from indexer.typesense.writer import index_items_typesense

    clean = index_items_typesense(url_for(cluster, "faults_clean"), sample_records,
                                  rebuild=True)
    killed = {}

    def records_then_kill():
        for n, r in enumerate(sample_records):
            if n == 100:  # two batches written; the next ones meet the election
                killed["leader"] = cluster.leader()
                killed["at"] = time.monotonic()
                cluster.kill(killed["leader"])
            yield r

    url = url_for(cluster, "faults_killed")
    summary = index_items_typesense(url, records_then_kill(), rebuild=True, batch=50)
    took = time.monotonic() - killed["at"]
    ids = exported_ids(url)
    assert len(ids) == len(set(ids)) == clean.documents == summary.documents
    assert set(ids) == set(exported_ids(url_for(cluster, "faults_clean")))
    assert (summary.added, summary.failures) == (clean.added, [])
    print(f"\nleader node-{killed['leader'] + 1} killed after 100 documents: run ended "
          f"{took:.1f} s later, {summary.retries} writes repeated, {len(ids)} documents")


def test_leader_killed_while_serving_every_search_still_answers(cluster, sample_records):
    from indexer.typesense.writer import index_items_typesense

    url = url_for(cluster, "faults_serving")
    index_items_typesense(url, sample_records, rebuild=True)
    backend = open_backend(url)
    want = {q: backend.search(SearchRequest(q=q)).total for q in ("住房", '"信息公开"', "通知")}
    answers, errors = [], []
    stop = threading.Event()

    def searching():
        while not stop.is_set():
            for q, total in want.items():
                try:
                    answers.append(backend.search(SearchRequest(q=q)).total == total)
                except Exception as exc:  # noqa: BLE001 - the test reports any failure
                    errors.append(repr(exc))

    def wait_for(n):
        deadline = time.monotonic() + TIMEOUT
        while len(answers) + len(errors) < n and time.monotonic() < deadline:
            time.sleep(0.05)

    worker = threading.Thread(target=searching)
    worker.start()
    try:
        wait_for(30)  # searches are being answered before the kill
        leader = cluster.leader()
        before = len(answers)
        cluster.kill(leader)
        cluster.wait_for_leader(TIMEOUT)  # searches go on through the whole election
        wait_for(before + len(errors) + 30)
    finally:
        stop.set()
        worker.join(TIMEOUT)
    assert errors == [] and all(answers) and len(answers) >= before + 30


def test_a_restarted_node_catches_up_with_writes_it_missed(cluster, sample_records):
    from indexer.typesense import connection
    from indexer.typesense.writer import index_items_typesense

    url = url_for(cluster, "faults_restart")
    index_items_typesense(url, sample_records[:50], rebuild=True)
    leader = cluster.leader()
    follower = next(i for i in range(3) if i != leader)
    cluster.kill(follower)
    summary = index_items_typesense(url, sample_records[50:120])  # while it is down
    cluster.restart(follower)
    target = connection.parse_url(url)
    alone = f"typesense://{target.api_key}@127.0.0.1:{target.nodes[follower][1]}/faults_restart"
    deadline = time.monotonic() + TIMEOUT
    while True:  # its /health says ok before it has caught up: wait on its own answer
        try:
            found = open_backend(alone).stats()["documents"]
        except Exception:  # noqa: BLE001 - still starting
            found = None
        if found == summary.documents or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found == summary.documents
    written = [r.id for r in sample_records[50:120] if open_backend(url).document(r.id)]
    assert written and all(open_backend(alone).document(i) for i in written)
