"""``gongkai cluster start|status|stop --dir DIR``: a Typesense cluster on 127.0.0.1 for
development, tests and demos (`indexer.typesense.cluster`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from search_app.cli import CliError

_ABOUT = ("Run a Typesense Raft cluster on this machine for development, tests and demos: "
          "every node listens on 127.0.0.1 only and keeps its data, log and pid under DIR. "
          "Not for production.")


def register(subparsers) -> None:
    p = subparsers.add_parser("cluster", help="run a loopback Typesense cluster (development, "
                              "tests, demos)", description=_ABOUT)
    p.set_defaults(func=lambda args: _usage(p))
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    s = actions.add_parser("start", help="start the nodes and print the backend URL",
                           description=_ABOUT + " Prints the typesense:// backend URL as the "
                           "only line on stdout once a leader is elected and every node is "
                           "healthy. A DIR whose cluster was stopped starts it again, data "
                           "included.")
    s.add_argument("--nodes", type=int, default=3, metavar="N", help="nodes (default 3)")
    _dir_option(s)
    s.add_argument("--base-port", type=int, metavar="P",
                   help="node i listens on P+2(i-1) (API) and P+2(i-1)+1 (peering); "
                   "default: free ports")
    s.add_argument("--timeout", type=float, default=60, metavar="S",
                   help="seconds to wait for a leader and healthy nodes (default 60)")
    s.set_defaults(func=run_start)

    st = actions.add_parser("status", help="show each node's role, pid and documents",
                            description=_ABOUT)
    _dir_option(st)
    st.add_argument("--json", action="store_true", help="print a JSON list of the nodes")
    st.set_defaults(func=run_status)

    sp = actions.add_parser("stop", help="stop every node (data is kept)", description=_ABOUT)
    _dir_option(sp)
    sp.set_defaults(func=run_stop)


def _dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, metavar="DIR",
                   help="the cluster's directory (node data, logs, cluster.json)")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def run_start(args: argparse.Namespace) -> int:
    from indexer.typesense import cluster

    started = time.monotonic()
    try:
        c = cluster.start(args.dir, nodes=args.nodes, base_port=args.base_port,
                          timeout=args.timeout,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    leader = c.leader()
    name = c.status()[leader]["name"] if leader is not None else "?"
    print(f"cluster up in {time.monotonic() - started:.1f} s, leader {name}; stop it with: "
          f"gongkai cluster stop --dir {args.dir}", file=sys.stderr, flush=True)
    sys.stdout.write(c.url + "\n")
    return 0


def run_status(args: argparse.Namespace) -> int:
    nodes = _load(args.dir).status()
    if args.json:
        sys.stdout.write(json.dumps(nodes) + "\n")
        return 0
    rows = [("NODE", "ROLE", "PID", "API", "DOCUMENTS")]
    rows += [(n["name"], n["role"], str(n["pid"] or "-"), n["api_url"],
              "-" if n["documents"] is None else str(n["documents"])) for n in nodes]
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        sys.stdout.write(line.rstrip() + "\n")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    stopped = _load(args.dir).stop()
    print(f"stopped {stopped} node(s); data kept in {args.dir}" if stopped
          else f"no node was running in {args.dir}", file=sys.stderr)
    return 0


def _load(directory: str):
    from indexer.typesense import cluster

    try:
        return cluster.Cluster.load(directory)
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
