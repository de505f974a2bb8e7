"""The metadata of a web page: its label blocks (索引号, 发布机构, 成文日期… as tables, lines
or cells), the date printed between heading and text, and a 文号 standing on its own among
the text's first lines."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag

from indexer.fields import DOC_NO_RE, find_doc_no, normalize_doc_no
from indexer.readers.html_dom import SPACES, inside, plain, text_lines, within_first_chars
from indexer.readers.html_title import starts_with_label
from indexer.readers.text_page import first_date_line, parse_labels

# --- metadata labels --------------------------------------------------------------------

def collect_labels(soup: BeautifulSoup, content: Tag, title_el: Tag | None,
                    ) -> tuple[list[tuple[str, str]], list[Tag]]:
    """(label, value) pairs from the metadata blocks, and the blocks (to drop from the body).

    A metadata block is the smallest element whose text holds at least two labels (a
    索引号 table, a "发布时间：… 来源：…" line) and little else; single "label：value"
    lines above the body count too."""
    pairs: list[tuple[str, str]] = []
    blocks: list[Tag] = []
    seen: set[int] = set()
    for el in soup.find_all(["table", "ul", "ol", "dl", "div", "p", "span", "td", "li", "tr",
                             "section"]):
        if id(el) in seen:
            continue
        text = plain(el)
        if not text or len(text) > 600:
            continue
        found = parse_labels(text_lines(el))
        if len(found) < 2 and not (found and len(text) < 80 and starts_with_label(found, text)):
            continue
        # Skip when a child already carries the same labels (take the smallest block)...
        if any(len(parse_labels(text_lines(ch))) >= len(found)
               for ch in el.find_all(["table", "ul", "ol", "dl", "div", "p", "li"],
                                     recursive=False)):
            continue
        # ...and when it sits inside the body past its first lines (a label in prose).
        if inside(el, content) and not _near_start(el, content):
            continue
        if (title_el is not None and inside(title_el, el)
                             and len(text) > len(plain(title_el)) + 150):
            continue
        if len(found) == 1 and not found[0][1]:
            # A label cell on its own ("<td>主题分类：</td><td>城乡建设</td>"): the value is
            # the next cell.
            nxt = el.find_next_sibling()
            value = plain(nxt) if nxt is not None else ""
            if value and len(value) <= 100 and not parse_labels([value]):
                found = [(found[0][0], value)]
                blocks.append(nxt)
        pairs.extend(found)
        blocks.append(el)
        for d in el.find_all(True):
            seen.add(id(d))
    return pairs, blocks


def _near_start(el: Tag, content: Tag) -> bool:
    """True when *el* is in the first ~300 characters of the content area."""
    return within_first_chars(el, content, 300)


def date_near_title(soup: BeautifulSoup, title_el: Tag | None, content: Tag) -> str:
    """A date printed between the heading and the body (the "2023-05-01 来源：…" line)."""
    if title_el is None:
        return ""
    lines: list[str] = []
    node = title_el
    for node in title_el.next_elements:
        if node is content:
            break
        if isinstance(node, NavigableString):
            s = SPACES.sub(" ", str(node)).strip()
            if s:
                lines.append(s)
        if len(lines) > 30:
            break
    return first_date_line(lines)


def doc_no_from_head(lines: list[str]) -> str:
    """A 文号 standing on its own line among the body's first lines."""
    for line in lines[:4]:
        if len(line) <= 30:
            if DOC_NO_RE.fullmatch(line.strip()):
                # The whole line is the 文号: keep all of it (find_doc_no would cut
                # "京经信发" after 经, which it takes for the verb "经").
                return normalize_doc_no(line)
            found = find_doc_no(line)
            if found:
                return found
    return ""


