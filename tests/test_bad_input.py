"""Bad input never stops an indexing run: every broken file is skipped with a reason or
reported as a failure, at a bounded cost, and the exit code tells which.

Cost is judged against the machine itself, not in seconds: a bad file may take at most
COST_RATIO times the CPU time that reading real files of its size takes in the same run
(CPU time of the reading thread, so other load on the machine does not count), and a
file too large to parse must be refused before any decoding or parsing (spied on).
Wall-clock limits here only catch a hang (HANG_SECONDS).

The bad files are synthetic damage (junk bytes, truncation, nesting, relabelled charsets)
done to real pages and records from ``index_data/sample``; no document text is invented.
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing as mp
import random
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import SAMPLE, SAMPLE_RECORDS, read_ids, run_index

from indexer.ingest import ParseFailure, records_from_file
from indexer.readers import Skipped
from indexer.readers.html_page import parse_html
from indexer.readers.structured import read_csv, read_json, read_jsonl
from indexer.record import Record

WEBPAGES = SAMPLE / "webpages"
PDF = SAMPLE / "documents_pdf" / "bceaba0b7daca8566dbf3a897c0b504fe7a526de81dbcb5af784d0676b64e806.pdf"
# Real pages that read as documents: www.gaoyang.gov.cn (GB2312-declared) and
# fgj.hangzhou.gov.cn (UTF-8-declared), and a few small ones for mutation.
GBK_PAGE = WEBPAGES / "ad9be9ed61e8d1b698829a248df028e398f2bc8a49185c50c7a95277b254ab0b.html"
UTF8_PAGE = WEBPAGES / "1c9e8e591318810039f6384ff31ac692cd9ef7f472a00de2c735c3798c70c90f.html"
SMALL_PAGES = [p for p in sorted(WEBPAGES.glob("*.html"))
               if p.name.startswith(("35207570c98d", "2ad7b079c62c", "9e363364a6e4"))]
CSV = SAMPLE / "GOV_PRC.csv"

# A bad file may cost this many times what a real file of its size costs (measured:
# under 1; the 100,000 nested <div> and the pages declaring the wrong charset cost most).
COST_RATIO = 10
HANG_SECONDS = 600  # a child reading a 50 MB file is given up on after this: a hang
# Real files of every kind the bad ones are made from: their CPU cost per byte (the
# highest) and the cost of the cheapest one calibrate what reading costs here and now.
ORDINARY = [GBK_PAGE, UTF8_PAGE, *SMALL_PAGES, PDF, CSV, SAMPLE_RECORDS]


def _timed(path: Path):
    """Results and CPU seconds of this thread reading *path* a second time (the first
    read loads whatever the readers import or build lazily): CPU time, not wall time,
    so that the figure does not grow when the machine is busy, and no garbage
    collection in between (wall time is printed too)."""
    records_from_file(path)
    gc.disable()
    try:
        start, wall = time.thread_time(), time.perf_counter()
        results = records_from_file(path)
        cpu = time.thread_time() - start
        _WALL[path.name] = time.perf_counter() - wall
    finally:
        gc.enable()
    return results, cpu


_WALL: dict[str, float] = {}


@pytest.fixture(scope="module")
def ordinary_cost():
    """(CPU seconds of the cheapest real file, highest CPU seconds per byte of any)."""
    costs = {path: _timed(path)[1] for path in ORDINARY}
    print("\nreal files, CPU seconds:", json.dumps({p.name[:16]: round(s, 4)
                                                  for p, s in costs.items()}))
    return min(costs.values()), max(s / p.stat().st_size for p, s in costs.items())


def _allowed(ordinary_cost, size: int) -> float:
    base, per_byte = ordinary_cost
    return COST_RATIO * (base + per_byte * size)


def _real_rows(n: int) -> list[str]:
    return SAMPLE_RECORDS.read_text(encoding="utf-8").splitlines()[:n]


def _bad_files(folder: Path) -> dict[str, tuple[bytes, str]]:
    """name → (bytes, what is wrong with it)."""
    rng = random.Random(20261128)
    gbk, utf8 = GBK_PAGE.read_bytes(), UTF8_PAGE.read_bytes()
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:  # the shape of a .docx, with no document in it
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    rows = _real_rows(4)
    csv_lines = CSV.read_text(encoding="utf-8-sig").splitlines()
    return {
        "truncated-half.html": (utf8[: len(utf8) // 2], "a real page cut in half"),
        "truncated-head.html": (utf8[:700], "a real page cut inside <head>"),
        "junk.html": (rng.randbytes(300_000), "random bytes"),
        "junk-no-nul.html": (bytes(rng.randrange(1, 256) for _ in range(50_000)),
                             "random bytes without NUL"),
        "empty.html": (b"", "zero bytes"),
        "gbk-labelled-utf8.html": (re.sub(rb"(?i)charset=[\"']?gb2312", b"charset=utf-8", gbk),
                                   "a GB2312 page declaring utf-8"),
        "utf8-labelled-gbk.html": (re.sub(rb"(?i)charset=[\"']?utf-8", b"charset=gbk", utf8),
                                   "a UTF-8 page declaring gbk"),
        "nested.html": (b"<html><body>" + b"<div>" * 100_000 + utf8[-2000:] + b"</div>" * 100_000
                        + b"</body></html>", "100,000 nested <div>"),
        "a-pdf.html": (PDF.read_bytes(), "a PDF named .html"),
        "ole-word.html": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(20_000),
                          "an OLE2 (Word .doc) header named .html"),
        "docx.html": (docx.getvalue(), "a zip (.docx) named .html"),
        "mso-empty.html": (b'<html xmlns:o="urn:schemas-microsoft-com:office:office" '
                           b'xmlns:w="urn:schemas-microsoft-com:office:word">'
                           b'<head><meta name=Generator content="Microsoft Word 15">'
                           b"</head><body><div class=WordSection1><p class=MsoNormal>"
                           b"<o:p>&nbsp;</o:p></p></div></body></html>",
                           "a Word 'Save as HTML' shell with no text"),
        "mixed.jsonl": ("\n".join([rows[0], rows[1][: len(rows[1]) // 2], "not json at all",
                                   "[1, 2, 3]", "42", "{", rows[2]]).encode(),
                        "real rows mixed with truncated/non-object lines"),
        "not-json.json": (b"this is not JSON {", "a .json that is not JSON"),
        "truncated.json": (("[" + ",".join(rows))[:3000].encode(), "a JSON array cut off"),
        "junk.json": (rng.randbytes(5_000), "random bytes named .json"),
        "bad-rows.csv": ("\n".join([csv_lines[0], csv_lines[1], "only,three,cells",
                                    csv_lines[2], '"an unterminated quote,1,2']).encode(),
                         "a real CSV with short rows and an open quote"),
        "empty.csv": (b"", "zero bytes"),
        "empty.json": (b"", "zero bytes"),
        "truncated.pdf": (PDF.read_bytes()[: PDF.stat().st_size // 2], "a PDF cut in half"),
        "empty.pdf": (b"", "zero bytes"),
    }


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    for name, (data, _why) in _bad_files(folder).items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def outcomes(bad_folder, ordinary_cost):
    """name → (results, CPU seconds) from reading each bad file on its own."""
    return {p.name: _timed(p) for p in sorted(bad_folder.iterdir())}


def test_every_bad_file_is_skipped_with_a_reason_or_reported_and_never_raises(outcomes):
    for name, (results, _s) in outcomes.items():
        assert results, f"{name}: nothing reported"
        for r in results:
            assert isinstance(r, Record | Skipped | ParseFailure), (name, r)
            if isinstance(r, Skipped):
                assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.reason), (name, r)


def test_every_bad_file_costs_no_more_than_real_files_of_its_size(outcomes, bad_folder,
                                                                   ordinary_cost):
    times = {name: round(s, 3) for name, (_r, s) in outcomes.items()}
    print("\nper-file CPU seconds:", json.dumps(times))
    print("per-file wall seconds:", json.dumps({n: round(s, 3) for n, s in _WALL.items()}))
    allowed = {name: _allowed(ordinary_cost, (bad_folder / name).stat().st_size)
               for name in outcomes}
    print("allowed CPU seconds:", json.dumps({n: round(s, 3) for n, s in allowed.items()}))
    costly = {n: (s, round(allowed[n], 3)) for n, (_r, s) in outcomes.items()
              if s > allowed[n]}
    assert not costly, costly


def test_binary_and_non_html_files_named_html_are_skipped_as_not_html(outcomes):
    for name in ("junk.html", "empty.html", "a-pdf.html", "ole-word.html", "docx.html"):
        (result,) = outcomes[name][0]
        assert isinstance(result, Skipped) and result.reason == "not-html", (name, result)


def test_random_bytes_without_nul_named_html_are_not_a_document(outcomes):
    (result,) = outcomes["junk-no-nul.html"][0]
    assert isinstance(result, Skipped), result


def test_a_deeply_nested_page_is_skipped_as_a_parse_error_not_a_crash(outcomes):
    (result,) = outcomes["nested.html"][0]
    assert isinstance(result, Skipped) and result.reason == "parse-error", result


def test_a_word_html_shell_without_text_is_skipped_as_word_html(outcomes):
    (result,) = outcomes["mso-empty.html"][0]
    assert isinstance(result, Skipped) and result.reason == "word-html", result


@pytest.mark.parametrize("name, page", [("gbk-labelled-utf8.html", GBK_PAGE),
                                        ("utf8-labelled-gbk.html", UTF8_PAGE)])
def test_a_wrongly_declared_charset_still_gives_the_same_text(outcomes, name, page):
    right = parse_html(page.read_bytes(), str(page))
    (wrong,) = outcomes[name][0]
    assert isinstance(right, Record) and isinstance(wrong, Record), wrong
    assert (wrong.title, wrong.body) == (right.title, right.body)
    assert "\ufffd" not in wrong.title + wrong.body


def test_malformed_json_lines_are_skipped_one_by_one_and_good_lines_are_kept(outcomes):
    results = outcomes["mixed.jsonl"][0]
    kinds = [(type(r).__name__, getattr(r, "reason", "")) for r in results]
    assert kinds == [("Record", ""), ("Skipped", "malformed-json"),
                     ("Skipped", "malformed-json"), ("Skipped", "malformed-json"),
                     ("Skipped", "malformed-json"), ("Skipped", "malformed-json"),
                     ("Record", "")]
    assert [r.source.rsplit("#", 1)[1] for r in results] == [f"L{n}" for n in range(1, 8)]


@pytest.mark.parametrize("name", ["not-json.json", "truncated.json", "junk.json", "empty.json"])
def test_a_json_file_that_is_not_json_is_skipped_as_malformed(outcomes, name):
    (result,) = outcomes[name][0]
    assert isinstance(result, Skipped) and result.reason == "malformed-json", result


def test_malformed_csv_rows_are_skipped_and_good_rows_kept(outcomes):
    results = outcomes["bad-rows.csv"][0]
    kinds = [type(r).__name__ if isinstance(r, Record) else r.reason for r in results]
    assert kinds[:3] == ["Record", "malformed-row", "Record"]
    assert all(k in ("Record", "malformed-row") for k in kinds)
    assert "malformed-row" in kinds[3:]  # the row with the open quote


@pytest.mark.parametrize("suffix", [
    ".html", ".json", ".csv", ".txt", ".md", ".pdf",
    ".jsonl",
])
def test_a_zero_byte_file_is_skipped_with_a_reason(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    results = records_from_file(path)
    assert len(results) == 1 and isinstance(results[0], Skipped), results


def test_a_truncated_pdf_is_skipped_or_reported_not_raised(outcomes):
    (result,) = outcomes["truncated.pdf"][0]
    assert isinstance(result, Skipped | ParseFailure), result


def test_an_index_run_over_all_bad_files_finishes_and_its_exit_code_tells(bad_folder, outcomes,
                                                                          tmp_path):
    failed = any(isinstance(r, ParseFailure) for rs, _s in outcomes.values() for r in rs)
    records = {r.id for rs, _s in outcomes.values() for r in rs if isinstance(r, Record)}
    proc = run_index(tmp_path / "ix", [bad_folder], "--json", "--procs", "2")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == (1 if failed else 0), proc.stderr
    summary = json.loads(proc.stdout)
    skips = sum(isinstance(r, Skipped) for rs, _s in outcomes.values() for r in rs)
    assert sum(summary["skipped"].values()) == skips
    assert set(read_ids(tmp_path / "ix")) == records


def test_a_run_with_only_skipped_files_exits_zero_and_one_with_a_failed_reader_exits_one(
        tmp_path, bad_folder, monkeypatch):
    only_skips = tmp_path / "skips"
    only_skips.mkdir()
    for name in ("junk.html", "empty.csv", "not-json.json", "ole-word.html"):
        shutil.copy(bad_folder / name, only_skips / name)
    (only_skips / "records.jsonl").write_text("\n".join(_real_rows(3)) + "\n", encoding="utf-8")
    assert run_index(tmp_path / "ix", [only_skips], "--procs", "1").returncode == 0
    # A reader that raises: a records file whose read fails with EIO (chmod 000 does not
    # stop root; /proc/self/mem is a regular file that cannot be read from offset 0).
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(bad_folder / "junk.html", broken / "junk.html")
    (broken / "unreadable.jsonl").symlink_to("/proc/self/mem")
    proc = run_index(tmp_path / "ix", [broken], "--procs", "1")
    assert proc.returncode == 1, proc.stderr
    assert "unreadable.jsonl" in proc.stderr and "Traceback" not in proc.stderr


# --- a 50 MB page -------------------------------------------------------------------

def _huge_page(path: Path) -> None:
    """A real page whose <body> content is repeated to 50 MB (like a crawler that saved a
    runaway response)."""
    page = UTF8_PAGE.read_bytes()
    m = re.search(rb"(?is)<body[^>]*>(.*)</body>", page)
    body = m.group(1)
    path.write_bytes(page[: m.start(1)] + body * (50_000_000 // len(body) + 1) + page[m.end(1):])


def _read_in_child(path: str, conn) -> None:
    """Reads *path* with the page reader's decoding and parsing spied on; sends back the
    results, what of those ran (in order) and the wall seconds."""
    from indexer.readers import html_page

    ran: list[str] = []

    def spy(name, inner):
        def wrapper(*args, **kwargs):
            ran.append(name)
            return inner(*args, **kwargs)
        return wrapper

    html_page.decode_html = spy("decode_html", html_page.decode_html)
    html_page.BeautifulSoup = spy("BeautifulSoup", html_page.BeautifulSoup)
    start = time.perf_counter()
    results = records_from_file(path)
    conn.send(([type(r).__name__ + ":" + getattr(r, "reason", "") for r in results], ran,
               time.perf_counter() - start))


def _in_child(path: Path):
    """(results, what ran, seconds) from reading *path* in a child process, or None
    when it hangs (HANG_SECONDS)."""
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_read_in_child, args=(str(path), child))
    proc.start()
    try:
        return parent.recv() if parent.poll(HANG_SECONDS) else None
    finally:
        proc.kill()
        proc.join()


@pytest.mark.slow
def test_a_50_mb_junk_file_named_html_is_skipped_unread(tmp_path):
    path = tmp_path / "huge-junk.html"
    path.write_bytes(random.Random(5).randbytes(50_000_000))
    done = _in_child(path)
    assert done is not None, f"not done after {HANG_SECONDS} s"
    assert done[0] == ["Skipped:too-large"], done[:2]
    assert done[1] == [], f"{done[1]} ran on a 50 MB file"
    print(f"\n50 MB junk .html: {done[2]:.2f} s")


@pytest.mark.slow
def test_a_50_mb_page_is_refused_before_it_is_decoded_or_parsed(tmp_path):
    path = tmp_path / "huge.html"
    _huge_page(path)
    assert path.stat().st_size >= 50_000_000
    done = _in_child(path)
    assert done is not None, f"not done after {HANG_SECONDS} s"
    assert done[0] == ["Skipped:too-large"], done[:2]
    assert done[1] == [], f"{done[1]} ran on a 50 MB page"
    print(f"\n50 MB page: {done[2]:.2f} s -> {done[0]}")


# --- Hypothesis: the page parser and the records readers never crash -----------------

def _no_crash_html(result) -> None:
    """parse_html turns any exception into Skipped('parse-error'); only nesting may get
    there, any other exception is a crash in disguise."""
    assert isinstance(result, Record | Skipped), result
    if isinstance(result, Skipped) and result.reason == "parse-error":
        assert "nest" in result.detail, result


_TAGS = ["html", "head", "body", "title", "div", "p", "table", "tr", "td", "span", "a", "h1",
         "script", "style", "meta", "br", "ul", "li", "iframe", "font", "o:p", "!--"]
_WORDS = ["发布日期：", "索引号：", "发文字号：", "发布机构：", "2024-05-06", "关于", "通知",
          "第一条", "附件：", "京政发〔2024〕3号", "location.href='x.html'", "document.write('",
          "该信息不存在", "&nbsp;", "&#x4e2d;", "\u3000", "\n", "<", ">", "\"", "'", "\x00"]


def _fragment():
    tag = st.sampled_from(_TAGS)
    attrs = st.sampled_from(["", ' class="content"', ' id="zoom"', ' charset="gbk"',
                             ' http-equiv="refresh" content="0;url=/x"', ' href="a.pdf"',
                             ' name="ArticleTitle" content="标题"'])
    return st.one_of(
        st.builds(lambda t, a: f"<{t}{a}>", tag, attrs),
        st.builds(lambda t: f"</{t}>", tag),
        st.sampled_from(_WORDS),
        st.text(max_size=30),
    )


_html_text = st.lists(_fragment(), max_size=80).map("".join)
_SMALL_PAGE_BYTES = [p.read_bytes() for p in SMALL_PAGES]

SETTINGS = {"deadline": None, "derandomize": True,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=700, **SETTINGS)
@given(st.binary(max_size=6000))
def test_hypothesis_parse_html_never_crashes_on_random_bytes(data):
    _no_crash_html(parse_html(data, "h.html"))


@settings(max_examples=500, **SETTINGS)
@given(_html_text, st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_hypothesis_parse_html_never_crashes_on_tag_soup(text, codec):
    _no_crash_html(parse_html(text.encode(codec, "replace"), "h.html"))


@settings(max_examples=200, **SETTINGS)
@given(st.sampled_from(range(3)), st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=40)),
                                           max_size=6), st.floats(0.05, 1))
def test_hypothesis_parse_html_never_crashes_on_damaged_real_pages(which, edits, keep):
    data = bytearray(_SMALL_PAGE_BYTES[which])
    for where, junk in edits:
        at = int(where * len(data))
        data[at:at + len(junk)] = junk
    _no_crash_html(parse_html(bytes(data[: max(1, int(len(data) * keep))]), "h.html"))


def _check_records(results) -> None:
    for r in results:
        assert isinstance(r, Record | Skipped), r
        if isinstance(r, Record):
            assert r.id and (r.title or r.body)


_REAL_LINES = _real_rows(20)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["title", "body", "full_text", "url", "date", "agency", "year",
                         "attachments", "content", "发布日期", "Policy", "x"]) | st.text(max_size=5),
        inner, max_size=6),
    max_leaves=12)


@settings(max_examples=400, **SETTINGS)
@given(st.lists(st.one_of(st.sampled_from(_REAL_LINES),
                          _json_value.map(lambda v: json.dumps(v, ensure_ascii=False)),
                          st.text(max_size=40)), max_size=8),
       st.floats(0, 1))
def test_hypothesis_jsonl_reader_never_crashes(lines, cut):
    data = "\n".join(lines).encode("utf-8")
    _check_records(read_jsonl(data[: int(len(data) * cut) or len(data)], "r.jsonl"))


@settings(max_examples=400, **SETTINGS)
@given(_json_value, st.binary(max_size=200), st.booleans())
def test_hypothesis_json_reader_never_crashes(value, junk, use_junk):
    data = junk if use_junk else json.dumps(value, ensure_ascii=False).encode()
    _check_records(read_json(data, "r.json"))


_CSV_HEADERS = ["Policy,Year,Country,Policy_Content,URL,Scope,Source", "title\tbody\tdate",
                "标题;正文;发布日期", "a|b"]


@settings(max_examples=400, **SETTINGS)
@given(st.sampled_from(_CSV_HEADERS),
       st.lists(st.lists(st.text(max_size=15) | st.sampled_from(['"', '""', ",", "\r\n"]),
                         max_size=8).map(",".join), max_size=6),
       st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
def test_hypothesis_csv_reader_never_crashes(header, rows, codec):
    data = "\n".join([header, *rows]).encode(codec, "replace")
    _check_records(read_csv(data, "r.csv"))
