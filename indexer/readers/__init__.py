"""One reader per input format. Each turns one file (or one line/row of a records file)
into `Record`s, or says why it is not a document with `Skipped`.

Contract shared by all readers:
- never raise for bad input they can recognise: return/yield `Skipped(source, reason)`;
- `reason` is a short stable slug (``redirect-stub``, ``empty-shell``, ``list-page``,
  ``word-html``, ``not-html``, ``no-text``, ``malformed-json`` ...) so that summaries can
  count skips by reason;
- `source` is the file path, with ``#L<n>``/``#row<n>`` appended for records files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.source}: skipped: {self.reason}{extra}"
