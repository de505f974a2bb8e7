"""The Typesense setup of bench/speed.py: the same documents in a collection of a
Typesense cluster, queried through Gongkai's own backend (``open_backend(URL)``).

    pip install -e '.[typesense]'
    python bench/speed.py --setups ours,typesense      # a 3-node loopback cluster
    python bench/speed.py --backend 'typesense://KEY@127.0.0.1:P1,.../COLLECTION'

- The cluster: with ``--backend URL``, that cluster's collection (rebuilt: the alias
  moves to a new collection, the old one is dropped); without it, a 3-node loopback
  cluster started under the workdir (`indexer.typesense.cluster.start`) and stopped at
  the end. All nodes share this machine's cores with the bench and each other.
- Indexing: `index_items_typesense` (our analysis, in the builder process, then batches
  of 200 upserts); speed.py's ``--procs`` does not apply to it.
- Queries: speed.py's ``ours_runner``, the very function, over the URL: the same
  requests (results page with facets and snippets, phrase, browse, document page with
  its similar documents) through the same interface, so the two differ only in the
  backend. The cluster stays up between queries, so its cold start is a new client
  process opening the backend and answering one query, not a server starting.
- RAM per node (`Nodes`): VmRSS of each node's ``typesense-server`` process from
  /proc/PID/status after indexing, before and after the queries, with VmHWM (its peak
  since it started: the indexing peak), and the node's data directory on disk. The
  bench process reads them; the nodes are on this machine (loopback URLs only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NODES = 3
START_TIMEOUT = 90  # seconds for a leader and three healthy nodes (12 s when idle)
PER = 100_000  # documents the RAM figure is extrapolated to
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def index_typesense(docs, url: str, procs: int) -> float:
    """Index *docs* into the collection of *url* (rebuilt); seconds, as speed.py's
    builders return them (including the wait until every node has every document)."""
    from indexer.typesense.writer import index_items_typesense

    start = time.perf_counter()
    last = [start]

    def progress(summary) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30:  # a line every half minute on long builds, as ours prints
            last[0] = now
            done = summary.added + summary.updated + summary.unchanged
            print(f"  typesense: {done:,} of {len(docs):,} documents, "
                  f"{summary.input_bytes / 1e6 / (now - start):.2f} MB/s", file=sys.stderr,
                  flush=True)

    summary = index_items_typesense(url, iter(docs), rebuild=True, progress=progress)
    if summary.failures:
        raise RuntimeError(f"typesense refused {len(summary.failures)} documents: "
                           f"{summary.failures[:3]}")
    written = summary.added + summary.updated + summary.unchanged
    if summary.documents != written or summary.retries:
        # The writer counts the collection on whichever node answers, then waits (up to
        # its REPLICATION_WAIT) for every node to show that count: a count read from a
        # node still applying writes makes that wait run out, and the seconds include it.
        print(f"  typesense: {written:,} documents written, the collection counted "
              f"{summary.documents:,}; {summary.retries} writes retried", flush=True)
    return time.perf_counter() - start


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of *pid* in kB (empty when the process is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _processes_on(ports: set[int]) -> dict[int, tuple[int, str]]:
    """api port → (pid, data dir) of the typesense-server processes serving *ports*,
    found by their command lines (a cluster given by URL only: it was started elsewhere).
    Only --api-port and --data-dir are read from them."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = proc.joinpath("cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if not args or Path(args[0]).name != "typesense-server":
            continue
        opts = dict(zip(args[1::2], args[2::2], strict=False))
        port = opts.get("--api-port", "")
        if port.isdigit() and int(port) in ports:
            found[int(port)] = (int(proc.name), opts.get("--data-dir", ""))
    return found


def dir_size(path: Path) -> int:
    """Bytes under *path*. A running node renames and deletes raft log segments and
    snapshot dirs: os.walk skips a directory that went, a file that went counts 0."""
    total = 0
    for top, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(top, name))
    return total


