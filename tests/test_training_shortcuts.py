"""The CPU training shortcuts: dropout masks from 16-bit draws (chosen by measurement) and the word embeddings'
gradient kept in one buffer. Both must train what torch would: the masks in distribution, the gradient exactly."""

import copy

import pytest
import torch
from torch import nn

from bertft_utils.training import dropout_masks
from bertft_utils.training.dropout_masks import SixteenBitDropout, choose_masks, sixteen_bit_dropout
from bertft_utils.training.embedding_gradient import kept_embedding_gradient


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_sixteen_bit_masks_drop_at_the_rate_and_keep_the_mean(p):
    torch.manual_seed(0)
    x = torch.ones(1_000_000, requires_grad=True)
    y = SixteenBitDropout(p).train()(x)
    dropped = (y == 0).float().mean().item()
    assert dropped == pytest.approx(p, abs=0.002)  # five standard deviations of a million draws
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - round(p * 65536) / 65536)))
    assert y.mean().item() == pytest.approx(1.0, abs=0.005)  # unbiased: the keep rate's exact inverse
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient goes through the same mask
    half = torch.ones(1000, dtype=torch.bfloat16)
    assert SixteenBitDropout(p).train()(half).dtype == torch.bfloat16
    assert SixteenBitDropout(p).eval()(half) is half


def test_sixteen_bit_masks_follow_torchs_seed():
    module = SixteenBitDropout(0.1).train()
    x = torch.ones(4096)
    torch.manual_seed(1)
    first = module(x)
    torch.manual_seed(1)
    assert torch.equal(first, module(x))
    assert not torch.equal(first, module(x))


class _Tiny(nn.Module):
    def __init__(self, p: float = 0.1):
        super().__init__()
        self.config = type("Config", (), {"hidden_size": 8, "model_type": "tiny", "num_hidden_layers": 1})()
        self.embed = nn.Embedding(10, 8)
        self.dropout = nn.Dropout(p)


def test_the_faster_masks_are_chosen_once_per_machine_and_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTFT_CACHE", str(tmp_path))
    batch = {"input_ids": torch.zeros(4, 6, dtype=torch.long)}
    timings = iter([{"torch_s": 3.0, "16bit_s": 1.0}])
    shapes = []

    def timed(shape, dtype, p, rounds=7):
        shapes.append((shape, dtype, p))
        return next(timings)

    monkeypatch.setattr(dropout_masks, "time_masks", timed)
    assert choose_masks(_Tiny(), batch, bf16=True)["masks"] == "16bit"
    assert shapes == [((4, 6, 8), torch.bfloat16, 0.1)]  # the batch's hidden states, in the training precision
    assert choose_masks(_Tiny(), batch, bf16=True)["masks"] == "16bit"  # remembered: not timed again
    assert len(shapes) == 1
    timings = iter([{"torch_s": 1.1, "16bit_s": 1.0}])  # fp32 is another key; barely faster keeps torch's
    assert choose_masks(_Tiny(), batch, bf16=False)["masks"] == "torch"
    assert choose_masks(_Tiny(), batch, bf16=False, choice="16bit")["masks"] == "16bit"
    assert choose_masks(_Tiny(), batch, bf16=True, choice="torch")["masks"] == "torch"
    assert choose_masks(_Tiny(p=0.0), batch, bf16=True)["masks"] == "torch"  # no dropout to draw
    assert choose_masks(_Tiny(), batch, bf16=True, choice="16bit", device="cuda")["masks"] == "torch"
    assert len(shapes) == 2


def test_the_swap_lasts_the_block_only():
    model = _Tiny()
    with sixteen_bit_dropout(model):
        assert type(model.dropout) is SixteenBitDropout
    assert type(model.dropout) is nn.Dropout


def _step(model, ids):
    model(input_ids=ids, labels=torch.tensor([0, 1])).loss.backward()


