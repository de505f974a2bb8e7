"""The one index schema, and how a `Record` becomes an index document.

Field roles:
- ``title``/``body``: words with positions (ranking); no character offsets: snippets
  find the query's words in the stored text (`search_app.search.snippets`);
- ``title_exact``/``body_exact``: character bigrams (exact phrases that never miss);
- facet fields (``agency``, ``year``, ``classification``, ``classification_l1``,
  ``doc_type``, ``validity``, ``pub_date``): sortable, so Whoosh keeps them as
  per-document columns that facet counting and date sorting read without touching
  stored documents;
- ``doc_no``: the normalised 文号 (exact), ``doc_no_exact``: its bigrams (partial 文号);
- ``source``, the hashes, ``pub_date``, ``validity``: columns without postings
  (`ColumnID`): they are read, never searched by term.
"""

from __future__ import annotations

import hashlib
import json
import re

from whoosh import formats
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.system import pack_uint

from indexer.chinese.analysis import (
    BigramAnalyzer,
    BigramTokenizer,
    ChineseAnalyzer,
    ChineseTokenizer,
    bigram_positions,
    exact_keys,
    word_occurrences,
    word_postings,
)
from indexer.chinese.normalize import normalize
from indexer.fields import normalize_doc_no
from indexer.index.postings import compact
from indexer.record import Record

# Separators between the levels of a hierarchical 主题分类: portals write
# "城乡建设、环境保护\城市规划", "城乡建设、环境保护/城乡建设（含住房）" or
# "综合政务 / 部门文件 / 其他".
CLASSIFICATION_SEP = re.compile(r"\s*[\\/>＞／]\s*")

TITLE_BOOST = 3.0


class ColumnID(ID):
    """An ID kept as a per-document column (and stored if asked), without postings.
    Nothing looks these fields up by term: the index writer, the facets and the date
    sort read their columns. Their values are nearly all distinct, and each distinct
    term cost Whoosh's writer about 100 µs per document, again at every merge."""

    indexed = False

    def __init__(self, stored: bool = False):
        super().__init__(stored=stored, sortable=True)


