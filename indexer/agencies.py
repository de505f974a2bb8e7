"""Agency names as a facet needs them: full official names, from what the page prints.

Pages print abbreviations (市发展改革委, 市政府办公厅, 杭州公积金中心), names without their
place (市住保房管局), credit lines (福州日报, 本网), joint issuers in one string
("甲、乙"). The evidence used, strongest first:

- the name as printed, if it is a whole official name;
- the site's own owner, from its footer (主办 / 主办单位 / 版权所有): when the printed
  name is a short form of it, or names no agency at all ("本网", a newspaper);
- the signature (落款) under the document, which the readers pass in;
- a table of systematic short forms (`indexer/data/agency_abbreviations.tsv`), with the
  place taken from the owner when the printed name starts with a bare 市/区/县 (else
  from where the signature or the title's issuer is: 杭州住房公积金管理委员会 → 杭州市).

Joint issuers come back separated by one space.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from indexer.fields import looks_like_agency

_TABLE = Path(__file__).resolve().parent / "data" / "agency_abbreviations.tsv"

# Words a credit line adds after a name ("滁州市人民政府发布").
_CREDIT_TAIL = re.compile(r"(?:发布|供稿|提供|制作|编辑|整理|转载)$")
# "This site": the site's owner.
_THIS_SITE = frozenset(("本网", "本站", "本网站", "本网原创", "网站", "本网讯"))
_JOINT = re.compile(r"\s*[、，,；;/|]\s*|\s+")
# A place at the start of a name: province, then city (or prefecture, league), then county.
_PLACE = re.compile(r"^(?:[\u4e00-\u9fff]{2,8}?(?:省|自治区))?(?:[\u4e00-\u9fff]{2,8}?(?:市|自治州|地区|盟))?"
                    r"(?:[\u4e00-\u9fff]{1,8}?(?:区|县|旗))?")
# A name that starts with its level only ("市住保房管局", "区政府办").
_BARE_LEVEL = re.compile(r"^(?:市|区|县|省)(?!场|政(?!府)|民|级|属|直辖)")
# The issuer a title starts with ("北京市人民政府关于印发…的通知").
_TITLE_ISSUER = re.compile(r"^([\u4e00-\u9fff（）()、 ]{3,60}?)(?:关于|印发|转发)")
_OWNER = re.compile(r"(?:主办单位|主办|版权所有|主管单位)\s*[:：]?\s*([\u4e00-\u9fff（）()]{4,40})")
_OWNER_BEFORE = re.compile(r"([\u4e00-\u9fff（）()]{4,40}?)\s*版权所有")


@cache
def _abbreviations() -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    suffix: list[tuple[str, str]] = []
    whole: dict[str, str] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, short, full = line.split("\t")
        if kind == "whole":
            whole[short] = full
        else:
            suffix.append((short, full))
    # Longest first, so that 住房城乡建设管理委 is tried before 住房城乡建设委.
    suffix.sort(key=lambda pair: -len(pair[0]))
    return tuple(suffix), whole


def site_owner(text: str) -> str:
    """The agency that runs the site, from its footer ("主办：XX市人民政府办公室",
    "版权所有：XX局", "XX局 版权所有") or from a site name that is an agency's name, or ""."""
    text = (text or "").strip()
    names = [m.group(1).strip() for rx in (_OWNER, _OWNER_BEFORE) for m in rx.finditer(text)]
    if not names and len(text) <= 40:
        names = [text]  # a site name ("南京住房公积金管理中心")
    for name in names:
        if looks_like_agency(name):
            return _without_province(name)
    return ""


def _without_province(name: str) -> str:
    """"河北省高阳县人民政府" → "高阳县人民政府": a city's or county's official name does
    not carry its province (a provincial body's does: "河北省财政厅")."""
    m = re.match(r"^[\u4e00-\u9fff]{2,8}?(?:省|自治区)(?=[\u4e00-\u9fff]{2,8}?(?:市|县|区|自治州|盟))", name)
    if m and _PLACE.match(name[m.end():]).group(0):
        return name[m.end():]
    return name


def place_of(name: str) -> str:
    """The place an agency's name starts with ("杭州市…" → "杭州市"), or ""."""
    m = _PLACE.match(name or "")
    return m.group(0) if m else ""


def _is_short_form(short: str, full: str) -> bool:
    """True when *short* could abbreviate *full*: its characters appear in *full* in
    order, with the same last character (杭州公积金中心 → 杭州住房公积金管理中心)."""
    if not short or not full or short[-1] != full[-1] or len(short) >= len(full):
        return False
    rest = iter(full)
    return all(ch in rest for ch in short)


