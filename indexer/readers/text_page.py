"""Reader for a browser's text rendering of a page ("select all, copy"), and the
"label: value" parsing that the HTML reader shares.

Such a rendering has no markup: the metadata is a run of "label: value" pairs (several
on one line, values possibly empty), the title is a line of its own and the page
furniture (share buttons, font size, footer) is mixed in as lines.
"""

from __future__ import annotations

import re

from indexer.agencies import resolve as resolve_agency
from indexer.fields import (
    ANNOUNCEMENT_NO_RE,
    DOC_NO_RE,
    doc_no_value,
    doc_type_from_title,
    normalize_doc_no,
    parse_date,
    signature,
)
from indexer.readers import Skipped
from indexer.readers import selectors as S
from indexer.record import Record

_SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u200b\ufeff]+")
_BULLET = re.compile(r"^[•·▪●◆■□◇○\-*]\s*")
_BOILER = [re.compile(p) for p in S.BOILERPLATE_LINE_PATTERNS]
_FOOTER = [re.compile(p) for p in S.FOOTER_LINE_PATTERNS]


def _label_pattern(label: str) -> str:
    # Sites pad labels to a fixed width: "索 引 号", "发布机构", "文　　号".
    return r"\s*".join(re.escape(ch) for ch in label)


_LABEL_ALT = "|".join(_label_pattern(lb) for lb in sorted(S.LABELS, key=len, reverse=True))
# A label is not preceded by a CJK character (so 消息来源 in prose is not 来源) and is
# followed by a colon, or stands alone at the end of its line (a table's label cell).
_LABEL_RE = re.compile(r"(?<![\u4e00-\u9fff])[\[【]?(" + _LABEL_ALT + r")\s*(?:[:：]|[\]】]|(?=\n)|$)")
# Page furniture that runs into a value on the same line.
_VALUE_TAIL = re.compile(r"\s*(?:【|\[|分享到|分享[:：]|打印|【?字体|字号|扫一扫|查看更多|"
                         r"(?:浏览|阅读|访问|点击)(?:量|次数|人次|数)?\s*[:：]).*$", re.S)
# Values that say "none".
_EMPTY_VALUES = frozenset(("无", "-", "—", "--", "/", "暂无", "null", "空"))
_TRAILING_DATE = re.compile(r"\s+(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s+[\d:]+)?\s*$")
_LABEL_FIELD = {re.sub(r"\s", "", k): v for k, v in S.LABELS.items()}
_LABEL_OF = {re.sub(r"\s", "", k): k for k in S.LABELS}


def parse_labels(lines: list[str]) -> list[tuple[str, str]]:
    """All (label, value) pairs in *lines*, in page order; values may be "".

    Several labels may share a line ("索引号: A25010 主题分类: 发布机构: X") and a value
    may be on the line after its label (table cells rendered one per line)."""
    text = "\n".join(lines)
    matches = list(_LABEL_RE.finditer(text))
    out: list[tuple[str, str]] = []
    for i, m in enumerate(matches):
        label = re.sub(r"\s", "", m.group(1))
        # A label alone on its line without a colon counts only in a label/value layout.
        if not m.group(0).rstrip().endswith((":", "：", "]", "】")):
            start_of_line = m.start() == 0 or text[m.start() - 1] == "\n"
            if not start_of_line:
                continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end():end]
        if i + 1 == len(matches) or "\n" in value.strip():
            # The last value (or one followed by other text) ends at its line's end.
            value = value.lstrip(" ").split("\n", 2)
            value = value[0] if value[0].strip() else (value[1] if len(value) > 1 else "")
        value = _VALUE_TAIL.sub("", _SPACES.sub(" ", value.replace("\n", " "))).strip()
        value = value.strip(" |｜")
        if _LABEL_FIELD.get(label) not in ("pub_date", "written_date"):
            # "来源:某局 2024-02-23 15:16": a date run into a non-date value.
            value = _TRAILING_DATE.sub("", value)
        if value in _EMPTY_VALUES:
            value = ""
        out.append((_LABEL_OF.get(label, label), value))
    return out


