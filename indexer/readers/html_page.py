"""Reader for one crawled government web page (raw HTML bytes) -> `Record` or `Skipped`.

The page templates differ from site to site, so nothing here is per-site: the content
area, title and metadata are found with the data in `indexer.readers.selectors` plus a few
structural rules (label cells, link density, text density).

Skip reasons: ``not-html`` (binary or no markup), ``redirect-stub`` (JS/meta-refresh
redirect with little text), ``error-page`` ("该信息不存在" and similar), ``empty-shell``
(a page whose text is loaded by scripts), ``list-page`` (a section page of links),
``word-html`` (a Word "Save as HTML" file with no text), ``parse-error`` (anything that
made the parser itself fail).  A Word-HTML page that does carry text is read as a
document: what matters to a search engine is the text, not the tool that wrote it.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, Tag

from indexer.agencies import resolve as resolve_agency
from indexer.agencies import site_owner
from indexer.fields import (
    doc_no_value,
    doc_type_from_title,
    parse_date,
    signature,
)
from indexer.readers import Skipped
from indexer.readers import selectors as S
from indexer.readers.encoding import decode_html
from indexer.readers.html_content import MIN_TEXT, clean_lines, find_content, strip_boilerplate
from indexer.readers.html_dom import (
    SPACES,
    inside,
    meta_content,
    plain,
    text_lines,
)
from indexer.readers.html_labels import collect_labels, date_near_title, doc_no_from_head
from indexer.readers.html_title import find_title
from indexer.readers.script_json import find_script_article
from indexer.readers.text_page import (
    closing_date,
    parse_labels,
    pick_fields,
    without_spaces,
)
from indexer.record import Record

_TAG_HINT = re.compile(r"<\s*(?:!doctype|html|head|body|div|p|script|meta|title|table|span|a)\b",
                       re.I)
# An assignment to the page's location (not a read of it, nor "location=yes" in the
# feature string of window.open).
_REDIRECT_JS = re.compile(r"(?:(?:window|document|top|self|parent)\.location(?:\.href)?"
                          r"|^\s*location(?:\.href)?)\s*=(?!=)|location\.replace\s*\(",
                          re.I | re.M)
_DOC_WRITE = re.compile(r"document\.write(?:ln)?\s*\(\s*((?:(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
                        r"|[\w.]+)\s*\+?\s*)+)\)", re.S)
_JS_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.S)
_ATTACH = re.compile(r"\.(?:" + "|".join(S.ATTACHMENT_EXTENSIONS) + r")(?:[?#].*)?$", re.I)
_TITLE_SUFFIX = [re.compile(p) for p in S.TITLE_SUFFIX_PATTERNS]

# A body shorter than this counts as a document only with a date and an article URL:
# shorter "bodies" on section pages are captions, opening hours or a featured link.
_SHORT_BODY = 400
_INDEX_URL = re.compile(r"^[a-z]+://[^/]+(?:/[^?#]*)?/(?:index\.[a-z]+)?(?:[?#].*)?$|^[a-z]+://[^/]+$",
                        re.I)


def parse_html(data: bytes, source: str, url: str = "") -> Record | Skipped:
    """Read one page. Never raises: any failure is reported as Skipped('parse-error')."""
    try:
        return _parse(data, source, url)
    except RecursionError:
        return Skipped(source, "parse-error", "too deeply nested")
    except Exception as exc:  # a reader must not stop a whole indexing run
        return Skipped(source, "parse-error", f"{type(exc).__name__}: {exc}"[:200])


# Disclosure pages are tens to hundreds of KB; the largest real ones in the development
# corpus are under 4 MB. A bigger file is a dump or an attack, and BeautifulSoup would take
# minutes and gigabytes over it, so it is refused before parsing.
MAX_PAGE_BYTES = 8_000_000


def _parse(data: bytes, source: str, url: str) -> Record | Skipped:
    if len(data) > MAX_PAGE_BYTES:
        return Skipped(source, "too-large",
                       f"{len(data) / 1e6:.0f} MB, pages over {MAX_PAGE_BYTES // 1_000_000} MB "
                       "are not read")
    if not data or b"\x00" in data[:2048] or data.startswith((b"%PDF", b"PK\x03\x04", b"\xd0\xcf")):
        return Skipped(source, "not-html")
    html = decode_html(data)
    if not _TAG_HINT.search(html[:20000]):
        return Skipped(source, "not-html")
    soup = BeautifulSoup(html, "lxml")
    if soup.find() is None:
        return Skipped(source, "not-html")
    if _too_deep(soup):
        # Real pages nest a few dozen levels; thousands would make the block scoring below
        # quadratic, so such input is refused rather than parsed for minutes.
        return Skipped(source, "parse-error", f"nesting deeper than {_MAX_DEPTH}")

    redirect = _redirect_target(soup, html)
    _expand_document_write(soup)
    scripts = [s.string or "" for s in soup.find_all("script")]
    for tag in soup(["script", "style", "noscript", "template", "object", "embed"]):
        tag.decompose()
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()

    body_el = soup.body or soup
    all_text = plain(body_el)
    if _put_script_article(soup, body_el, scripts, all_text):
        all_text = plain(body_el)
    if len(all_text) < 200 and any(t in all_text for t in S.ERROR_PAGE_TEXTS):
        return Skipped(source, "error-page", all_text[:60])
    if redirect is not None and len(all_text) < 200:
        return Skipped(source, "redirect-stub", redirect[:200])
    if len(all_text) < MIN_TEXT:
        if any(m in html[:5000] for m in S.WORD_HTML_MARKERS[:1]):
            return Skipped(source, "word-html")
        return Skipped(source, "empty-shell")

    page_url = _page_url(soup) or url
    base = page_url or url
    page_title = _page_title(soup)

    content = find_content(soup)
    if content is None:
        # No block of text: still read title and metadata, so that an image-only article
        # is told apart from a list page below.
        content = soup.new_tag("div")

    title_el, title = find_title(soup, content, page_title)
    attachments = _attachments(content, base)
    images = len(content.find_all("img"))

    labels, meta_els = collect_labels(soup, content, title_el)
    fields = pick_fields(labels)
    labelled = fields.get("title", "").strip()
    # A 标题 row in the metadata block is the document's own statement of its title: it
    # beats a heading chosen by position (a banner, a credit line, a heading split over
    # lines), unless the heading is that title with more after it.
    if 4 <= len(labelled) <= 200 and not without_spaces(title).startswith(without_spaces(labelled)):
        title = labelled
    for el in meta_els:
        if not el.decomposed:
            el.decompose()

    # The "content" found may have been the metadata line itself (an image-only article).
    lines: list[str] = []
    if not content.decomposed:
        strip_boilerplate(content)
        if title_el is not None and not title_el.decomposed and inside(title_el, content):
            title_el.decompose()
        raw = text_lines(content)
        lines = clean_lines(raw, title)
        if not fields.get("agency"):
            # A credit under the text ("内容来源：XX局" after a 问答 page's last answer).
            fields["agency"] = pick_fields(parse_labels(raw[-3:])).get("agency", "")
    body = "\n".join(lines)

    signed_by, signed_on = signature(lines)
    written_date = parse_date(fields.get("written_date", "")) or signed_on or closing_date(lines)
    pub_date = parse_date(fields.get("pub_date", ""))
    if not pub_date:
        pub_date = date_near_title(soup, title_el, content) or _meta_date(soup)
    pub_date = pub_date or written_date

    short = len(body) < _SHORT_BODY
    body_kind = "text"
    if len(body) < MIN_TEXT or (short and (not pub_date or _is_index_url(url or page_url))):
        if pub_date and title_el is not None and not _is_index_url(url or page_url):
            # Still a document, with a title, metadata and a date: its text is in an
            # attachment (a PDF linked from an empty page), in page images (scans,
            # "一图读懂") or in a widget. Indexed with what it has, and says so.
            images = images or _images_near(title_el)
            body_kind = "attachment" if attachments else "images" if images else "none"
        else:
            return Skipped(source, "list-page" if _link_count(soup) >= 15 else "empty-shell")
    doc_no = doc_no_value(fields.get("doc_no", ""))
    if not doc_no:
        doc_no = doc_no_from_head(lines)
    printed = fields.get("agency", "") or _meta_agency(soup)
    if printed and fields.get("co_agency"):
        printed = f"{printed} {fields['co_agency']}"  # a joint document's other issuers
    agency = resolve_agency(printed,
                            owner=site_owner(all_text) or site_owner(meta_content(soup, S.SITE_META)),
                            signed=signed_by, title=title)

    return Record(
        title=title, body=body, source=source, url=page_url, agency=agency,
        pub_date=pub_date, written_date=written_date, index_no=fields.get("index_no", ""),
        doc_no=doc_no,
        classification=fields.get("classification", ""), validity=fields.get("validity", ""),
        doc_type=doc_type_from_title(title), scope=fields.get("scope", ""),
        publish_mode=fields.get("publish_mode", ""), attachments=attachments,
        body_kind=body_kind,
    )


def _put_script_article(soup: BeautifulSoup, body_el: Tag, scripts: list[str],
                        all_text: str) -> bool:
    """Put an article that only a script's JSON holds into the page, as markup the rest
    of the reader understands (heading, metadata lines, content block)."""
    if len(all_text) > _SCRIPT_ARTICLE_PAGE_TEXT:
        return False
    art = find_script_article(scripts)
    if art is None:
        return False
    fragment = BeautifulSoup(art.html, "lxml")
    probe = without_spaces(fragment.get_text(" ", strip=True))[:30]
    if probe and probe in without_spaces(all_text):
        return False  # the page shows it already
    holder = soup.new_tag("div")
    heading = soup.new_tag("h1")
    heading.string = art.title
    holder.append(heading)
    for label, value in (("发布时间", art.date), ("来源", art.source)):
        if value:
            line = soup.new_tag("p")
            line.string = f"{label}：{value}"
            holder.append(line)
    content = soup.new_tag("div", attrs={"class": "article-content"})
    for child in list((fragment.body or fragment).contents):
        content.append(child.extract())
    holder.append(content)
    body_el.insert(0, holder)
    return True


# A page showing more text than this is not an empty shell around a script's article.
_SCRIPT_ARTICLE_PAGE_TEXT = 3000


def _images_near(title_el: Tag) -> int:
    """Images in the block around the heading that are not links (logos, banners and
    menus are links): the pictures an image-only article is made of."""
    block = title_el
    for _ in range(3):
        if block.parent is None:
            break
        block = block.parent
    return sum(1 for img in block.find_all("img") if img.find_parent("a") is None)


# --- page-level facts -------------------------------------------------------------------

def _redirect_target(soup: BeautifulSoup, html: str) -> str | None:
    """Where a meta refresh or a location-setting script sends the reader, else None."""
    for meta in soup.find_all("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)}):
        content = meta.get("content") or ""
        m = re.search(r"url\s*=\s*['\"]?([^'\";]+)", content, re.I)
        return m.group(1).strip() if m else content
    for script in soup.find_all("script"):
        code = script.string or ""
        if _REDIRECT_JS.search(code):
            m = re.search(r"""["']([^"']+/[^"']*)["']""", code)
            return m.group(1) if m else "script"
    return None


