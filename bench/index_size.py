"""Where an index's bytes go: each postings-tables array (by field and kind) and each
file inside Whoosh's segment files (stored fields, columns, term files), summed over
segments, as MB and as bytes per byte of indexed text when the text size is given.

    python bench/index_size.py INDEX_DIR [--text-mb 75.8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tables_breakdown(path: Path, out: Counter) -> None:
    """Bytes of each array of a postings-tables file (padding counted with its array)."""
    from indexer.index import postings_tables

    raw = path.read_bytes()
    start = len(postings_tables.MAGIC) + 8
    hlen = int.from_bytes(raw[len(postings_tables.MAGIC):start], "little")
    header = json.loads(raw[start:start + hlen])
    out["tables: header"] += -(-(start + hlen) // postings_tables.ALIGN) * postings_tables.ALIGN
    for field, entry in header["fields"].items():
        for key, (dtype, _off, count) in entry["arrays"].items():
            nbytes = count * np.dtype(dtype).itemsize
            out[f"tables: {field}.{key.split('.')[0]}"] += -(-nbytes // postings_tables.ALIGN) * postings_tables.ALIGN


def whoosh_breakdown(path: Path, out: Counter) -> None:
    """Bytes of each file inside a Whoosh compound segment file: one per column
    (``_docs`` the stored documents, ``_stored`` before index format 3, ``_<field>_len``
    a field's lengths), the term
    index (``.trm``) and the postings of the fields Whoosh keeps (``.pst``)."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.structfile import StructFile

    with open(path, "rb") as f:
        cs = CompoundStorage(StructFile(f), use_mmap=False)
        for name, info in cs._dir.items():
            part = name.split(".", 1)[1] if "." in name else name
            out[f"whoosh: {part}"] += info["length"]


def breakdown(index_dir: Path) -> Counter:
    out: Counter = Counter()
    real = Path(os.path.realpath(index_dir))
    for f in sorted(real.iterdir()):
        if f.suffix == ".gkp":
            tables_breakdown(f, out)
        elif f.suffix == ".seg":
            whoosh_breakdown(f, out)
        else:
            out[f"other: {f.suffix or f.name}"] += f.stat().st_size
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("index")
    ap.add_argument("--text-mb", type=float, help="MB of indexed text (title + body, UTF-8)")
    args = ap.parse_args()
    real = Path(os.path.realpath(args.index))
    if not real.is_dir() or not any(f.suffix == ".seg" for f in real.iterdir()):
        ap.exit(2, f"index_size.py: no index at {args.index}\n")
    out = breakdown(real)
    total = sum(out.values())
    print(f"{'part':<40}{'MB':>10}{'share':>8}" + (f"{'×text':>8}" if args.text_mb else ""))
    for name, size in sorted(out.items(), key=lambda kv: -kv[1]):
        line = f"{name:<40}{size / 1e6:>10.2f}{size / total:>8.1%}"
        if args.text_mb:
            line += f"{size / 1e6 / args.text_mb:>8.3f}"
        print(line)
    line = f"{'total':<40}{total / 1e6:>10.2f}{1:>8.0%}"
    if args.text_mb:
        line += f"{total / 1e6 / args.text_mb:>8.3f}"
    print(line)


if __name__ == "__main__":
    main()
