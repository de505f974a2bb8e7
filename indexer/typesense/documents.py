"""How a `Record` becomes a Typesense document, and the collection that holds them.

Typesense analyses text its own way (and ``locale: zh`` ignores quoted phrases), so
every searchable value is written in our own analysis, each token spelled as an opaque
ASCII word (`encode`): Typesense's tokenizer, lower-casing and symbol stripping then
have nothing to change, and a token means exactly what it meant to our analyzer.

Searchable fields, in three namespaces (a one-letter prefix, so that a bigram 住房 and
the word 住房 are different tokens; q tokens are looked up in every query_by field):
- ``tw``/``bw`` (string[]): the distinct words of the title / title and body with their
  sub-words (what the embedded ``title``/``body`` fields match by term), plus the
  three-character words that our query compiler finds through their pieces in a row
  (`_pieces_keys`): a query word is then one membership test, in ``filter_by`` or as a
  q token;
- ``tws``/``bws`` (string): the words in order, without sub-words (words in a row);
  every b* field holds the title and the body, t* fields the title alone;
- ``tgs``/``bgs`` (string): the bigrams in order, then the last character alone (a
  quoted phrase of n characters is n-1 bigrams in a row; one character, a prefix).
  Typesense held the distinct bigrams as a string[] in twice the memory of the
  stream, so a bigram is looked up as a token of the stream;
- ``dn``/``dgs``: the normalised 文号 and its bigrams; ``at``: the agency's words.

Facets and filters keep plain values (``agency``, ``region2``, ``year``,
``classification``, ``doc_type``) beside membership arrays for the filters that match
several levels (``rl``: region and its province and province/city; ``cl``: the full
classification and its top level). Everything the document page shows is stored but
not indexed (fields outside the schema are kept by Typesense as they are).
"""

from __future__ import annotations

import re
from functools import lru_cache

from indexer.chinese.analysis import bigrams, word_occurrences
from indexer.chinese.normalize import normalize
from indexer.chinese.segment import has_word, tiling
from indexer.index.schema import classification_levels, record_to_document
from indexer.record import Record

# Bumped whenever the documents written for the same record change: a collection written
# by another version must be rebuilt (the collection's metadata field records it).
DOCUMENT_VERSION = 2

WORD, GRAM, DOC_NO = "w", "g", "d"  # token namespaces
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_SPACE = re.compile(r"\s+")


