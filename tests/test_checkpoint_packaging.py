"""Every family's Hub packaging loads by its real name, offline, without hand-written flags (look-alike cache)."""

import logging

import pytest
import torch
from transformers import AutoModelForTokenClassification

from bertft_utils.config.arguments import ModelArguments
from bertft_utils.modeling.loading import load_config, load_model, load_tokenizer
from bertft_utils.testing.lookalikes import CHECKPOINTS

# name -> (tokenizer class, model class, how "北京 hello" is tokenized)
EXPECTED = {
    "google-bert/bert-base-chinese": ("BertTokenizer", "BertForTokenClassification", ["北", "京"]),
    "google-bert/bert-base-uncased": ("BertTokenizer", "BertForTokenClassification", ["北", "京"]),
    "clue/albert_chinese_tiny": ("BertTokenizer", "AlbertForTokenClassification", ["北", "京"]),
    "voidful/albert_chinese_tiny": ("BertTokenizer", "AlbertForTokenClassification", ["北", "京"]),
    "voidful/albert_chinese_base": ("BertTokenizer", "AlbertForTokenClassification", ["北", "京"]),
    "ckiplab/albert-tiny-chinese": ("BertTokenizer", "AlbertForTokenClassification", ["北", "京"]),
    "hfl/chinese-roberta-wwm-ext": ("BertTokenizer", "BertForTokenClassification", ["北", "京"]),
    "hfl/rbt3": ("BertTokenizer", "BertForTokenClassification", ["北", "京"]),
    "FacebookAI/roberta-base": ("RobertaTokenizer", "RobertaForTokenClassification", None),
    "albert/albert-base-v2": ("AlbertTokenizer", "AlbertForTokenClassification", None),
}


def load(hub_cache, name, **kwargs):
    model_args = ModelArguments(model_name_or_path=name, cache_dir=str(hub_cache / "hub"), **kwargs)
    config = load_config(model_args, num_labels=3)
    tokenizer = load_tokenizer(model_args, config, pretokenized=True)
    model = load_model(AutoModelForTokenClassification, model_args, config, tokenizer)
    return tokenizer, model


def snapshot(hub_cache, name):
    return next((hub_cache / "hub" / f"models--{name.replace('/', '--')}" / "snapshots").iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_checkpoint_loads_by_its_hub_name(hub_cache, name):
    tokenizer_class, model_class, chinese = EXPECTED[name]
    tokenizer, model = load(hub_cache, name)
    assert type(tokenizer).__name__ == tokenizer_class
    assert type(model).__name__ == model_class
    assert tokenizer.vocab_size == model.config.vocab_size  # the embedding matrix fits the tokenizer exactly
    if chinese:
        assert tokenizer.tokenize("北京")[:2] == chinese
    assert tokenizer.model_max_length <= model.config.max_position_embeddings


def test_vocab_txt_only_albert_gets_wordpiece_and_says_why(hub_cache, caplog):
    """(a) clue/albert_chinese_tiny: vocab.txt, no spiece.model, no tokenizer class anywhere."""
    assert {p.name for p in snapshot(hub_cache, "clue/albert_chinese_tiny").iterdir()} == {
        "config.json", "pytorch_model.bin", "vocab.txt"}
    with caplog.at_level(logging.INFO, logger="bertft_utils"):
        tokenizer, _ = load(hub_cache, "clue/albert_chinese_tiny")
    vocab = (snapshot(hub_cache, "clue/albert_chinese_tiny") / "vocab.txt").read_text(encoding="utf-8").split("\n")
    assert len(tokenizer) == len([v for v in vocab if v])
    assert "model_type albert with only a WordPiece vocab.txt and no tokenizer class" in caplog.text


def test_weights_stored_only_as_pytorch_model_bin_are_loaded(hub_cache):
    stored = torch.load(snapshot(hub_cache, "voidful/albert_chinese_tiny") / "pytorch_model.bin", weights_only=True)
    _, model = load(hub_cache, "voidful/albert_chinese_tiny")
    loaded = model.albert.embeddings.word_embeddings.weight
    assert torch.equal(loaded, stored["embeddings.word_embeddings.weight"])


def test_roberta_labelled_bert_checkpoint_warns_and_loads_as_bert(hub_cache, caplog):
    """(d) clue/roberta_chinese_*: model_type roberta, a WordPiece vocab.txt, weights written by BERT."""
    with caplog.at_level(logging.WARNING, logger="bertft_utils"), pytest.raises(
            ValueError, match=r"of the encoder's \d+ weights were not found.*--load_as bert"):
        load(hub_cache, "clue/roberta_chinese_base")
    assert "trained as BERT" in caplog.text and "Pass --load_as bert" in caplog.text
    tokenizer, model = load(hub_cache, "clue/roberta_chinese_base", load_as="bert")
    assert type(model).__name__ == "BertForTokenClassification" and type(tokenizer).__name__ == "BertTokenizer"
    stored = torch.load(snapshot(hub_cache, "clue/roberta_chinese_base") / "pytorch_model.bin", weights_only=True)
    assert torch.equal(model.bert.embeddings.position_embeddings.weight,
                       stored["bert.embeddings.position_embeddings.weight"])


def test_byte_level_roberta_gets_prefix_space_and_its_position_limit(hub_cache):
    """(e) roberta-base: positions = max_length + 2; pre-split words need add_prefix_space."""
    tokenizer, model = load(hub_cache, "FacebookAI/roberta-base")
    assert tokenizer.add_prefix_space
    assert tokenizer.model_max_length == model.config.max_position_embeddings - 2
    assert tokenizer(["hello", "world"], is_split_into_words=True).tokens()[1].startswith("Ġ")


def test_sentencepiece_albert_files(hub_cache):
    """(f) albert-base-v2 ships spiece.model and tokenizer.json."""
    files = {p.name for p in snapshot(hub_cache, "albert/albert-base-v2").iterdir()}
    assert {"spiece.model", "tokenizer.json", "config.json", "model.safetensors"} <= files
    tokenizer, _ = load(hub_cache, "albert/albert-base-v2")
    assert tokenizer.tokenize("hello world")[0].startswith("▁")


def test_every_packaging_is_covered():
    assert set(EXPECTED) | {"clue/roberta_chinese_base"} == set(CHECKPOINTS)


def test_unknown_load_as_is_refused():
    with pytest.raises(ValueError, match="--load_as must be a model type"):
        ModelArguments(load_as="bertt")
