"""The arithmetic a report's own tables must satisfy, checked and kept.

Each check is {"id", "rule", "holds", "left", "right", "difference"}: `holds` is None
when a cell it needs is unknown. A report whose sums are off is a finding for the reader,
not a reason to doubt or drop its figures.
"""

from __future__ import annotations

from indexer.annual import template as T

_GROUP_NAMES = {"review": "行政复议", "suit_direct": "未经复议直接起诉",
                "suit_after_review": "复议后起诉"}


def _check(cid: str, rule: str, left_parts: list, right_parts: list) -> dict:
    known = None not in left_parts and None not in right_parts
    left = _total(left_parts) if known else None
    right = _total(right_parts) if known else None
    holds = None if not known else abs(left - right) < 1e-9
    diff = None if not known else _tidy(left - right)
    return {"id": cid, "rule": rule, "holds": holds, "left": left, "right": right,
            "difference": diff}


def _total(values):
    return _tidy(sum(values))


def _tidy(x):
    return int(x) if float(x).is_integer() else round(x, 4)


def check(report: dict) -> list[dict]:
    out = []
    requests = report.get("requests") or {}
    if requests:
        keys = list(requests)
        results = T.result_rows(keys)
        for row in keys:
            cells = requests[row]
            parts = [cells[c] for c in T.REQUEST_COLUMNS[:-1]]
            out.append(_check(f"requests.{row}.total", f"{row}: 六类申请人之和 = 总计",
                              parts, [cells["total"]]))
        for col in T.REQUEST_COLUMNS:
            name = T.COLUMN_LABELS[col]
            out.append(_check(f"requests.closed.{col}", f"{name}: 各项办理结果之和 = (七)总计",
                              [requests[r][col] for r in results], [requests["closed"][col]]))
            out.append(_check(f"requests.balance.{col}", f"{name}: 一 + 二 = 三(七) + 四",
                              [requests["new"][col], requests["carried_over"][col]],
                              [requests["closed"][col], requests["carried_forward"][col]]))
    for group in T.APPEAL_GROUPS:
        cells = report.get(group) or {}
        if cells:
            out.append(_check(f"{group}.total", f"{_GROUP_NAMES[group]}: 四种结果之和 = 总计",
                              [cells[c] for c in T.APPEAL_COLUMNS[:-1]], [cells["total"]]))
    return out


def summary(checks: list[dict]) -> dict:
    """Counts for lists and badges: how many checks hold, fail, or could not be made."""
    return {
        "held": sum(1 for c in checks if c["holds"] is True),
        "failed": sum(1 for c in checks if c["holds"] is False),
        "unknown": sum(1 for c in checks if c["holds"] is None),
    }
