"""Ways out of an empty result, for every backend: drop one filter value, or drop one
word. A backend counts what each would give; this module names and orders them."""

from __future__ import annotations

from search_app.search.types import SearchRequest

MAX_SUGGESTIONS = 6


def request_dict(req: SearchRequest, q: str, filters: dict) -> dict:
    return {"q": q, "filters": filters, "sort": req.sort, "page": 1, "size": req.size}


def without_filter(filters: dict[str, list[str]], name: str, value: str) -> dict:
    """*filters* without *value* of *name* (a facet left without values is dropped)."""
    rest = {k: [x for x in vs if not (k == name and x == value)] for k, vs in filters.items()}
    return {k: vs for k, vs in rest.items() if vs}


def filter_choices(filters: dict[str, list[str]]):
    """(name, value, the other filters) for each filter value that could be dropped."""
    for name, values in filters.items():
        for v in values:
            yield name, v, without_filter(filters, name, v)


def drop_filter(req: SearchRequest, name: str, value: str, rest: dict, count: int) -> dict:
    return {"label": f"去掉筛选 {name}: {value}", "count": count,
            "request": request_dict(req, req.q, rest)}


def drop_word(req: SearchRequest, labels: list[str], i: int, filters: dict,
              count: int) -> dict:
    q = " ".join(lab for j, lab in enumerate(labels) if j != i)
    return {"label": f"去掉“{labels[i]}”", "count": count,
            "request": request_dict(req, q, filters)}


def best(found: list[dict]) -> list[dict]:
    """Those that give some results, most first (stable for equal counts)."""
    found = [s for s in found if s["count"]]
    found.sort(key=lambda s: -s["count"])
    return found[:MAX_SUGGESTIONS]
