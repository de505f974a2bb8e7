"""The document's heading on a web page: which element, and its text.

Evidence, strongest first: the heading that equals the page's <title> or the CMS's
ArticleTitle meta (or contains it, or is contained in it); else the element that looks
most like a document heading, scored on several signals at once (see `_scored_heading`)
because no single one holds on every portal: a page stored without <title>, or with the
column's name there, still has a heading above its text that names a kind of document.
Banners and credit lines above the heading are passed over (`find_title`)."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from indexer.fields import DOC_NO_RE, doc_type_from_title, looks_like_agency
from indexer.readers import selectors as S
from indexer.readers.html_dom import (
    inside,
    link_density,
    meta_content,
    plain,
    select_all,
    within_first_chars,
)
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
    if el is not None and without_spaces(text).startswith("关于"):
        # A heading set as two lines of the same kind, the issuer's name above "关于…的通知"
        # (the red-headed layout): the title is both lines.
        prev = el.find_previous_sibling()
        issuer = without_spaces(plain(prev)) if prev is not None and prev.name == el.name else ""
        if 4 <= len(issuer) <= 40 and looks_like_agency(issuer) and prev.find("a") is None:
            return el, issuer + without_spaces(text)
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
    document's.  Without a match, the line near the text with the most evidence of being
    a heading, else the last heading element before the content area."""
    meta_title = meta_content(soup, S.TITLE_META[:2])
    ref = without_spaces(meta_title or page_title)
    all_els = soup.find_all(True)
    order = {id(el): i for i, el in enumerate(all_els)}
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
    # No heading agrees with <title>: weigh the evidence of each line near the text.
    scored, points = _scored_heading(all_els, order, content, content_at, ref)
    nearest_points = _evidence(nearest, content, ref) if nearest is not None else None
    if scored is not None and (nearest_points is None or points > nearest_points):
        return scored, title_text(scored)
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




# --- a heading found by its evidence ------------------------------------------------------

# How far before the content area (in elements) a heading is looked for, and how much text
# of the content area may precede one that sits inside it (its first line).
_WINDOW = 400
_INSIDE_HEAD_CHARS = 80
_HEADING_CLASS = re.compile(r"title|^tit|tit$|^bt|bt$|biaoti|headline|heading", re.I)
_EMPHASIS_STYLE = re.compile(r"font-size\s*:\s*(?:1[6-9]|[2-9]\d)(?:\.\d+)?px|text-align\s*:\s*center"
                             r"|font-weight\s*:\s*(?:bold|[6-9]00)", re.I)
_NOT_A_HEADING_END = ("。", "；", ";", "，", ",", "：", ":", "、", "？", "?")
# An item of a list ("一、", "（二）", "3.") is a section heading inside a text, not its title.
_ENUMERATED = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．])")
# Below this many points a line is not taken for the heading on its evidence alone.
_MIN_EVIDENCE = 2


def _scored_heading(all_els: list[Tag], order: dict[int, int], content: Tag,
                    content_at: int, ref: str) -> tuple[Tag | None, int]:
    """The element near the content area with the most evidence of being its heading,
    and its points."""
    best, best_key = None, None
    for el in all_els[max(0, content_at - _WINDOW):content_at + _WINDOW // 4]:
        if el.name not in _CANDIDATE_TAGS:
            continue
        points = _evidence(el, content, ref)
        if points is None or points < _MIN_EVIDENCE:
            continue
        # Among equals, the longer of two lines that both agree with <title> (a heading
        # split over lines: the agency's line, then the rest), else the nearer one.
        n = without_spaces(title_text(el))
        agrees = len(n) if len(n) >= 8 and ref and (n in ref or ref in n) else 0
        key = (points, agrees, -abs(order.get(id(el), 0) - content_at))
        if best_key is None or key > best_key:
            best, best_key = el, key
    return best, best_key[0] if best_key else 0


_CANDIDATE_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "td", "span",
                             "strong", "b", "font", "center"))


def _evidence(el: Tag, content: Tag, ref: str) -> int | None:
    """Points for *el* being the document's heading, None when it cannot be one.

    Points for: being part of the page's <title> or ArticleTitle (*ref*, 3); naming a kind of document (…的通知, …办法: 3), "关于" or
    a 《》 title (1), a heading tag or a title class on it or on a wrapper around the same
    text (2), emphasis (bold, centred, large: 1); a banner, a site's or an agency's name
    alone, loses 4. A link, a label line ("发布时间：…"), a sentence, or text deep in
    the body is no heading at all."""
    text = title_text(el)
    n = without_spaces(text)
    if not 6 <= len(n) <= 150 or n.endswith(_NOT_A_HEADING_END) or "。" in n:
        return None
    if _ENUMERATED.match(n) or DOC_NO_RE.fullmatch(n):
        return None
    if el.name == "a" or el.find("a") is not None or el.find_parent("a") is not None:
        return None
    if any(ch.name not in ("br", "span", "font", "strong", "b", "em", "i")
           and without_spaces(plain(ch)) == n for ch in el.find_all(True, recursive=False)):
        return None  # the same text in a child: the innermost element is the candidate
    found = parse_labels([text])
    if found and (len(found) >= 2 or starts_with_label(found, text)):
        return None  # a label line, or a metadata block read as one line
    if n.startswith(("附件", "相关")):
        return None
    if el is not content and _inside_after_start(el, content):
        return None
    points = 3 if len(n) >= 8 and ref and (n in ref or ref in n) else 0
    if doc_type_from_title(text):
        points += 3
    if "关于" in n or "《" in n:
        points += 1
    wrappers = [el] + _same_text_wrappers(el, 3)
    if any(w.name in _HEADINGS or _HEADING_CLASS.search(" ".join(w.get("class") or ())
                                                       + " " + (w.get("id") or ""))
           for w in wrappers):
        points += 2
    if any(w.name in ("strong", "b", "center") or w.get("align") == "center"
           or _EMPHASIS_STYLE.search(w.get("style") or "")
           or w.find(["strong", "b"]) is not None for w in wrappers):
        points += 1
    if is_banner(text):
        points -= 4
    return points


def _same_text_wrappers(el: Tag, most: int) -> list[Tag]:
    """The ancestors around *el* that hold no other text (``<div class="title"><h1>…``),
    innermost first. Text only grows upwards, so the first ancestor with a sibling's text
    ends them; siblings are looked at, not the ancestor's whole text (that was a page's
    text per candidate: seconds on a 400 KB list page)."""
    out: list[Tag] = []
    child = el
    for parent in el.parents:
        if len(out) >= most or parent.name in ("body", "html", "[document]"):
            break
        for sib in parent.children:
            if sib is child:
                continue
            if isinstance(sib, NavigableString):
                if not isinstance(sib, Comment) and sib.strip():
                    return out
            elif isinstance(sib, Tag) and sib.find(string=_has_text) is not None:
                return out
        out.append(parent)
        child = parent
    return out


def _has_text(s) -> bool:
    return not isinstance(s, Comment) and bool(s.strip())


def _inside_after_start(el: Tag, content: Tag) -> bool:
    """True when *el* is inside the content area after its first line or so."""
    return inside(el, content) and not within_first_chars(el, content, _INSIDE_HEAD_CHARS)