def _same_without_level(name: str, printed: str) -> bool:
    """True when *printed* is *name* with its place written without the level word:
    the site prints its own name "杭州住房公积金管理中心" where the expansion of 市公积金中心
    gives 杭州市住房公积金管理中心. The site's own spelling is the official one."""
    place = place_of(name)
    return (len(place) >= 3 and place[-1] in "市县区" and name != printed
            and place[:-1] + name[len(place):] == printed)


def _expand(name: str) -> str:
    suffix, whole = _abbreviations()
    if name in whole:
        return whole[name]
    for short, full in suffix:
        if name.endswith(short) and not name.endswith(full):
            head = name[: -len(short)]
            if short.startswith("政府") and head.endswith("人民"):
                continue
            return head + full
    # "XX市政府", "XX县政府": the people's government.
    if re.search(r"[省市县区]政府$", name) and not name.endswith("人民政府"):
        return name[:-2] + "人民政府"
    return name


def _place_at_level(level: str, *names: str) -> str:
    """The province (省), city (市) or county (县/区) where the first of *names* that
    starts with a known place is: "杭州住房公积金管理委员会" → 杭州市 for a 市 name. A
    municipality (北京市) is its own city."""
    from indexer.regions import region_of

    depth = {"省": 0, "市": 1, "区": 2, "县": 2}[level]
    for n in names:
        parts = region_of(n).split("/") if n else []
        if len(parts) > depth:
            return parts[depth]
        if level == "市" and len(parts) == 1 and parts[0].endswith("市"):
            return parts[0]
    return ""


def _one(name: str, owner: str, signed: str, hint: str = "") -> str:
    name = _CREDIT_TAIL.sub("", name.strip())
    if not name:
        return ""
    if name in _THIS_SITE or not looks_like_agency(name):
        # A credit to the site itself, a newspaper, a site's name: the signature says who
        # issued it, else the site's owner published it.
        if signed:
            return " ".join(_one(n, owner, "") for n in _JOINT.split(signed) if n)
        if hint and hint != name:
            # The title's issuer ("平潭综合实验区管委会关于…") before the site's owner.
            return " ".join(_one(n, owner, "") for n in _JOINT.split(hint) if n)
        return owner or name
    if owner and _is_short_form(name, owner):
        return owner
    if _BARE_LEVEL.match(name):
        place = place_of(owner) or place_of(signed) or _place_at_level(name[0], owner, signed, hint)
        if place:
            name = place + name[1:] if name[0] in place[-1] else place + name
    own, owner_place = place_of(name), place_of(owner)
    if own and owner_place.endswith(own) and owner_place != own:
        # A district's body printed without its city ("长乐区人力资源和社会保障局" on the
        # site of 福州市长乐区): its official name starts with the city.
        name = owner_place[: -len(own)] + name
    expanded = _expand(name)
    if owner and (_is_short_form(expanded, owner) or _same_without_level(expanded, owner)):
        return owner
    if expanded.startswith("人民政府") and place_of(owner):
        # "政府办公室" printed without its place: the place of the site that printed it.
        return place_of(owner) + expanded
    return expanded


def title_issuer(title: str) -> str:
    """The agencies a title names before 关于/印发 ("甲 乙关于…" → "甲 乙"), or ""."""
    m = _TITLE_ISSUER.match((title or "").strip())
    if not m:
        return ""
    names = [n for n in _JOINT.split(m.group(1)) if n]
    return " ".join(names) if names and all(looks_like_agency(n) for n in names) else ""


def resolve(printed: str, *, owner: str = "", signed: str = "", title: str = "") -> str:
    """The full name(s) of the agency printed as *printed* (see the module docstring);
    *owner* is the site's owner, *signed* the signature's agencies, *title* the
    document's title (its issuer counts when nothing else names one)."""
    printed = (printed or "").strip()
    if not printed:
        named = signed or title_issuer(title)
        if named:
            return " ".join(_one(n, owner, "") for n in _JOINT.split(named) if n)
        return owner
    parts = [p for p in _JOINT.split(printed) if p]
    out: list[str] = []
    issuer = title_issuer(title)
    for part in parts:
        if len(parts) > 1 and not looks_like_agency(part):
            # One of several issuers printed together: a name, whatever its ending
            # ("中国人民银行北京市分行"), not a credit to be replaced by the signature.
            full = part
        else:
            full = _one(part, owner, signed if len(parts) == 1 else "", hint=signed or issuer)
        if full and full not in out:
            out.append(full)
    return " ".join(out)
