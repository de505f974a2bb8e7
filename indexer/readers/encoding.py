"""Turn the bytes of a crawled page into text.

Order of evidence: a byte-order mark, then the charset the page declares (``<meta charset>``
or ``http-equiv="Content-Type"``) *if the bytes really decode with it*, then detection.
Government sites often declare one charset and serve another, or declare none at all,
so a declaration is only trusted once it has decoded the page cleanly.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# GB2312 and GBK pages routinely contain characters outside those tables (rare names,
# 〇, full-width symbols); GB18030 is a superset of both, so it always decodes them.
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "utf-8", "us-ascii": "utf-8",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Only the head matters and it is short; scanning a whole 4 MB page costs time for nothing.
_HEAD_BYTES = 4096


def _codec(name: str) -> str:
    """A Python codec name for *name*, or "" when Python has no such codec."""
    name = name.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def declared_charset(data: bytes) -> str:
    """The charset the page's own <meta> declares, as a Python codec name, or ""."""
    m = _META_CHARSET.search(data[:_HEAD_BYTES])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else ""


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> str:
    """Best guess by charset-normalizer; UTF-8 with replacement when it has none."""
    try:
        best = from_bytes(data[:200_000]).best()
    except Exception:  # the detector is third-party code: never let it break a parse
        best = None
    # _codec maps any GB table the detector names to the GB18030 superset.
    codec = _codec(best.encoding) if best is not None else ""
    return codec or "utf-8"


def decode_html(data: bytes) -> str:
    """Decode *data* (an HTML page) to str. Never raises."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return str(data)
    data = bytes(data)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _strict(data, codec)
            if text is not None:
                return text.lstrip("\ufeff")
    declared = declared_charset(data)
    if declared:
        text = _strict(data, declared)
        if text is not None:
            return text
    # No declaration (or a wrong one): UTF-8 is by far the most common and is
    # self-validating, so a clean UTF-8 decode is trusted before asking the detector.
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    codec = _detect(data)
    if not codec.startswith("utf"):
        # Every undeclared non-UTF-8 page in this domain so far was GB; on short pages the
        # detector can pick Big5 or a Korean table for the same bytes, so a clean GB18030
        # decode wins over a legacy guess.
        text = _strict(data, "gb18030")
        if text is not None:
            return text
    return data.decode(codec, errors="replace")
