"""Small helpers that turn backend values into what templates and feeds show: search
URLs built from a request, safe outbound links, and the backend's marked-up HTML checked
against the few tags it is allowed to contain."""

from __future__ import annotations

import os
import re
from urllib.parse import urlencode, urljoin, urlsplit

from flask import url_for
from markupsafe import Markup, escape

from search_app.search.types import SearchRequest
from search_app.web.params import request_params

FACET_LABELS = {
    "agency": "发布机构",
    "region": "地区",
    "year": "年份",
    "classification": "主题分类",
    "doc_type": "文种",
    "validity": "有效性",
    "report_year": "报告年度",
    "report_format": "年报格式",
}
# How a facet value reads on a page, where the stored value is a code.
FACET_VALUE_LABELS = {
    "report_format": {"2019": "2019 年格式", "2021": "2021 年格式", "free text": "文字报告"},
}


def facet_value_label(value, facet: str) -> str:
    return FACET_VALUE_LABELS.get(facet, {}).get(str(value), str(value))


SORT_LABELS = {"relevance": "相关度", "newest": "最新", "oldest": "最早"}
# What the document page says when a document's text is not on its page.
BODY_KIND_NOTES = {
    "attachment": "本文件正文在附件中，页面上没有正文文字。",
    "images": "本文件正文为图片，没有可检索的文字；标题和元数据可检索。",
    "none": "原页面上没有正文文字；标题和元数据可检索。",
}

# Metadata rows of the document page, in the order disclosure pages print them.
METADATA_LABELS = (
    ("index_no", "索引号"),
    ("classification", "主题分类"),
    ("agency", "发布机构"),
    ("region", "地区"),
    ("written_date", "成文日期"),
    ("pub_date", "发布日期"),
    ("doc_no", "文号"),
    ("doc_type", "文种"),
    ("validity", "有效性"),
    ("scope", "公开范围"),
    ("publish_mode", "公开方式"),
    ("source", "来源文件"),
)

# The backend marks matches with <mark> and may structure a body with paragraphs; no tag
# may carry attributes. Anything else means the value was not the escaped HTML the
# contract promises, and it is shown as plain text instead.
_ALLOWED_TAG = re.compile(r"</?(?:mark|p|br|b|strong|em)\s*/?>", re.I)


def search_url(req: SearchRequest, endpoint: str = "views.search", *, page: int | None = None,
               external: bool = False, include_size: bool = False) -> str:
    """The URL of *req* on *endpoint*: one function for a page and its JSON twin."""
    base = url_for(endpoint, _external=external)
    params = request_params(req, page=page, include_size=include_size)
    return f"{base}?{urlencode(params)}" if params else base


def marked(html: str | None) -> Markup:
    """The backend's HTML-safe text (snippet, body_html) as markup, after checking that it
    holds only the allowed tags; otherwise escaped so a broken backend cannot inject."""
    html = html or ""
    if "<" not in _ALLOWED_TAG.sub("", html):
        return Markup(html)
    return escape(html)


def safe_url(url: str | None, base: str = "") -> str:
    """An http(s) URL to link to, resolved against *base*; "" for javascript:, data: and
    anything else that is not a web page (shown as text, never as a link)."""
    url = (url or "").strip()
    if not url:
        return ""
    if base:
        url = urljoin(base, url)
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""


def source_label(source: str | None) -> str:
    """The source file as the index recorded it, minus the server's own directories: a
    path under the working directory is shown relative to it, any other absolute path
    from its corpus folder (``index_data/...``) or as the bare file name."""
    source = source or ""
    path, sep, fragment = source.partition("#")
    if os.path.isabs(path):
        cwd = os.getcwd() + os.sep
        if path.startswith(cwd):
            path = path[len(cwd):]
        elif f"{os.sep}index_data{os.sep}" in path:
            path = "index_data" + path.rsplit(f"{os.sep}index_data", 1)[1]
        else:
            path = os.path.basename(path)
    return path + sep + fragment


def display_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def hidden_params(req: SearchRequest) -> list[tuple[str, str]]:
    """What the search form carries besides q: the active filters and sort (page resets)."""
    return [(k, v) for k, v in request_params(req, page=1) if k != "q"]


def example(q: str = "", sort: str = "relevance", filters: dict | None = None) -> SearchRequest:
    return SearchRequest(q=q, sort=sort, filters=filters or {})


def register_template_helpers(app) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(marked=marked, safe_url=safe_url, host=display_host,
                                   source_label=source_label,
                                   facet_value_label=facet_value_label)
    app.jinja_env.globals.update(
        search_url=search_url, hidden_params=hidden_params, example=example,
        facet_labels=FACET_LABELS, metadata_labels=METADATA_LABELS,
        body_kind_notes=BODY_KIND_NOTES)
