"""The document's heading on a web page: which element, and its text.

Evidence, strongest first: the heading that equals the page's <title> or the CMS's
ArticleTitle meta (or contains it, or is contained in it); else the element that looks
most like a document heading, scored on several signals at once (see `_scored_heading`)
because no single one holds on every portal: a page stored without <title>, or with the
column's name there, still has a heading above its text that names a kind of document.
Banners and credit lines above the heading are passed over (`find_title`)."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from indexer import selectors as S
from indexer.fields import doc_type_from_title, looks_like_agency
from indexer.readers.html_dom import link_density, meta_content, plain, select_all
from indexer.readers.text_page import parse_labels, without_spaces


def starts_with_label(found: list[tuple[str, str]], text: str) -> bool:
    return without_spaces(text).startswith(without_spaces(found[0][0]))


def find_title(soup: BeautifulSoup, content: Tag, page_title: str) -> tuple[Tag | None, str]:
    el, text = _heading(soup, content, page_title)
    if el is not None and is_banner(text):
        # A banner above the heading ("XX市发展和改革委员会行政规范性文件") or a credit
        # line ("来源：XX局"): the document's heading is the next line that names a kind
        # of document.
        for nxt in el.find_all_next(["h1", "h2", "h3", "h4", "p", "div", "strong", "td", "span"],
                                    limit=40):
            cand = title_text(nxt)
            if (6 <= len(without_spaces(cand)) <= 200 and not is_banner(cand)
                    and doc_type_from_title(cand) and nxt.find("a") is None
                    and not cand.endswith(("。", "：", ":"))):
                return nxt, cand
    return el, text


# What a banner says: a site's or a column's name, an agency's name alone, a label line.
_BANNER = re.compile(r"(?:规范性文件|政府文件|部门文件|政策文件|信息公开|政务公开|专栏|专题|文件库|"
                     r"政策法规|文件)$")


def is_banner(text: str) -> bool:
    t = without_spaces(text)
    found = parse_labels([text])
    if found and starts_with_label(found, text):
        return True
    return bool(_BANNER.search(t)) or (looks_like_agency(t) and not doc_type_from_title(t))


def _heading(soup: BeautifulSoup, content: Tag, page_title: str) -> tuple[Tag | None, str]:
    """The document's own heading element and its text.

    The heading is preferred to <title>, which is often cut short or carries the site
    name; the <title> (or the CMS's ArticleTitle meta) tells which heading is the
    document's.  Without a match, the last heading before the content area is taken."""
    meta_title = meta_content(soup, S.TITLE_META[:2])
    ref = without_spaces(meta_title or page_title)
    order = {id(el): i for i, el in enumerate(soup.find_all(True))}
    content_at = order.get(id(content), len(order))
    matches = select_all(soup, S.TITLE_SELECTORS)
    candidates: list[Tag] = [el for sel in S.TITLE_SELECTORS for el in matches[sel]]
    headings = [el for el in candidates if el.find_parent("a") is None]
    candidates = headings + soup.find_all(["strong", "b", "p", "div", "td", "span", "font"],
                                          limit=5000)
    # Rank: the exact reference text; the smallest element containing it (a heading longer
    # than a cut-short <title>); a heading the reference contains (site name around it).
    best, best_rank = None, None
    for el in candidates:
        n = without_spaces(title_text(el))
        if not (4 <= len(n) <= 200) or not ref:
            continue
        if n == ref:
            rank = (0, 0)
        elif len(ref) >= 8 and ref in n and len(n) <= len(ref) + 60:
            rank = (1, len(n))
        elif len(n) >= 8 and n in ref:
            rank = (2, -len(n))
        else:
            continue
        if best_rank is not None and rank >= best_rank:
            continue
        if el.name == "a" or el.find_parent("a") is not None or link_density(el) > 0.5:
            continue  # a menu entry or a link to another page
        if best_rank is None or rank < best_rank:
            best, best_rank = el, rank
    before = [el for el in headings if order.get(id(el), 0) <= content_at + 3
              and 4 <= len(without_spaces(title_text(el))) <= 200 and el.find("a") is None]
    nearest = max(before, key=lambda e: order.get(id(e), 0)) if before else None
    # A non-heading match above the main heading nearest the content is the site's name
    # repeated in <title> (a logo cell), not the document's heading.
    overridden = (best is not None and nearest is not None and best.name not in _HEADINGS
                  and nearest.name in ("h1", "h2")
                  and order.get(id(best), 0) < order.get(id(nearest), 0))
    if best is not None and best_rank[0] < 2 and not overridden:
        return best, title_text(best)
    if nearest is not None:
        return nearest, title_text(nearest)
    if best is not None:
        return best, title_text(best)
    if meta_title:
        return None, meta_title
    return None, page_title


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# A date printed inside the heading element: "标题 ( 2021年07月12日 )".
_TITLE_DATE = re.compile(r"\s*[(（]\s*\d{4}\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}\s*日?\s*[)）]\s*$")


def title_text(el: Tag) -> str:
    return _TITLE_DATE.sub("", plain(el))


