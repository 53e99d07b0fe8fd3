import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from bertft_utils.tasks.windows import IGNORE, Window, Windows, encode_windows, stitch_predictions


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    return AutoTokenizer.from_pretrained(str(tiny_models["bert"]))


def test_long_sentence_is_windowed_and_every_token_predicted(tokenizer):
    sentence = list("北京上海中国人" * 143)[:1000]
    windows = encode_windows([sentence, ["北", "京"]], [[1] * 1000, [0, 1]], tokenizer, max_seq_length=32,
                             doc_stride=8)
    assert windows.windowed_sentences == 1
    assert windows.sentence_lengths.tolist() == [1000, 2]
    # 30 tokens per window, the next one starting 8 before the end: 1000 = 30 + 22 * 44 + 32 -> 46 windows
    assert [w.sentence for w in windows] == [0] * 46 + [1]
    assert [len(w.input_ids) for w in windows] == [32] * 45 + [12, 4]
    assert windows[1].words == [None, *range(22, 52), None]
    assert windows[-2].words == [None, *range(990, 1000), None]
    assert windows[-1].words == [None, 0, 1, None]
    assert windows[-1].labels == [-100, 0, 1, -100]
    assert windows[0].labels == [-100] + [1] * 30 + [-100]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert windows[-1].input_ids == [cls, *tokenizer.convert_tokens_to_ids(["北", "京"]), sep]
    dataset = windows.dataset()
    assert dataset.column_names == ["input_ids", "attention_mask", "labels"]
    assert dataset[46]["attention_mask"] == [1, 1, 1, 1]
    # a fake model whose prediction at each position is the position's word mod 3
    fake = np.array([[IGNORE if w is None else w % 3 for w in window.words] + [IGNORE] * (32 - len(window.words))
                     for window in windows])
    stitched = stitch_predictions(windows, fake)
    assert [len(t) for t in stitched] == [1000, 2]
    assert stitched[0] == [i % 3 for i in range(1000)]
    assert stitched[1] == [0, 1]


def test_prediction_comes_from_the_window_with_most_context(tokenizer):
    sentence = list("北京上海中国人北京上海中国人")  # 14 tokens, 6 per window ([CLS] + 6 + [SEP]), overlap 3
    windows = encode_windows([sentence], None, tokenizer, max_seq_length=8, doc_stride=3)
    assert [w.words for w in windows] == [[None, 0, 1, 2, 3, 4, 5, None], [None, 3, 4, 5, 6, 7, 8, None],
                                                  [None, 6, 7, 8, 9, 10, 11, None], [None, 9, 10, 11, 12, 13, None]]
    assert all(w.labels is None for w in windows)
    assert windows.dataset().column_names == ["input_ids", "attention_mask"]
    predictions = np.array([[i] * 8 for i in range(4)])  # window i predicts label i everywhere
    # each word from the window where it sits farthest from an edge; on a tie (words 4, 7, 10), the earlier window
    assert stitch_predictions(windows, predictions)[0] == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_short_sentence_is_one_window(tokenizer):
    windows = encode_windows([list("北京"), list("上海中")], [[1, 2], [0, 0, 3]], tokenizer, 8, 2)
    assert windows.windowed_sentences == 0
    assert [(w.sentence, w.words, w.labels) for w in windows] == [
        (0, [None, 0, 1, None], [-100, 1, 2, -100]), (1, [None, 0, 1, 2, None], [-100, 0, 0, 3, -100])]


def test_words_of_several_sub_tokens_are_predicted_at_their_first(tokenizer):
    word = next(w for w in ("hello", "testing", "unbelievable", "北京上海") if
                len(tokenizer.tokenize(w)) > 1 and tokenizer.unk_token not in tokenizer.tokenize(w))
    pieces = len(tokenizer.tokenize(word))
    windows = encode_windows([[word, "北"]], [[5, 6]], tokenizer, 32, 4)
    assert windows[0].words == [None, 0, *[None] * (pieces - 1), 1, None]
    assert windows[0].labels == [-100, 5, *[-100] * (pieces - 1), 6, -100]


def test_zero_token_characters_keep_a_position(tokenizer):
    windows = encode_windows([["北", " ", "\u00a0", "京", "\u200b"]], [[1, 0, 0, 2, 0]], tokenizer, 32, 4)
    assert windows.zero_token_words == 3
    assert windows[0].words == [None, 0, 1, 2, 3, 4, None]
    assert windows[0].labels == [IGNORE, 1, 0, 0, 2, 0, IGNORE]
    unk = tokenizer.unk_token_id
    assert windows[0].input_ids[2:4] == [unk, unk]


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
    width = max(len(w.input_ids) for w in windows)
    # a fake model that predicts, at each position, the index of the word there (mod 1000)
    fake = np.array([[0 if w is None else w % 1000 for w in window.words] + [0] * (width - len(window.words))
                     for window in windows])
    stitched = stitch_predictions(windows, fake)
    assert [len(tags) for tags in stitched] == [len(words) for words in sentences]
    assert all(tags == [i % 1000 for i in range(len(tags))] for tags in stitched)


