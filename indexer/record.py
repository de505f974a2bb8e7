"""The clean record every input format is turned into."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit, urlunsplit

# Keys in the order `gongkai parse --json` prints them.
RECORD_KEYS = (
    "id", "url", "title", "agency", "region", "pub_date", "written_date", "year", "index_no",
    "doc_no",
    "classification", "validity", "doc_type", "scope", "publish_mode", "attachments",
    "body_kind", "report_year", "report_format", "report", "body", "source",
)


@dataclass
class Record:
    title: str
    body: str
    source: str
    url: str = ""
    agency: str = ""
    region: str = ""  # "省/市/县" of the agency (indexer.regions), "" for national bodies
    pub_date: str = ""  # published (发布日期), ISO YYYY-MM-DD, or "" when unknown
    written_date: str = ""  # signed (成文日期), ISO YYYY-MM-DD, or ""
    year: int | None = None
    index_no: str = ""
    doc_no: str = ""
    classification: str = ""  # may be hierarchical: "城乡建设、环境保护\\城市规划"
    validity: str = ""
    doc_type: str = ""
    scope: str = ""  # 公开范围
    publish_mode: str = ""  # 公开方式
    attachments: list[dict] = field(default_factory=list)  # [{"title", "url"}]
    # Where the text is: "text" (the body), "attachment" (only in an attached file),
    # "images" (page images: scans, "一图读懂"), "none" (nowhere on the page).
    body_kind: str = "text"
    # Annual disclosure reports only (`indexer.annual`): the year reported on, the
    # template ("2019", "2021" or "free text") and the tables as data.
    report_year: int | None = None
    report_format: str = ""
    report: dict | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.region and self.agency:
            from indexer.regions import region_of

            self.region = region_of(self.agency)
        if self.pub_date and self.year is None:
            self.year = int(self.pub_date[:4])
        if not self.id:
            self.id = make_id(self.url, self.title, self.body)

    @property
    def content_hash(self) -> str:
        """Hash of everything that is indexed, so an unchanged page can be skipped."""
        h = hashlib.sha1()
        for key in RECORD_KEYS:
            if key in ("id", "source"):
                continue
            h.update(repr(getattr(self, key)).encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in RECORD_KEYS}

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        return cls(**{k: d[k] for k in RECORD_KEYS if k in d})


def canonical_url(url: str) -> str:
    """Normalise a URL so http/https, host case, default ports and fragments do not
    give one page two ids."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    return urlunsplit(("http", host.lower(), path, parts.query, ""))


def make_id(url: str, title: str = "", body: str = "") -> str:
    """Stable id: from the canonical URL when known, else from the content."""
    cu = canonical_url(url)
    basis = ("url:" + cu) if cu else ("content:" + title.strip() + "\x00" + body.strip())
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
