"""Chinese analysis: normalisation (`normalize`: full-width forms, traditional to
simplified, 〇), word segmentation with rjieba and our dictionary (`segment`), and the
Whoosh tokenizers and analyzers built on them (`analysis`: words with sub-words for plain
queries, overlapping character bigrams for exact phrases)."""
