"""The index codec: Whoosh's W3 codec, with the large text fields' postings kept in the
per-segment numpy tables of `indexer.index.postings_tables`, and stored documents in
the dictionary-compressed column of `indexer.index.stored_docs`.

Whoosh pickles the codec into every segment it writes and uses it to read that segment,
so this class is found by import path: keep the module and class names.

Readers see one term dictionary per segment: a field whose postings are in the tables
answers from them (term lookups, statistics and a ListMatcher), any other field from
Whoosh's own files. So everything in Whoosh that reads an index (its queries, merges by
a plain writer, more-like-this) still works; the search backend reads the tables
directly. Segments written by another codec have no tables and read as plain Whoosh.
"""

from __future__ import annotations

import heapq

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3Segment, _lenfield
from whoosh.matching import ListMatcher
from whoosh.reading import TermInfo, TermNotFound

from indexer.index import postings_tables, postings_tables_build, stored_docs


class GongkaiCodec(W3Codec):
    def per_document_writer(self, storage, segment):
        return stored_docs.DocumentsPerDocWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        return stored_docs.DocumentsPerDocReader(storage, segment)

    def field_writer(self, storage, segment):
        return TablesFieldWriter(W3FieldWriter(self, storage, segment), storage, segment)

    def terms_reader(self, storage, segment):
        w3 = super().terms_reader(storage, segment)
        if not isinstance(segment, TablesSegment):  # written by a plain Whoosh writer
            return CombinedTermsReader(w3, None)
        # Opened now, while the reader is being opened: a writer that merges this
        # segment away later deletes the file, and the open file outlives that. A file
        # already gone fails the open (as Whoosh's own files do), rather than reading
        # as a segment without text.
        tables = postings_tables.SegmentTables.open(storage, segment.make_filename(postings_tables.EXT))
        return CombinedTermsReader(w3, tables)

    def new_segment(self, storage, indexname):
        return TablesSegment(self, indexname)


class TablesSegment(W3Segment):
    """A segment whose tables file stays outside its compound file: Whoosh's compound
    file is read through copies, the tables are read where they lie. (Whoosh's
    clean-up still deletes the file with its segment: it matches the segment's name.)"""

    def list_files(self, storage):
        return [n for n in super().list_files(storage) if not n.endswith(postings_tables.EXT)]


def is_table_field(fieldobj) -> bool:
    """Whether the schema keeps this field's postings in the tables."""
    return bool(getattr(fieldobj, "tables", False))


class TablesFieldWriter:
    """Whoosh's field writer for ordinary fields, table builders for the others."""

    def __init__(self, w3: W3FieldWriter, storage, segment):
        self.w3 = w3
        self.storage = storage
        self.segment = segment
        self.builders: dict[str, postings_tables_build.FieldBuilder] = {}
        self.opened: list = []  # tables of segments being merged in, read at close
        self.is_closed = False

    def builder(self, fieldname: str, fieldobj) -> postings_tables_build.FieldBuilder:
        b = self.builders.get(fieldname)
        if b is None:
            fmt = fieldobj.format
            b = self.builders[fieldname] = postings_tables_build.FieldBuilder(
                grams=fieldobj.tables == "grams", chars=fmt.supports("characters"),
                boost=float(fmt.field_boost))
        return b

    def add_postings(self, schema, lengths, items):
        lengths = _Lengths(lengths) if lengths is not None else None
        self.w3.add_postings(schema, lengths, self._split(schema, items))

    def _split(self, schema, items):
        """Pass ordinary postings on; file table-field postings (only a segment written
        by another codec, merged in, brings them) into the builders."""
        for item in items:
            fieldname = item[0]
            fieldobj = schema[fieldname] if fieldname in schema else None  # noqa: SIM401
            if fieldobj is None or not is_table_field(fieldobj):
                yield item
                continue
            _, btext, docnum, _weight, value = item
            b = self.builder(fieldname, fieldobj)
            fmt = fieldobj.format
            text = btext.decode("utf-8", "surrogatepass")
            if b.chars:
                triples = fmt.decode_characters(value)
                b.add_words(docnum, [text] * len(triples), [p for p, _, _ in triples],
                            [s for _, s, _ in triples], [e for _, _, e in triples])
            elif not b.grams:
                positions = fmt.decode_positions(value)
                b.add_words(docnum, [text] * len(positions), positions)
            else:
                b.add_gram_positions(docnum, postings_tables.gram_key(text),
                                     fmt.decode_positions(value))
            b.sorted = False  # postings arrive term by term, not document by document

    def close(self):
        if self.is_closed:
            return
        self.w3.close()
        # Written even when empty: a reader takes a missing file for a lost one.
        name = self.segment.make_filename(postings_tables.EXT)
        try:
            postings_tables_build.write(f"{postings_tables.folder_of(self.storage)}/{name}",
                                        self.builders)
        finally:
            for tables in self.opened:
                tables.close()
            self.opened = []
        self.builders = {}
        self.is_closed = True


