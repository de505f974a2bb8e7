"""Gongkai indexer: parsing pages into records, Chinese analysis, the index schema and
index building. This package owns the index format; ``search_app`` reads it."""
