"""Snippets and highlighting without re-analysing documents.

`normalize` keeps the length of a text, so the query's match strings (normalised words
and phrases) are looked for in ``normalize(stored text)`` and the offsets found are
offsets in the stored text. Spaces inside a match are allowed, as the exact-phrase
search ignores them. Markup is built from escaped pieces only: the result is HTML-safe.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from indexer.chinese.analysis import words
from indexer.chinese.normalize import normalize

FRAGMENT_CHARS = 90  # context around a fragment's matches, both sides together
MAX_FRAGMENTS = 3
LEAD_CHARS = 160  # a snippet with no match: the start of the body
ELLIPSIS = "…"


def match_regex(marks: Iterable[str]) -> re.Pattern | None:
    """One alternation of the match strings, longest first, spaces allowed between
    their characters."""
    alts = []
    for m in sorted({"".join(m.split()) for m in marks if m and m.strip()},
                    key=lambda s: (-len(s), s)):
        alts.append(r"\s*".join(re.escape(ch) for ch in m))
    if not alts:
        return None
    return re.compile("|".join(alts))


def _is_word_at(norm: str, s: int, e: int) -> bool:
    """True when norm[s:e] is a word (or an indexed sub-word) where it stands, judged
    from a few characters around it: the 民政 inside 人民政府 is not."""
    a = max(0, s - 8)
    return any(a + ws == s and a + we == e for _, _, ws, we in words(norm[a:e + 8], "index"))


def spans(text: str, rx: re.Pattern | None, whole_words: Iterable[str] = (),
          word_spans: set[tuple[int, int]] | None = None,
          norm: str | None = None) -> list[tuple[int, int]]:
    """Matches of *rx* in the normalised *text*; a match equal to one of *whole_words*
    counts only where the segmenter makes it a word: where it is one of *word_spans*
    (the indexed words' stored character offsets) when given, else by segmenting
    around it again (jieba on a few characters: about a millisecond per match).
    *norm*: ``normalize(text)``, if the caller has it."""
    if not rx or not text:
        return []
    if norm is None:
        norm = normalize(text)
    check = set(whole_words)
    out = []
    for m in rx.finditer(norm):
        s, e = m.start(), m.end()
        if e <= s:
            continue
        if check and m.group(0) in check:
            if word_spans is not None:
                if (s, e) not in word_spans:
                    continue
            elif not _is_word_at(norm, s, e):
                continue
        out.append((s, e))
    return out


def mark(text: str, found: list[tuple[int, int]], start: int = 0, end: int | None = None,
         tag: str = "mark") -> str:
    """Escaped ``text[start:end]`` with the spans inside it wrapped in <tag>."""
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in found:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        out.append(f"<{tag}>{html.escape(text[s:e])}</{tag}>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def highlight(text: str, rx: re.Pattern | None, whole_words: Iterable[str] = (),
              word_spans: set[tuple[int, int]] | None = None) -> str:
    """The whole of *text*, escaped, every match marked (titles, document pages)."""
    return mark(text, spans(text, rx, whole_words, word_spans))


def _flat(s: str) -> str:
    # Also used on escaped markup: tags hold no whitespace, so collapsing it is safe.
    return " ".join(s.split())


def snippet(body: str, rx: re.Pattern | None, max_fragments: int = MAX_FRAGMENTS,
            fragment_chars: int = FRAGMENT_CHARS, whole_words: Iterable[str] = (),
            word_spans: set[tuple[int, int]] | None = None) -> tuple[str, str]:
    """(html, plain text) of 1–3 fragments of *body* around its matches."""
    if not body:
        return "", ""
    norm = normalize(body) if rx else ""
    found = spans(body, rx, whole_words, word_spans, norm)
    if not found:
        cut = body[:LEAD_CHARS]
        tail = ELLIPSIS if len(body) > LEAD_CHARS else ""
        return html.escape(_flat(cut)) + tail, _flat(cut) + tail
    ctx = fragment_chars // 2
    # Group matches into windows; a window ends when the next match is too far away.
    frags: list[list[tuple[int, int]]] = []
    for sp in found:
        if frags and sp[1] - frags[-1][0][0] <= fragment_chars:
            frags[-1].append(sp)
        else:
            frags.append([sp])

    def score(group):
        distinct = {"".join(norm[s:e].split()) for s, e in group}
        return (len(distinct), len(group), -group[0][0])

    best = sorted(sorted(frags, key=score, reverse=True)[:max_fragments],
                  key=lambda g: g[0][0])
    html_parts, text_parts = [], []
    for group in best:
        a = max(0, group[0][0] - ctx // 2)
        b = min(len(body), max(group[-1][1], a + fragment_chars) + ctx // 2)
        pre = ELLIPSIS if a > 0 else ""
        post = ELLIPSIS if b < len(body) else ""
        html_parts.append(pre + _flat(mark(body, group, a, b)) + post)
        text_parts.append(pre + _flat(body[a:b]) + post)
    return " ".join(html_parts), " ".join(text_parts)
