"""The content area of a web page and its cleaning: which block holds the document's
text (content selectors, else the densest block of paragraphs; hidden blocks and the
footer's credits only when nothing else has text), and which of its lines are furniture."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

from indexer.fields import looks_like_agency
from indexer.readers import selectors as S
from indexer.readers.html_dom import inside, link_density, plain, select_all, text_lines
from indexer.readers.text_page import is_boilerplate_line, is_footer_line, without_spaces

# Below this much visible text a page cannot be a document.
MIN_TEXT = 40
# A content candidate whose text is mostly link text is a list of links, not an article.
MAX_LINK_DENSITY = 0.5


# --- content area -----------------------------------------------------------------------

def find_content(soup: BeautifulSoup) -> Tag | None:
    matches = select_all(soup, S.CONTENT_SELECTORS)
    for sel in S.CONTENT_SELECTORS:
        for el in matches[sel]:
            if len(plain(el)) >= MIN_TEXT and link_density(el) < MAX_LINK_DENSITY:
                el = _joined_parts(el, matches[sel])
                # A wrapper selector (".content") may hold the whole page: use the densest
                # block inside it instead when that block carries most of the text.
                inner = _densest_block(el)
                if inner is not None and len(plain(inner)) >= 0.6 * len(plain(el)):
                    return inner if _contains_paragraphs(inner) else el
                return el
    block = _densest_block(soup.body or soup)
    # A "densest block" that is mostly links is a menu or a list, not an article.
    if block is not None and link_density(block) >= MAX_LINK_DENSITY:
        return None
    return block


# How far above the first part the element holding a split document's parts may be.
_SPLIT_MAX_UP = 3


def _joined_parts(first: Tag, matches: list[Tag]) -> Tag:
    """A document split into several blocks of the same kind (a 问答 page whose every
    answer is its own content block, under its question): the nearest element above the
    first block that holds several of them and little else (their text at least 60% of
    its own, and more than the first block's by half), else the first block."""
    top = first
    for _ in range(_SPLIT_MAX_UP):
        if top.parent is None:
            break
        top = top.parent
    # Only blocks near the first are candidates (the text of far ones is never needed).
    near = [m for m in matches if m is not first and inside(m, top) and not inside(m, first)
            and not inside(first, m)]
    parts = [m for m in near if len(plain(m)) >= MIN_TEXT]
    if not parts:
        return first
    own = len(plain(first))
    holder = first
    for _ in range(_SPLIT_MAX_UP):
        holder = holder.parent
        if holder is None or holder.name in ("body", "html", "[document]"):
            return first
        held = [p for p in parts if inside(p, holder)]
        if not held:
            continue
        text = own + sum(len(plain(p)) for p in held)
        if text >= 0.6 * len(plain(holder)) and text >= 1.5 * own:
            return holder
    return first


def _contains_paragraphs(el: Tag) -> bool:
    return bool(el.find(["p", "br", "div"]))


def _densest_block(root: Tag) -> Tag | None:
    """The block whose own paragraphs hold the most non-link text (readability's idea).
    Blocks the page hides (a login notice in a pop-up, a second copy for another view)
    and the footer's small blocks are passed over while another one has text."""
    hidden = _hidden(root)
    best, best_score, best_hidden, best_hidden_score = None, 0, None, 0
    for el in root.find_all(["div", "td", "article", "section", "main"]):
        score = 0
        for child in el.children:
            if isinstance(child, NavigableString):
                score += len(child.strip())
            elif isinstance(child, Tag) and child.name in ("p", "span", "font", "br", "strong",
                                                            "b", "section", "center", "h3",
                                                            "h4", "table"):
                if child.name == "table":
                    score += len(plain(child)) // 2
                else:
                    score += len(plain(child)) - sum(len(plain(a)) for a in child.find_all("a"))
        if score <= best_score and score <= best_hidden_score:
            continue  # no better than either best so far: nothing to decide
        if id(el) in hidden or (score < _FOOTER_BLOCK_MAX and _is_footer(el)):
            if score > best_hidden_score:
                best_hidden, best_hidden_score = el, score
        elif score > best_score:
            best, best_score = el, score
    if best is None or best_score < MIN_TEXT:
        best, best_score = best_hidden, best_hidden_score
    if best is None or best_score < MIN_TEXT:
        return None
    return best


# A small block that carries the site's credits (主办单位, 版权所有, ICP备) is the footer.
_FOOTER_BLOCK_MAX = 600


def _is_footer(el: Tag) -> bool:
    return any(is_footer_line(ln) for ln in text_lines(el))


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _hidden(root: Tag) -> set[int]:
    """ids of the elements an inline style or the hidden attribute hides, and of all inside them."""
    out: set[int] = set()
    for el in root.find_all(True):
        if id(el) in out:
            continue
        if el.has_attr("hidden") or _HIDDEN_STYLE.search(el.get("style") or ""):
            out.add(id(el))
            out.update(id(d) for d in el.find_all(True))
    return out


# --- body cleanup -----------------------------------------------------------------------

def strip_boilerplate(content: Tag) -> None:
    for tag in content.find_all(list(S.BOILERPLATE_TAGS)):
        if not tag.decomposed:
            tag.decompose()
    matches = select_all(content, S.BOILERPLATE_SELECTORS)
    for sel in S.BOILERPLATE_SELECTORS:
        for el in matches[sel]:
            # A class such as "top" or "print" on a wrapper of real text is not furniture.
            if not el.decomposed and len(plain(el)) < 300:
                el.decompose()


_BODY_END = re.compile(S.BODY_END_PATTERN)


def clean_lines(lines: list[str], title: str) -> list[str]:
    out = []
    for ln in lines:
        if out and _BODY_END.match(ln):
            break  # related links to other pages follow
        if not is_boilerplate_line(ln):
            out.append(ln)
    t = without_spaces(title)
    while out and t and without_spaces(out[0]) == t:
        out.pop(0)
    # The issuer's line of a heading set as two lines ("XX县人民政府" / "关于…"), when
    # only the second was the heading element.
    if out and len(out[0]) < len(t) and t.startswith(without_spaces(out[0])) \
            and looks_like_agency(without_spaces(out[0])):
        out.pop(0)
    # A heading split over two or three lines (<br> inside it) repeats the title too.
    for n in (2, 3):
        if t and len(out) > n and without_spaces("".join(out[:n])) == t:
            del out[:n]
            break
    return out


