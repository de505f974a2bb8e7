"""Records files (JSON, JSONL, CSV) and Markdown documents → `Record`s.

Column names differ from one data set to the next (``full_text``, ``Policy_Content``,
``article``, ``正文`` ...), so the common names are recognised case-insensitively; a
``field_map`` ({record field: column}) overrides the guess when a data set uses other
names. Values are never invented: a record without an agency column keeps agency "".
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.fields import (
    agency_from_title,
    doc_no_value,
    doc_type_from_title,
    find_doc_no,
    parse_date,
)
from indexer.readers import Skipped
from indexer.record import Record

# Record fields a --map may name (id and source are ours to set).
MAPPABLE_FIELDS = ("title", "body", "url", "agency", "pub_date", "written_date", "year",
                   "index_no", "doc_no",
                   "classification", "validity", "doc_type", "scope", "publish_mode",
                   "attachments")

# Column names tried for each field, in order of preference (compared lower-cased).
# `legacy_category` (records_govcn) is deliberately absent: its values are an analyst's
# tags mixing topic and policy direction ("四限放松", "公积金政策放松、购房补贴"), not a
# 主题分类; `--map classification=legacy_category` opts in. `Source` in GOV_PRC.csv holds
# a data-set code ("GOV_CHN"), which the CJK check in `_agency` rejects.
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "标题", "policy", "题名", "name"),
    "body": ("full_text", "content", "body", "text", "article", "markdown", "policy_content",
             "正文", "内容"),
    # The publication date, else the best other date (the year facet is on it).
    "pub_date": ("publication_date", "pub_date", "发布日期", "date", "issuance_date",
                 "record_date", "成文日期", "发文日期", "生成日期"),
    # The day the document was signed, only where a column says so.
    "written_date": ("written_date", "issuance_date", "成文日期", "发文日期", "印发日期"),
    "year": ("year", "年份"),
    "url": ("url", "primary_source_url", "urlsource", "landing_page_url", "link", "source_url",
            "document_url"),
    "agency": ("agency", "issuer", "publisher", "发文机关", "发布机构", "发文单位", "source"),
    "index_no": ("index_no", "索引号"),
    "doc_no": ("doc_no", "文号", "发文字号", "文件编号"),
    "classification": ("classification", "主题分类", "category"),
    "validity": ("validity", "有效性"),
    "doc_type": ("doc_type", "文种"),
    "scope": ("公开范围",),
    "publish_mode": ("publish_mode", "公开方式"),
    "attachments": ("attachments", "attachment", "附件"),
}

# Rows of text another tool extracted from crawled pages (page_versions.jsonl): the pages
# themselves are read from the HTML, so indexing these too would duplicate every page.
_DERIVED_TEXT_KEYS = {"extracted_text", "content_sha256"}

_CJK = re.compile(r"[\u4e00-\u9fff]")
_HTML_TAG = re.compile(r"<(?:p|div|br|span|table|td|a|img|h[1-6]|font|strong|section)\b", re.I)
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\ufeff]")
_TITLE_MAX = 60


def check_field_map(field_map: dict[str, str] | None) -> dict[str, str]:
    """The map with lower-cased column names; ValueError for a field a Record lacks."""
    out: dict[str, str] = {}
    for field, column in (field_map or {}).items():
        if field not in MAPPABLE_FIELDS:
            raise ValueError(f"unknown record field {field!r} in field map "
                             f"(known: {', '.join(MAPPABLE_FIELDS)})")
        out[field] = column.strip().lower()
    return out


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312)."""
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


# --- values ---------------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from a dataframe export
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(value)  # a body given as a list of paragraphs
    elif isinstance(value, list | dict):
        return ""
    return _INVISIBLE.sub("", str(value)).strip().strip("\u3000").strip()


_BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6",
           "section", "article", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "hr")


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment: one line per paragraph/block, blank lines dropped.

    Inline tags (span, font, strong, a) add no break: editors wrap single characters and
    numbers in them ("<span>2013</span>年"), and a break there would split words."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "lxml")
    for tag in soup(["script", "style"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return _tidy(soup.get_text())


def _agency(value: str) -> str:
    # A publisher is named in Chinese; ASCII codes such as "GOV_CHN" are data-set labels.
    return value if _CJK.search(value) else ""


def _year(value: str) -> int | None:
    m = re.search(r"(?<!\d)(1[89]\d{2}|20\d{2}|2100)(?!\d)", value)
    return int(m.group(1)) if m else None


def _attachments(value) -> list[dict]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if not isinstance(item, dict):
            continue
        low = {str(k).lower(): v for k, v in item.items()}
        title = _text(low.get("title") or low.get("mark") or low.get("name"))
        url = _text(low.get("url") or low.get("link") or low.get("href"))
        if title or url:
            out.append({"title": title, "url": url})
    return out


def _one_line(title: str) -> str:
    # Spreadsheet titles wrap inside a cell ("…稳定房地产\n市场的若干措施").
    return re.sub(r"\s*\n\s*", "", title)


def _tidy(body: str) -> str:
    """Line ends kept, each line stripped, blank lines dropped: whitespace only."""
    lines = (ln.strip() for ln in _INVISIBLE.sub("", body).splitlines())
    return "\n".join(ln for ln in lines if ln)


def doc_no_in_head(body: str, title: str = "") -> str:
    """The 文号 near the start of *body*. Bodies often open with the title run straight
    into the 文号 ("…的报告国发〔1980〕82号"); the title is cut out first so that its
    last characters are not read as the issuer code."""
    head = body[:300]
    if title and len(title) >= 4:
        head = head.replace(title, "\n")
    return find_doc_no(head)


# An order number or a bare date/time ("第232号", "2022-08-05 00:00:00") names no document.
_NOT_A_TITLE = re.compile(r"第\d+号|[\d年月日时分秒至\-—～~.:/ ]+")


def title_from_body(body: str) -> str:
    """A short title for a record that has none: its first line that is not a salutation
    ("各市、县（区）人民政府：" names the readers, not the document) nor a fragment such as
    an order number or a date ("第232号", "2020年2月19日至22日"), cut at the first sentence
    end."""
    # Cells pasted into one line ("2022-08-05 00:00:00 | 【官方】…《…》 | summary") are
    # taken one at a time.
    lines = [part.strip() for ln in body.splitlines() for part in ln.split(" | ") if part.strip()]

    def salutation(ln: str) -> bool:
        # "…作如下修改：" and "《…》…：" introduce content; an addressee line does not.
        return ln.endswith(("：", ":")) and "如下" not in ln and "《" not in ln

    def fits(ln: str) -> bool:
        return (len(ln) >= 6 and not salutation(ln)
                and not _NOT_A_TITLE.fullmatch(ln))

    pick = next((ln for ln in lines if fits(ln)), lines[0] if lines else "")
    pick = re.split(r"(?<=[。！？；;!?])", pick, maxsplit=1)[0]
    return pick[:_TITLE_MAX].strip().rstrip("：:")


# --- Markdown (LawRefBook laws) ---------------------------------------------------------

_INFO_END = "<!-- INFO END -->"
_ORDER = re.compile(r"([\u4e00-\u9fa5]{2,30}?)令\s*[（(]?\s*第\s*([0-9０-９一二三四五六七八九十百零〇]+)\s*号")


# "1986年12月25日 公安部公布", "2014年11月24日 中华人民共和国国务院令第656号公布".
_ISSUER = re.compile(r"日\s*([\u4e00-\u9fa5]{2,30}?)\s*(?:令\s*[（(]?\s*第.{1,8}号)?\s*(?:公布|发布)$")


def parse_markdown(md: str) -> dict:
    """Title, date, 令 number, issuer and body of a Markdown document.

    LawRefBook files have an H1 title, metadata lines ("2014年11月24日 中华人民共和国国务院令
    第656号公布") and then ``<!-- INFO END -->``. The last 公布/发布 line is the version
    in force, so its date and 令 number win over earlier ones."""
    title, info, body = "", "", md
    if _INFO_END in md:
        info, body = md.split(_INFO_END, 1)
    m = re.search(r"^#\s+(.+)$", info or md, re.M)
    if m:
        title = m.group(1).strip()
        if not info:
            body = md[:m.start()] + md[m.end():]
        else:
            info = info[:m.start()] + info[m.end():]
    out = {"title": title, "pub_date": "", "doc_no": "", "agency": ""}
    meta_lines = [ln.strip().strip("\u3000").strip() for ln in info.splitlines() if ln.strip()]
    published = [ln for ln in meta_lines if re.search(r"(公布|发布)$", ln)]
    for ln in published:
        out["pub_date"] = parse_date(ln) or out["pub_date"]
        om = _ORDER.search(ln)
        if om:
            out["doc_no"] = f"{om.group(1)}令第{om.group(2)}号"
        im = _ISSUER.search(ln)
        if im:
            out["agency"] = im.group(1)
    if not out["pub_date"]:
        # Never published by order: the first date (adoption) rather than the 施行 date.
        out["pub_date"] = next((d for d in map(parse_date, meta_lines) if d), "")
    # Headings become plain lines: "## 第一章 总则" → "第一章 总则".
    body = re.sub(r"^#{1,6}\s*", "", body, flags=re.M)
    lines = (ln.strip() for ln in body.splitlines())
    out["body"] = "\n".join(ln for ln in lines if ln)
    return out


# --- one mapping → Record ---------------------------------------------------------------

def record_from_mapping(row: dict, source: str,
                        field_map: dict[str, str] | None = None) -> Record | Skipped:
    """Turn one JSON object / CSV row into a Record (field_map already checked)."""
    fmap = field_map or {}
    low: dict[str, object] = {}
    for k, v in row.items():
        if k is None:
            continue
        low.setdefault(str(k).strip().lstrip("\ufeff").lower(), v)

    def raw(field: str) -> tuple[str, object]:
        if field in fmap:
            return fmap[field], low.get(fmap[field])
        for col in COLUMNS[field]:
            v = low.get(col)
            if v not in (None, "", []):
                return col, v
        return "", None

    def text(field: str) -> str:
        return _text(raw(field)[1])

    body_col, body_raw = raw("body")
    body = body_raw.strip() if isinstance(body_raw, str) else _text(body_raw)
    md: dict = {}
    if body and (body_col == "markdown" or _INFO_END in body):
        md = parse_markdown(body)
        body = md["body"]
    elif body and _HTML_TAG.search(body):
        body = html_to_text(body)
    else:
        body = _tidy(body)

    title = _one_line(text("title"))
    if _NOT_A_TITLE.fullmatch(title):
        title = ""  # a date that slipped into the title column (141 records_govcn rows)
    title = title or md.get("title", "")
    if not title and not body:
        return Skipped(source, "no-text")
    if not title:
        title = title_from_body(body)

    pub_date = ""
    if "pub_date" in fmap:
        pub_date = parse_date(text("pub_date"))
    else:
        for col in COLUMNS["pub_date"]:
            pub_date = parse_date(_text(low.get(col)))
            if pub_date:
                break
    pub_date = pub_date or md.get("pub_date", "")
    year = int(pub_date[:4]) if pub_date else _year(text("year"))
    written_date = parse_date(text("written_date"))

    agency_col, agency_raw = raw("agency")
    agency = _text(agency_raw)
    if "agency" not in fmap:
        agency = _agency(agency)
    agency = agency or md.get("agency", "") or agency_from_title(title)

    doc_no = doc_no_value(text("doc_no")) or md.get("doc_no", "") or doc_no_in_head(body, title)

    return Record(
        title=title, body=body, source=source, url=text("url"), agency=agency,
        pub_date=pub_date, written_date=written_date, year=year, index_no=text("index_no"),
        doc_no=doc_no,
        classification=text("classification"), validity=text("validity"),
        doc_type=text("doc_type") or doc_type_from_title(title), scope=text("scope"),
        publish_mode=text("publish_mode"), attachments=_attachments(raw("attachments")[1]))


# --- files ------------------------------------------------------------------------------

def _is_derived_text(row: dict, fmap: dict[str, str]) -> bool:
    keys = {str(k).lower() for k in row}
    return not fmap and keys >= _DERIVED_TEXT_KEYS


# Columns that say a row is a link (a crawler's list of a page's links: type, href,
# text, kind...), not a document.
_LINK_KEYS = frozenset(("href", "anchor", "link_text", "rel"))
_TITLE_OR_TEXT_KEYS = frozenset(c for f in ("title", "body") for c in COLUMNS[f]) - {"text"}


def _has_document_columns(row: dict, fmap: dict[str, str]) -> bool:
    if "title" in fmap or "body" in fmap:
        return True
    keys = {str(k).strip().lstrip("\ufeff").lower() for k in row if k is not None}
    return bool(keys & (set(COLUMNS["title"]) | set(COLUMNS["body"])))


def _is_link_list(row: dict, fmap: dict[str, str]) -> bool:
    """A file of links: an href-like column, and no title or body column besides a
    link's own "text"."""
    keys = {str(k).strip().lower() for k in row}
    return not fmap and bool(keys & _LINK_KEYS) and not keys & _TITLE_OR_TEXT_KEYS


def _rows_to_records(rows: Iterable[tuple[str, object]], path: str, fmap: dict[str, str],
                     bad_reason: str) -> Iterator[Record | Skipped]:
    first = True
    for source, row in rows:
        if isinstance(row, Skipped):
            yield row
            continue
        if not isinstance(row, dict):
            yield Skipped(source, bad_reason, "not an object")
            continue
        if first and _is_derived_text(row, fmap):
            yield Skipped(path, "derived-text",
                          "text extracted from pages that are indexed from their HTML")
            return
        if first and _is_link_list(row, fmap):
            yield Skipped(path, "link-list", "a list of a page's links, not documents")
            return
        if first and not _has_document_columns(row, fmap):
            # A manifest, an index of files, a table of figures: rows that name no title
            # and carry no text are not documents, and the file says so once.
            names = ", ".join(str(k) for k in list(row)[:6])
            yield Skipped(path, "no-document-columns", f"no title or text column ({names})")
            return
        first = False
        yield record_from_mapping(row, source, fmap)


def _jsonl_rows(text: str, path: str) -> Iterator[tuple[str, object]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        source = f"{path}#L{n}"
        try:
            yield source, json.loads(line)
        except json.JSONDecodeError as exc:
            yield source, Skipped(source, "malformed-json", str(exc))


def read_jsonl(data: bytes, path: str, field_map=None) -> Iterator[Record | Skipped]:
    fmap = check_field_map(field_map)
    empty = True
    for item in _rows_to_records(_jsonl_rows(decode_bytes(data), path), path, fmap,
                                 "malformed-json"):
        empty = False
        yield item
    if empty:  # say so, or the file would vanish from the run's summary
        yield Skipped(path, "no-text", "empty file")


def read_json(data: bytes, path: str, field_map=None) -> Iterator[Record | Skipped]:
    """A JSON array of records, one record object, or {"...": [records]}; a file of one
    object per line is read as JSONL."""
    fmap = check_field_map(field_map)
    text = decode_bytes(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            yield from read_jsonl(data, path, field_map)
        else:
            yield Skipped(path, "malformed-json", str(exc))
        return
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v
                 and all(isinstance(x, dict) for x in v)]
        if len(lists) == 1 and not any(c in {k.lower() for k in doc} for c in COLUMNS["body"]):
            doc = lists[0]
        else:
            yield from _rows_to_records([(path, doc)], path, fmap, "malformed-json")
            return
    if not isinstance(doc, list):
        yield Skipped(path, "malformed-json", "neither an object nor an array")
        return
    yield from _rows_to_records(((f"{path}#item{i}", row) for i, row in enumerate(doc, 1)),
                                path, fmap, "malformed-json")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(data: bytes, path: str, field_map=None) -> Iterator[Record | Skipped]:
    """CSV/TSV with a header row: any delimiter, BOM, CRLF, quoted multi-line cells."""
    fmap = check_field_map(field_map)
    text = decode_bytes(data).lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        yield Skipped(path, "no-text", "no header row")
        return
    header = [h.strip() for h in header]

    def rows() -> Iterator[tuple[str, object]]:
        n = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n += 1
                source = f"{path}#row{n}"
                yield source, Skipped(source, "malformed-row", str(exc))
                continue
            if not any(c.strip() for c in cells):
                continue
            n += 1
            source = f"{path}#row{n}"
            if len(cells) != len(header):
                yield source, Skipped(source, "malformed-row",
                                      f"{len(cells)} cells, header has {len(header)}")
                continue
            yield source, dict(zip(header, cells, strict=True))

    yield from _rows_to_records(rows(), path, fmap, "malformed-row")


def read_markdown(data: bytes, path: str) -> Iterator[Record | Skipped]:
    """A Markdown document: H1 title, optional INFO block, body."""
    md = parse_markdown(decode_bytes(data))
    body, title = md["body"], md["title"]
    if not body and not title:
        yield Skipped(path, "no-text")
        return
    title = title or title_from_body(body)
    yield Record(title=title, body=body, source=path, agency=md["agency"],
                 pub_date=md["pub_date"], doc_no=md["doc_no"] or doc_no_in_head(body, title),
                 doc_type=doc_type_from_title(title))


READERS = {".json": read_json, ".jsonl": read_jsonl, ".ndjson": read_jsonl,
           ".csv": read_csv, ".tsv": read_csv}


def read_records_file(path: str | Path, field_map=None) -> Iterator[Record | Skipped]:
    p = Path(path)
    reader = READERS[p.suffix.lower()]
    yield from reader(p.read_bytes(), str(p), field_map)
