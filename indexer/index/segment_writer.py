"""`TablesWriter`: Whoosh's segment writer, with the schema's table fields (see
`indexer.index.codec`) analysed straight into arrays instead of Whoosh's posting pool.

Everything else (stored fields, columns, field lengths, deletions, merges, the TOC and
its atomic commit) is Whoosh's own. Every writer of a Gongkai index should be one of
these; a plain Whoosh writer still produces a correct index (its segments read as
plain Whoosh), only a slower one.
"""

from __future__ import annotations

import queue

import numpy as np
from whoosh import multiproc
from whoosh.columns import TranslatingColumnReader
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from indexer.index import faults, postings_tables, stored_docs
from indexer.index.codec import GongkaiCodec, is_table_field, tables_of
from indexer.index.columns import LENGTH_OF_BYTE, length_codes, raw_values
from indexer.index.workers import worker_died

# How often a writer waiting on its workers looks whether one of them has died. Only a
# polling interval: no outcome depends on it.
_POLL_SECONDS = 0.5


class TablesWriter(SegmentWriter):
    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", GongkaiCodec())
        super().__init__(ix, **kwargs)

    def add_document(self, **fields):
        # Whoosh's SegmentWriter.add_document with the table fields diverted. Its
        # handling of term vectors and separate spelling fields is left out: the
        # schema has neither.
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        add_post = self.pool.add
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed and is_table_field(field):
                    length = self._add_to_table(fieldname, field, docnum, value)
                elif field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    scorable = field.scorable
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if scorable:
                            length += freq
                        add_post((fieldname, tbytes, docnum, weight * fieldboost, vbytes))
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None,
                                       length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column,
                                                  field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        faults.crash_point("worker:document")

    def _commit_toc(self, segments):
        # Whoosh's, with the two crash points around the moment a commit becomes
        # visible: the TOC is written to a temporary name and renamed into place.
        from whoosh.index import TOC, clean_files

        faults.crash_point("commit:segments-written")
        TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)
        faults.crash_point("commit:toc-renamed")
        clean_files(self.storage, self.indexname, self.generation, segments)

    def _add_to_table(self, fieldname, field, docnum, value) -> int:
        """Analyse *value* into the field's table; returns the field length (tokens)."""
        builder = self.fieldwriter.builder(fieldname, field)
        if builder.grams:
            keys = field.gram_keys(value)
            builder.add_grams(docnum, keys)
            return len(keys)
        words, pos, start, end = field.word_occurrences(value)
        builder.add_words(docnum, words, pos, start, end)
        return len(words)

    def write_per_doc(self, fieldnames, reader):
        """Whoosh's, for a segment being merged in, with its field lengths and column
        values read whole (`indexer.index.columns`) instead of document by document: Whoosh
        asked the file system whether a length column exists for every field of every
        document (a merge of 17,000 documents: 45 → 37.5 s)."""
        plan = self._per_doc_plan(fieldnames, reader)
        if plan is None:  # not a W3 segment, or fields this code does not copy
            return super().write_per_doc(fieldnames, reader)
        docmap = {} if reader.has_deletions() else None
        pdw = self.perdocwriter
        self._train_documents(reader)
        for docnum, stored in reader.iter_docs():
            if docmap is not None:
                docmap[docnum] = self.docnum
            pdw.start_doc(self.docnum)
            for fieldname, fieldobj, lengths, values in plan:
                pdw.add_field(fieldname, fieldobj, stored.get(fieldname),
                              lengths[docnum] if lengths is not None else 0)
                if values is not None:
                    pdw.add_column_value(fieldname, fieldobj.column_type, values[docnum])
            pdw.finish_doc()
            self.docnum += 1
        return docmap

    def _train_documents(self, reader) -> None:
        """The merged segment's stored-documents dictionary trained on documents spread
        over the first segment merged in, not on its first documents only (which are
        whatever was indexed first: one portal's pages, or one kind of record)."""
        column = getattr(self.perdocwriter, "_colwriters", {}).get(stored_docs.NAME)
        if column is None:
            return
        column.train_spread(reader.doc_count_all(), lambda d: None if reader.is_deleted(d)
                            else reader.stored_fields(d))

    def _per_doc_plan(self, fieldnames, reader) -> list | None:
        """(name, field, lengths, column values) per field of a segment being merged."""
        schema = self.schema
        if set(fieldnames) - set(schema.names()) or any(schema[f].vector for f in fieldnames):
            return None
        plan = []
        for fieldname in sorted(fieldnames):
            fieldobj = schema[fieldname]
            lengths = None
            if fieldobj.scorable:
                codes = length_codes(reader, fieldname)
                if codes is None:
                    return None
                lengths = LENGTH_OF_BYTE[codes].tolist()
            values = None
            if fieldobj.column_type and reader.has_column(fieldname):
                col = reader.column_reader(fieldname, fieldobj.column_type)
                if isinstance(col, TranslatingColumnReader):
                    col = col.raw_column()
                values = raw_values(col, reader.doc_count_all())
                if values is None:
                    values = col  # another kind of column: read value by value
            plan.append((fieldname, fieldobj, lengths, values))
        return plan

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """A segment being merged in: its tables are renumbered as arrays, its other
        postings go through Whoosh's pool as usual."""
        tables = tables_of(reader)
        if not tables:
            return super().add_postings_to_pool(reader, startdoc, docmap)
        n = reader.doc_count_all()
        if docmap is None:
            newnums = np.arange(startdoc, startdoc + n, dtype=np.int64)
        else:
            newnums = np.full(n, -1, dtype=np.int64)
            for old, new in docmap.items():
                newnums[old] = new
        # The tables are read when the merged segment is written, after this reader is
        # closed: they get a file of their own, open until then.
        own = postings_tables.SegmentTables.open(
            reader._storage, reader._segment.make_filename(postings_tables.EXT))
        self.fieldwriter.opened.append(own)
        for fieldname, table in own.fields.items():
            if fieldname in self.schema:
                self.fieldwriter.builder(fieldname, self.schema[fieldname]).add_table(
                    table, newnums)
        faults.crash_point("merge:tables")
        add_post = self.pool.add
        for fieldname, btext in reader._terms.w3.terms():
            if fieldname not in self.schema:
                continue
            m = reader.postings(fieldname, btext)
            while m.is_active():
                old = m.id()
                new = docmap[old] if docmap is not None else startdoc + old
                add_post((fieldname, btext, new, m.weight(), m.value()))
                m.next()