def pick_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Canonical field -> value, choosing between competing labels by their priority."""
    by_label: dict[str, str] = {}
    for label, value in pairs:
        if value and label not in by_label:
            by_label[label] = value
    fields: dict[str, str] = {}
    for field, priority in (("written_date", S.WRITTEN_DATE_LABEL_PRIORITY),
                            ("pub_date", S.PUB_DATE_LABEL_PRIORITY)):
        for label in priority:
            if parse_date(by_label.get(label, "")):
                fields[field] = by_label[label]
                break
    for label in S.AGENCY_LABEL_PRIORITY:
        if by_label.get(label):
            fields["agency"] = by_label[label]
            break
    for label, value in by_label.items():
        field = S.LABELS.get(label, "")
        if field and field not in ("pub_date", "written_date", "agency") and field not in fields:
            fields[field] = value
    return fields


def first_date_line(lines: list[str]) -> str:
    """The date on the first short line that carries one (a dateline, not a sentence)."""
    for line in lines:
        if len(line) <= 80:
            d = parse_date(line)
            if d:
                return d
    return ""


_HEADER_RULE = re.compile(S.HEADER_RULE_PATTERN)
_BREADCRUMB = re.compile(r"^(?:当前位置|您当前的位置|您现在的位置|您的位置|当前的位置)\s*[:：]")


def without_spaces(s: str) -> str:
    return re.sub(r"\s+", "", s or "")


def _after_breadcrumb(line: str, title: str) -> str:
    """A flattened page's first line often runs the breadcrumb, the heading, a dateline
    and share links together before the text ("当前位置：首页… 标题 时间：… 微信 微博 标题正文"):
    all of it up to the heading's last occurrence is furniture."""
    if not _BREADCRUMB.match(line) or len(title) < 4:
        return line
    at = line.rfind(title)
    return line[at + len(title):].strip() if at >= 0 else line


_INLINE_LEAD = [re.compile(p) for p in S.INLINE_LEAD_FURNITURE]
_INLINE_TAIL = [re.compile(p) for p in S.INLINE_TAIL_FURNITURE]


def trim_inline_furniture(lines: list[str]) -> list[str]:
    """*lines* without the dateline, credit and share links run into the start of the
    first line or the end of the last (selectors.INLINE_*_FURNITURE)."""
    if not lines:
        return lines
    lines = list(lines)
    for at, patterns in ((0, _INLINE_LEAD), (-1, _INLINE_TAIL)):
        line, changed = lines[at], True
        # The document's 文号 may come first ("岚综管综〔2015〕100号 来源：… 时间：…"):
        # it stays, the furniture after it goes.
        head = _LEADING_DOC_NO.match(line) if at == 0 else None
        if head:
            line = line[head.end():]
        while changed:
            changed = False
            for rx in patterns:
                cut = rx.sub("", line, count=1)
                if cut != line and len(cut) >= 20:
                    line, changed = cut.strip(), True
        lines[at] = (head.group(0) + line) if head else line
    return lines


_LEADING_DOC_NO = re.compile(r"^[(（]?[\u4e00-\u9fff]{1,12}[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]"
                             r"\s*\d{1,4}\s*号[)）]?\s+")


def _leading_doc_no(head: str) -> str:
    """A 文号 that starts one of the body's first lines: the document's own. One cited in a
    sentence ("按照《…的通知》（国办秘含〔2019〕19号）文件要求") is another document's."""
    for line in head.split("\n")[:4]:
        line = line.strip().lstrip("（(")
        m = DOC_NO_RE.match(line) or ANNOUNCEMENT_NO_RE.match(line)
        if m:
            return normalize_doc_no(m.group(0))
    return ""


def closing_date(lines: list[str]) -> str:
    """A bare date standing alone on one of the body's last lines ("2023-05-06")."""
    for line in reversed(lines[-4:]):
        if len(line) <= 12 and re.fullmatch(r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}", line):
            return parse_date(line)
    return ""


