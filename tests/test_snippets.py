"""Snippets and highlighting: located in the normalised stored text, escaped, whole
matches marked, 1–3 fragments, a plain-text form."""

from __future__ import annotations

import re

from search_app.search.snippets import highlight, match_regex, snippet, spans

# A real passage (crepd webpages, 南京 无房家庭购房 notice) used as the body below.
BODY = ("为进一步优化无房家庭购房工作，现就有关事项通知如下：\n"
        "一、优化无房家庭购房资格\n"
        "“无房家庭”须本市户籍、全市范围内无自有住房，申请开具购房证明时满足如下条件：\n"
        "1、2年内无自有住房登记信息和交易记录。\n"
        "2、前1年内在南京连续缴纳12个月城镇社会保险或个人所得税。")


def test_phrase_marked_whole_and_escaped():
    rx = match_regex(["购房资格"])
    html, text = snippet(BODY + "<script>", rx)
    assert "<mark>购房资格</mark>" in html
    assert "<mark>" not in text and "购房资格" in text


def test_markup_in_text_is_escaped():
    body = "<b>住房</b> & 公积金 \"x\""
    html = highlight(body, match_regex(["住房"]))
    assert html == "&lt;b&gt;<mark>住房</mark>&lt;/b&gt; &amp; 公积金 &quot;x&quot;"


def test_matches_found_through_normalisation():
    # Traditional and full-width text in the stored body, simplified marks.
    body = "關於住房公積金的通知（２０２３年）"
    html = highlight(body, match_regex(["公积金", "2023"]))
    assert "<mark>公積金</mark>" in html and "<mark>２０２３</mark>" in html


def test_spaces_inside_a_phrase_are_allowed():
    body = "政府 信息公开 工作"
    assert spans(body, match_regex(["政府信息公开"])) == [(0, 7)]


def test_longest_alternative_wins():
    assert spans("住房公积金", match_regex(["住房", "住房公积金"])) == [(0, 5)]


def test_at_most_three_fragments():
    body = ("住房" + "一" * 200) * 6
    html, text = snippet(body, match_regex(["住房"]))
    assert html.count("<mark>") == 3
    assert text.count("…") >= 3


def test_fragment_with_most_distinct_terms_is_kept():
    body = "住房" + "甲" * 300 + "住房" + "乙" * 300 + "住房和公积金" + "丙" * 300 + "住房" + "丁" * 300
    html, _ = snippet(body, match_regex(["住房", "公积金"]), max_fragments=1)
    assert "<mark>公积金</mark>" in html


def test_no_match_gives_the_start_of_the_body():
    html, text = snippet(BODY, match_regex(["不存在的词"]))
    assert text.startswith("为进一步优化无房家庭购房工作")
    assert "<mark>" not in html


def test_newlines_collapse_in_snippets():
    _, text = snippet(BODY, match_regex(["无房家庭"]))
    assert "\n" not in text


def test_no_marks_no_regex():
    assert match_regex([]) is None and match_regex(["  "]) is None
    assert highlight("a<b", None) == "a&lt;b"


def test_regex_special_characters_are_literal():
    rx = match_regex(["a.b", "(x)"])
    assert spans("axb a.b (x)", rx) == [(4, 7), (8, 11)]
    assert isinstance(rx, re.Pattern)


def test_short_word_marked_only_where_it_is_a_word():
    # From the 志愿服务条例 record: 人民政府 and 民政部门 in one sentence.
    text = "县级以上地方人民政府民政部门负责本行政区域内志愿服务行政管理工作"
    html = highlight(text, match_regex(["民政"]), whole_words={"民政"})
    assert html.count("<mark>") == 1 and "<mark>民政</mark>部门" in html
    # As a quoted phrase it is exact characters: both places.
    assert highlight(text, match_regex(["民政"])).count("<mark>") == 2
