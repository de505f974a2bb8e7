"""PDF documents → `Record`, with pypdf.

Government PDFs are typeset 红头文件: an optional "XX局文件" header, the 文号, the title,
the addressees ("各区…："), the body and a signature (issuer, date) at the end. The title,
文号, agency and date are read from those positions. A ``manifest.json`` beside the PDFs
([{file, source_url, title}]) supplies the URL and, when the page gives none, the title.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

from indexer.fields import doc_type_from_title, find_doc_no, normalize_doc_no, parse_date
from indexer.readers import Skipped
from indexer.record import Record

# pypdf logs every odd object and missing font helper; a corpus run would drown in them.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_CJK = "\u4e00-\u9fff"
_CJK_RE = re.compile(f"[{_CJK}]")
# Fonts without a ToUnicode map come out as glyph names ("/G21/G22…"): not text.
_GLYPH_NAMES = re.compile(r"/G[0-9A-F]{2}")
_PAGE_NO = re.compile(r"^[—\-－\s]*\d+[—\-－\s]*$")
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}0-9〔〕（）])[ \t\u3000]+(?=[{_CJK}0-9〔〕（）])")
_AGENCY_END = ("人民政府", "办公厅", "办公室", "委员会", "管理局", "局", "厅", "委", "部",
               "中心", "政府")
_MIN_TEXT = 20


def _clean_line(line: str) -> str:
    # Letter-spaced headings ("南 京 市 住 房") and "2017 年 5 月" lose their spaces.
    return _SPACE_IN_CJK.sub("", line.strip().strip("\u3000").strip())


def _join_wrapped(lines: list[str]) -> str:
    """Body text with the typesetter's hard wraps removed: a line as long as the page's
    longest lines, ending without punctuation, continues on the next line."""
    if not lines:
        return ""
    full = max(len(ln) for ln in lines)
    out: list[str] = []
    carry = ""
    for ln in lines:
        carry += ln
        wrapped = len(ln) >= max(8, int(full * 0.8)) and not ln.endswith(("。", "：", "；", "！", "？"))
        if not wrapped:
            out.append(carry)
            carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _usable(text: str) -> bool:
    cjk = len(_CJK_RE.findall(text))
    glyphs = len(_GLYPH_NAMES.findall(text))
    return cjk >= _MIN_TEXT and glyphs < cjk


def _is_doc_no_line(line: str) -> bool:
    found = find_doc_no(line)
    return bool(found) and len(line) <= len(found) + 4


_TITLE_END = re.compile(r"(通知|意见|办法|规定|决定|批复|函|细则|方案|规划|条例|决议|命令|报告|答复|公示"
                        r"|公报|指引|规则|纲要|说明|通报|公告|通告|解读|》)([（(][^）)]*[）)])?$")
_ENUM = re.compile(r"^([一二三四五六七八九十]+、|\d+[.、．]|[（(][一二三四五六七八九十\d]+[）)])")


def find_title(lines: list[str]) -> str:
    """The title on the first page: the first line in the head that opens like a title
    ("关于…", "《…》", "XX关于…"), joined with the lines it wraps onto."""
    head = lines[:14]
    for i, ln in enumerate(head):
        if not (ln.startswith(("关于", "《")) or "关于" in ln[:20]) or _is_doc_no_line(ln):
            continue
        if ln.endswith(("：", ":", "。")) or "，" in ln or _ENUM.match(ln):
            continue
        title = ln
        for nxt in head[i + 1:i + 3]:
            if _TITLE_END.search(title) or nxt.endswith(("：", ":")) or _is_doc_no_line(nxt):
                break
            title += nxt
        if _TITLE_END.search(title) and len(title) <= 80:
            return title
    return ""


def _signature(raw: str) -> str:
    """A signature line; joint issuers are separated by spaces in the PDF
    ("市住房城乡建设管理委 市房屋管理局"), letter-spaced ones ("南 京 市") are not."""
    parts = raw.split()
    if len(parts) > 1 and all(len(p) >= 3 for p in parts):
        return "、".join(parts)
    return _clean_line(raw)


def find_agency(first: list[str], last_raw: list[str]) -> str:
    """Issuer from a "XX局文件" header, else from the signature line above the closing date."""
    for ln in first[:5]:
        if ln.endswith("文件") and len(ln) <= 32:
            return ln[: -len("文件")]
    last = [ln.strip() for ln in last_raw if ln.strip()]
    for i in range(len(last) - 1, 0, -1):
        ln = _clean_line(last[i])
        if parse_date(ln) and len(ln) <= 16:
            prev = _signature(last[i - 1])
            if len(prev) <= 40 and prev.endswith(_AGENCY_END) and _CJK_RE.search(prev):
                return prev
            break
    return ""


def find_date(last: list[str]) -> str:
    """The signature date: a short line at the end that is only a date (or a 印发 line)."""
    for ln in reversed(last):
        d = parse_date(ln)
        if d and (len(ln) <= 16 or ln.endswith("印发")):
            return d
    return ""


@lru_cache(maxsize=64)
def _manifest(folder: str) -> dict[str, dict]:
    path = Path(folder) / "manifest.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(entries, dict):
        entries = entries.get("files") or entries.get("documents") or []
    return {e["file"]: e for e in entries if isinstance(e, dict) and e.get("file")}


def _manifest_title(title: str) -> tuple[str, str]:
    """(title, doc_no) from a manifest title, which is often just a file name:
    "公报PDF", "/cmsres/…/c86f….pdf" and "宁房市字〔2017〕108号.pdf" are not titles."""
    t = re.sub(r"\.pdf$", "", (title or "").strip(), flags=re.I).strip()
    if not t or t.startswith("/") or len(_CJK_RE.findall(t)) < 6:
        return "", ""
    if _is_doc_no_line(t):
        return "", normalize_doc_no(t)
    return t, ""


def parse_pdf(path: str | Path, source: str | None = None) -> Record | Skipped:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    p = Path(path)
    source = source or str(p)
    entry = _manifest(str(p.parent)).get(p.name, {})
    try:
        reader = PdfReader(str(p))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    return Skipped(source, "pdf-error", "encrypted")
            except Exception as exc:  # unsupported encryption algorithms raise many types
                return Skipped(source, "pdf-error", f"encrypted: {exc}")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return Skipped(source, "pdf-error", f"{type(exc).__name__}: {exc}")

    text = "\n".join(pages)
    if not _usable(text):
        return Skipped(source, "no-text", "no extractable text (scanned or unmapped fonts)")

    def lines_of(page_text: str) -> list[str]:
        out = [_clean_line(ln) for ln in page_text.splitlines()]
        return [ln for ln in out if ln and not _PAGE_NO.match(ln)]

    first = lines_of(pages[0])
    # The signature closes the main document, which may be followed by attachments.
    sig_pages = [pages[-1], pages[0]] if len(pages) > 1 else [pages[0]]
    body = "\n\n".join(_join_wrapped(lines_of(pg)) for pg in pages if pg.strip())

    m_title, m_doc_no = _manifest_title(entry.get("title", ""))
    title = find_title(first)
    if m_title and (not title or (title.startswith("《") and title in m_title)):
        title = m_title  # "《X办法》" on the page, "《X办法》图文解读" in the manifest
    title = title or (first[0][:60] if first else "")
    doc_no = find_doc_no("\n".join(first[:8])) or m_doc_no
    signed = next((d for d in (find_date(lines_of(pg)) for pg in sig_pages) if d), "")
    return Record(
        title=title, body=body, source=source, url=entry.get("source_url") or "",
        agency=next((a for a in (find_agency(first, pg.splitlines()) for pg in sig_pages) if a), ""),
        # The date under the signature is the day it was written; the best date there is
        # for publication too.
        pub_date=signed, written_date=signed, doc_no=doc_no,
        doc_type=doc_type_from_title(title))
