"""Figures that reports written before the 2019 template state in prose.

Only plain statements for the whole year are taken ("全年主动公开政府信息1234条",
"共受理政府信息公开申请56件"); each keeps the phrase it came from, so a reader can see
what was said. Figures for a department or a month, ranges and estimates ("7700余条")
are left alone: "余" is not a number.
"""

from __future__ import annotations

import re

_N = r"(\d[\d,]*)"
_UNIT = r"\s*(?:条|件|份|项|个|次|起)(?!余)"
_CLAUSE = r"[^，,。；;]"
# (key, pattern): the first match in the text wins. The number must follow the words
# directly ("主动公开政府信息425条"), so that "主动公开政府采购项目信息189条" is not the year's
# total.
PATTERNS = (
    ("proactive_total", re.compile(r"主动公开(?:政府)?信息(?:共|总数|总计)?" + _N + _UNIT)),
    ("requests_total", re.compile(
        r"(?:收到|受理|接收)" + _CLAUSE + r"{0,12}?(?<!复议)申请(?:共|总数)?" + _N + _UNIT)),
    ("requests_granted", re.compile(r"(?:同意公开|予以公开)(?:答复)?(?:数|的)?" + _N + _UNIT)),
    ("requests_denied", re.compile(r"(?:不予公开|免于公开)(?:答复)?(?:数|的)?" + _N + _UNIT)),
    ("review_total", re.compile(
        r"(?:收到|发生|受理)" + _N + r"\s*(?:份|件|起|个)" + _CLAUSE + r"{0,12}?行政复议")),
    ("suit_total", re.compile(
        r"(?:收到|发生|受理)" + _N + r"\s*(?:份|件|起|个)" + _CLAUSE + r"{0,12}?行政诉讼")),
)
# "None" said in words: the figure is 0.
_NONE = {
    "requests_total": re.compile(
        r"(?:未|没有)(?:收到|受理|接到)(?:(?!复议|诉讼)" + _CLAUSE + r"){0,16}?申请"),
    "requests_denied": re.compile(r"无不予公开"),
    "review_total": re.compile(r"(?:未|没有)(?:发生|收到|出现|接到)" + _CLAUSE + r"{0,16}?行政复议"),
    "suit_total": re.compile(r"(?:未|没有)(?:发生|收到|出现|接到)" + _CLAUSE + r"{0,16}?行政诉讼"),
    "fees": re.compile(r"暂不收费|(?:未|没有)收取" + _CLAUSE + r"{0,12}?费"),
}


def stated_figures(body: str) -> list[dict]:
    """[{key, value, quote}] for each figure the prose states plainly."""
    text = re.sub(r"[ \t\u3000]+", "", body or "")
    out = []
    keys = [k for k, _p in PATTERNS] + [k for k in _NONE if k not in dict(PATTERNS)]
    patterns = dict(PATTERNS)
    for key in keys:
        m = patterns[key].search(text) if key in patterns else None
        if m:
            out.append({"key": key, "value": int(m.group(1).replace(",", "")),
                        "quote": m.group(0)})
        elif key in _NONE and (n := _NONE[key].search(text)):
            out.append({"key": key, "value": 0, "quote": n.group(0)})
    return out
