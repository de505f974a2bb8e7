"""Reading a Typesense import's answer: one JSON line per document, as the cluster
answers it, including the blank last line a node gave during an election on CI."""

from __future__ import annotations

import json

from indexer.typesense import writer
from indexer.typesense.connection import RetryLog

OK = '{"success":true}'


def test_a_blank_last_line_is_not_a_result():
    assert writer.import_results(f"{OK}\n{OK}\n", 2) == [{"success": True}] * 2


def test_bytes_and_blank_lines_between_results_are_read():
    assert writer.import_results(f"{OK}\n\n{OK}".encode(), 2) == [{"success": True}] * 2


def test_a_missing_or_unreadable_line_leaves_its_document_unconfirmed_and_transient():
    results = writer.import_results(f"{OK}\nnot json", 3)
    assert [r["success"] for r in results] == [True, False, False]
    assert all(writer._transient_text(r["error"]) for r in results[1:])


def test_a_refusal_keeps_its_error():
    got = writer.import_results('{"success":false,"error":"Not Ready or Lagging"}', 1)
    assert got == [{"success": False, "error": "Not Ready or Lagging"}]


class _Documents:
    """What `ts.collections[name].documents` offers an import: answers in turn."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def import_(self, body, params):
        assert isinstance(body, str) and params == {"action": "upsert"}
        self.sent.append([json.loads(line)["id"] for line in body.split("\n")])
        return self.answers.pop(0)


class _Client:
    def __init__(self, documents):
        self.collections = {"c": type("Collection", (), {"documents": documents})()}


def test_an_import_sends_again_only_the_documents_not_confirmed(monkeypatch):
    monkeypatch.setattr(writer.time, "sleep", lambda s: None)
    documents = _Documents([f"{OK}\n", f"{OK}\n{OK}\n"])  # the second line never came
    log = RetryLog()
    writer._import(_Client(documents), "c", [{"id": "a"}, {"id": "b"}, {"id": "d"}], log)
    assert documents.sent == [["a", "b", "d"], ["b", "d"]]
    assert log.retries == 1
