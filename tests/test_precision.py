import json
import platform

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from bertft_utils.config.arguments import BertftTrainingArguments
from bertft_utils.runtime import machine_cache, precision


@pytest.fixture
def model(tiny_models):
    return AutoModelForSequenceClassification.from_pretrained(str(tiny_models["bert"]), num_labels=2)


def batch(size=4, length=12):
    return {"input_ids": torch.randint(5, 100, (size, length)), "attention_mask": torch.ones(size, length, dtype=int),
            "labels": torch.zeros(size, dtype=int)}


def test_timing_leaves_the_model_and_the_random_numbers_as_they_were(model):
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = batch()
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    timing = precision.time_precisions(model, inputs, training=True)
    assert torch.equal(torch.rand(3), expected)  # dropout during timing consumed no random numbers of the run
    assert timing["fp32_s"] > 0 and timing["bf16_s"] > 0 and timing["batch"] in ("tiny (1x16)", "typical")
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_faster_precision_wins_and_is_remembered(model, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BERTFT_CACHE", str(tmp_path))
    calls = []

    def fake(model, batch, training, repeats=1):
        calls.append(training)
        return {"fp32_s": 0.2, "bf16_s": 0.1, "batch": "typical"}

    monkeypatch.setattr(precision, "time_precisions", fake)
    with caplog.at_level("INFO", logger="bertft_utils"):
        assert precision.choose_precision(model, batch(), training=True) is True
        assert precision.choose_precision(model, batch(), training=True) is True  # from the cache
    assert calls == [True]
    assert "Precision: bf16, measured here on a typical batch: fp32 0.2000 s, bf16 0.1000 s per training step" in \
        caplog.text and "cached in" in caplog.text
    stored = json.loads((tmp_path / "precision.json").read_text())
    [(key, entry)] = stored.items()
    assert machine_cache.cpu_model() in key and f"torch {torch.__version__}" in key and "batch size 4 | train" in key
    assert entry["choice"] == "bf16" and entry["fp32_s"] == 0.2
    monkeypatch.setattr(precision, "time_precisions", lambda *a, **k: {"fp32_s": 0.1, "bf16_s": 0.3, "batch": "x"})
    assert precision.choose_precision(model, batch(), training=False) is False  # another key: measured again
    assert len(json.loads((tmp_path / "precision.json").read_text())) == 2


def test_who_decides(tmp_path):
    measured = BertftTrainingArguments(output_dir=str(tmp_path), report_to=[])
    assert measured.use_cpu and not measured.bf16 and precision.precision_is_measured(measured)
    assert not precision.precision_is_measured(BertftTrainingArguments(output_dir=str(tmp_path), report_to=[],
                                                                       auto_bf16=False))
    forced = BertftTrainingArguments(output_dir=str(tmp_path), report_to=[], bf16=True)
    assert forced.mixed_precision == "bf16" and not precision.precision_is_measured(forced)
    precision.apply_precision(measured, True)
    assert measured.bf16 and measured.mixed_precision == "bf16"
    precision.apply_precision(measured, False)
    assert not measured.bf16 and measured.mixed_precision == "no"


def test_cpu_identity_tells_apart_cpus_with_the_same_name(tmp_path):
    """Cloud CPUs of different generations can both be "AMD EPYC": the decision key must still differ."""
    def cpuinfo(name: str, model: str, flags: str) -> str:
        path = tmp_path / f"cpuinfo{model}"
        path.write_text(f"processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: {model}\n"
                        f"model name\t: {name}\nstepping\t: 1\nflags\t\t: fpu {flags} sse2\n\n"
                        "processor\t: 1\nmodel\t\t: 99\nmodel name\t: other\n")
        return str(path)

    zen3 = machine_cache.cpu_model(cpuinfo("AMD EPYC", "1", "avx2 fma"))
    zen4 = machine_cache.cpu_model(cpuinfo("AMD EPYC", "17", "avx2 fma avx512f avx512_bf16"))
    assert zen3 == "AMD EPYC (family/model/stepping 25/1/1) [avx2,fma]"
    assert zen4 == "AMD EPYC (family/model/stepping 25/17/1) [avx2,fma,avx512f,avx512_bf16]"
    assert machine_cache.cpu_model(str(tmp_path / "absent")) == (platform.processor() or platform.machine())


def test_timing_runs_both_precisions_on_the_batch_and_skips_the_full_batch_where_bf16_crawls(model, monkeypatch):
    """What `fp32_s > 0` cannot tell: which batch ran in which precision, and that the times are the ones measured."""
    calls = []

    def fake_step(model, inputs, bf16, training, repeats):
        calls.append((inputs["input_ids"].shape[0], bf16))
        return {(1, False): 0.01, (1, True): slow_tiny, (4, False): 0.4, (4, True): 0.2}[(calls[-1])]

    monkeypatch.setattr(precision, "_step_seconds", fake_step)
    slow_tiny = 0.02  # bf16 on the tiny slice under 3x fp32: the full batch is timed in both
    timing = precision.time_precisions(model, batch(), training=False)
    assert calls == [(1, False), (1, True), (4, False), (4, True)]
    assert timing == {"fp32_s": 0.4, "bf16_s": 0.2, "batch": "typical"}
    calls.clear()
    slow_tiny = 0.5  # emulated bf16: 50x slower on the tiny slice, the full batch never runs in bf16
    timing = precision.time_precisions(model, batch(), training=False)
    assert calls == [(1, False), (1, True)] and timing == {"fp32_s": 0.01, "bf16_s": 0.5, "batch": "tiny (1x16)"}


def test_a_multilabel_batch_keeps_all_its_labels_in_the_tiny_timing_slice(tiny_models):
    """Multi-label labels are (batch, labels), not (batch, tokens): the tiny slice must not cut them to 16."""
    model = AutoModelForSequenceClassification.from_pretrained(
        str(tiny_models["bert"]), num_labels=28, problem_type="multi_label_classification")
    batch = {"input_ids": torch.randint(5, 100, (4, 40)), "attention_mask": torch.ones(4, 40, dtype=torch.long),
             "labels": torch.zeros(4, 28)}
    timing = precision.time_precisions(model, batch, training=False)
    assert timing["fp32_s"] > 0 and timing["bf16_s"] > 0
