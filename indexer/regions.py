"""Where an agency is: its province, then its city (prefecture) or county, read from the
place names its full name starts with ("河北省高阳县人民政府" → "河北省/保定市/高阳县").

The places come from China's administrative division codes (`indexer/data/regions.tsv`,
see data/README.md): a code's first two digits are its province, the next two its
prefecture, the last two its county, so a county names its city and province too. A name
may be written without its level word ("杭州住房公积金管理中心": 杭州 for 杭州市). A place
name that several divisions share (朝阳区, 鼓楼区) counts only under a province or city
that the name has already given. National bodies have no region.

A region is written "省/市/县" (municipalities: "北京市/朝阳区"); its prefixes
("河北省", "河北省/保定市") are what a filter on a province or a city matches.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_TABLE = Path(__file__).resolve().parent / "data" / "regions.tsv"
_LEVEL_WORDS = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "地区",
                "省", "市", "县", "区", "盟", "旗")
# Municipalities: their prefecture level is the city itself.
_MUNICIPALITIES = ("11", "12", "31", "50")
_MAX_NAME = 12


@cache
def _places() -> tuple[dict[str, str], dict[str, list[str]]]:
    """code → name, and every spelling (full, and without its level word) → codes."""
    names: dict[str, str] = {}
    spellings: dict[str, list[str]] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, name = line.split("\t")
        names[code] = name
        forms = {name}
        for word in _LEVEL_WORDS:
            if name.endswith(word) and len(name) - len(word) >= 2:
                forms.add(name[: -len(word)])
                break
        for form in forms:
            spellings.setdefault(form, []).append(code)
    return names, spellings


def _level(code: str) -> int:
    """0 province, 1 prefecture, 2 county."""
    return 0 if code[2:] == "0000" else 1 if code[4:] == "00" else 2


def _within(code: str, parent: str | None) -> bool:
    if parent is None:
        return True
    level = _level(parent)
    if level == 2:
        return False  # nothing lies below a county
    depth = 2 if level == 0 else 4
    return code[:depth] == parent[:depth]


def region_codes(agency: str) -> list[str]:
    """The division codes an agency's name starts with, outermost first."""
    names, spellings = _places()
    found: list[str] = []
    at = 0
    text = (agency or "").strip()
    while at < len(text) and len(found) < 3:
        parent = found[-1] if found else None
        best = None
        for length in range(min(_MAX_NAME, len(text) - at), 1, -1):
            codes = [c for c in spellings.get(text[at:at + length], ())
                     if _within(c, parent) and (parent is None or _level(c) > _level(parent))]
            if len(codes) == 1 or (codes and parent is not None):
                best = (codes[0], length)
                break
        if best is None:
            break
        found.append(best[0])
        at += best[1]
    return found


def region_of(agency: str) -> str:
    """"省/市/县" for the place an agency's name starts with, or "" (national bodies,
    names that start with no place)."""
    first = (agency or "").split(" ")[0]
    # 中共北京市委, 中国共产党XX市委员会: the party committee of that place.
    for prefix in ("中国共产党", "中共"):
        if first.startswith(prefix):
            first = first[len(prefix):]
            break
    codes = region_codes(first)
    if not codes:
        return ""
    names, _ = _places()
    innermost = codes[-1]
    province = innermost[:2] + "0000"
    path = [names.get(province, "")]
    if _level(innermost) >= 1 and innermost[:2] not in _MUNICIPALITIES:
        city = innermost[:4] + "00"
        if city in names:
            path.append(names[city])
    if _level(innermost) == 2:
        path.append(names[innermost])
    return "/".join(p for p in path if p)


def region_prefixes(region: str) -> list[str]:
    """"A/B/C" → ["A", "A/B", "A/B/C"]: the values a region filter can name."""
    parts = [p for p in (region or "").split("/") if p]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
