"""Check the development labels against the pages themselves, without the readers:

    python bench/development/check_labels.py

For each labelled document, the page is dumped as plain text nodes (lxml, scripts and
styles emptied; a `page.txt` as it is) and every `must` string has to occur in that dump,
in page order, and every `must_not` string has to occur, but not between the first and the
last `must` string (furniture printed inside the document's text is no furniture). The
title has to be printed on the page. Prints each failure; exit code 1 if any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import lxml.html

from indexer.readers.encoding import decode_html

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "corpus"


def page_text(path: Path) -> str:
    if path.suffix == ".txt":
        return "\n".join(ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip())
    doc = lxml.html.fromstring(decode_html(path.read_bytes()).encode("utf-8"),
                               parser=lxml.html.HTMLParser(encoding="utf-8"))
    for el in doc.xpath("//script|//style|//noscript"):
        el.text = None
    nodes = (re.sub(r"\s+", " ", t).strip() for t in doc.itertext())
    return "\n".join(t for t in nodes if t)


def problems(label: dict, text: str) -> list[str]:
    out = []
    at = [text.find(s) for s in label["must"]]
    out += [f"must not on the page: {s}" for s, n in zip(label["must"], at, strict=True) if n < 0]
    if at != sorted(at):
        out.append("must strings out of page order")
    lo = min(at, default=0)
    hi = max((n + len(s) for s, n in zip(label["must"], at, strict=True)), default=0)
    for s in label["must_not"]:
        hits = [m.start() for m in re.finditer(re.escape(s), text)]
        if not hits:
            out.append(f"must_not not on the page: {s}")
        elif label["must"] and any(lo <= n < hi for n in hits):
            out.append(f"must_not inside the document's text: {s}")
    if label["title"] and label["title"] not in text.replace("\n", ""):
        out.append(f"title not printed: {label['title']}")
    return out


def main() -> int:
    labels = json.loads((HERE / "expected.json").read_text("utf-8"))
    bad = 0
    for key, label in sorted(labels.items()):
        if not label["is_document"]:
            continue
        for p in problems(label, page_text(SHARED / label["corpus_path"])):
            print(f"{key}: {p}")
            bad += 1
    print(f"{len(labels)} labels checked, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
