"""The typesense setup of bench/speed.py (bench/typesense_setup.py) answers the totals
ours answers on the 208 real fixture records, for the bench's own queries (results
pages, phrases, browsing), also through the bench's query child, and opens the same
document pages with as many similar documents; its node
figures come from the cluster's own processes. On the session's cluster (conftest.py),
in a collection of its own, which it drops afterwards; skipped where Typesense cannot
run (x86-64 Linux with pip install '.[typesense]'). Nothing here is timed."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("typesense", reason="the typesense client is an optional extra: "
                                        "pip install '.[typesense]'")

from test_search import RECORDS  # noqa: E402

SPEED_PY = Path(__file__).resolve().parent.parent / "bench" / "speed.py"
QUERIES = 60  # of each kind; browsing takes at most 50 (speed.make_queries)


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("bench_speed", SPEED_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def caches_kept():
    """ours_runner turns the embedded backend's page caches off for the process; the
    rest of the session keeps them."""
    from search_app.search import whoosh_backend

    saved = whoosh_backend.PAGE_CACHE, whoosh_backend.SIMILAR_CACHE
    yield
    whoosh_backend.PAGE_CACHE, whoosh_backend.SIMILAR_CACHE = saved


@pytest.fixture(scope="module")
def built(speed, typesense_cluster, tmp_path_factory, caches_kept):
    """(our index directory, the typesense URL), both written by the bench's builders."""
    url = typesense_cluster.url.rsplit("/", 1)[0] + "/bench_test"
    ours = tmp_path_factory.mktemp("bench-ours") / "ours"
    speed.SETUPS["ours"][0](RECORDS, ours, 1)
    speed.SETUPS["typesense"][0](RECORDS, url, 1)
    yield ours, url
    _drop(url)


def _drop(url: str) -> None:
    """Remove the collection, its alias and its meta collection: the session's cluster
    is left as the other tests expect it (never stopped here)."""
    from indexer.typesense import connection
    from indexer.typesense.writer import META_SUFFIX

    target = connection.parse_url(url)
    ts = connection.client(target)
    with contextlib.suppress(Exception):  # nothing to drop is fine
        name = ts.aliases[target.collection].retrieve()["collection_name"]
        ts.aliases[target.collection].delete()
        ts.collections[name].delete()
    with contextlib.suppress(Exception):
        ts.collections[target.collection + META_SUFFIX].delete()


@pytest.fixture(scope="module")
def queries(speed):
    return speed.make_queries(RECORDS, QUERIES)


def child_output(speed, setup, location, qfile, capsys, monkeypatch) -> dict:
    """What `speed.py --child` prints, run in this process, as main() runs it."""
    monkeypatch.setenv("SPEED_LOCATION", str(location))
    capsys.readouterr()
    speed.child(setup, "-", str(qfile))
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_runner_answers_ours_totals_for_results_pages_phrases_and_browsing(
        speed, built, queries):
    ours_dir, url = built
    ours, theirs = speed.SETUPS["ours"][1](str(ours_dir)), speed.SETUPS["typesense"][1](url)
    for kind in ("plain", "phrase", "browse"):
        want = [ours(kind, q) for q in queries[kind]]
        assert [theirs(kind, q) for q in queries[kind]] == want, kind
        assert any(want), kind  # not a comparison of nothing


def test_its_document_pages_open_and_show_up_to_five_similar_documents(speed, built,
                                                                        queries):
    ours_dir, url = built
    ours, theirs = speed.SETUPS["ours"][1](str(ours_dir)), speed.SETUPS["typesense"][1](url)
    for q in queries["plain"]:
        ours("plain", q)
    ids = list(dict.fromkeys(ours.shown))[:QUERIES]
    assert len(ids) > 20
    assert all(1 <= theirs.document_page(i) <= speed.SIMILAR_LIMIT for i in ids)


def test_its_document_pages_show_as_many_similar_documents_as_ours(speed, built):
    ours_dir, url = built
    ours, theirs = speed.SETUPS["ours"][1](str(ours_dir)), speed.SETUPS["typesense"][1](url)
    assert ([theirs.document_page(r.id) for r in RECORDS]
            == [ours.document_page(r.id) for r in RECORDS])


def test_the_query_child_opens_ours_documents_and_reports_equal_totals(
        speed, built, queries, tmp_path, capsys, monkeypatch):
    ours_dir, url = built
    qfile = tmp_path / "queries.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    ours = child_output(speed, "ours", ours_dir, qfile, capsys, monkeypatch)
    # As main() does: the setups after ours open the documents ours showed.
    qfile.write_text(json.dumps({**queries, "documents": ours["documents"]},
                                ensure_ascii=False), encoding="utf-8")
    theirs = child_output(speed, "typesense", url, qfile, capsys, monkeypatch)
    assert theirs["documents"] == ours["documents"]
    assert set(theirs["totals"]) == {"plain", "phrase", "browse", "document"}
    line = speed.totals_line(theirs["totals"], ours["totals"])
    for kind in ("plain", "phrase", "browse"):
        assert f"{kind} yes ({len(queries[kind])} of {len(queries[kind])})" in line, line
    assert "document " in line  # its count may differ: see the xfail above


def test_node_figures_come_from_each_nodes_server_process(built, typesense_cluster):
    from bench.typesense_setup import Nodes

    url = built[1]
    pids = sorted(s["pid"] for s in typesense_cluster.status())
    # Given a URL only, the processes are found by their ports; from a started cluster,
    # by its status. Neither Nodes is closed: closing the second would stop the cluster.
    for nodes in (Nodes(url), Nodes(url, typesense_cluster)):
        nodes.snapshot("after indexing")
        (label, rows), = nodes.snapshots
        assert sorted(r["pid"] for r in rows) == pids
        assert all(r["rss_mb"] > 0 and r["hwm_mb"] >= r["rss_mb"] for r in rows)
        assert all(r["disk_mb"] > 0 for r in rows)


def test_ram_per_node_is_scaled_linearly_to_100k_documents():
    from bench.typesense_setup import _extrapolate

    def rows(rss, hwm):
        return [{"rss_mb": rss, "hwm_mb": hwm}] * 3

    snaps = [("empty, just started", rows(40, 40)), ("after indexing", rows(90, 300)),
             ("after queries", rows(100, 300))]
    text = _extrapolate(snaps, 10_000)
    assert text.startswith("serving 1,000 MB, peak 3,000 MB (x 3 nodes: 2.9 GB serving")
    assert "empty node (40 MB): serving 640 MB, peak 2,640 MB" in text
    assert _extrapolate(snaps[1:], 10_000).endswith("8.8 GB peak)")