class _Lengths:
    """Whoosh's per-document reader as the field writer asks it for a field length per
    posting: a field without lengths (an ID) costs Whoosh a file-exists check each
    time; here, once per field."""

    def __init__(self, perdoc):
        self.perdoc = perdoc
        self.has: dict[str, bool] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        has = self.has.get(fieldname)
        if has is None:
            has = self.has[fieldname] = self.perdoc.has_column(_lenfield(fieldname))
        return self.perdoc.doc_field_length(docnum, fieldname, default) if has else default


class CombinedTermsReader:
    """A segment's term dictionary: the tables for their fields, W3 for the rest."""

    def __init__(self, w3, tables: postings_tables.SegmentTables | None):
        self.w3 = w3
        self._file = tables
        self.tables = tables.fields if tables is not None else {}

    # --- lookups -------------------------------------------------------------------

    def _find(self, fieldname, btext, error=TermNotFound):
        table = self.tables[fieldname]
        t = table.find(btext)
        if t < 0:
            raise error(f"No term {fieldname}:{btext!r}")
        return table, t

    def __contains__(self, term):
        fieldname, btext = term
        if fieldname in self.tables:
            return self.tables[fieldname].find(btext) >= 0
        return term in self.w3

    def indexed_field_names(self):
        return list(self.w3.indexed_field_names()) + list(self.tables)

    def cursor(self, fieldname, fieldobj):
        return self.w3.cursor(fieldname, fieldobj)

    def term_info(self, fieldname, btext):
        if fieldname not in self.tables:
            return self.w3.term_info(fieldname, btext)
        table, t = self._find(fieldname, btext)
        return _terminfo(table, t)

    def frequency(self, fieldname, btext):
        if fieldname not in self.tables:
            return self.w3.frequency(fieldname, btext)
        # KeyError, as Whoosh's own reader raises here (its callers count it as 0).
        table, t = self._find(fieldname, btext, KeyError)
        return float(table.postings(t)[1].sum()) * table.boost

    def doc_frequency(self, fieldname, btext):
        if fieldname not in self.tables:
            return self.w3.doc_frequency(fieldname, btext)
        table, t = self._find(fieldname, btext, KeyError)
        return int(table.tpost[t + 1] - table.tpost[t])

    def matcher(self, fieldname, btext, format_, scorer=None):
        if fieldname not in self.tables:
            return self.w3.matcher(fieldname, btext, format_, scorer=scorer)
        table, t = self._find(fieldname, btext)
        docs, poff, pos, starts, ends, _ = table.read(t, with_values=True)
        values = []
        for lo, hi in zip(poff[:-1].tolist(), poff[1:].tolist(), strict=True):
            if table.chars:
                values.append(format_.encode(list(zip(pos[lo:hi].tolist(),
                                                      starts[lo:hi].tolist(),
                                                      ends[lo:hi].tolist(), strict=True))))
            else:
                values.append(format_.encode(pos[lo:hi].tolist()))
        weights = (np.diff(poff) * table.boost).tolist()
        return ListMatcher(docs.tolist(), weights, values, format_,
                           scorer=scorer, term=(fieldname, btext),
                           terminfo=_terminfo(table, t))

    # --- enumeration ---------------------------------------------------------------

    def _table_terms(self, start_field=None, start_bytes=b""):
        for fieldname in sorted(self.tables):
            if start_field is not None and fieldname < start_field:
                continue
            table = self.tables[fieldname]
            first = table.first_at_or_after(start_bytes) if fieldname == start_field else 0
            for t in range(first, len(table)):
                yield (fieldname, table.term_bytes(t)), table, t

    def terms(self):
        return heapq.merge(self.w3.terms(), (k for k, _, _ in self._table_terms()))

    def terms_from(self, fieldname, prefix):
        ours = (k for k, _, _ in self._table_terms(fieldname, prefix))
        return heapq.merge(self.w3.terms_from(fieldname, prefix), ours)

    def items(self):
        ours = ((k, _terminfo(tb, t)) for k, tb, t in self._table_terms())
        return heapq.merge(self.w3.items(), ours, key=lambda kv: kv[0])

    def items_from(self, fieldname, prefix):
        ours = ((k, _terminfo(tb, t)) for k, tb, t in self._table_terms(fieldname, prefix))
        return heapq.merge(self.w3.items_from(fieldname, prefix), ours, key=lambda kv: kv[0])

    def close(self):
        self.w3.close()
        self.tables = {}
        if self._file is not None:
            self._file.close()
            self._file = None


def tables_of(reader) -> dict:
    """The tables of a segment reader's table fields, by field name (``{}`` for a
    segment that keeps every field in Whoosh's own files)."""
    terms = getattr(reader, "_terms", None)
    return terms.tables if isinstance(terms, CombinedTermsReader) else {}


def _terminfo(table: postings_tables.FieldTable, t: int) -> TermInfo:
    docs, freq = table.postings(t)
    if not len(docs):
        return TermInfo()
    # Lengths are not kept per posting; 1 and a large maximum only loosen Whoosh's
    # block-quality bounds, never skip a document that could score.
    return TermInfo(weight=float(freq.sum()) * table.boost, df=len(docs), minlength=1,
                    maxlength=1 << 30, maxweight=float(freq.max()) * table.boost,
                    minid=int(docs[0]), maxid=int(docs[-1]))
