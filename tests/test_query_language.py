"""The query language: tokens, AST, compiled Whoosh queries, rejections, and a property
test that no input raises anything but QueryError."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from search_app.search.query import (
    And,
    FieldValue,
    Not,
    Or,
    Phrase,
    Text,
    compile_query,
    parse,
    parse_year,
)
from search_app.search.types import MAX_QUERY_CHARS, MAX_QUERY_TERMS, QueryError


def terms(q: wq.Query) -> set[tuple[str, str]]:
    return {(f, t if isinstance(t, str) else t.decode()) for f, t in q.iter_all_terms()}


def test_plain_words_are_and_of_title_or_body():
    c = compile_query("购房 条件")
    assert isinstance(c.query, wq.And)
    assert {("title", "购房"), ("body", "购房"), ("title", "条件"), ("body", "条件")} <= terms(c.query)
    assert [u[0] for u in c.units] == ["购房", "条件"]


def test_long_word_also_matches_its_exact_characters():
    q = compile_query("住房公积金管理中心").query
    phrases = [s for s in q.leaves() if isinstance(s, wq.Phrase)]
    assert {p.fieldname for p in phrases} == {"title_exact", "body_exact"}


def test_three_character_word_needs_pieces_in_a_row_and_its_characters():
    q = compile_query("民政局").query
    ands = [s for s in q.children() if isinstance(s, wq.And)]
    assert len(ands) == 1
    assert ("body", "民政") in terms(ands[0]) and ("body_exact", "政局") in terms(ands[0])


def test_short_word_has_no_character_alternative():
    # 民政 must not match 人民政府: no exact-character clause for a two-character word.
    q = compile_query("民政").query
    assert {f for f, _ in terms(q)} == {"title", "body"}


def test_function_words_dropped_unless_alone():
    assert [u[0] for u in compile_query("购房的条件").units] == ["购房", "条件"]
    assert [u[0] for u in compile_query("的").units] == ["的"]


def test_lone_characters_stick_to_neighbours():
    assert [u[0] for u in compile_query("多子女").units] == ["多子女"]
    assert [u[0] for u in compile_query("赣府发").units] == ["赣府发"]


def test_traditional_query_is_localized():
    assert [u[0] for u in compile_query("政府資訊公開").units] == ["政府信息公开"]


@pytest.mark.parametrize("q", ['"政府信息公开"', "“政府信息公开”", "「政府信息公开」",
                               "『政府信息公开』", "《政府信息公开》", "＂政府信息公开＂"])
def test_quote_styles_make_an_exact_phrase(q):
    ast = parse(q)
    assert ast == Phrase(q[1:-1])
    c = compile_query(q)
    assert terms(c.query) == {("title_exact", g) for g in ("政府", "府信", "信息", "息公", "公开")} \
        | {("body_exact", g) for g in ("政府", "府信", "信息", "息公", "公开")}


def test_one_character_phrase_is_a_bigram_prefix():
    q = compile_query('"房"').query
    assert {type(s) for s in q.children()} == {wq.Prefix}


def test_unclosed_quote_runs_to_the_end():
    assert parse('"住房 公积金') == Phrase("住房 公积金")


def test_or_not_and_parentheses():
    assert parse("a OR b") == Or([Text("a"), Text("b")])
    assert parse("a | b") == Or([Text("a"), Text("b")])
    assert parse("a -b") == And([Text("a"), Not(Text("b"))])
    assert parse("a NOT b") == And([Text("a"), Not(Text("b"))])
    assert parse("(a OR b) c") == And([Or([Text("a"), Text("b")]), Text("c")])
    assert parse("-(a b)") == Not(And([Text("a"), Text("b")]))
    assert parse("a or b") == And([Text("a"), Text("or"), Text("b")])  # only OR is an operator


def test_malformed_input_degrades():
    assert parse("OR") is None
    assert parse("- -") is None
    assert parse("a OR") == Text("a")
    assert parse("((a b") == And([Text("a"), Text("b")])
    assert parse("a) b") == And([Text("a"), Text("b")])
    assert parse("()") is None
    assert compile_query("").query is None


def test_only_negative_subtracts_from_everything():
    q = compile_query("-住房").query
    assert isinstance(q, wq.AndNot) and isinstance(q.a, wq.Every)


@pytest.mark.parametrize("q,field,value", [
    ("agency:北京市中医管理局", "agency", "北京市中医管理局"),
    ("机构:北京市中医管理局", "agency", "北京市中医管理局"),
    ("机构：北京市中医管理局", "agency", "北京市中医管理局"),
    ("year:2020", "year", "2020"), ("年份:2018-2020", "year", "2018-2020"),
    ("classification:城乡建设", "classification", "城乡建设"),
    ("分类:城乡建设", "classification", "城乡建设"),
    ("type:通知", "doc_type", "通知"), ("类型:通知", "doc_type", "通知"),
    ("文号:赣府发[2020]2号", "doc_no", "赣府发[2020]2号"),
    ("doc_no:赣府发[2020]2号", "doc_no", "赣府发[2020]2号"),
])
def test_field_names(q, field, value):
    assert parse(q) == FieldValue(field, value)


def test_field_with_quoted_value_and_title():
    assert parse('agency:"北京市 中医管理局"') == FieldValue("agency", "北京市 中医管理局", True)
    assert parse("title:公积金") == Text("公积金", "title")
    assert parse('title:"公积金贷款"') == Phrase("公积金贷款", "title")
    q = compile_query("title:公积金").query
    assert {f for f, _ in terms(q)} == {"title", "title_exact"}


def test_doc_no_field_normalises():
    q = compile_query("文号:赣府发(2020)2号").query
    assert ("doc_no", "赣府发〔2020〕2号") in terms(q)


def test_doc_no_as_text():
    c = compile_query("赣府发[2020]2号")
    assert ("doc_no", "赣府发〔2020〕2号") in terms(c.query)
    assert len(c.units) == 1


def test_year_values():
    assert parse_year("2020") == (2020, 2020)
    assert parse_year("2020-2018") == (2018, 2020)
    assert parse_year("２０１８－２０２０") == (2018, 2020)
    q = compile_query("year:2018-2020").query
    assert isinstance(q, wq.NumericRange) and (q.start, q.end) == (2018, 2020)
    for bad in ("20", "abc", "2020-", "0999", "2020-20201"):
        with pytest.raises(QueryError) as err:
            parse_year(bad)
        assert err.value.code == "bad-year"


def test_unknown_field_is_text():
    assert parse("foo:bar") == Text("foo:bar")
    assert parse("http://x") == Text("http://x")


def test_no_wildcards():
    q = compile_query("住房*").query
    assert not any(isinstance(s, (wq.Wildcard, wq.Prefix, wq.FuzzyTerm, wq.Regex))
                   for s in q.leaves())
    assert compile_query("*").query is None or not any(
        isinstance(s, wq.Wildcard) for s in compile_query("*").query.leaves())


def test_literal_parentheses_inside_a_word():
    assert parse("通知(征求意见稿)") == Text("通知(征求意见稿)")


def test_rejections():
    with pytest.raises(QueryError) as err:
        compile_query("住" * (MAX_QUERY_CHARS + 1))
    assert err.value.code == "query-too-long"
    with pytest.raises(QueryError) as err:
        compile_query(" ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1)))
    assert err.value.code == "too-many-terms"
    compile_query("(" * 8 + "a" + ")" * 8)
    with pytest.raises(QueryError) as err:
        compile_query("(" * 9 + "a" + ")" * 9)
    assert err.value.code == "nesting-too-deep"
    with pytest.raises(QueryError) as err:
        compile_query("year:abc")
    assert err.value.code == "bad-year"


def test_phrase_and_proximity_bonus():
    c = compile_query("住房 公积金")
    assert any(isinstance(b, wq.Phrase) and b.fieldname == "body" for b in c.bonus)


# The alphabet mixes query syntax with Chinese, full-width forms and odd characters.
ALPHABET = list('()|-:"“”「」《》『』＂（）｜：*? \u3000\tabORNTANDyeartitle文号机构分类年份2019-'
                "住房公积金民政人民政府的了和〔〕[]号府发赣\\/\x00\ud7ff\ufeff\U0001F600")


# Work budget of compiling one query, in Python lines executed: linear in its length.
# Measured: about 600 lines plus at most about 115 per character (a run of dictionary
# words such as 住房公积金 repeated); a blow-up worse than linear (segmentation or
# parsing that backtracks) runs far over it on 120 characters.
LINES_BASE, LINES_PER_CHAR = 2000, 300


def lines_executed(fn) -> int:
    """Python lines fn() runs (sys.settrace): a count of work that does not depend on
    how fast or busy the machine is."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def on_call(frame, event, arg):
        return local

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def compile_or_refuse(s: str):
    try:
        return compile_query(s)
    except QueryError as exc:
        return exc


# Queries that make the compiler load its tables once (the segmenter's dictionary, the
# normalisation table, the Taiwan vocabulary of Traditional queries) before the counting.
WARM_UP = ["住房公积金 政府", "政府資訊公開", '"政府資訊" title:"通知" agency:國務院 year:2020 '
           "文号:国发 type:通知 分类:综合 -(住房 OR 公积金) 「規定」 《條例》 ＂信息＂"]


@pytest.fixture(scope="module")
def warm_compiler():
    for q in WARM_UP:
        compile_or_refuse(q)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=st.text(alphabet=ALPHABET, max_size=120) | st.text(max_size=60))
def test_any_string_compiles_or_raises_query_error(warm_compiler, s):
    out: list = []
    lines = lines_executed(lambda: out.append(compile_or_refuse(s)))
    assert lines <= LINES_BASE + LINES_PER_CHAR * len(s), (lines, s)
    c = out[0]
    if isinstance(c, QueryError):
        return
    assert c.query is None or isinstance(c.query, wq.Query)
