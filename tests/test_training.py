from types import SimpleNamespace

import pytest

from bertft_utils.config.arguments import ModelArguments
from bertft_utils.publishing.hub import finetuned_from


def test_model_card_names_the_base_model_by_its_hub_name(tmp_path):
    assert finetuned_from(ModelArguments()) == "sentence-transformers/all-MiniLM-L6-v2"  # the embedded model
    snapshot = tmp_path / "hub" / "models--hfl--rbt3" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    assert finetuned_from(ModelArguments(model_name_or_path=str(snapshot))) == "hfl/rbt3"
    assert finetuned_from(ModelArguments(model_name_or_path="google-bert/bert-base-chinese")) == \
        "google-bert/bert-base-chinese"
    assert finetuned_from(ModelArguments(model_name_or_path=str(tmp_path))) == str(tmp_path)


def test_embedding_matrix_gets_its_own_learning_rate(tiny_models, tmp_path):
    from transformers import AutoModelForTokenClassification

    from bertft_utils.config.arguments import BertftTrainingArguments
    from bertft_utils.training.trainer import BertftTrainer

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_models["bert"]), num_labels=3)
    args = BertftTrainingArguments(output_dir=str(tmp_path), learning_rate=1e-4, report_to=[])
    trainer = BertftTrainer(model=model, args=args, embedding_learning_rate=2e-3)
    optimizer = trainer.create_optimizer()
    embedding = model.get_input_embeddings().weight
    groups = [g for g in optimizer.param_groups if any(p is embedding for p in g["params"])]
    assert len(groups) == 1 and groups[0]["lr"] == 2e-3 and groups[0]["params"] == [embedding]
    others = [g for g in optimizer.param_groups if g is not groups[0]]
    assert all(g["lr"] == 1e-4 for g in others) and sum(len(g["params"]) for g in others) > 10
    scheduler = trainer.create_scheduler(num_training_steps=10, optimizer=optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert groups[0]["lr"] / others[0]["lr"] == pytest.approx(20)  # the schedule scales both alike


def test_added_characters_default_to_twenty_times_the_learning_rate(tiny_models):
    from transformers import AutoModel, AutoTokenizer

    from bertft_utils.modeling.vocabulary import prepare_vocabulary

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    model = AutoModel.from_pretrained(str(tiny_models["bert"]))
    before = len(tokenizer)
    report, rate = prepare_vocabulary(ModelArguments(add_unk_chars=True), SimpleNamespace(learning_rate=1e-4),
                                      tokenizer, model, ["龘龘 北京", "𠀋"])
    assert report.distinct_unknown == ["龘", "𠀋"] and report.unknown_characters == 3 and report.characters == 5
    assert len(tokenizer) == before + 2 == model.get_input_embeddings().weight.shape[0]
    assert tokenizer("龘北", add_special_tokens=False)["input_ids"] == [before, tokenizer.convert_tokens_to_ids("北")]
    assert rate == pytest.approx(2e-3)
    _, rate = prepare_vocabulary(ModelArguments(), SimpleNamespace(learning_rate=1e-4), tokenizer, model, ["x"])
    assert rate is None


def test_predict_in_order_restores_order_and_skips_validation_metrics(tiny_models, tmp_path):
    """Predictions come back in dataset order although they are computed sorted by length: the fake model's output
    is each example's own length and first token, so any mix-up shows. The prediction's data is not kept after."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, DataCollatorWithPadding
    from transformers.modeling_outputs import SequenceClassifierOutput

    from bertft_utils.config.arguments import BertftTrainingArguments
    from bertft_utils.training.trainer import BertftTrainer, predict_in_order

    class Echo(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask, labels=None, **_):
            logits = torch.stack([attention_mask.sum(-1).float(), input_ids[:, 1].float()], dim=-1) + self.weight
            return SequenceClassifierOutput(loss=logits.sum() * 0, logits=logits)

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    texts = ["the", "the quick brown fox jumps", "hello", "over the lazy dog today and", "fox jumps"]
    encoded = tokenizer(texts)
    dataset = Dataset.from_dict({**encoded, "labels": [0, 1, 0, 1, 0]})

    def validation_only(prediction):
        raise AssertionError("compute_metrics is for the validation set")

    args = BertftTrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=2, report_to=[])
    trainer = BertftTrainer(model=Echo(), args=args, processing_class=tokenizer, compute_metrics=validation_only,
                            data_collator=DataCollatorWithPadding(tokenizer))
    logits, timing = predict_in_order(trainer, dataset)
    assert trainer.compute_metrics is validation_only and timing["test_runtime"] > 0
    assert logits[:, 0].tolist() == [len(ids) for ids in encoded["input_ids"]]  # exact, in dataset order
    assert logits[:, 1].tolist() == [ids[1] for ids in encoded["input_ids"]]
    assert sorted(logits[:, 0].tolist()) != logits[:, 0].tolist()  # the length order differs from the file order
    # a prediction's DataLoader (and its dataset) is not kept for the run: accelerate keeps every one it prepares, so
    # a raw text predicted piece by piece held every piece (the Trainer's callbacks hold the last one only)
    import gc

    def loaders_alive() -> int:
        gc.collect()
        return sum(isinstance(obj, torch.utils.data.DataLoader) for obj in gc.get_objects())

    after_one = loaders_alive()
    for _ in range(3):
        predict_in_order(trainer, dataset)
    assert loaders_alive() == after_one


def test_length_grouped_training_reads_lengths_from_arrow_not_rows(tiny_models, tmp_path, monkeypatch):
    """The training sampler groups by each example's own token count, taken through a selection (indices mapping)
    of the dataset, without reading the examples one by one as Python rows (what made a million records slow)."""
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from bertft_utils.config.arguments import BertftTrainingArguments
    from bertft_utils.training.trainer import BertftTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    texts = ["a", "a b c d e f", "a b", "a b c d", "a b c", "a b c d e f g h"]
    full = datasets.Dataset.from_dict({**tokenizer(texts), "labels": [0, 1, 0, 1, 0, 1]})
    chosen = [5, 0, 3, 2]
    dataset = full.select(chosen)
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_models["bert"]), num_labels=2)
    args = BertftTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, report_to=[])
    trainer = BertftTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset)

    def no_rows(self):
        raise AssertionError("the lengths were read row by row")

    monkeypatch.setattr(datasets.Dataset, "__iter__", no_rows)
    sampler = trainer._get_train_sampler(trainer._remove_unused_columns(dataset))
    assert sampler.lengths.tolist() == [len(tokenizer(texts[i])["input_ids"]) for i in chosen]
    assert sorted(sampler) == list(range(len(chosen)))


def test_characters_are_counted_as_a_counter_counts_them(monkeypatch):
    """Counted by numpy a chunk of texts at a time: the same counts as collections.Counter, a chunk of empty texts
    first (it must not end the count), characters beyond the BMP, a lone surrogate and spaces included."""
    from collections import Counter

    from bertft_utils.modeling import vocabulary

    monkeypatch.setattr(vocabulary, "COUNTED_AT_ONCE", 2)
    texts = ["", "", "北京 北", "𠀋\ud800", "\u3000a\tb", "", "zz"]
    assert vocabulary.character_counts(iter(texts)) == Counter("".join(texts))
    assert list(vocabulary.character_counts(texts)) == sorted(set("".join(texts)))


@pytest.mark.parametrize("examples, batch_size", [(5, 8), (37, 8), (1000, 4), (20011, 16)])
def test_length_grouped_order_is_hugging_faces(examples, batch_size):
    """The numpy order equals get_length_grouped_indices' for the same generator: lengths with many ties (Python's
    stable sort keeps them in permutation order), a last mega-batch cut short, fewer examples than a batch (none:
    no order, where Hugging Face's fails)."""
    import numpy as np
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from bertft_utils.training.trainer import length_grouped_indices

    lengths = np.random.default_rng(examples).integers(1, 12, examples)
    for seed in (0, 1):
        expected = get_length_grouped_indices(lengths.tolist(), batch_size,
                                              generator=torch.Generator().manual_seed(seed))
        assert length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(seed)) == expected
    assert length_grouped_indices(np.array([], dtype=int), batch_size) == []
