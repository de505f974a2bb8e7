"""CSV lines safe to open in a spreadsheet: every export (search results, reports)
writes its rows through `csv_line`."""

from __future__ import annotations

import csv
import io

# A cell starting with one of these is a formula to Excel (CSV injection); a leading
# apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(values) -> str:
    """One CSV record (CRLF-terminated, as Excel writes them)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buf.getvalue()
