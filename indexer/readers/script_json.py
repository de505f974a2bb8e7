"""An article kept in a script's JSON object rather than in the page's markup.

Several CMSs (consultation pages, 意见征集; single-page portals) ship an empty shell and
a script that renders the article from an inline object: ``var articleData = {"title":
"…", "content": "<p>…</p>", "publishTime": "…"}`` or ``JSON.parse('…')``. Such a page
is a document. The object is recognised by its shape, not by its site: a mapping with a
title-like key holding a short Chinese line and a content-like key holding a long text,
anywhere inside the object (lists of one article included)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup

_TITLE_KEYS = ("title", "articletitle", "doctitle", "subject", "name", "biaoti", "wjmc", "mc")
_CONTENT_KEYS = ("content", "articlecontent", "htmlcontent", "body", "text", "zhengwen",
                 "doccontent", "contenthtml", "detail", "nr")
_DATE_KEYS = ("publishtime", "pubdate", "publishdate", "releasetime", "createtime", "fbsj",
              "date", "time")
_SOURCE_KEYS = ("source", "publisher", "deptname", "fbjg", "unitname", "author")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Where an object literal may start: after "=", "(" or ":" (an assignment, a call, a field).
_OBJECT_START = re.compile(r"(?:=|\(|:)\s*(\{)")
_JSON_PARSE = re.compile(r"JSON\.parse\(\s*(['\"])((?:\\.|(?!\1).)*)\1\s*\)", re.S)
_MIN_CONTENT_CHARS = 100  # of Chinese text, after markup is removed
_MAX_SCRIPT_CHARS = 3_000_000
_MAX_OBJECTS = 50


@dataclass
class ScriptArticle:
    title: str
    html: str  # the content as markup (plain text is escaped into paragraphs)
    date: str
    source: str


def find_script_article(scripts: list[str]) -> ScriptArticle | None:
    """The longest article found in the pages' scripts, or None."""
    best: ScriptArticle | None = None
    best_len = 0
    for code in scripts:
        if len(code) > _MAX_SCRIPT_CHARS or not (_CJK.search(code) or "\\u" in code):
            continue  # no Chinese text, not even escaped
        for obj in _objects(code):
            for art in _articles(obj, 0):
                n = len(_CJK.findall(_text_of(art.html)))
                if n >= _MIN_CONTENT_CHARS and n > best_len:
                    best, best_len = art, n
    return best


def _objects(code: str):
    decoder = json.JSONDecoder()
    seen = 0
    for m in _OBJECT_START.finditer(code):
        if seen >= _MAX_OBJECTS:
            return
        try:
            obj, _ = decoder.raw_decode(code, m.start(1))
        except ValueError:
            continue
        seen += 1
        yield obj
    for m in _JSON_PARSE.finditer(code):
        raw = m.group(2)
        try:
            text = json.loads(f'"{raw}"') if m.group(1) == '"' else raw.encode().decode(
                "unicode_escape").encode("latin-1").decode("utf-8")
            yield json.loads(text)
        except (ValueError, UnicodeError):
            continue


def _articles(obj, depth: int):
    if depth > 6:
        return
    if isinstance(obj, list):
        for item in obj[:20]:
            yield from _articles(item, depth + 1)
        return
    if not isinstance(obj, dict):
        return
    keys = {str(k).lower().replace("_", ""): v for k, v in obj.items()}
    title = _first_str(keys, _TITLE_KEYS)
    content = _first_str(keys, _CONTENT_KEYS)
    if title and content and 4 <= len(title) <= 200 and _CJK.search(title):
        yield ScriptArticle(title=title.strip(), html=_as_html(content),
                            date=_first_str(keys, _DATE_KEYS),
                            source=_first_str(keys, _SOURCE_KEYS))
    for v in obj.values():
        if isinstance(v, dict | list):
            yield from _articles(v, depth + 1)


def _first_str(keys: dict, names: tuple[str, ...]) -> str:
    for name in names:
        v = keys.get(name)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _as_html(content: str) -> str:
    if "<" in content and ">" in content:
        return content
    from html import escape

    return "".join(f"<p>{escape(line)}</p>" for line in content.splitlines() if line.strip())


def _text_of(html: str) -> str:
    return BeautifulSoup(html, "lxml").get_text(" ", strip=True)
