"""The Chinese analyzers: exact token tuples, the Tokenizer contract, normalisation."""

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.chinese.analysis import BigramAnalyzer, ChineseAnalyzer, bigrams, phrase_grams
from indexer.chinese.normalize import localize_query, normalize


def tuples(analyzer, text, mode="index", **kw):
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in analyzer(text, positions=True, chars=True, mode=mode, **kw)]


def test_words_are_numbered_by_word_with_sub_words_at_the_word_position():
    assert tuples(ChineseAnalyzer(), "东湖公安分局2020年度政府信息公开年度报告") == [
        ("东湖", 0, 0, 2),
        ("公安分局", 1, 2, 6), ("公安", 1, 2, 4), ("分局", 1, 4, 6),
        ("2020", 2, 6, 10),
        ("年度", 3, 10, 12),
        ("政府信息公开", 4, 12, 18), ("政府", 4, 12, 14), ("信息公开", 4, 14, 18),
        ("信息", 4, 14, 16), ("公开", 4, 16, 18),
        ("年度报告", 5, 18, 22), ("年度", 5, 18, 20), ("报告", 5, 20, 22),
    ]


def test_query_mode_gives_whole_words_only():
    assert tuples(ChineseAnalyzer(), "人民政府民政局", mode="query") == [
        ("人民政府", 0, 0, 4), ("民政局", 1, 4, 7)]


def test_renmin_zhengfu_never_yields_minzheng():
    texts = [t for t, *_ in tuples(ChineseAnalyzer(), "人民政府")]
    assert texts == ["人民政府", "人民", "政府"]
    assert "民政" not in texts


def test_agency_names_from_the_user_dictionary_stay_whole():
    assert tuples(ChineseAnalyzer(), "住房公积金管理中心", mode="query") == [
        ("住房公积金管理中心", 0, 0, 9)]


def test_punctuation_is_dropped_and_positions_stay_consecutive():
    assert tuples(ChineseAnalyzer(), "赣府发〔2020〕12号") == [
        ("赣", 0, 0, 1), ("府", 1, 1, 2), ("发", 2, 2, 3), ("2020", 3, 4, 8),
        ("12", 4, 9, 11), ("号", 5, 11, 12)]


def test_full_width_letters_and_digits_become_ascii_with_original_offsets():
    assert tuples(ChineseAnalyzer(), "ＡＢＣ１２３公司") == [
        ("abc123", 0, 0, 6), ("公司", 1, 6, 8)]


def test_ling_and_chinese_numerals_are_kept():
    texts = [t for t, *_ in tuples(ChineseAnalyzer(), "二〇二一年")]
    assert "〇" in texts


def test_traditional_characters_are_indexed_as_simplified():
    assert tuples(ChineseAnalyzer(), "政府資訊公開", mode="query") == [
        ("政府", 0, 0, 2), ("资讯", 1, 2, 4), ("公开", 2, 4, 6)]


def test_traditional_queries_get_mainland_vocabulary():
    assert localize_query("政府資訊公開") == "政府信息公开"
    assert localize_query("政府资讯公开") == "政府资讯公开"  # simplified input is left alone


def test_start_pos_and_start_char_shift_every_token():
    assert tuples(ChineseAnalyzer(), "人民政府", mode="query", start_pos=10, start_char=5) == [
        ("人民政府", 10, 5, 9)]


def test_tokenize_false_gives_the_whole_normalised_value():
    assert tuples(ChineseAnalyzer(), "ＡＢ 政府", tokenize=False) == [("ab 政府", 0, 0, 5)]


def test_bigrams_skip_whitespace_and_end_with_the_last_character():
    assert tuples(BigramAnalyzer(), "政府 信息") == [
        ("政府", 0, 0, 2), ("府信", 1, 1, 4), ("信息", 2, 3, 5), ("息", 3, 4, 5)]


def test_phrase_grams_of_a_phrase_and_of_one_character():
    assert phrase_grams("信息公开") == ["信息", "息公", "公开"]
    assert phrase_grams("税") == ["税"]
    assert phrase_grams("") == []


def test_lone_surrogates_become_replacement_characters_and_analyse():
    text = "\ud800政府\udfff"
    assert normalize(text) == "\ufffd政府\ufffd"
    assert [t for t, *_ in tuples(ChineseAnalyzer(), text)] == ["政府"]


def test_normalisation_keeps_the_length():
    text = "ＡＢＣ　臺灣㈠⑴ﬁ\u3000x"
    assert len(normalize(text)) == len(text)


# Text drawn from Chinese, full-width forms, ASCII, punctuation and spaces.
_text = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.sampled_from(list("政府信息公开人民民政局〇一二〔〕（）。，、 \n\tABCabc0123")),
), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_word_offsets_slice_back_to_the_token_and_positions_never_decrease(text):
    last = -1
    for word, pos, start, end in tuples(ChineseAnalyzer(), text):
        assert normalize(text[start:end]) == word
        assert pos >= last
        last = pos


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_bigram_offsets_cover_their_characters_and_positions_increase(text):
    grams = bigrams(text)
    for gram, start, end in grams:
        assert "".join(ch for ch in normalize(text[start:end]) if not ch.isspace()) == gram
    positions = [p for _, p, _, _ in tuples(BigramAnalyzer(), text)]
    assert positions == list(range(len(positions)))


def test_schema_survives_a_pickle_round_trip_in_a_new_process(tmp_path):
    from indexer.index.writer import build_index
    from indexer.record import Record

    build_index(tmp_path / "ix", [Record(
        title="东湖公安分局2020年度政府信息公开年度报告", body="积极顺应“互联网+公安政务”发展趋势",
        source="example_page_text/donghu_gongan_2020_annual_report.txt")])
    code = (
        "from indexer.index import store\n"
        "from whoosh.query import Term\n"
        f"ix = store.open_index({str(tmp_path / 'ix')!r})\n"
        "print(type(ix.schema['body'].analyzer).__module__,"
        " type(ix.schema['body'].analyzer).__name__)\n"
        "with ix.searcher() as s:\n"
        "    print(len(s.search(Term('body', '发展趋势'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()
    assert out == ["indexer.chinese.analysis", "ChineseTokenizer", "1"]
