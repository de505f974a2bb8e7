"""Fixtures every test module can use."""

import pytest


@pytest.fixture(scope="session")
def typesense_cluster(tmp_path_factory):
    """One 3-node Typesense cluster on 127.0.0.1 for the whole session (starting one takes
    some 12 s), skipped where the server binary cannot run. A test that kills or restarts
    nodes leaves it with three healthy nodes again."""
    from indexer.typesense import cluster

    ok, reason = cluster.can_run()
    if not ok:
        pytest.skip(reason)
    started = cluster.start(tmp_path_factory.mktemp("typesense-cluster"), nodes=3, timeout=90)
    try:
        yield started
    finally:
        started.stop()
