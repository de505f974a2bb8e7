"""Files and folders → `Record`s: find the documents, pick a reader for each, and never
let one bad file stop a run.

`records_from_file` is the unit of work: it takes a path (and a field map) and returns a
plain list, so the indexer can hand files to worker processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.fields import doc_type_from_title, find_doc_no
from indexer.readers import Skipped
from indexer.record import Record

HTML_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml")
RECORDS_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv")
SIDECAR_SUFFIX = ".metadata.json"
MANIFEST_NAME = "manifest.json"
# Notes that travel with a corpus (provenance, licences) are not disclosures.
_NOTES = re.compile(r"^(readme|sources|provenance|license|licence|changelog|notice)(\.\w+)?$",
                    re.I)
# Labels of a disclosure page's metadata block; two of them mark a text rendering.
_PAGE_LABELS = re.compile(r"(索引号|主题分类|发布机构|发文机关|生成日期|成文日期|发布日期|文件编号|"
                          r"发文字号|有效性|公开范围|公开方式|标题|发布时间|文号|原文链接)\s*[:：]")


@dataclass(frozen=True)
class ParseFailure:
    """A reader raised on this file: reported, counted, and the run goes on."""

    source: str
    error: str

    def __str__(self) -> str:
        return f"{self.source}: failed: {self.error}"


Result = Record | Skipped | ParseFailure


def is_support_file(path: Path) -> bool:
    """Sidecars and manifests describe documents; they are never documents themselves."""
    name = path.name.lower()
    return name.endswith(SIDECAR_SUFFIX) or name == MANIFEST_NAME


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Document files under *paths*, folders walked recursively in sorted order.

    Every path is checked before anything is yielded: FileNotFoundError names the first
    missing one. Hidden files and folders, sidecars and manifests are left out."""
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise FileNotFoundError(f"no such file or directory: {root}")
    for root in roots:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).parts):
            rel = path.relative_to(root).parts
            if any(part.startswith(".") for part in rel):
                continue
            if path.is_file() and not is_support_file(path):
                yield path


def sidecar_url(path: Path) -> str:
    """final_url (else requested_url) from ``<page>.metadata.json``, or ""."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(meta, dict):
        return ""
    return str(meta.get("final_url") or meta.get("requested_url") or "")


# Readers written elsewhere are imported when first used, so that `gongkai --help` and
# the formats that do not need them stay light.
def _parse_html(data: bytes, source: str, url: str):
    from indexer.readers.html_page import parse_html

    return parse_html(data, source, url=url)


def _parse_text_page(text: str, source: str):
    from indexer.readers.text_page import parse_text_page

    return parse_text_page(text, source)


def is_text_rendering(text: str) -> bool:
    """A browser's text rendering of a disclosure page carries its metadata labels."""
    head = "\n".join(text.splitlines()[:80])
    return len(set(_PAGE_LABELS.findall(head))) >= 2


def plain_text_record(text: str, source: str) -> Record | Skipped:
    """A bare body text: the first line is the title when it looks like one, otherwise a
    title is cut from the first non-salutation line and the whole text is the body."""
    from indexer.readers.structured import _tidy, doc_no_in_head, title_from_body

    body = _tidy(text)
    if not body:
        return Skipped(source, "no-text")
    first, _, rest = body.partition("\n")
    looks_like_title = (6 <= len(first) <= 60 and rest and not first.endswith(("：", ":", "。"))
                        and "，" not in first and not re.fullmatch(r"第\d+号", first))
    if looks_like_title:
        title, body = first, rest
    else:
        title = title_from_body(body)
    return Record(title=title, body=body, source=source,
                  doc_no=doc_no_in_head(body, title) or find_doc_no(title),
                  doc_type=doc_type_from_title(title))


def _as_list(result) -> list[Result]:
    if result is None:
        return []
    if isinstance(result, Record | Skipped | ParseFailure):
        return [result]
    return list(result)


def _read(path: Path, source: str, field_map: dict[str, str] | None) -> Iterator[Result]:
    suffix = path.suffix.lower()
    if is_support_file(path):
        yield Skipped(source, "sidecar", "describes another file")
    elif _NOTES.match(path.name):
        yield Skipped(source, "corpus-notes")
    elif suffix in HTML_SUFFIXES:
        yield from _as_list(_parse_html(path.read_bytes(), source, sidecar_url(path)))
    elif suffix in RECORDS_SUFFIXES:
        from indexer.readers.structured import read_records_file

        yield from read_records_file(path, field_map)
    elif suffix == ".pdf":
        from indexer.readers.pdf_file import parse_pdf

        yield parse_pdf(path, source)
    elif suffix in (".md", ".markdown"):
        from indexer.readers.structured import read_markdown

        yield from read_markdown(path.read_bytes(), source)
    elif suffix == ".txt":
        from indexer.readers.structured import decode_bytes

        text = decode_bytes(path.read_bytes())
        if is_text_rendering(text):
            yield from _as_list(_parse_text_page(text, source))
        else:
            yield plain_text_record(text, source)
    else:
        head = path.read_bytes()[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):  # a page saved without .html
            yield from _as_list(_parse_html(path.read_bytes(), source, sidecar_url(path)))
        elif head.startswith(b"%pdf-"):
            from indexer.readers.pdf_file import parse_pdf

            yield parse_pdf(path, source)
        else:
            yield Skipped(source, "unsupported-format", suffix or "no extension")


def records_from_file(path: str | Path, field_map: dict[str, str] | None = None
                      ) -> list[Result]:
    """Everything one file yields; an exception becomes a trailing `ParseFailure` and the
    results read before it are kept."""
    p = Path(path)
    source = str(p)
    out: list[Result] = []
    try:
        for result in _read(p, source, field_map):
            out.append(_with_report(result, p))
    except Exception as exc:  # noqa: BLE001 - any reader bug must not end the run
        out.append(ParseFailure(source, f"{type(exc).__name__}: {exc}"))
    return out


def _with_report(result: Result, path: Path) -> Result:
    """An annual report gets its tables as data (`indexer.annual`), read from the file
    itself when that keeps the cells apart (HTML, PDF)."""
    if not isinstance(result, Record):
        return result
    from indexer.annual import attach

    return attach(result, path if result.source == str(path) else None)


def iter_records(paths: Iterable[str | Path], field_map: dict[str, str] | None = None,
                 jobs: int = 1) -> Iterator[Result]:
    """Records, skips and failures from every document under *paths*, in file order
    (also with ``jobs`` > 1, when files are read in that many worker processes).

    ValueError for a bad field map and FileNotFoundError for a missing path are raised
    by this call itself, before any file is read."""
    from indexer.readers.structured import check_field_map

    check_field_map(field_map)
    files = list(iter_files(paths))
    if jobs > 1 and len(files) > 1:
        return _parallel(files, field_map, jobs)
    return (result for path in files for result in records_from_file(path, field_map))


def _parallel(files: list[Path], field_map, jobs: int) -> Iterator[Result]:
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # map() keeps file order, so the output is the same as a serial run.
        for results in pool.map(records_from_file, files, repeat(field_map), chunksize=1):
            yield from results
