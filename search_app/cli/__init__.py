"""The ``gongkai`` command line. Each sub-command lives in its own module and exposes
``register(subparsers)``; heavy imports happen inside the command, not here, so that
``gongkai --help`` is instant."""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, ...) in the order --help lists them.
_COMMANDS = ("parse_cmd", "index_cmd", "search_cmd", "stats_cmd", "reports_cmd", "serve_cmd",
             "cluster_cmd")


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gongkai", description="Search Chinese government information disclosures.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gongkai: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