class AnalyzedTEXT(TEXT):
    """A TEXT field that analyses straight into postings (see `postings`) and stores
    them in the compact formats of `indexer.index.postings`."""

    def __init__(self, *args, tables: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.format = compact(self.format)
        # "words" or "grams": the index writer keeps this field's postings in numpy
        # tables (`indexer.index.postings_tables`) instead of Whoosh's posting files.
        self.tables = tables

    def word_occurrences(self, value: str):
        return word_occurrences(value)

    def gram_keys(self, value: str):
        return exact_keys(value)

    def index(self, value, **kwargs):
        return iter(self.postings(value))

    def postings(self, value: str) -> list[tuple[bytes, int, float, bytes]]:
        """(term bytes, frequency, weight, encoded value) per distinct term, encoded as
        Whoosh's own formats encode them, but without a Token object per token: Whoosh's
        generic path costs as much again per token as segmentation does."""
        analyzer = self.analyzer
        fmt = self.format
        boost = fmt.field_boost
        if isinstance(analyzer, BigramTokenizer) and isinstance(fmt, formats.Positions):
            grouped = bigram_positions(value)
        elif isinstance(analyzer, ChineseTokenizer):
            grouped = word_postings(value)
            if not isinstance(fmt, formats.Characters):
                positional = isinstance(fmt, formats.Positions)
                grouped = {w: ([p for p, _, _ in v] if positional else v)
                           for w, v in grouped.items()}
        else:
            return list(super().index(value))
        if isinstance(fmt, formats.Positions):  # Characters is a Positions subclass
            encode = fmt.encode
            return [(w.encode("utf-8"), len(v), len(v) * boost, encode(v))
                    for w, v in grouped.items()]
        return [(w.encode("utf-8"), len(v), len(v) * boost, pack_uint(len(v)))
                for w, v in grouped.items()]


def build_schema() -> Schema:
    words = ChineseAnalyzer()
    exact = BigramAnalyzer()
    TEXT = AnalyzedTEXT  # noqa: N806 - every text field of the schema accepts postings
    return Schema(
        # id, source and the hashes are columns too, so that an incremental run reads
        # them for every document without loading stored bodies.
        id=ID(stored=True, unique=True, sortable=True),
        url=STORED(),
        source=ColumnID(stored=True),
        content_hash=ColumnID(stored=True),
        text_hash=ColumnID(),
        title=TEXT(analyzer=words, stored=True, phrase=True,
                   field_boost=TITLE_BOOST, tables="words"),
        title_exact=TEXT(analyzer=exact, phrase=True, tables="grams"),
        body=TEXT(analyzer=words, stored=True, phrase=True, tables="words"),
        body_exact=TEXT(analyzer=exact, phrase=True, tables="grams"),
        agency=ID(stored=True, sortable=True),
        agency_text=TEXT(analyzer=words, phrase=False),
        # "省/市/县", its province and its province/city: a region filter matches any.
        region=ID(stored=True, sortable=True),
        region_l1=ID(sortable=True),
        region_l2=ID(sortable=True),
        classification=ID(stored=True, sortable=True),
        classification_l1=ID(sortable=True),
        # One term per year (Whoosh's default trie writes eight): year ranges are
        # evaluated on the column, and each term costs the writer ~30 µs.
        year=NUMERIC(int, bits=32, stored=True, sortable=True, signed=False, shift_step=32),
        pub_date=ColumnID(stored=True),
        written_date=STORED(),
        doc_type=ID(stored=True, sortable=True),
        doc_no=ID(stored=True, sortable=True),
        doc_no_exact=TEXT(analyzer=exact, phrase=True),
        index_no=STORED(),
        validity=ColumnID(stored=True),
        scope=STORED(),
        publish_mode=STORED(),
        attachments=STORED(),
        body_kind=STORED(),
        # Annual reports (`indexer.annual`): the year reported on and the template are
        # facets (kept as strings, like doc_type); the tables are stored as JSON.
        report_year=ID(stored=True, sortable=True),
        report_format=ID(stored=True, sortable=True),
        report=STORED(),
    )


def text_hash(record: Record) -> str:
    """Hash of the normalised title and body: the same document under two URLs."""
    basis = normalize(record.title.strip()) + "\x00" + normalize(record.body.strip())
    return hashlib.sha1(basis.encode("utf-8", "surrogatepass")).hexdigest()


def classification_levels(value: str) -> tuple[str, str]:
    """(full value, top level) of a hierarchical classification; the full value is
    written with one separator, " / ", whatever the portal used."""
    value = (value or "").strip()
    if not value:
        return "", ""
    levels = [part for part in CLASSIFICATION_SEP.split(value) if part]
    return CLASSIFICATION_SEP.sub(" / ", value), levels[0] if levels else ""


def record_to_document(record: Record, content_hash: str | None = None,
                       text_digest: str | None = None) -> dict:
    """The keyword arguments for ``writer.add_document`` / ``update_document``.
    *content_hash* and *text_digest*: the record's hashes when the caller has them
    already (each is a pass over the whole text).

    Empty values are left out so that a missing agency or year is not counted as a facet
    value ""."""
    full, top = classification_levels(record.classification)
    doc_no = normalize_doc_no(record.doc_no)
    doc = {
        "id": record.id,
        "url": record.url,
        "source": record.source,
        "content_hash": content_hash or record.content_hash,
        "text_hash": text_digest or text_hash(record),
        "title": record.title,
        "title_exact": record.title,
        "body": record.body,
        "body_exact": record.body,
        "agency": record.agency.strip(),
        "agency_text": record.agency,
        "region": record.region,
        "region_l1": "/".join(record.region.split("/")[:1]),
        "region_l2": "/".join(record.region.split("/")[:2]),
        "classification": full,
        "classification_l1": top,
        "year": record.year,
        "pub_date": record.pub_date,
        "written_date": record.written_date,
        "doc_type": record.doc_type,
        "doc_no": doc_no,
        "doc_no_exact": doc_no,
        "index_no": record.index_no.strip(),
        "validity": record.validity.strip(),
        "scope": record.scope,
        "publish_mode": record.publish_mode,
        "attachments": json.dumps(record.attachments, ensure_ascii=False)
        if record.attachments else "",
        "body_kind": "" if record.body_kind == "text" else record.body_kind,
        "report_year": str(record.report_year) if record.report_year else "",
        "report_format": record.report_format,
        "report": json.dumps(record.report, ensure_ascii=False) if record.report else "",
    }
    return {k: v for k, v in doc.items() if v not in ("", None)}


# Stored fields a reader gets back, with their defaults when a document left them out.
STORED_DEFAULTS = {
    "id": "", "url": "", "source": "", "content_hash": "", "title": "", "body": "",
    "agency": "", "region": "", "classification": "", "year": None, "pub_date": "", "written_date": "", "doc_type": "",
    "doc_no": "", "index_no": "", "validity": "", "scope": "", "publish_mode": "",
    "attachments": "", "body_kind": "", "report_year": "", "report_format": "", "report": "",
}


def stored_to_dict(stored: dict) -> dict:
    """A stored document as a plain dict with every field present."""
    out = {k: stored.get(k, default) for k, default in STORED_DEFAULTS.items()}
    out["attachments"] = json.loads(out["attachments"]) if out["attachments"] else []
    out["body_kind"] = out["body_kind"] or "text"
    out["report"] = json.loads(out["report"]) if out["report"] else None
    out["report_year"] = int(out["report_year"]) if out["report_year"] else None
    return out
