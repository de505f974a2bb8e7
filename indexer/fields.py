"""Field-value normalisers shared by every input format: dates, document type, 文号."""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "o": 0, "一": 1, "二": 2, "三": 3,
              "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

_NUM_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:[-/.年])\s*(\d{1,2})\s*(?:[-/.月])\s*(\d{1,2})(?!\d)")
_CN_DATE = re.compile(r"([〇零○OoＯ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月"
                      r"([一二三四五六七八九十]{1,3})日")


def _cn_small(s: str) -> int:
    """一 .. 三十一 as an int."""
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGITS[s[1]]
    if s.endswith("十"):
        return _CN_DIGITS[s[0]] * 10
    if "十" in s:
        a, b = s.split("十")
        return _CN_DIGITS[a] * 10 + _CN_DIGITS[b]
    return _CN_DIGITS[s]


def _iso(y: int, m: int, d: int) -> str:
    if not (1900 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31):
        return ""
    return f"{y:04d}-{m:02d}-{d:02d}"


def parse_date(text: str | None) -> str:
    """The first date in *text* as ISO ``YYYY-MM-DD``, or "" when there is none.

    Accepts 2021-01-29, 2021年01月29日, 2021/1/29, 2021.1.29, 2021-01-29 15:07 and
    二〇二一年一月二十九日."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    m = _NUM_DATE.search(text)
    if m:
        iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            return iso
    m = _CN_DATE.search(text)
    if m:
        try:
            y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
            return _iso(y, _cn_small(m.group(2)), _cn_small(m.group(3)))
        except (KeyError, ValueError):
            return ""
    return ""


# Types that describe the document whatever it wraps: an interpretation of a 通知 is a 解读.
_PRIORITY_TYPES = ("解读", "征求意见稿")
# A report is a 年度报告 only when its title ends so ("…2023年度政府信息公开工作年度报告",
# optionally with a bracketed note); a 通知 about annual reports is a 通知.
_ANNUAL_REPORT = re.compile(r"年度报告(?:[(（〔【][^)）〕】]*[)）〕】]?)?$")
# Ordinary types, longest first so that 实施细则 wins over 细则 and 通告 is not read as 告.
_TYPES = ("实施细则", "实施意见", "实施方案", "管理办法", "工作报告", "通知", "公告", "通告",
          "意见", "办法", "规定", "决定", "批复", "复函", "函", "细则", "方案", "规划", "条例",
          "决议", "命令", "报告", "答复", "公示", "公报", "指引", "规则", "纲要", "说明", "通报")
_TYPE_NAME = {"实施细则": "细则", "实施意见": "意见", "实施方案": "方案", "管理办法": "办法",
              "工作报告": "报告", "复函": "函"}
_TRAILING = re.compile(r"[\s\"'“”《》〈〉()（）\[\]【】〔〕.。,，:：;；!！?？、_\-—]+$")


def doc_type_from_title(title: str) -> str:
    """The kind of document, read from its title ("" when the title names none)."""
    t = (title or "").strip()
    if not t:
        return ""
    for kind in _PRIORITY_TYPES:
        if kind in t:
            return kind
    end = _TRAILING.sub("", t)
    if "年度报告" in t and _ANNUAL_REPORT.search(end):
        return "年度报告"
    for kind in _TYPES:
        if end.endswith(kind):
            return _TYPE_NAME.get(kind, kind)
    # No type at the end ("…的通知（2021年修订）" was handled above); take the last one named.
    best, best_pos = "", -1
    for kind in _TYPES:
        pos = t.rfind(kind)
        if pos > best_pos or (pos == best_pos and pos >= 0 and len(kind) > len(best)):
            best, best_pos = kind, pos
    return _TYPE_NAME.get(best, best)


_OPEN = "〔[(（［【〖"
_CLOSE = "〕])）］】〗"
DOC_NO_RE = re.compile(
    r"[\u4e00-\u9fa5A-Za-z]{1,16}\s*[" + re.escape(_OPEN) + r"]\s*((?:19|20)\d{2})\s*["
    + re.escape(_CLOSE) + r"]\s*第?\s*(\d{1,5})\s*号")


def normalize_doc_no(doc_no: str | None) -> str:
    """One spelling for a 文号: 〔〕 around the year, no spaces, half-width digits.

    赣府发[2020]12号, 赣府发（2020）12号 and 赣府发 〔2020〕 12 号 all become 赣府发〔2020〕12号."""
    if not doc_no:
        return ""
    s = "".join(ch for ch in str(doc_no) if not ch.isspace())
    # NFKC turns full-width digits into ASCII but also （ into (; brackets are fixed below.
    s = unicodedata.normalize("NFKC", s)
    s = re.sub(r"[\[(【〖［〔]((?:19|20)\d{2})[\])】〗］〕]", r"〔\1〕", s)
    # A 文号 ends at its 号: a value the template ran into the next label
    # ("…〔2023〕14号发布日期:…") is cut there.
    m = re.match(r".*?\d号", s)
    return m.group(0) if m else s


# A numbered announcement: "财政部 税务总局公告2025年第1号", "国家税务总局公告2024年第3号".
ANNOUNCEMENT_NO_RE = re.compile(
    r"(?:[\u4e00-\u9fa5]{2,20}[ \u3000]?){1,4}?公告\s*((?:19|20)\d{2})\s*年\s*第\s*(\d{1,4})\s*号")


def doc_no_value(doc_no: str | None) -> str:
    """A 文号 printed as a field's value, normalised; "" for a template's empty placeholder
    ("〔〕号"), which has no number."""
    s = normalize_doc_no(doc_no)
    return s if re.search(r"\d", s) else ""


def find_doc_no(text: str) -> str:
    """The first 文号-shaped string in *text*, normalised, or ""."""
    text = text or ""
    found = [m for m in (DOC_NO_RE.search(text), ANNOUNCEMENT_NO_RE.search(text)) if m]
    if not found:
        return ""
    m = min(found, key=lambda m: m.start())
    return normalize_doc_no(_LEADING_WORDS.sub("", m.group(0)))


# Words that run into a 文号 in prose ("根据国办发〔2019〕3号") but are not part of it.
_LEADING_WORDS = re.compile(r"^(?:.*?(?:根据|依据|按照|印发|转发|关于|参照|落实|执行|见|经|和|及|与))")


def year_of(pub_date: str) -> int | None:
    return int(pub_date[:4]) if pub_date else None


# A compiled list of policies often starts its titles with the issuer in brackets:
# "【济南住房公积金中心】关于…". The brackets also hold places (【河南省郑州市】) and labels
# (【全国】, 【官方】), so only a name that ends like an agency counts.
_TITLE_ISSUER = re.compile(r"^\s*【([^】]{2,30})】")
_AGENCY_END = re.compile(
    r"(?:局|委|厅|办|中心|政府|办公室|办公厅|银行|委员会|监会|保监会|部|院|署|总局|公署|"
    r"管委会|管理处|事务所|研究室|联席会议|领导小组)$")


def agency_from_title(title: str) -> str:
    """The issuer named in a 【…】 prefix of *title*, or "" when the prefix is not one."""
    m = _TITLE_ISSUER.match(title or "")
    if not m:
        return ""
    name = m.group(1).strip()
    return name if _AGENCY_END.search(name) else ""


def looks_like_agency(name: str) -> bool:
    """True for a name that ends like a government body (…局, …委员会, …人民政府), a
    bracketed second name after it allowed ("…宣传部（文化与旅游发展局）")."""
    name = re.sub(r"[（(][^（()）]*[)）]$", "", (name or "").strip())
    return bool(_AGENCY_END.search(name))


_DATE_TEXT = (r"(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
              r"|[〇零○一二三四五六七八九]{4}\s*年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)")
# A signing agency run straight into its date at the end of a flattened body
# ("…特此通告。 平潭综合实验区管委会 2016年3月24日 来源：…").
_SIGNED_AT_END = re.compile(r"([\u4e00-\u9fff（）()]{3,40}?)\s*(" + _DATE_TEXT + r")")


_SIGNED_BEFORE_ATTACHMENT = re.compile(r"([\u4e00-\u9fff（）()]{3,40}?)\s*(" + _DATE_TEXT
                                       + r")\s*附件")
# An attachment's link text run into the date line ("2022年7月4日 《…》.pdf").
_ATTACHMENT_TAIL = re.compile(r"(?:\.(?:pdf|docx?|wps|xlsx?|ofd|zip)|附件\S*)\s*$", re.I)


def _signed_line(line: str) -> tuple[str, str] | None:
    """(name, ISO date) when *line* is a signature's date line: the date, perhaps after the
    signing agency, and nothing after it but a closing bracket."""
    m = re.search(_DATE_TEXT, line)
    after = line[m.end():].strip(" 　）)") if m else ""
    if not m or (after and not _ATTACHMENT_TAIL.search(after)) or m.start() > 40:
        return None  # no date, or a sentence goes on after it ("自2022年8月1日起执行。")
    before = line[:m.start()].strip()
    # The name just before the date: the last piece after a space or sentence end.
    prefix = re.split(r"[\s。；;，,：:]+", before)[-1] if before else ""
    if before and not looks_like_agency(prefix):
        return None  # a date ending a sentence, not a signed date line
    return prefix, parse_date(m.group(0))


def _names_above(lines: list[str], i: int) -> list[str]:
    names: list[str] = []
    for above in reversed(lines[max(0, i - 4):i]):
        if len(above) <= 30 and looks_like_agency(above) and not above.endswith("。"):
            names.insert(0, above)
        else:
            break
    return names


def signature(lines: list[str]) -> tuple[str, str]:
    """(signing agencies, ISO date) of the 落款, or ("", "").

    A signature is a date line (the date alone, or after the agency's name) with the
    agencies on the lines above it (several for a joint document, joined by a space).
    The one at the end of the body wins; a document that 印发s an attachment signs before
    the attachment's text, so without one at the end the first signed block counts."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    last = len(lines) - 1
    if lines and len(lines[last]) > 60:
        # A flattened body: look for "name date" in its last characters.
        for m in reversed(list(_SIGNED_AT_END.finditer(lines[last][-160:]))):
            # The run of characters before the date may start in the sentence above
            # ("…13-15号（区党工委巡察审计办）平潭…办公室"): the name is what follows
            # the last closing bracket, when that is a name.
            name = m.group(1)
            after_bracket = re.split(r"[）)]", name)[-1]
            if looks_like_agency(after_bracket) and len(after_bracket) >= 4:
                name = after_bracket
            if looks_like_agency(name):
                return name, parse_date(m.group(2))
        # A document that prints its attachment after signing ("…管委会办公室2019年5月6日
        # 附件 …抽查情况表 序号…"): the name and date just before 附件.
        for m in _SIGNED_BEFORE_ATTACHMENT.finditer(lines[last]):
            name = re.split(r"[）)]", m.group(1))[-1]
            if looks_like_agency(name) and len(name) >= 4:
                return name, parse_date(m.group(2))
        tail = re.search(r"(" + _DATE_TEXT + r")\s*$", lines[last])
        if tail:
            return "", parse_date(tail.group(1))  # dated, signed by no name
    first = None
    for i, line in enumerate(lines):
        signed = _signed_line(line)
        if signed is None:
            continue
        names = ([signed[0]] if signed[0] else []) or _names_above(lines, i)
        if i >= last - 4:
            return " ".join(names), signed[1]
        if first is None and names:
            first = (" ".join(names), signed[1])
    return first or ("", "")