def test_windows_start_on_a_word_in_the_overlap(tokenizer):
    """北 hello 京 上 海 -> 北 he ##l ##l ##o 京 上 海 (hello is four sub-tokens, predicted at its first)."""
    sentence = ["北", "hello", "京", "上", "海"]
    assert tokenizer.tokenize("hello") == ["he", "##l", "##l", "##o"]

    def words(max_seq_length, stride):
        return [w.words[1:-1] for w in encode_windows([sentence], None, tokenizer, max_seq_length, stride)]

    # the overlap would start on ##o: it moves to 京
    assert words(8, 2) == [[0, 1, None, None, None, 2], [2, 3, 4]]
    # no overlap, the next window starts at ##o (no word starts before the end): its position predicts nothing
    assert words(6, 2) == [[0, 1, None, None], [None, 2, 3, 4]]
    # the largest stride (3 of 4 tokens): the second window starts at hello, the third at 京
    assert words(6, 3) == [[0, 1, None, None], [1, None, None, None], [2, 3, 4]]


def test_counts_and_log_lines(tokenizer, caplog):
    with caplog.at_level("INFO", logger="bertft_utils"):
        windows = encode_windows([list("北京上海中"), [" ", "北"], ["\u200b"], list("北京")], None, tokenizer, 6, 1)
    assert windows.windowed_sentences == 1 and windows.zero_token_words == 2  # two windows make a windowed sentence
    assert len(windows) == 5
    assert caplog.messages == [
        "1 of 4 sentences are longer than 4 tokens: split into 5 overlapping windows in all (stride 1); every token "
        "is still predicted.",
        "2 tokens have no sub-token in this tokenizer (spaces, control characters): fed as [UNK] so that they keep "
        "their tag and get a prediction."]
    assert windows[1].input_ids == tokenizer.convert_tokens_to_ids(["[CLS]", "海", "中", "[SEP]"])
    assert windows[2].input_ids == tokenizer.convert_tokens_to_ids(["[CLS]", "[UNK]", "北", "[SEP]"])
    caplog.clear()
    with caplog.at_level("INFO", logger="bertft_utils"):
        encode_windows([list("北京")], None, tokenizer, 6, 1)
    assert caplog.messages == []


def test_a_single_window_with_labels_becomes_a_dataset(tokenizer):
    dataset = encode_windows([["北"]], [[3]], tokenizer, 8, 2).dataset()
    assert dataset.column_names == ["input_ids", "attention_mask", "labels"] and dataset[0]["labels"] == [-100, 3, -100]
    assert Windows().dataset().column_names == ["input_ids", "attention_mask"]


def test_stitching_takes_edge_words_and_refuses_uncovered_ones():
    # windows without special tokens: the words at both ends have no context on one side, and still count
    edge = Windows.of([Window(0, [5, 6], [0, 1])], [2])
    assert stitch_predictions(edge, np.array([[7, 8]])) == [[7, 8]]
    assert stitch_predictions(Windows.of([], [0]), np.zeros((0, 2))) == [[]]
    gap = Windows.of([Window(0, [5, 6, 7], [0, None, 2])], [4])
    with pytest.raises(RuntimeError) as error:
        stitch_predictions(gap, np.array([[1, 1, 1]]))
    assert str(error.value) == "sentence 0: 2 words got no prediction"