def is_boilerplate_line(line: str) -> bool:
    """True for a line of page furniture (share, font size, print, footer credits)."""
    if len(line) <= S.BOILERPLATE_MAX_LEN and any(p.search(line) for p in _BOILER):
        return True
    return len(line) <= S.FOOTER_MAX_LEN and any(p.search(line) for p in _FOOTER)


def is_footer_line(line: str) -> bool:
    """True for a line of the site's credits (版权所有, ICP备, 主办单位：…)."""
    return len(line) <= S.FOOTER_MAX_LEN and any(p.search(line) for p in _FOOTER)


_is_boiler = is_boilerplate_line


def parse_text_page(text: str, source: str) -> Record | Skipped:
    """Read a browser text rendering. Never raises."""
    try:
        return _parse_text(text or "", source)
    except Exception as exc:  # a reader must not stop a whole indexing run
        return Skipped(source, "parse-error", f"{type(exc).__name__}: {exc}"[:200])


def _parse_text(text: str, source: str) -> Record | Skipped:
    lines = [_BULLET.sub("", _SPACES.sub(" ", ln).strip()) for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return Skipped(source, "no-text")
    # Header lines start with a label; a body line that mentions one ("…时间：…") does not.
    label_idx = [i for i, ln in enumerate(lines) if _LABEL_RE.match(ln) and not _is_boiler(ln)]
    # The metadata block is the run of label lines at the top; the heading follows it.
    head_end = 0
    for i in label_idx:
        if i <= head_end + 3:
            head_end = i + 1
    pairs = parse_labels(lines[:head_end])
    fields = pick_fields(pairs)
    # A rule line a few lines below the labels closes the header ("==== 正文 ===="): what
    # lies between is the header's own notes, not the title.
    rule = next((i for i in range(head_end, min(head_end + 4, len(lines)))
                 if _HEADER_RULE.match(lines[i])), None)
    start = head_end if rule is None else rule + 1
    labelled = fields.get("title", "")
    title, title_at = labelled, start - 1
    for i in range(start, len(lines) if not labelled else start):
        ln = lines[i]
        if _is_boiler(ln) or ln.endswith(("：", ":")) or _LABEL_RE.search(ln):
            continue
        if 4 <= len(ln) <= 120 and not ln.endswith("。"):
            title, title_at = ln, i
        break
    if not title:
        return Skipped(source, "no-text", "no heading line")
    body_lines = [ln for ln in lines[title_at + 1:] if not _is_boiler(ln)]
    if body_lines:
        first = body_lines[0]
        body_lines[0] = _after_breadcrumb(first, title)
        # The page's own metadata block may be run into the breadcrumb ("当前位置：… 索 引 号：
        # … 成文日期： … 发文字号： …" before the heading): it fills what the header lacks.
        cut = first[: first.rfind(title)] if body_lines[0] != first and title in first else ""
        for field, value in pick_fields(parse_labels([cut])).items():
            fields.setdefault(field, value)
    while body_lines and without_spaces(body_lines[0]) == without_spaces(title):
        body_lines.pop(0)
    body_lines = trim_inline_furniture(body_lines)
    body = "\n".join(body_lines)
    if len(body) < 40:
        return Skipped(source, "no-text")
    signed_by, signed_on = signature(body_lines)
    written_date = (parse_date(fields.get("written_date", "")) or signed_on
                    or closing_date(body_lines))
    pub_date = (parse_date(fields.get("pub_date", "")) or first_date_line(lines[:head_end])
                or written_date)
    doc_no = doc_no_value(fields.get("doc_no", "")) or _leading_doc_no(
        body[:300].replace(title, "\n") if len(title) >= 4 else body[:300])
    return Record(
        title=title, body=body, source=source, url=fields.get("url", ""),
        agency=resolve_agency(fields.get("agency", ""), signed=signed_by, title=title),
        pub_date=pub_date, written_date=written_date, index_no=fields.get("index_no", ""),
        doc_no=doc_no,
        classification=fields.get("classification", ""), validity=fields.get("validity", ""),
        doc_type=doc_type_from_title(title), scope=fields.get("scope", ""),
        publish_mode=fields.get("publish_mode", ""),
    )
