"""Each input format as the text the table reader walks, and whether its cells are divided.

- HTML: every leaf ``<table>`` is written row by row, its cells separated by tabs and an
  empty cell written as ``∅``, so that an empty cell stays a cell (the page's body text
  drops it). Cells are divided.
- PDF: pypdf's text, one table row per line with cells separated by spaces; page numbers
  ("- 4 -") that land between rows are dropped. Cells are divided.
- Text renderings: the body as it is; its digits run together across cell borders, which
  `indexer.annual.recover` decides from the table's arithmetic. Cells are not divided.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

EMPTY = "∅"
# How a cell with no figure is printed.
NULL_TOKENS = {EMPTY, "/", "／", "-", "－", "—", "——", "–", "无"}
_NUMBER = re.compile(r"^[-－]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_PAGE_NO = re.compile(r"^\s*[-－—]\s*\d{1,3}\s*[-－—]\s*$", re.M)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CellText:
    text: str
    divided: bool  # True: whitespace separates every cell; False: cells may run together
    kind: str  # "html", "pdf" or "text"

    def __post_init__(self):
        # Full-width digits and punctuation ("１２", "．") read as their ASCII forms.
        object.__setattr__(self, "text", unicodedata.normalize("NFKC", self.text))


def from_html(data: bytes) -> CellText:
    import lxml.html

    from indexer.readers.encoding import decode_html

    html = decode_html(data)
    root = lxml.html.fromstring(html)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for table in root.xpath("//table[not(.//table)]"):
        rendered = "\n" + "\n".join(_row_text(tr) for tr in table.xpath(".//tr")) + "\n"
        replacement = lxml.html.Element("div")
        replacement.text = rendered
        replacement.tail = table.tail
        table.getparent().replace(table, replacement)
    return CellText(_block_text(root), divided=True, kind="html")


def _row_text(tr) -> str:
    cells = []
    for cell in tr.xpath("./td|./th"):
        text = _SPACE.sub("", cell.text_content().replace("\u3000", "").replace("\xa0", ""))
        try:
            span = max(1, min(int(cell.get("colspan", "1")), 20))
        except ValueError:
            span = 1
        # An empty cell merged over several columns is that many empty cells; a merged
        # value or label is one.
        cells.extend([text] if text else [EMPTY] * span)
    return "\t".join(cells)


def _block_text(root) -> str:
    # Blocks on lines of their own, so a heading never runs into a table's first cell.
    for el in root.iter("p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr"):
        el.tail = "\n" + (el.tail or "")
    return root.text_content()


def from_pdf_pages(pages: list[str]) -> CellText:
    return CellText(_PAGE_NO.sub("", "\n".join(pages)), divided=True, kind="pdf")


def from_pdf(path) -> CellText:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return from_pdf_pages([page.extract_text() or "" for page in reader.pages])


def from_text(body: str) -> CellText:
    return CellText(body, divided=False, kind="text")


def cell_value(piece: str):
    """A cell's number ("1,234": a thousands separator), or None for a cell printed
    empty and for anything that is not a number."""
    if piece in NULL_TOKENS or not _NUMBER.match(piece):
        return None
    piece = piece.replace("－", "-").replace(",", "")
    return float(piece) if "." in piece else int(piece)