def test_scores_are_stitched_from_the_same_positions_as_ids(tokenizer):
    from bertft_utils.tasks.windows import stitch_scores

    windows = encode_windows([list("北京上海中国人北京上海中国人"), ["北"]], None, tokenizer, max_seq_length=8,
                             doc_stride=3)
    # score of label 0 = window row, of label 1 = position in the window
    scores = np.array([[[row, position] for position in range(8)] for row in range(len(windows))], float)
    stitched = stitch_scores(windows, scores)
    assert [s.shape for s in stitched] == [(14, 2), (1, 2)]
    assert stitched[0][:, 0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert stitched[0][:, 1].tolist() == [1, 2, 3, 4, 5, 3, 4, 5, 3, 4, 5, 3, 4, 5]
    assert stitched[1].tolist() == [[4, 1]]
    assert stitch_scores(Windows.of([], [0]), np.zeros((0, 8, 2)))[0].shape == (0, 2)


def test_each_window_knows_whether_it_holds_its_sentences_first_and_last_word(tokenizer):
    windows = encode_windows([list("北京上海中国人" * 10), ["北", "京"]], [[1] * 70, [0, 1]], tokenizer,
                             max_seq_length=32, doc_stride=8)
    edges = windows.sentence_edges().tolist()
    assert edges[0] == [1, 0] and edges[-2] == [0, 1] and edges[-1] == [1, 1]
    assert all(edge == [0, 0] for edge in edges[1:-2]) and len(edges) > 3
    assert "sentence_edges" not in windows.dataset().column_names  # only when a CRF asks for them
    windows.edges_column = "sentence_edges"
    assert windows.dataset()["sentence_edges"] == edges


@pytest.mark.parametrize("pairs", [False, True])
def test_truncated_texts_are_encoded_chunk_by_chunk_as_in_one_pass(pairs, tiny_models, monkeypatch, caplog):
    """Chunks of ENCODE_CHUNK texts give the same rows as one tokenizer call, and the cut texts are counted once."""
    from transformers import AutoTokenizer

    from bertft_utils.tasks import sequence

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    texts = [" ".join(["hello world"] * n) for n in range(1, 12)]  # 3 to 23 tokens
    second = ["the quick brown fox"] * len(texts) if pairs else None
    monkeypatch.setattr(sequence, "ENCODE_CHUNK", 4)
    with caplog.at_level("WARNING"):
        encoded = sequence.encode_texts(texts, list(range(len(texts))), tokenizer, 12, False, "train", second)
    whole = tokenizer(texts, second, truncation="longest_first", max_length=12)
    assert encoded.dataset()["input_ids"] == whole["input_ids"] and encoded.dataset()["labels"] == list(range(11))
    full = [len(ids) for ids in tokenizer(texts, second)["input_ids"]]
    cut = sum(length > 12 for length in full)
    assert f"train: {cut} of 11 {'sentence pairs' if pairs else 'texts'} are longer than 12 tokens" in caplog.text
    assert f"longest: {max(full)})" in caplog.text


def test_sentences_are_tokenized_chunk_by_chunk_as_in_one_pass(tokenizer, monkeypatch):
    """Chunks of TOKENIZED_AT_ONCE sentences (the tokenizer's encodings are not all held at once) give the same
    windows as one pass, zero-token words and long sentences included."""
    from bertft_utils.tasks import windows as windows_module

    sentences = [list("北京上海中国人" * (n % 4 + 1)) + [" "] * (n % 2) for n in range(11)]
    tags = [[n % 3] * len(sentence) for n, sentence in enumerate(sentences)]
    whole = encode_windows(sentences, tags, tokenizer, max_seq_length=12, doc_stride=3)
    monkeypatch.setattr(windows_module, "TOKENIZED_AT_ONCE", 4)
    chunked = encode_windows(sentences, tags, tokenizer, max_seq_length=12, doc_stride=3)
    assert list(chunked) == list(whole) and len(whole) > len(sentences)
    assert (chunked.zero_token_words, chunked.windowed_sentences) == (whole.zero_token_words, whole.windowed_sentences)


def test_the_dataset_is_made_without_a_copy_of_the_windows(tokenizer):
    """`Dataset.from_dict` pickles a new table whole to fingerprint it: a transient copy of every column, gigabytes
    for millions of windows. The dataset shares the windows' ids and its fingerprint follows their content."""
    import tracemalloc

    sentences = [list("北京上海中国人" * 7)] * 3000
    windows = encode_windows(sentences, [[1] * 49] * 3000, tokenizer, 64, 8)
    tracemalloc.start()
    dataset = windows.dataset()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < windows.input_ids.nbytes  # the attention mask (a byte per token) is new; no copy of the ids
    assert dataset["input_ids"][2999] == windows[2999].input_ids and dataset["labels"][0] == windows[0].labels
    assert dataset._fingerprint == windows.dataset()._fingerprint
    windows.labels[1] = 0
    assert dataset._fingerprint != windows.dataset()._fingerprint


def test_a_sentence_whose_tag_ids_do_not_match_its_words_is_named_by_its_number_in_the_split(tokenizer, monkeypatch):
    from bertft_utils.tasks import windows as windows_module

    monkeypatch.setattr(windows_module, "TOKENIZED_AT_ONCE", 2)
    sentences = [list("北京"), list("上海"), list("中国人")]
    with pytest.raises(ValueError, match=r"^sentence 2: 3 words but 2 tag ids$"):
        encode_windows(sentences, [[0, 1], [1, 0], [0, 1]], tokenizer, 16, 2)
