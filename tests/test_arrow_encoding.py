"""Tokenizing straight into Arrow columns gives what the tokenizer's own call gives, for every look-alike packaging,
single texts and pairs, truncated, padded or not; a backend that encodes differently is not used."""

import pytest

TEXTS = ["hello world", "北京 上海 中国 臺北市 " * 30, "the quick brown fox jumps over the lazy dog", "a", ""]
PAIRS = ["the lazy dog", "hello", "北京 " * 40, "world world", "fox"]


def tokenizer_call(tokenizer, texts, pairs, max_length, padded):
    return dict(tokenizer(texts, pairs, truncation="longest_first", max_length=max_length,
                          padding="max_length" if padded else False))


@pytest.mark.parametrize("kind", ["bert", "albert", "roberta"])
@pytest.mark.parametrize("with_pairs", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_the_columns_equal_the_tokenizer_call(tiny_models, kind, with_pairs, padded, caplog):
    from transformers import AutoTokenizer

    from bertft_utils.modeling.arrow_encoding import ArrowEncoder

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models[kind]))
    texts = TEXTS * 30  # more texts than the check samples
    pairs = PAIRS * 30 if with_pairs else None
    with caplog.at_level("INFO"):
        encoded = ArrowEncoder(tokenizer, 24, padded)(texts, pairs)
    assert "encodes differently" not in caplog.text  # the backend's columns, not the fallback's
    expected = tokenizer_call(tokenizer, texts, pairs, 24, padded)
    assert {name: column.to_pylist() for name, column in encoded.columns.items()} == expected
    real = [sum(mask) for mask in expected["attention_mask"]]
    assert encoded.lengths.tolist() == real and max(real) == 24 and min(real) < 24  # before padding
    assert str(encoded.columns["input_ids"].type) == "list<item: int32>"  # not Python ints inferred as int64


def test_left_truncation_is_followed(tiny_models, caplog):
    from transformers import AutoTokenizer

    from bertft_utils.modeling.arrow_encoding import ArrowEncoder

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]), truncation_side="left")
    with caplog.at_level("INFO"):
        encoded = ArrowEncoder(tokenizer, 8, False)(TEXTS)
    assert "encodes differently" not in caplog.text
    assert encoded.columns["input_ids"].to_pylist() == tokenizer_call(tokenizer, TEXTS, None, 8, False)["input_ids"]


def test_a_backend_that_encodes_differently_is_not_used(tiny_models, monkeypatch, caplog):
    """A tokenizer whose Python side does more than its backend (simulated: the backend cuts at another length) is
    called as it is."""
    from transformers import AutoTokenizer

    from bertft_utils.modeling import arrow_encoding

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    real_backend = arrow_encoding._backend
    monkeypatch.setattr(arrow_encoding, "_backend", lambda tok, length, padded: real_backend(tok, length - 3, padded))
    texts = TEXTS * 40
    with caplog.at_level("INFO"):
        encoded = arrow_encoding.ArrowEncoder(tokenizer, 12, False)(texts)
    assert encoded.columns["input_ids"].to_pylist() == tokenizer_call(tokenizer, texts, None, 12, False)["input_ids"]
    assert "encodes differently" in caplog.text


def test_the_garbage_collector_is_left_as_it_was(tiny_models):
    """Encoding pauses the collector for its own lists only: on again after (and off if the caller had it off)."""
    import gc

    from transformers import AutoTokenizer

    from bertft_utils.modeling.arrow_encoding import ArrowEncoder

    encode = ArrowEncoder(AutoTokenizer.from_pretrained(str(tiny_models["bert"])), 16, False)
    assert gc.isenabled()
    encode(TEXTS)
    assert gc.isenabled()
    gc.disable()
    try:
        encode(TEXTS)
        assert not gc.isenabled()
    finally:
        gc.enable()
