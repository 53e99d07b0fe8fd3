import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from bertft_utils.windows import IGNORE, encode_windows, stitch_predictions


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    return AutoTokenizer.from_pretrained(str(tiny_models["bert"]))


def test_long_sentence_is_windowed_and_every_token_predicted(tokenizer):
    sentence = list("北京上海中国人" * 143)[:1000]
    windows = encode_windows([sentence, ["北", "京"]], [[1] * 1000, [0, 1]], tokenizer, max_seq_length=32,
                             doc_stride=8)
    assert windows.windowed_sentences == 1
    assert all(len(ids) <= 32 for ids in windows.columns["input_ids"])
    # every word is labelled in at least one window; window labels match the word's tag
    labelled = {(s, w) for s, words in zip(windows.sentence_index, windows.word_index, strict=True)
                for w in words if w >= 0}
    assert labelled == {(0, i) for i in range(1000)} | {(1, 0), (1, 1)}
    fake = np.array([[w % 3 if w >= 0 else IGNORE for w in words] + [IGNORE] * (32 - len(words))
                     for words in windows.word_index])
    stitched = stitch_predictions(windows, fake)
    assert [len(t) for t in stitched] == [1000, 2]
    assert stitched[0] == [i % 3 for i in range(1000)]


def test_prediction_comes_from_the_window_with_most_context(tokenizer):
    sentence = list("北京上海中国人北京上海中国人")  # 14 tokens, 6 per window ([CLS] + 6 + [SEP]), overlap 3
    windows = encode_windows([sentence], None, tokenizer, max_seq_length=8, doc_stride=3)
    assert windows.word_index == [[-1, 0, 1, 2, 3, 4, 5, -1], [-1, 3, 4, 5, 6, 7, 8, -1],
                                  [-1, 6, 7, 8, 9, 10, 11, -1], [-1, 9, 10, 11, 12, 13, -1]]
    predictions = np.array([[i] * 8 for i in range(4)])  # window i predicts label i everywhere
    # each word from the window where it sits farthest from an edge; on a tie (words 4, 7, 10), the earlier window
    assert stitch_predictions(windows, predictions)[0] == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_zero_token_characters_keep_a_position(tokenizer):
    windows = encode_windows([["北", " ", "\u00a0", "京", "\u200b"]], [[1, 0, 0, 2, 0]], tokenizer, 32, 4)
    assert windows.zero_token_words == 3
    assert sorted(w for w in windows.word_index[0] if w >= 0) == [0, 1, 2, 3, 4]
    assert [x for x in windows.columns["labels"][0] if x != IGNORE] == [1, 0, 0, 2, 0]


def test_stride_must_fit_the_window(tokenizer):
    with pytest.raises(ValueError, match="--doc_stride must be in"):
        encode_windows([["a"]], None, tokenizer, max_seq_length=16, doc_stride=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences=st.lists(st.lists(st.text(st.one_of(st.characters(codec="utf-8", exclude_characters="\x00"),
                                                     st.sampled_from(list(" \u00a0\u3000\u200b\t北京"))),
                                           min_size=1, max_size=6), min_size=1, max_size=60), min_size=1,
                          max_size=4),
       max_seq_length=st.integers(8, 40), stride_share=st.floats(0, 0.9))
def test_every_word_of_any_sentence_gets_its_own_prediction(tokenizer, sentences, max_seq_length, stride_share):
    """Whatever the words (spaces, control characters, emoji) and window sizes: one tag per word, from a position
    that belongs to that word."""
    content = max_seq_length - 2
    stride = min(int(stride_share * content), content - 1)
    windows = encode_windows(sentences, None, tokenizer, max_seq_length=max_seq_length, doc_stride=stride)
    width = max(len(ids) for ids in windows.columns["input_ids"])
    # a fake model that predicts, at each position, the index of the word there (mod 1000)
    fake = np.array([[w % 1000 if w >= 0 else 0 for w in words] + [0] * (width - len(words))
                     for words in windows.word_index])
    stitched = stitch_predictions(windows, fake)
    assert [len(tags) for tags in stitched] == [len(words) for words in sentences]
    assert all(tags == [i % 1000 for i in range(len(tags))] for tags in stitched)
