"""The query language (the public names in one place).

- `query_parser`: text → tokens → AST (`parse`, `parse_year`; no Whoosh);
- `query_compile`: AST → Whoosh query (`compile_query` → `Compiled`).
"""

from __future__ import annotations

from search_app.search.query_compile import (
    DOC_NO_BONUS,
    EXACT_TITLE_BONUS,
    PHRASE_BONUS,
    STOP_CHARS,
    TITLE_ALL_BONUS,
    Compiled,
    combine,
    compile_query,
    exact_phrase,
    word_query,
    year_query,
)
from search_app.search.query_parser import (
    FIELD_NAMES,
    MAX_DEPTH,
    QUOTES,
    And,
    FieldValue,
    Not,
    Or,
    Phrase,
    Text,
    Tok,
    parse,
    parse_year,
    tokenize,
)

__all__ = [
    "DOC_NO_BONUS", "EXACT_TITLE_BONUS", "FIELD_NAMES", "MAX_DEPTH", "PHRASE_BONUS",
    "QUOTES", "STOP_CHARS", "TITLE_ALL_BONUS", "And", "Compiled", "FieldValue", "Not", "Or",
    "Phrase", "Text", "Tok", "combine", "compile_query", "exact_phrase", "parse",
    "parse_year", "tokenize", "word_query", "year_query",
]