def test_kept_embedding_gradient_is_torchs_gradient_step_after_step(tiny_models):
    """Same gradient as torch's dense one: rows looked up several times, the padding row, rows of the previous step
    (set to None in between: they must read 0 again), and a second micro-batch added (gradient accumulation)."""
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    reference = AutoModelForSequenceClassification.from_pretrained(str(tiny_models["bert"]), num_labels=2).eval()
    kept = copy.deepcopy(reference)
    pad = reference.config.pad_token_id
    batches = [torch.tensor([[5, 7, 7, 9, pad], [11, 5, 13, pad, pad]], dtype=torch.int32),  # int32 ids work too
               torch.tensor([[20, 21, 22], [23, 24, 7]]), torch.tensor([[30, 31, 5, pad], [32, 33, 34, 35]])]
    with kept_embedding_gradient(kept) as installed:
        assert installed
        for index, ids in enumerate(batches):
            if index < 2:  # a new optimizer step each time, then the last batch accumulates onto the second
                reference.zero_grad(set_to_none=True)
                kept.zero_grad(set_to_none=True)
            _step(reference, ids)
            _step(kept, ids)
            expected = reference.get_input_embeddings().weight.grad
            got = kept.get_input_embeddings().weight.grad
            assert torch.allclose(got, expected, atol=1e-6), f"batch {index}"
            assert got.abs().sum() > 0 and not got[pad].any()
    assert "forward" not in vars(kept.get_input_embeddings())  # the class's forward again after the block


def test_tied_or_sparse_embeddings_keep_torchs_gradient(tiny_models):
    from transformers import AutoModelForMaskedLM

    tied = AutoModelForMaskedLM.from_pretrained(str(tiny_models["bert"]))
    assert tied.get_output_embeddings().weight is tied.get_input_embeddings().weight
    with kept_embedding_gradient(tied) as installed:
        assert not installed


def test_training_uses_the_shortcuts_and_leaves_plain_modules(tiny_models, tmp_path):
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback

    from bertft_utils.config.arguments import BertftTrainingArguments
    from bertft_utils.training.trainer import BertftTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["bert"]))
    dataset = datasets.Dataset.from_dict({**tokenizer(["a b", "c d e", "f", "g h"]), "labels": [0, 1, 0, 1]})
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_models["bert"]), num_labels=2)
    seen = []

    class Spy(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append(({type(m) for m in model.modules() if isinstance(m, nn.Dropout)},
                         "forward" in vars(model.get_input_embeddings())))

    args = BertftTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=2,
                                   report_to=[], use_cpu=True, save_strategy="no")
    trainer = BertftTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset,
                            callbacks=[Spy()], dropout_masks="16bit")
    trainer.train()  # the trainer stays alive: its shortcuts must end with train(), not when it is collected
    assert seen == [({SixteenBitDropout}, True)] * 2
    assert {type(m) for m in model.modules() if isinstance(m, nn.Dropout)} == {nn.Dropout}
    assert "forward" not in vars(model.get_input_embeddings())


def test_run_classify_trains_with_the_masks_it_records(tiny_models, tmp_path):
    """--dropout_masks reaches the Trainer: the same seed trains differently with 16-bit masks than with torch's,
    and each run's train_results.json names the masks it used and who chose them."""
    import json

    from conftest import DATA, run_script

    losses = {}
    for masks in ("torch", "16bit"):
        out = tmp_path / masks
        run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                   str(DATA / "sarcasm_headlines_sample.jsonl"), "--text_column_name", "headline",
                   "--label_column_name", "is_sarcastic", "--max_train_samples", "64", "--do_train",
                   "--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--save_strategy", "no",
                   "--validation_split_percentage", "0", "--test_split_percentage", "0", "--no_auto_bf16",
                   "--dropout_masks", masks, "--seed", "3", "--output_dir", str(out))
        results = json.loads((out / "train_results.json").read_text())
        assert (results["train_dropout_masks"], results["train_dropout_masks_chosen_by"]) == (masks, "--dropout_masks")
        losses[masks] = results["train_loss"]
    assert losses["torch"] != losses["16bit"]
    refused = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                         str(DATA / "sarcasm_headlines_sample.jsonl"), "--do_train", "--dropout_masks", "fast",
                         "--output_dir", str(tmp_path / "refused"), check=False)
    assert refused.returncode != 0 and "--dropout_masks must be one of auto, torch, 16bit" in refused.stderr


def test_measuring_the_masks_leaves_the_runs_random_numbers_alone():
    """A run that measures (first on a machine) and one that reads the cached decision must draw the same numbers
    afterwards (else the masked-LM warm-up that follows differs, and a resumed run no longer matches)."""
    torch.manual_seed(0)
    before = torch.get_rng_state()
    dropout_masks.time_masks((4, 8, 16), torch.float32, 0.1, rounds=2)
    assert torch.equal(torch.get_rng_state(), before)
