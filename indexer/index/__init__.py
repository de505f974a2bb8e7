"""The index format: what is written to disk and read back.

The Whoosh schema (`schema`), the index directory and its generations (`store`), the
writer and its processes (`writer`, `pipeline`, `segment_writer`, `workers`), the codec
(`codec`) with our postings tables (`postings_tables`, written by
`postings_tables_build`, packed by `packed_table` and `packing`), the per-segment facet
columns (`columns`), the postings format of the stored fields (`postings`), and the named
crash points the writer passes (`faults`). Whoosh pickles the schema and the codec into
each index: keep these module and class names stable."""
