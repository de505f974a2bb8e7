"""Snippets and highlighting without re-analysing whole documents.

`normalize` keeps the length of a text, so the query's match strings (normalised words
and phrases) are looked for in ``normalize(stored text)`` and the offsets found are
offsets in the stored text. Spaces inside a match are allowed, as the exact-phrase
search ignores them. A short query word (民政) counts only where it is a word (not
inside 人民政府): the few characters around such a match are segmented again, and a
snippet checks only the matches of the fragments it shows. Markup is built from escaped
pieces only: the result is HTML-safe.
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


WORD_MARGIN = 8  # characters of context each side when a match is segmented again


def _words_among(norm: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of *found* (ascending) that are words (or indexed sub-words) where they
    stand, judged by segmenting a few characters around them: the 民政 inside 人民政府
    is not. Matches whose contexts overlap are segmented as one stretch (about 0.75 µs
    a character), so a text is segmented at most once, however many matches it has."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(found):
        j = i + 1
        while j < len(found) and found[j][0] - found[j - 1][1] <= 2 * WORD_MARGIN:
            j += 1
        a = max(0, found[i][0] - WORD_MARGIN)
        b = found[j - 1][1] + WORD_MARGIN
        seen = {(a + ws, a + we) for _, _, ws, we in words(norm[a:b], "index")}
        out.extend(sp for sp in found[i:j] if sp in seen)
        i = j
    return out


def _matches(norm: str, rx: re.Pattern, check: set[str]):
    """(every match of *rx* in *norm*, the set of those that must be words)."""
    found, doubtful = [], set()
    for m in rx.finditer(norm):
        s, e = m.start(), m.end()
        if e <= s:
            continue
        found.append((s, e))
        if m.group(0) in check:
            doubtful.add((s, e))
    return found, doubtful


def _verified(norm: str, found: list[tuple[int, int]], doubtful: set) -> list[tuple[int, int]]:
    """*found* without its doubtful matches that are not words."""
    if not doubtful.intersection(found):
        return found
    kept = set(_words_among(norm, [sp for sp in found if sp in doubtful]))
    return [sp for sp in found if sp not in doubtful or sp in kept]


def spans(text: str, rx: re.Pattern | None, whole_words: Iterable[str] = (),
          norm: str | None = None) -> list[tuple[int, int]]:
    """Matches of *rx* in the normalised *text*; a match equal to one of *whole_words*
    counts only where the segmenter makes it a word. *norm*: ``normalize(text)``, if
    the caller has it."""
    if not rx or not text:
        return []
    if norm is None:
        norm = normalize(text)
    found, doubtful = _matches(norm, rx, set(whole_words))
    return _verified(norm, found, doubtful)


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


def highlight(text: str, rx: re.Pattern | None, whole_words: Iterable[str] = ()) -> str:
    """The whole of *text*, escaped, every match marked (titles, document pages)."""
    return mark(text, spans(text, rx, whole_words))


def _flat(s: str) -> str:
    # Also used on escaped markup: tags hold no whitespace, so collapsing it is safe.
    return " ".join(s.split())


def _fragments(found: list[tuple[int, int]], fragment_chars: int) -> list[list]:
    """Matches grouped into windows; a window ends when the next match is too far away."""
    frags: list[list[tuple[int, int]]] = []
    for sp in found:
        if frags and sp[1] - frags[-1][0][0] <= fragment_chars:
            frags[-1].append(sp)
        else:
            frags.append([sp])
    return frags


def snippet(body: str, rx: re.Pattern | None, max_fragments: int = MAX_FRAGMENTS,
            fragment_chars: int = FRAGMENT_CHARS,
            whole_words: Iterable[str] = ()) -> tuple[str, str]:
    """(html, plain text) of 1–3 fragments of *body* around its matches."""
    if not body:
        return "", ""
    norm = normalize(body) if rx else ""
    found, doubtful = _matches(norm, rx, set(whole_words)) if rx else ([], set())

    def score(group):
        distinct = {"".join(norm[s:e].split()) for s, e in group}
        return (len(distinct), len(group), -group[0][0])

    # Only the fragments shown need their doubtful matches checked: the best windows
    # are checked, and chosen again, until the best ones are all checked (a check only
    # removes matches, so an unchecked window never scores below what it will).
    frags = [(False, g) for g in _fragments(found, fragment_chars)]
    while True:
        frags.sort(key=lambda f: score(f[1]), reverse=True)
        todo = [i for i, (done, _) in enumerate(frags[:max_fragments]) if not done]
        if not todo:
            break
        for i in todo:
            frags[i] = (True, _verified(norm, frags[i][1], doubtful))
        frags = [f for f in frags if f[1]]
    best = [g for _, g in frags[:max_fragments]]
    if not best:
        cut = body[:LEAD_CHARS]
        tail = ELLIPSIS if len(body) > LEAD_CHARS else ""
        return html.escape(_flat(cut)) + tail, _flat(cut) + tail
    ctx = fragment_chars // 2
    best = sorted(best, key=lambda g: g[0][0])
    html_parts, text_parts = [], []
    for group in best:
        a = max(0, group[0][0] - ctx // 2)
        b = min(len(body), max(group[-1][1], a + fragment_chars) + ctx // 2)
        pre = ELLIPSIS if a > 0 else ""
        post = ELLIPSIS if b < len(body) else ""
        html_parts.append(pre + _flat(mark(body, group, a, b)) + post)
        text_parts.append(pre + _flat(body[a:b]) + post)
    return " ".join(html_parts), " ".join(text_parts)


def marked_document(d: dict, q: str = "") -> dict:
    """A stored document (`stored_to_dict` shape) with ``body_html`` and ``title_html``:
    the matches of query *q* marked (nothing marked for an empty or invalid query), for
    the document page of every backend."""
    from search_app.search.query_compile import compile_query
    from search_app.search.types import QueryError

    rx, whole = None, set()
    if q:
        try:
            comp = compile_query(q)
            rx, whole = match_regex(comp.marks), comp.word_marks
        except QueryError:
            rx = None
    d["body_html"] = highlight(d["body"], rx, whole)
    d["title_html"] = highlight(d["title"], rx, whole)
    return d