class Nodes:
    """The cluster of the bench's typesense setup and its nodes' memory over the run."""

    def __init__(self, url: str, cluster=None):
        from indexer.typesense.connection import parse_url

        self.url, self.cluster = url, cluster
        self.target = parse_url(url)
        self.snapshots: list[tuple[str, list[dict]]] = []

    @classmethod
    def open(cls, backend: str | None, work: Path) -> Nodes:
        """The cluster at *backend*, or a new 3-node loopback cluster in WORK/typesense
        (any earlier one there removed first: its data would count in the disk figure)."""
        if backend:
            return cls(backend)
        from indexer.typesense import cluster

        ok, reason = cluster.can_run()
        if not ok:
            sys.exit(f"speed: the typesense setup cannot run here: {reason}")
        where = work / "typesense"
        if (where / cluster.STATE_FILE).exists():
            cluster.Cluster.load(where).stop()  # a run that was killed left it running
        shutil.rmtree(where, ignore_errors=True)
        started = cluster.start(where, nodes=NODES, timeout=START_TIMEOUT,
                                progress=lambda line: print(line, flush=True))
        nodes = cls(started.url, started)
        nodes.snapshot("empty, just started")
        return nodes

    def close(self) -> None:
        """Stop the cluster this run started (one given by URL is left as it was)."""
        if self.cluster is not None:
            self.cluster.stop()

    def nodes(self) -> list[dict]:
        """name, pid, data_dir and documents (None when unknown) of each node."""
        if self.cluster is not None:
            dirs = {n["name"]: n["data_dir"] for n in self.cluster._state["nodes"]}
            return [{"name": s["name"], "pid": s["pid"], "data_dir": dirs[s["name"]],
                     "documents": s["documents"]} for s in self.cluster.status()]
        ports = {p for h, p in self.target.nodes if h in LOOPBACK}
        found = _processes_on(ports)
        return [{"name": f"{h}:{p}", "pid": found.get(p, (None, ""))[0],
                 "data_dir": found.get(p, (None, ""))[1], "documents": None}
                for h, p in self.target.nodes]

    def snapshot(self, label: str) -> None:
        """Record each node's VmRSS and VmHWM (MB) and data dir size now."""
        rows = []
        for n in self.nodes():
            kb = status_kb(n["pid"]) if n["pid"] else {}
            data = Path(n["data_dir"]) if n["data_dir"] else None
            rows.append({**n, "rss_mb": kb.get("VmRSS", 0) / 1024,
                         "hwm_mb": kb.get("VmHWM", 0) / 1024,
                         "disk_mb": dir_size(data) / 1e6 if data and data.is_dir() else None})
        self.snapshots.append((label, rows))

    def indexed(self, seconds: float, n_docs: int, mb: float, builder_mb: float) -> None:
        """Take the after-indexing snapshot and print speed.py's "indexed" line."""
        self.snapshot("after indexing")
        disk = sum(r["disk_mb"] or 0 for r in self.snapshots[-1][1])
        print(f"indexed typesense: {seconds:.1f} s, {mb / seconds:.2f} MB/s, "
              f"{n_docs / seconds:.0f} docs/s (our analysis in one process, then the "
              f"cluster), node data dirs {disk:,.0f} MB in all ({disk / mb:.2f} bytes per "
              f"byte of text, {len(self.snapshots[-1][1])} replicas), builder process "
              f"{builder_mb:.0f} MB", flush=True)

    def report(self, n_docs: int) -> None:
        """Print the nodes' memory and disk over the run, and RAM per node extrapolated
        to PER documents."""
        if not self.snapshots:
            return
        print(f"\ntypesense nodes ({len(self.snapshots[-1][1])}, "
              f"{self.target.display}): RSS (VmRSS) / peak (VmHWM) MB, data dir MB, "
              "documents in all its collections")
        for label, rows in self.snapshots:
            cells = "   ".join(
                f"{r['name']} {r['rss_mb']:,.0f} / {r['hwm_mb']:,.0f}"
                + (f", {r['disk_mb']:,.0f} on disk" if r["disk_mb"] is not None else "")
                + (f", {r['documents']:,} docs" if r["documents"] is not None else "")
                for r in rows)
            print(f"  {label + ':':<24}{cells}")
        if any(not r["pid"] for _, rows in self.snapshots for r in rows):
            print("  (a node without figures: no typesense-server process found for it on "
                  "this machine)")
        per_node = _extrapolate(self.snapshots, n_docs)
        if per_node and n_docs == PER:
            print(f"RAM per node per {PER:,} documents (measured): " + per_node)
        elif per_node:
            print(f"RAM per node per {PER:,} documents (an extrapolation, linear in the "
                  f"documents, from {n_docs:,}; not measured): " + per_node)


def _extrapolate(snapshots, n_docs: int) -> str:
    """The largest node's RSS after the queries and its peak, scaled to PER documents;
    also from the growth over an empty node when the run started the cluster."""
    by_label = dict(snapshots)
    rows = by_label.get("after queries") or snapshots[-1][1]
    rss = max((r["rss_mb"] for r in rows), default=0)
    hwm = max((r["hwm_mb"] for r in rows), default=0)
    if not rss or not n_docs:
        return ""
    scale = PER / n_docs
    text = (f"serving {rss * scale:,.0f} MB, peak {hwm * scale:,.0f} MB (x {len(rows)} "
            f"nodes: {rss * scale * len(rows) / 1024:,.1f} GB serving, "
            f"{hwm * scale * len(rows) / 1024:,.1f} GB peak)")
    empty = by_label.get("empty, just started")
    if empty:
        base = max(r["rss_mb"] for r in empty)
        text += (f"; from the growth over an empty node ({base:,.0f} MB): serving "
                 f"{base + (rss - base) * scale:,.0f} MB, peak {base + (hwm - base) * scale:,.0f}"
                 " MB per node")
    return text
