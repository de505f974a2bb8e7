"""How a compiled query becomes a Typesense search (search_app/search/typesense_query.py),
without a cluster: what goes into q, what into filter_by, what needs the ids of a
phrase's documents, and the filters kept short (Typesense 0.24 takes about 100 terms)."""

from __future__ import annotations

import pytest

from indexer.chinese.normalize import normalize
from indexer.typesense.documents import DOC_NO, GRAM, encode
from search_app.search import QueryError
from search_app.search import typesense_query as tq
from search_app.search.query_compile import compile_query

W = encode  # a word token


def G(text):  # noqa: N802 - the bigrams of text, as q tokens in a row
    grams = [text[i:i + 2] for i in range(len(text) - 1)]
    return '"' + " ".join(encode(g, GRAM) for g in grams) + '"'


def plan_of(q, materialized=None):
    asked = []

    def materialize(leaf):
        asked.append(leaf)
        return (materialized or {}).get(leaf.q_text(), [])
    return tq.plan(compile_query(q).query, materialize), asked


def test_words_required_by_the_whole_query_are_q_tokens_and_filter_nothing():
    plan, asked = plan_of("住房 公积金")
    assert (plan.q, plan.filter, plan.ranked, asked) == (
        f"{W('住房')} {W('公积金')}", tq.TRUE, True, [])


def test_a_long_word_is_its_bigrams_in_a_row():
    plan, _ = plan_of("住房公积金")
    assert plan.q == G("住房公积金")


def test_negated_words_and_phrases_are_excluded_in_q():
    plan, asked = plan_of('住房 -贷款 -"管理办法"')
    assert plan.q == f"-{W('贷款')} -{G('管理办法')} {W('住房')}"
    assert plan.filter == tq.TRUE and asked == []


def test_words_inside_or_are_one_membership_list():
    plan, asked = plan_of("住房 OR 租房 OR 教育")
    assert (plan.q, asked) == ("*", [])
    assert plan.filter == f"bw:=[`{W('住房')}`,`{W('租房')}`,`{W('教育')}`]"


def test_a_phrase_inside_or_is_tested_by_the_ids_of_its_documents():
    plan, asked = plan_of('"住房公积金" OR 教育', {G("住房公积金"): ["a", "b"]})
    assert [leaf.q_text() for leaf in asked] == [G("住房公积金")]
    assert plan.filter == f"(key:=[`a`,`b`] || bw:=[`{W('教育')}`])"


def test_a_negated_bigram_inside_a_group_needs_ids_and_negated_words_merge():
    plan, asked = plan_of('住房 ("公积" OR -"政府" -租房 -教育)', {encode("政府", GRAM): ["y"]})
    # A bigram is a token of the stream, but "not this token" has no filter: the ids.
    assert plan.q == W("住房") and [leaf.q_text() for leaf in asked] == [encode("政府", GRAM)]
    assert plan.filter == (f"(bgs:{encode('公积', GRAM)} || "
                           f"(key:!=[`y`] && bw:!=[`{W('租房')}`,`{W('教育')}`]))")


def test_title_words_are_filters_on_the_title_set():
    plan, _ = plan_of("title:通知 住房")
    assert plan.q == W("住房") and plan.filter == f"tw:=[`{W('通知')}`]"


def test_a_one_character_phrase_is_the_last_q_word_as_a_prefix_of_bigrams():
    plan, asked = plan_of('"公" 住房')
    assert (plan.q, plan.prefix_last, asked) == (f"{W('住房')} {encode('公', GRAM)}", True, [])
    assert plan.params()["prefix"] == ",".join(
        "true" if f == "bgs" else "false" for f in tq.QUERY_BY)


def test_doc_no_field_matches_the_value_or_its_bigrams():
    plan, _ = plan_of("文号:岚综管〔2019〕1号")
    assert plan.q == "*"
    assert plan.filter.startswith(f"dn:=[`{encode('岚综管〔2019〕1号', DOC_NO)}`]")


def test_year_and_not_year_keep_documents_without_a_year_out_and_in():
    plan, _ = plan_of("住房 year:2019-2020")
    assert plan.filter == "year:[2019..2020]"
    plan, _ = plan_of("住房 -year:2020")
    assert plan.filter == "(year:<2020 || year:>2020)"


def test_at_least_k_of_n_takes_the_shorter_form():
    units = [f"bw:=[`{c}`]" for c in "abc"]
    assert tq.at_least(units, 2) == "(bw:=[`a`,`b`] && bw:=[`a`,`c`] && bw:=[`b`,`c`])"
    assert tq.at_least(units, 1) == "bw:=[`a`,`b`,`c`]"
    assert tq.filter_size(tq.at_least(units, 2)) == 7


def test_filter_size_counts_terms_operators_and_brackets():
    assert tq.filter_size("(bw:=[`a`] || tw:=[`b`,`c`]) && year:[2019..2020]") == 7


def test_a_value_with_a_backtick_is_refused():
    with pytest.raises(QueryError) as e:
        plan_of("机构:a`b")
    assert e.value.code == "bad-value"


def test_the_bigram_stream_spells_each_bigram_as_encode_does_then_the_last_character():
    from indexer.chinese.analysis import bigrams
    from indexer.typesense.documents import gram_stream

    for text in ("住房公积金", "国办发〔2019〕60号 通知", "A 股", "一", ""):
        compact = "".join(normalize(text).split())
        assert gram_stream(compact) == " ".join(encode(g, GRAM) for g, _, _ in bigrams(text))
    assert gram_stream("住房") == f"{encode('住房', GRAM)} {encode('房', GRAM)}"