def _expand_document_write(soup: BeautifulSoup) -> None:
    """Put what `document.write('...')` would have written where the script stood: several
    templates write the date or the 发布机构 that way.  Only string literals are used;
    variables (whose value the browser would know) are dropped."""
    for script in soup.find_all("script"):
        code = script.string or ""
        if "document.write" not in code:
            continue
        written = []
        for m in _DOC_WRITE.finditer(code):
            for sm in _JS_STRING.finditer(m.group(1)):
                s = sm.group(1) if sm.group(1) is not None else sm.group(2)
                written.append(_unescape_js(s))
        if not written:
            continue
        fragment = BeautifulSoup("".join(written), "lxml")
        holder = fragment.body or fragment
        new = soup.new_tag("span")
        for child in list(holder.contents):
            new.append(child.extract())
        script.replace_with(new)


def _unescape_js(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _page_url(soup: BeautifulSoup) -> str:
    link = soup.find("link", rel=lambda v: v and "canonical" in (v if isinstance(v, list) else [v]))
    if link and link.get("href", "").startswith("http"):
        return link["href"].strip()
    for name in S.URL_META:
        meta = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if meta and (meta.get("content") or "").startswith("http"):
            return meta["content"].strip()
    return ""


def _meta_date(soup: BeautifulSoup) -> str:
    return parse_date(meta_content(soup, S.DATE_META))


# CMSs fill the "source" meta with the site or column name as often as with an agency.
_AGENCY_END = re.compile(r"(?:局|委|委员会|政府|办公室|办公厅|中心|厅|部|院|会|署|所|处|站|队|行|报|社|台)$")


def _meta_agency(soup: BeautifulSoup) -> str:
    value = meta_content(soup, S.AGENCY_META)
    if value.endswith(("网站", "网")) or not _AGENCY_END.search(value):
        return ""
    return value


def _page_title(soup: BeautifulSoup) -> str:
    """The <title> without the site name the CMS appends to it."""
    t = soup.title.get_text(" ", strip=True) if soup.title else ""
    t = SPACES.sub(" ", t).strip()
    for pat in _TITLE_SUFFIX:
        stripped = pat.sub("", t)
        if len(stripped) >= 4:
            t = stripped
    return t.strip()


def _is_index_url(url: str) -> bool:
    """A directory or index URL (".../zcfg/", ".../index.html"): a section, not an article."""
    return bool(url) and bool(_INDEX_URL.match(url.strip()))


_MAX_DEPTH = 400


def _too_deep(root: Tag) -> bool:
    stack = [(root, 0)]
    while stack:
        el, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in el.contents if isinstance(c, Tag))
    return False


def _link_count(soup: BeautifulSoup) -> int:
    return len(soup.find_all("a", href=True))


# --- attachments ------------------------------------------------------------------------

def _attachments(content: Tag, base: str) -> list[dict]:
    out: list[dict] = []
    seen: set[str] = set()
    # Attachments are often listed just after the content area, in a sibling block.
    scopes = [content] + [s for s in content.find_next_siblings(limit=3) if isinstance(s, Tag)]
    for scope in scopes:
        for a in scope.find_all("a", href=True):
            href = a["href"].strip()
            if not _ATTACH.search(href) or href.lower().startswith(("javascript:", "mailto:")):
                continue
            absolute = urljoin(base, href) if base else href
            if absolute in seen:
                continue
            seen.add(absolute)
            title = plain(a) or a.get("title", "") or href.rsplit("/", 1)[-1]
            out.append({"title": title, "url": absolute})
    return out
