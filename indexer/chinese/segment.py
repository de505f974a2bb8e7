"""Chinese word segmentation: jieba's precise mode with HMM off.

rjieba (the jieba-rs binding) is used when it is installed: with HMM off it gives the
same tokens as jieba about 25 times faster. jieba itself is the fallback. HMM stays off
in both because its new-word guesses differ between the two implementations, and the
index and the queries must be cut the same way whichever one a process has.

``jieba.analyse`` is never imported: it loads a TF-IDF table (~1 s, ~145 MB per process).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

USERDICT = Path(__file__).resolve().parent.parent / "data" / "userdict.txt"

_lock = threading.Lock()
_backend = None  # the loaded segmenter module, set by _load()


def _load():
    global _backend
    if _backend is not None:
        return _backend
    with _lock:
        if _backend is not None:
            return _backend
        try:
            import rjieba as backend
            name = "rjieba"
        except ImportError:  # pragma: no cover - exercised where rjieba is not installed
            import jieba as backend

            backend.setLogLevel(60)
            backend.initialize()
            name = "jieba"
        for word, freq in user_words():
            if name == "rjieba":
                backend.add_word(word, freq, None)
            else:  # pragma: no cover
                backend.add_word(word, freq)
        backend.__gongkai_name__ = name
        _backend = backend
    return _backend


def backend_name() -> str:
    return _load().__gongkai_name__


def user_words() -> list[tuple[str, int | None]]:
    """(word, frequency or None) pairs from the user dictionary."""
    words = []
    for line in USERDICT.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words.append((parts[0], freq))
    return words


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) over the whole of *text*, punctuation and spaces included."""
    backend = _load()
    if backend.__gongkai_name__ == "rjieba":
        return backend.tokenize(text, mode="default", hmm=False)
    return list(backend.tokenize(text, mode="default", HMM=False))  # pragma: no cover


def cut(text: str) -> list[str]:
    """The words of `tokenize` without their offsets (they tile the text, so offsets
    follow from the lengths): about twice as fast, for the index writer."""
    backend = _load()
    if backend.__gongkai_name__ == "rjieba":
        return backend.cut(text, hmm=False)
    return backend.lcut(text, HMM=False)  # pragma: no cover


def has_word(word: str) -> bool:
    backend = _load()
    if backend.__gongkai_name__ == "rjieba":
        return backend.has_word(word)
    return bool(backend.dt.FREQ.get(word))  # pragma: no cover


@lru_cache(maxsize=200_000)
def subwords(word: str) -> tuple[tuple[str, int, int], ...]:
    """The dictionary words that tile *word* when *word* itself is not allowed, nested:
    人民政府 → 人民, 政府; 住房公积金管理中心 → 住房, 公积金, 管理中心, 管理, 中心.

    Indexed at the position of the whole word they let a search for 政府 find 人民政府,
    but never a search for 民政: jieba's own search mode emits every dictionary n-gram
    inside a word, and so makes 民政 match every page that mentions 人民政府.
    The tiling uses the fewest pieces, single characters counting as pieces of their own
    and costing more than any dictionary word."""
    n = len(word)
    if n < 3 or not all(ch.isalpha() and ord(ch) > 0x2E80 for ch in word):
        return ()
    # best[i] = (cost, pieces) for word[:i]
    inf = (1 << 30, ())
    best: list[tuple[int, tuple]] = [(0, ())] + [inf] * n
    for i in range(n):
        if best[i] is inf:
            continue
        cost_i, pieces_i = best[i]
        for j in range(i + 1, n + 1):
            piece = word[i:j]
            if j - i == n:
                continue  # the word itself is not a tiling of itself
            if j - i == 1:
                step = 3
            elif has_word(piece):
                step = 1
            else:
                continue
            cand = (cost_i + step, pieces_i + ((piece, i, j),))
            # On a tie the later split wins, which leaves a lone character at the end:
            # 民政局 → 民政 + 局 rather than 民 + 政局 (suffixes such as 局 市 区 are common).
            if cand[0] <= best[j][0]:
                best[j] = cand
    cost, pieces = best[n]
    dict_pieces = [p for p in pieces if p[2] - p[1] > 1]
    if not dict_pieces:
        return ()  # no dictionary word inside: nothing a word search could want
    out: list[tuple[str, int, int]] = []
    for piece, i, j in pieces:
        if j - i == 1:
            continue  # a lone character is not a word
        out.append((piece, i, j))
        out.extend((sub, i + si, i + sj) for sub, si, sj in subwords(piece))
    return tuple(out)


def tiling(word: str) -> list[str]:
    """The top-level pieces of *word* (dictionary sub-words, lone characters between),
    or [] when it has no sub-word: a three-character query word also matches its pieces
    written in a row (`search_app.search.query_compile.word_query`)."""
    subs = subwords(word)
    top = [(s, i, j) for s, i, j in subs
           if not any(i2 <= i and j <= j2 and (i2, j2) != (i, j) for _, i2, j2 in subs)]
    if not top:
        return []
    top.sort(key=lambda p: p[1])
    out, pos = [], 0
    for s, i, j in top:
        out.extend(word[pos:i])
        out.append(s)
        pos = j
    out.extend(word[pos:])
    return out if len(out) > 1 else []