class _TablesTask(SubWriterTask):
    """Whoosh's multiprocessing sub-writer, writing its segment with `TablesWriter`.
    Whoosh's task builds its writer from the module-level name ``SegmentWriter``; the
    task runs in its own forked process, so rebinding that name there affects no one
    else."""

    def run(self):
        multiproc.SegmentWriter = TablesWriter
        super().run()


class TablesMpWriter(MpWriter, TablesWriter):
    """Whoosh's MpWriter (documents analysed and written as separate segments by worker
    processes) whose workers, and whose own merges, are `TablesWriter`s."""

    def __init__(self, ix, procs: int, **kwargs):
        # MpWriter calls SegmentWriter.__init__ directly: give it TablesWriter's codec
        # here; the arguments are also the workers' writer arguments.
        kwargs.setdefault("codec", GongkaiCodec())
        super().__init__(ix, procs=procs, **kwargs)

    def _new_task(self):
        task = _TablesTask(self.storage, self.indexname, self.jobqueue, self.resultqueue,
                           self.subargs, self.multisegment)
        self.tasks.append(task)
        task.start()
        return task

    # Whoosh's MpWriter assumes its workers live: it blocks on a full job queue for ever
    # when they are gone, takes a missing result for an empty one (committing without
    # that worker's documents), and its cancel() only sets a flag in this process's copy
    # of each task. These overrides check on the workers while waiting.

    def _check_workers(self) -> None:
        for task in self.tasks:
            if task.exitcode not in (None, 0):
                raise worker_died(f"an indexing worker process (pid {task.pid})",
                                  task.exitcode)

    def _put(self, job) -> None:
        while True:
            try:
                self.jobqueue.put(job, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                self._check_workers()

    def _enqueue(self):
        # Whoosh's, with the job handed over through _put.
        import pickle

        from whoosh.util import random_name

        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as f:
            for item in self.docbuffer:
                pickle.dump(item, f, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((filename, len(self.docbuffer)))
        self.docbuffer = []

    def _results(self) -> list:
        """One (runname, fieldnames, segment) per worker, or WorkerDied."""
        results = []
        while len(results) < len(self.tasks):
            try:
                results.append(self.resultqueue.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                self._check_workers()
                if all(task.exitcode == 0 for task in self.tasks):
                    # Every worker put its result before exiting: anything missing now
                    # is already in the pipe, or lost.
                    try:
                        results.append(self.resultqueue.get(timeout=5))
                    except queue.Empty:
                        raise worker_died("an indexing worker process", None) from None
        return results

    def _commit(self, mergetype, optimize, merge):
        if not self.multisegment:  # not used by Gongkai: Whoosh's own
            return super()._commit(mergetype, optimize, merge)
        # Whoosh's multisegment commit, with the workers watched (see above).
        if self.docbuffer:
            self._enqueue()
        for _task in self.tasks:
            self._put(None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        results = self._results()
        for task in self.tasks:
            task.join()
        finalsegments += [segment for _run, _fields, segment in results]
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self):
        try:
            for task in self.tasks:
                if task.is_alive():
                    task.terminate()
            for task in self.tasks:
                task.join()
        finally:
            SegmentWriter.cancel(self)