def _code(ch: str) -> str:
    n = ord(ch)  # < 36**4: every code point fits in four base-36 digits
    return (_DIGITS[n // 46656] + _DIGITS[n // 1296 % 36] + _DIGITS[n // 36 % 36]
            + _DIGITS[n % 36])


@lru_cache(maxsize=400_000)
def encode(token: str, space: str = WORD) -> str:
    """*token* as one lower-case ASCII word: its namespace letter, then four base-36
    digits per character (so ``encode("住房") != encode("住房", GRAM)``)."""
    return space + "".join(map(_code, token))


_tiling = lru_cache(maxsize=200_000)(lambda w: tuple(tiling(w)))


def _pieces_keys(by_pos: list[list[str]], compact: str) -> set[str]:
    """Three-character dictionary words w whose pieces (`tiling`) stand in a row here
    and whose characters the text contains: what the embedded index finds for w besides the word
    itself (``Term(w) OR (pieces in a row AND exact characters)``), decided per field."""
    out = set()
    for here, after in zip(by_pos, by_pos[1:], strict=False):
        for a in here:
            for b in after:
                if len(a) + len(b) == 3:
                    w = a + b
                elif len(a) == len(b) == 2 and a[1] == b[0]:
                    w = a + b[1]  # two overlapping sub-words
                else:
                    continue
                # Only a dictionary word can be a query word (the query is cut by the
                # same dictionary): other pairs would triple the vocabulary.
                if w not in out and has_word(w) and _tiling(w) == (a, b) and w in compact:
                    out.add(w)
    return out


def analysed(text: str) -> dict[str, object]:
    """The searchable forms of one title or body: word set, word stream and bigram
    stream."""
    kept, pos, _starts, _ends = word_occurrences(text)
    by_pos: list[list[str]] = []
    stream: list[str] = []
    for w, p in zip(kept, pos.tolist(), strict=True):
        if p == len(by_pos):
            by_pos.append([w])
            stream.append(w)
        else:
            by_pos[p].append(w)
    compact = _SPACE.sub("", normalize(text))
    word_set = set(kept) | _pieces_keys(by_pos, compact)
    return {
        "words": sorted(encode(w) for w in word_set),
        "word_stream": " ".join(encode(w) for w in stream),
        "gram_stream": gram_stream(compact),
    }


def gram_stream(compact: str) -> str:
    """The bigrams of *compact* (normalised text without spaces) in order and, last, its
    last character alone, as the embedded exact field has them (`bigrams`): a
    one-character phrase is a prefix search for its character. Spelled from each
    character's code once: the same tokens as ``encode(gram, GRAM)``, at a third of the
    cost."""
    if not compact:
        return ""
    codes = [_char_code(ch) for ch in compact]
    grams = [GRAM + a + b for a, b in zip(codes, codes[1:], strict=False)]
    grams.append(GRAM + codes[-1])
    return " ".join(grams)


_char_code = lru_cache(maxsize=100_000)(_code)


SEPARATOR = "x"  # a token that no encoded token equals, and no phrase holds


def _joined(title: str, body: str) -> str:
    return f"{title} {SEPARATOR} {body}" if title and body else title or body


def date_key(pub_date: str) -> int:
    digits = (pub_date or "").replace("-", "")[:8]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def record_to_ts(record: Record, content_hash: str | None = None,
                 text_digest: str | None = None) -> dict:
    """The Typesense document for *record*: the embedded index's stored fields as they
    are (`record_to_document`), plus the searchable forms above."""
    doc = record_to_document(record, content_hash, text_digest)
    for derived in ("title_exact", "body_exact", "agency_text", "region_l1", "region_l2",
                    "classification_l1", "doc_no_exact"):
        doc.pop(derived, None)
    out = {k: v for k, v in doc.items() if k != "id"}
    out["id"] = record.id
    title, body = analysed(record.title), analysed(record.body)
    # The b* fields hold the title too (then the body, a phrase never reaching across
    # SEPARATOR): a word or phrase "in the title or the body" is one test, and the
    # engine takes at most about a hundred operands and operators in a filter.
    out.update(tw=title["words"], tws=title["word_stream"], tgs=title["gram_stream"],
               bw=sorted(set(title["words"]) | set(body["words"])),
               bws=_joined(title["word_stream"], body["word_stream"]),
               bgs=_joined(title["gram_stream"], body["gram_stream"]))
    region = record.region or ""
    levels = region.split("/") if region else []
    out["rl"] = sorted({region, "/".join(levels[:1]), "/".join(levels[:2])} - {""})
    if levels:
        out["region2"] = "/".join(levels[:2])
    full, top = classification_levels(record.classification)
    out["cl"] = sorted({full, top} - {""})
    # Sorts put documents without a date last both ways (as the embedded index does):
    # ``date`` is 0 for them, ``odate`` (oldest first) 99999999.
    out["date"] = date_key(record.pub_date)
    out["odate"] = out["date"] or 99999999
    out["key"] = record.id  # `id` cannot be filtered with != (a negated phrase's ids)
    # A document without a year has year 0 (never shown), so that "not this year" (a
    # range test) matches it; other facet fields are left out when empty (the engine's
    # != matches a document without the field, and its count of distinct values then
    # counts real values only).
    out["year"] = record.year or 0
    if doc.get("doc_no"):
        out["dn"] = encode(doc["doc_no"], DOC_NO)  # as the embedded ID field holds it
        out["dgs"] = " ".join(encode(g, DOC_NO) for g, _, _ in bigrams(doc["doc_no"]))
    out["at"] = sorted({encode(w) for w in word_occurrences(record.agency)[0]})
    return out


def _f(name: str, kind: str, facet: bool = False, optional: bool = True) -> dict:
    return {"name": name, "type": kind, "facet": facet, "optional": optional}


def collection_schema(name: str) -> dict:
    """The collection: only the fields searched, filtered, faceted or sorted on."""
    return {
        "name": name,
        "fields": [
            _f("tw", "string[]"), _f("bw", "string[]"),
            _f("tws", "string"), _f("bws", "string"),
            _f("tgs", "string"), _f("bgs", "string"),
            _f("dn", "string"), _f("dgs", "string"), _f("at", "string[]"),
            _f("agency", "string", facet=True), _f("region2", "string", facet=True),
            _f("rl", "string[]"), _f("classification", "string", facet=True),
            _f("cl", "string[]"), _f("doc_type", "string", facet=True),
            _f("validity", "string", facet=True),
            _f("report_year", "string", facet=True), _f("report_format", "string", facet=True),
            _f("year", "int32", facet=True, optional=False),
            _f("date", "int64", optional=False), _f("odate", "int64", optional=False),
            _f("key", "string", optional=False),
        ],
        "default_sorting_field": "date",
        "token_separators": [],
        "symbols_to_index": [],
    }
