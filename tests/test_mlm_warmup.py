"""The masked-LM warm-up: shares the task model's encoder, trains it, and reports what it did."""

import json

import pytest
import torch
from conftest import ARCHITECTURES, DATA, run_script
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from bertft_utils.training.mlm_warmup import masked_lm_sharing_encoder


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("task_class", [AutoModelForTokenClassification, AutoModelForSequenceClassification])
def test_masked_lm_shares_encoder_and_tied_embeddings(architecture, task_class, tiny_models):
    model = task_class.from_pretrained(tiny_models[architecture], num_labels=3)
    masked_lm = masked_lm_sharing_encoder(model)
    assert getattr(masked_lm, masked_lm.base_model_prefix) is model.base_model
    assert masked_lm.get_output_embeddings().weight is model.get_input_embeddings().weight
    # a step on the masked-LM model moves the task model's embeddings
    before = model.get_input_embeddings().weight.detach().clone()
    ids = torch.tensor([[5, 6, 7, 8]])
    masked_lm(input_ids=ids, labels=ids).loss.backward()
    torch.optim.SGD(masked_lm.parameters(), lr=1.0).step()
    assert not torch.equal(before, model.get_input_embeddings().weight)


def test_ner_warm_up_runs_on_training_windows_and_lowers_the_loss(tiny_models, tmp_path):
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]),
               "--train_file", str(DATA / "msra_ner_train_sample.txt"), "--validation_split_percentage", "0",
               "--test_split_percentage", "0", "--max_train_samples", "200", "--max_seq_length", "64",
               "--add_unk_chars", "--mlm_warmup_epochs", "4", "--num_train_epochs", "1", "--learning_rate", "2e-3",
               "--per_device_train_batch_size", "16", "--save_strategy", "no", "--logging_steps", "2",
               "--disable_tqdm", "true", "--do_train", "--output_dir", str(out))
    warm_up = json.loads((out / "mlm_warmup_results.json").read_text())
    # one per window: 200 sampled sentences (seeded), 54 more windows for those longer than 62 characters
    assert warm_up["epochs"] == 4 and warm_up["sequences"] == 254
    assert warm_up["train_loss"] < warm_up["first_logged_loss"]
    assert (out / "model.safetensors").is_file() and not (out / "mlm_warmup" / "model.safetensors").exists()


def test_classification_warm_up_uses_the_training_split_only(tiny_models, tmp_path):
    data = tmp_path / "headlines.jsonl"
    lines = (DATA / "sarcasm_headlines_sample.jsonl").read_text(encoding="utf-8").splitlines(True)
    data.write_text("".join(lines[:200]), encoding="utf-8")
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["roberta"]),
               "--train_file", str(data), "--text_column_name", "headline",
               "--label_column_name", "is_sarcastic", "--mlm_warmup_epochs", "1",
               "--num_train_epochs", "1", "--save_strategy", "no", "--disable_tqdm", "true", "--do_train",
               "--output_dir", str(out))
    split = json.loads((out / "split_ids.json").read_text())
    warm_up = json.loads((out / "mlm_warmup_results.json").read_text())
    # the validation and test records are held out even in a training-only run, and the warm-up never sees them
    assert warm_up["sequences"] == len(split["train"]) < 200 and split["validation"] and split["test"]
    assert warm_up["mlm_probability"] == 0.15
    assert json.loads((out / "train_results.json").read_text())["train_samples"] == len(split["train"])


@pytest.mark.parametrize("trains", ["embeddings", "all"])
def test_embeddings_only_warm_up_keeps_the_pretrained_layers(trains, tiny_models, tmp_path):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from bertft_utils.config.arguments import BertftTrainingArguments, ModelArguments
    from bertft_utils.training.mlm_warmup import warm_up_encoder

    model = AutoModelForTokenClassification.from_pretrained(tiny_models["bert"], num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    texts = [line[:40] for line in (DATA / "taipei_qa_sample.txt").read_text(encoding="utf-8").splitlines()[:64]]
    dataset = Dataset.from_dict(dict(tokenizer(texts)))
    layer = model.base_model.encoder.layer[0].attention.self.query.weight
    before_layer, before_embeddings = layer.detach().clone(), model.get_input_embeddings().weight.detach().clone()
    args = BertftTrainingArguments(output_dir=str(tmp_path), do_train=True, learning_rate=1e-2,
                                   per_device_train_batch_size=16, report_to=[], disable_tqdm=True, auto_bf16=False)
    metrics = warm_up_encoder(model, tokenizer, dataset, ModelArguments(mlm_warmup_epochs=1, mlm_warmup_trains=trains),
                              args, None)
    assert metrics["sequences"] == 64 and metrics["trains"] == trains
    assert not torch.equal(before_embeddings, model.get_input_embeddings().weight)
    assert torch.equal(before_layer, layer) == (trains == "embeddings")
    assert all(p.requires_grad for p in model.parameters())  # frozen only during the warm-up


def test_warm_up_needs_a_mask_token(tmp_path):
    from types import SimpleNamespace

    from datasets import Dataset

    from bertft_utils.config.arguments import BertftTrainingArguments, ModelArguments
    from bertft_utils.training.mlm_warmup import warm_up_encoder

    args = BertftTrainingArguments(output_dir=str(tmp_path), do_train=True, report_to=[], auto_bf16=False)
    with pytest.raises(ValueError, match="--mlm_warmup_epochs needs a tokenizer with a mask token"):
        warm_up_encoder(None, SimpleNamespace(mask_token=None), Dataset.from_dict({"input_ids": [[1, 2]]}),
                        ModelArguments(mlm_warmup_epochs=1), args, None)
