"""Finding documents under paths and dispatching each file to its reader."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

import indexer.ingest as ingest
from indexer.ingest import (
    ParseFailure,
    is_text_rendering,
    iter_files,
    iter_records,
    plain_text_record,
    records_from_file,
    sidecar_url,
)
from indexer.readers import Skipped
from indexer.record import Record

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "records"
PAGE = ROOT / "index_data" / "sample" / "webpages" / (
    "031b3bab3a09ce128d4258045aada917379693ec5d3652fb4e19f9ef558339be.html")
PAGE_FINAL_URL = "https://gjj.hangzhou.gov.cn/art/2022/6/15/art_1229287759_1820957.html"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small tree with one file of each kind, plus sidecars, a manifest and notes."""
    root = tmp_path / "corpus"
    (root / "pages").mkdir(parents=True)
    shutil.copyfile(PAGE, root / "pages" / PAGE.name)
    shutil.copyfile(PAGE.with_name(PAGE.name + ".metadata.json"),
                    root / "pages" / (PAGE.name + ".metadata.json"))
    shutil.copytree(FIX / "pdf", root / "pdf")
    (root / "records").mkdir()
    for name in ("gov_prc_sample.csv", "bucm_sample.json", "laws_sample.jsonl"):
        shutil.copyfile(FIX / name, root / "records" / name)
    (root / "text").mkdir()
    for name in ("GOV_Jiangxi_1.txt", "donghu_gongan_2020_annual_report.txt"):
        shutil.copyfile(FIX / name, root / "text" / name)
    law = json.loads((FIX / "laws_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])
    (root / "text" / "law.md").write_text(law["markdown"], encoding="utf-8")
    (root / "text" / "scan.docx").write_bytes(b"PK\x03\x04 not handled")
    (root / "SOURCES.md").write_text("# where these files came from\n", encoding="utf-8")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.json").write_text("[]", encoding="utf-8")
    return root


def rel(paths, root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


# --- finding files ---------------------------------------------------------------------

def test_folders_are_walked_recursively_in_sorted_order_without_support_files(corpus):
    assert rel(iter_files([corpus]), corpus) == [
        "SOURCES.md",
        f"pages/{PAGE.name}",
        "pdf/cb72a9fad5a0555a3c73b4769c4672afdc6a1284da196cbacf5186583a964765.pdf",
        "records/bucm_sample.json", "records/gov_prc_sample.csv", "records/laws_sample.jsonl",
        "text/GOV_Jiangxi_1.txt", "text/donghu_gongan_2020_annual_report.txt", "text/law.md",
        "text/scan.docx",
    ]


def test_order_is_the_same_on_every_run(corpus):
    assert list(iter_files([corpus])) == list(iter_files([corpus]))
    first = [r.source for r in iter_records([corpus])]
    assert first == [r.source for r in iter_records([corpus])]


def test_sidecars_and_manifests_are_never_documents(corpus):
    names = [p.name for p in iter_files([corpus])]
    assert not any(n.endswith(".metadata.json") or n == "manifest.json" for n in names)
    sidecar = corpus / "pages" / (PAGE.name + ".metadata.json")
    (out,) = records_from_file(sidecar)
    assert isinstance(out, Skipped) and out.reason == "sidecar"
    (out,) = records_from_file(corpus / "pdf" / "manifest.json")
    assert isinstance(out, Skipped) and out.reason == "sidecar"


def test_missing_path_raises_before_anything_is_read(corpus):
    with pytest.raises(FileNotFoundError, match="nope"):
        iter_records([corpus, corpus / "nope"])
    with pytest.raises(FileNotFoundError):
        list(iter_files([corpus / "nope"]))


def test_unknown_field_in_map_raises_before_anything_is_read(corpus):
    with pytest.raises(ValueError, match="unknown record field"):
        iter_records([corpus], {"heading": "title"})


# --- dispatch ----------------------------------------------------------------------------

def test_html_page_gets_the_sidecar_final_url(corpus, monkeypatch):
    seen = {}

    def fake_parse_html(data, source, url):
        seen.update(size=len(data), source=source, url=url)
        return Skipped(source, "fake")

    monkeypatch.setattr(ingest, "_parse_html", fake_parse_html)
    page = corpus / "pages" / PAGE.name
    records_from_file(page)
    assert seen == {"size": PAGE.stat().st_size, "source": str(page), "url": PAGE_FINAL_URL}


def test_sidecar_url_falls_back_to_requested_url(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html></html>")
    (tmp_path / "p.html.metadata.json").write_text(
        json.dumps({"requested_url": "http://a.gov.cn/x.html", "final_url": None}))
    assert sidecar_url(page) == "http://a.gov.cn/x.html"
    assert sidecar_url(tmp_path / "missing.html") == ""


def test_html_page_is_read_by_the_html_reader(corpus):
    (rec,) = records_from_file(corpus / "pages" / PAGE.name)
    assert isinstance(rec, Record | Skipped)
    if isinstance(rec, Record):
        assert rec.url == PAGE_FINAL_URL


def test_text_rendering_goes_to_the_text_page_reader(corpus, monkeypatch):
    calls = []
    monkeypatch.setattr(ingest, "_parse_text_page",
                        lambda text, source: calls.append(source) or Skipped(source, "fake"))
    records_from_file(corpus / "text" / "donghu_gongan_2020_annual_report.txt")
    records_from_file(corpus / "text" / "GOV_Jiangxi_1.txt")
    assert [Path(c).name for c in calls] == ["donghu_gongan_2020_annual_report.txt"]


def test_text_rendering_is_recognised_by_its_metadata_labels():
    assert is_text_rendering((FIX / "donghu_gongan_2020_annual_report.txt").read_text("utf-8"))
    assert not is_text_rendering((FIX / "GOV_Jiangxi_1.txt").read_text("utf-8"))


def test_plain_text_first_line_is_the_title():
    (rec,) = records_from_file(FIX / "GOV_Jiangxi_1.txt")
    assert rec.title == "江西省人民政府办公厅关于促进3岁以下婴幼儿照护服务发展的实施意见"
    assert rec.body.startswith("各市、县（区）人民政府，省政府各部门：\n为促进全省婴幼儿照护服务事业健康发展")
    assert rec.doc_type == "意见"
    assert rec.agency == "" and rec.pub_date == ""


def test_plain_text_opening_with_addressees_takes_title_from_the_next_line():
    (rec,) = records_from_file(FIX / "art_4969_1521877.txt")
    assert rec.title == "你市《关于恳请批复鹰潭港总体规划的请示》（鹰府文〔2020〕5号）收悉。"
    assert rec.body.startswith("鹰潭市人民政府：\n")  # nothing dropped from the body


def test_plain_text_opening_with_an_order_number_skips_it_for_the_title():
    (rec,) = records_from_file(FIX / "art_4975_1566875.txt")
    assert rec.title == "省人民政府第66次常务会议决定对《江西省流动人口服务和管理办法》作如下修改"
    assert rec.body.startswith("第223号\n")


def test_empty_text_file_is_skipped_no_text(tmp_path):
    assert plain_text_record(" \n\u3000\n", "e.txt") == Skipped("e.txt", "no-text")


def test_records_files_markdown_and_pdf_are_dispatched(corpus):
    results = list(iter_records([corpus]))
    by_file: dict[str, list] = {}
    for r in results:
        by_file.setdefault(Path(r.source.split("#")[0]).name, []).append(r)
    assert len(by_file["gov_prc_sample.csv"]) == 3
    assert len(by_file["bucm_sample.json"]) == 4
    assert [r.title for r in by_file["law.md"]] == ["不动产登记暂行条例"]
    assert by_file["law.md"][0].doc_no == "中华人民共和国国务院令第656号"
    (pdf,) = by_file["cb72a9fad5a0555a3c73b4769c4672afdc6a1284da196cbacf5186583a964765.pdf"]
    assert pdf.title == "关于优化本市住房限购政策的通知"
    assert by_file["scan.docx"] == [Skipped(str(corpus / "text" / "scan.docx"),
                                            "unsupported-format", ".docx")]
    assert [s.reason for s in by_file["SOURCES.md"]] == ["corpus-notes"]
    assert not any(isinstance(r, ParseFailure) for r in results)


def test_html_without_extension_is_sniffed(tmp_path, monkeypatch):
    page = tmp_path / "page"
    page.write_bytes(b"<!DOCTYPE html><html><body>x</body></html>")
    monkeypatch.setattr(ingest, "_parse_html", lambda data, source, url: Skipped(source, "seen"))
    assert records_from_file(page) == [Skipped(str(page), "seen")]


# --- failures ----------------------------------------------------------------------------

def test_reader_exception_becomes_parse_failure_and_the_run_goes_on(corpus, monkeypatch):
    import indexer.readers.structured as structured

    def exploding(path, field_map=None):
        yield Record(title="读到的第一条", body="正文", source=f"{path}#L1")
        raise RuntimeError("reader bug")

    monkeypatch.setattr(structured, "read_records_file", exploding)
    out = records_from_file(corpus / "records" / "laws_sample.jsonl")
    assert isinstance(out[0], Record) and out[0].title == "读到的第一条"
    assert out[1] == ParseFailure(str(corpus / "records" / "laws_sample.jsonl"),
                                  "RuntimeError: reader bug")
    assert str(out[1]).endswith("laws_sample.jsonl: failed: RuntimeError: reader bug")
    results = list(iter_records([corpus]))
    assert sum(isinstance(r, ParseFailure) for r in results) == 3  # the three records files
    assert any(isinstance(r, Record) and r.source.endswith(".pdf") for r in results)


def test_records_from_file_results_are_picklable_for_worker_processes(corpus):
    out = records_from_file(corpus / "records" / "bucm_sample.json")
    assert pickle.loads(pickle.dumps(out)) == out
    failure = ParseFailure("x", "boom")
    assert pickle.loads(pickle.dumps(failure)) == failure
