"""Where an index lives on disk, and how a new one replaces the old one atomically.

An index path (``index_data/index`` by default) is a symbolic link to one *generation*
directory beside it (``index_data/index.gens/<n>``). ``gongkai index --rebuild`` writes
a whole new generation and then swaps the link with one ``rename``, so a reader opens
either the old index or the new one, never a half-built one. Readers open the resolved
generation directory (``open_index``), so a swap never mixes files of two generations
under an open searcher. Incremental runs write into the current generation, where
Whoosh's own commit (segments first, then the table of contents renamed into place)
gives readers the same old-or-new view.

The meta file ``gongkai.json`` in each generation records the index format, the analysis
version and the user-dictionary hash the index was built with, so that a mismatched
index is refused (with a hint to rebuild) rather than misread or silently searched with
different tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index

from indexer.chinese.analysis import ANALYSIS_VERSION
from indexer.chinese.segment import USERDICT
from indexer.index import faults
from indexer.index.postings_tables import FORMAT_VERSION
from indexer.index.schema import build_schema

META_FILE = "gongkai.json"
# The on-disk format of the index: an index written in one this version cannot read is
# refused with a hint to rebuild, rather than read wrongly. Format 3 keeps stored
# documents in a dictionary-compressed column (`indexer.index.stored_docs`) and long
# runs of document gaps in blocks (postings tables format 3); format 2 packed the
# postings tables (`indexer.index.packed_table`); format 1 kept them as plain arrays.
# Format 2 is still read; an update to a format-2 index marks it format 3, since its
# new segments are.
INDEX_FORMAT = FORMAT_VERSION
READABLE_FORMATS = (2, 3)
# Opening an index while a writer commits can find the files it listed already replaced
# by the next commit's; each retry sees a newer commit, so a few always suffice.
OPEN_ATTEMPTS = 8
INDEX_NAME = "MAIN"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


class IndexMissing(FileNotFoundError):
    pass


class IndexIncompatible(RuntimeError):
    pass


def default_index_dir() -> Path:
    """``$GONGKAI_INDEX``, else ``index_data/index`` in the current directory."""
    return Path(os.environ.get("GONGKAI_INDEX") or "index_data/index")


def sample_corpus_dir() -> Path:
    """The bundled sample corpus: beside the package in a checkout, else in the cwd."""
    for base in (REPO_ROOT, Path.cwd()):
        candidate = base / "index_data" / "sample"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT / "index_data" / "sample"


def analysis_fingerprint() -> dict:
    return {
        "analysis_version": ANALYSIS_VERSION,
        "userdict_sha1": hashlib.sha1(USERDICT.read_bytes()).hexdigest(),
    }


def _gens_dir(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".gens")


def resolve(index_dir: str | os.PathLike) -> Path:
    """The generation directory an index path points at (the path itself when it is a
    plain directory, as an index made by hand or by an older version is)."""
    return Path(os.path.realpath(index_dir))


def retrying(fn):
    """*fn()*, again when it finds an index file gone: a commit renamed a newer table of
    contents into place (and removed the older one and the segments it merged away)
    between Whoosh listing the files and reading them. Each attempt sees a newer commit.
    Only a plain FileNotFoundError is retried: a missing index (IndexMissing) is final."""
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return fn()
        except FileNotFoundError as exc:
            if type(exc) is not FileNotFoundError or attempt == OPEN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def exists(index_dir: str | os.PathLike) -> bool:
    real = resolve(index_dir)
    if not real.is_dir():
        return False
    if (real / META_FILE).exists():
        # Checked before Whoosh reads the TOC: an index of another format pickled classes
        # this version may not have.
        check_compatible(real)
    with foreign_pickles(real):
        return retrying(lambda: whoosh_index.exists_in(str(real), indexname=INDEX_NAME))


@contextmanager
def foreign_pickles(real_dir: Path):
    """Whoosh unpickles the schema and codec an index was written with: a class this
    version does not have means another version wrote it."""
    try:
        yield
    except (ModuleNotFoundError, AttributeError) as exc:
        raise IndexIncompatible(
            f"the index at {real_dir} was written by another version of Gongkai ({exc}); "
            "rebuild it with: gongkai index --rebuild PATH...") from None


def read_meta(real_dir: Path) -> dict:
    try:
        return json.loads((real_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def check_compatible(real_dir: Path) -> None:
    meta = read_meta(real_dir)
    # An index without the number was written before there was one: format 1.
    fmt = meta.get("index_format", 1)
    if fmt not in READABLE_FORMATS:
        raise IndexIncompatible(
            f"the index at {real_dir} is in index format {fmt}, this version reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}; rebuild it with: "
            "gongkai index --rebuild PATH...")
    want = analysis_fingerprint()
    got = {k: meta.get(k) for k in want}
    if got != want:
        raise IndexIncompatible(
            f"the index at {real_dir} was built with different analysis settings "
            f"({got} != {want}); rebuild it with: gongkai index --rebuild PATH...")


def open_index(index_dir: str | os.PathLike):
    """Open the generation an index path points at now, for reading or updating."""
    real = resolve(index_dir)
    if not exists(index_dir):
        raise IndexMissing(f"no index at {index_dir} (build one with: gongkai index PATH...)")
    check_compatible(real)
    return retrying(lambda: whoosh_index.open_dir(str(real), indexname=INDEX_NAME))


def mark_current_format(real_dir: Path) -> None:
    """Record this version's format in an index it is about to write segments into (an
    older version must then refuse it). The meta file is replaced in one rename."""
    meta = read_meta(real_dir)
    if not meta or meta.get("index_format") == INDEX_FORMAT:
        return
    meta["index_format"] = INDEX_FORMAT
    tmp = real_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp, real_dir / META_FILE)


def new_generation(index_dir: str | os.PathLike) -> Path:
    """Create an empty index in a fresh generation directory (not yet published)."""
    index_dir = Path(index_dir)
    gens = _gens_dir(index_dir)
    gens.mkdir(parents=True, exist_ok=True)
    # Names sort by creation time; mkdtemp makes two builds in one second distinct.
    gen = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=gens))
    gen.chmod(0o755)
    whoosh_index.create_in(str(gen), build_schema(), indexname=INDEX_NAME)
    meta = analysis_fingerprint() | {"index_format": INDEX_FORMAT,
                                     "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (gen / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return gen


def publish(index_dir: str | os.PathLike, gen: Path) -> None:
    """Point *index_dir* at *gen* atomically and remove generations no reader can be
    opening any more (all but the new one and the one it replaces)."""
    index_dir = Path(index_dir)
    previous = resolve(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain directory (made by hand or by an older version): move it aside first.
        # This one conversion is not atomic; every later swap is.
        aside = _gens_dir(index_dir) / ("plain-" + time.strftime("%Y%m%d-%H%M%S"))
        os.rename(index_dir, aside)
        previous = aside
    tmp_link = index_dir.with_name(f".{index_dir.name}.{os.getpid()}.tmp")
    target = os.path.relpath(gen, index_dir.parent)
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(target, tmp_link)
    faults.crash_point("rebuild:before-swap")
    os.replace(tmp_link, index_dir)
    faults.crash_point("rebuild:after-swap")
    keep = {gen.resolve(), previous.resolve() if previous else None}
    for old in _gens_dir(index_dir).iterdir():
        if old.resolve() not in keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def discard(gen: Path) -> None:
    shutil.rmtree(gen, ignore_errors=True)
