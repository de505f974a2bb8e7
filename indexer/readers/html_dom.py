"""Small DOM helpers shared by the HTML page readers: text with line breaks at block
boundaries, link density, simple CSS selectors matched in one pass, meta tags."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

BLOCK_TAGS = frozenset((
    "p", "div", "br", "tr", "td", "th", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "ul", "ol", "dl", "section", "article", "blockquote", "pre", "hr", "center",
    "form", "header", "footer", "aside", "main", "figure", "figcaption", "caption", "tbody",
    "thead", "address", "nav",
))
SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u200b\ufeff]+")


def plain(el: Tag) -> str:
    return SPACES.sub(" ", el.get_text(" ", strip=True)).strip()


def text_lines(el: Tag) -> list[str]:
    """Text of *el* with a line break at every block boundary (paragraphs, cells, <br>)."""
    parts: list[str] = []
    for node in el.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, Comment):
                parts.append(str(node).replace("\n", " "))
        elif isinstance(node, Tag) and node.name in BLOCK_TAGS:
            parts.append("\n")
            # A block's end is found lazily: a break before the next block is enough,
            # because consecutive breaks collapse below.
    text = "".join(parts)
    out = []
    for line in text.split("\n"):
        line = SPACES.sub(" ", line).strip()
        if line:
            out.append(line)
    return out


def link_density(el: Tag) -> float:
    text = len(plain(el)) or 1
    links = sum(len(plain(a)) for a in el.find_all("a"))
    return links / text


def inside(el: Tag, container: Tag) -> bool:
    return any(p is container for p in el.parents)


# --- selectors --------------------------------------------------------------------------

def _parse_selector(sel: str) -> tuple[str, str, frozenset[str]]:
    """(tag, id, classes) of a simple selector: "tag", "#id", ".a", ".a.b", "tag.a"."""
    m = re.fullmatch(r"([a-z0-9]*)(?:#([\w-]+))?((?:\.[\w-]+)*)", sel, re.I)
    if not m:
        raise ValueError(f"unsupported selector {sel!r}")
    classes = frozenset(c for c in m.group(3).split(".") if c)
    return m.group(1).lower(), m.group(2) or "", classes


def select_all(root: Tag, sels: tuple[str, ...]) -> dict[str, list[Tag]]:
    """Elements matching each simple selector, in document order, in one pass over the tree.
    (soupsieve's select() walks the tree once per selector: seconds on a 400 KB portal page.)"""
    parsed = [(sel, *_parse_selector(sel)) for sel in sels]
    out: dict[str, list[Tag]] = {sel: [] for sel in sels}
    for el in root.find_all(True):
        el_id = el.get("id") or ""
        el_classes = el.get("class") or ()
        for sel, tag, id_, classes in parsed:
            if ((not tag or el.name == tag) and (not id_ or el_id == id_)
                    and (not classes or classes.issubset(el_classes))):
                out[sel].append(el)
    return out



def meta_content(soup: BeautifulSoup, names: tuple[str, ...]) -> str:
    for name in names:
        meta = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if meta and (meta.get("content") or "").strip():
            return SPACES.sub(" ", meta["content"]).strip()
    return ""


def within_first_chars(el: Tag, container: Tag, limit: int) -> bool:
    """True when *el* comes inside *container* with at most *limit* characters of text
    before it (the heading or metadata line at the top of a content area)."""
    before = 0
    for node in container.descendants:
        if node is el:
            return True
        if isinstance(node, NavigableString):
            before += len(node.strip())
            if before > limit:
                return False
    return False
