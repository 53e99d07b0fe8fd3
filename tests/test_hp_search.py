"""Hyperparameter search: the space, the best configuration file, and 2-trial searches with Optuna and Ray."""

import csv
import importlib.util
import json
import sys

import pytest
from conftest import DATA, REPO, run_script

from bertft_utils.config.arguments import BertftTrainingArguments, ModelArguments
from bertft_utils.config.optional_packages import require_search_backend
from bertft_utils.training import hp_search

SARCASM = DATA / "sarcasm_headlines_sample.jsonl"
SPACE = json.dumps({"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True},
                    "per_device_train_batch_size": {"type": "categorical", "choices": [16, 32]}})


def script_module(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_module", REPO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("space", "message"), [
    ('{"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-5}}',
     '--hp_search_space: \'learning_rate\' must be {"type": "float" or "int", "low": L, "high": H (L <= H)'),
    ('{"warmup_ratio": {"type": "uniform"}}', "'warmup_ratio' must be"),
    ('{"per_device_train_batch_size": {"type": "categorical", "choices": []}}', "'per_device_train_batch_size' must"),
    ("[1, 2]", "--hp_search_space must be a JSON object"),
    ("{broken", "--hp_search_space: not valid JSON"),
])
def test_bad_search_spaces_are_refused_before_any_work(space, message, tmp_path):
    with pytest.raises(ValueError) as error:
        BertftTrainingArguments(output_dir=str(tmp_path), hp_search_space=space, report_to=[])
    assert message in str(error.value)


def test_search_space_from_a_file_or_the_scripts_default(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(SPACE)
    assert hp_search.search_space(str(path), "run_ner.py") == json.loads(SPACE)
    assert hp_search.search_space(None, "run_qa_label.py")["num_train_epochs"] == {"type": "int", "low": 3,
                                                                                     "high": 12}
    with pytest.raises(ValueError, match="--hp_search_trials must be >= 0"):
        BertftTrainingArguments(output_dir=str(tmp_path), hp_search_trials=-1, report_to=[])
    with pytest.raises(ValueError, match="--hp_search_backend must be 'optuna' or 'ray', got 'grid'"):
        BertftTrainingArguments(output_dir=str(tmp_path), hp_search_backend="grid", report_to=[])
    with pytest.raises(ValueError, match="--hp_search_trials needs --do_train"):
        BertftTrainingArguments(output_dir=str(tmp_path), hp_search_trials=2, report_to=[])


def test_best_config_is_accepted_by_the_script_and_keeps_secrets_out(tmp_path):
    module = script_module("run_classify")
    model_args = ModelArguments(model_name_or_path="embedded", token="hf_secret")
    data_args = module.ClassificationDataArguments(train_file=str(SARCASM), text_column_name="headline")
    training_args = BertftTrainingArguments(output_dir=str(tmp_path / "out"), do_train=True, hp_search_trials=4,
                                            hub_token="hf_other", report_to=[], num_train_epochs=2)
    path = tmp_path / "best.json"
    hp_search.write_best_config(str(path), (model_args, data_args, training_args),
                                {"learning_rate": 3e-4, "per_device_train_batch_size": 16})
    config = json.loads(path.read_text())
    assert config["learning_rate"] == 3e-4 and config["per_device_train_batch_size"] == 16
    assert config["text_column_name"] == "headline" and config["num_train_epochs"] == 2 and config["do_train"]
    assert not {"token", "hub_token", "hp_search_trials"} & set(config)
    assert "hf_secret" not in path.read_text() and "hf_other" not in path.read_text()
    from bertft_utils.config.arguments import ArgumentParser

    parsed = ArgumentParser((ModelArguments, module.ClassificationDataArguments, BertftTrainingArguments)
                              ).parse_json_file(str(path))
    assert parsed[2].learning_rate == 3e-4 and parsed[1].text_column_name == "headline"


def read_trials(out) -> list[dict]:
    with open(out / "hp_search" / "trials.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def search(tiny_models, out, trials: int, backend: str = "optuna", train_file=SARCASM):
    return run_script(
        "run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train_file),
        "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "64",
        "--max_eval_samples", "32", "--validation_split_percentage", "20", "--test_split_percentage", "0",
        "--num_train_epochs", "1", "--do_train", "--do_eval", "--hp_search_trials", str(trials), "--hp_search_space",
        SPACE, "--hp_search_backend", backend, "--save_strategy", "no", "--disable_tqdm", "true", "--output_dir",
        str(out), timeout=600)


@pytest.mark.slow
def test_optuna_search_writes_its_reports_trains_the_best_and_a_rerun_continues(tiny_models, tmp_path):
    out = tmp_path / "search"
    search(tiny_models, out, 2)
    rows = read_trials(out)
    assert [r["trial"] for r in rows] == ["0", "1"] and all(r["state"] == "complete" for r in rows)
    assert all(1e-4 <= float(r["learning_rate"]) <= 1e-3 and r["per_device_train_batch_size"] in ("16", "32")
               for r in rows)
    best = max(rows, key=lambda r: float(r["eval_accuracy"]))
    config = json.loads((out / "hp_search" / "best_config.json").read_text())
    assert config["learning_rate"] == pytest.approx(float(best["learning_rate"]))
    table = (out / "hp_search" / "trials.md").read_text()
    assert f"| {best['trial']} **best** | complete |" in table
    assert (out / "hp_search" / "trials.png").stat().st_size > 1000 and (out / "hp_search" / "optuna.db").exists()
    # the run's own model is the best configuration, trained again from the same start
    trained = json.loads((out / "trainer_state.json").read_text())
    assert (out / "model.safetensors").exists() and json.loads((out / "train_results.json").read_text())
    assert trained["train_batch_size"] == int(best["per_device_train_batch_size"])
    # trained again from the same start with the same values: the same validation score as the best trial
    final_eval = json.loads((out / "eval_results.json").read_text())["eval_accuracy"]
    assert final_eval == pytest.approx(float(best["eval_accuracy"]), abs=1e-6)
    # a rerun asking for 3 trials runs only the missing one
    process = search(tiny_models, out, 3)
    log = process.stdout + process.stderr
    assert "Optuna study" in log and "2 trials finished, 1 to run" in log
    assert [r["trial"] for r in read_trials(out)] == ["0", "1", "2"]
    # other data in the same folder (and storage): a study of its own, never the trials above
    other = out.parent / "other.jsonl"
    other.write_text(SARCASM.read_text(encoding="utf-8").replace("the", "a"), encoding="utf-8")
    process = search(tiny_models, out, 1, train_file=other)
    assert "0 trials finished, 1 to run" in process.stdout + process.stderr



@pytest.mark.slow
def test_ray_search_runs_two_trials(tiny_models, tmp_path):
    pytest.importorskip("ray.tune", reason="the 'ray' extra is not installed")
    out = tmp_path / "ray"
    search(tiny_models, out, 2, backend="ray")
    rows = read_trials(out)
    assert len(rows) == 2 and all(r["eval_accuracy"] for r in rows)
    assert (out / "hp_search" / "best_config.json").exists() and (out / "model.safetensors").exists()


def test_a_missing_backend_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ImportError) as error:
        require_search_backend("optuna")
    assert str(error.value) == ("--hp_search_backend optuna needs optuna: pip install 'bertft[hpsearch]' (or pip "
                                "install -e '.[hpsearch]' in a checkout).")


def test_a_search_without_validation_data_is_refused(tiny_models, tmp_path):
    process = run_script(
        "run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SARCASM),
        "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "32",
        "--validation_split_percentage", "0", "--test_split_percentage", "0", "--do_train", "--hp_search_trials", "2",
        "--output_dir", str(tmp_path / "o"), check=False)
    assert process.returncode != 0
    assert ("--hp_search_trials needs validation data to compare trials: --validation_file, or "
            "--validation_split_percentage > 0.") in process.stderr


def test_the_word_embeddings_rate_follows_each_trials_learning_rate(tiny_models, tmp_path):
    """A rate derived from --learning_rate (20x after --add_unk_chars) is recomputed from the trial's learning rate;
    a rate the user gave stays fixed."""
    from transformers import AutoModelForSequenceClassification, TrainingArguments

    from bertft_utils.training.trainer import BertftTrainer

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_models["bert"]), num_labels=2)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, learning_rate=1e-4, report_to=[])
    derived = BertftTrainer(model=model, args=args, embedding_learning_rate_factor=20.0)
    args.learning_rate = 3e-5  # what a trial (or the best configuration) sets
    optimizer = derived.create_optimizer()
    embedding = model.get_input_embeddings().weight
    group = next(g for g in optimizer.param_groups if any(p is embedding for p in g["params"]))
    assert group["lr"] == pytest.approx(6e-4)
    assert BertftTrainer(model=model, args=args, embedding_learning_rate=1e-3).word_embedding_learning_rate() == 1e-3


def test_a_study_of_another_search_space_is_another_study(tmp_path):
    """A rerun with another --hp_search_space once continued the old study (same name), ran 0 trials and reported
    the old space's best."""
    from bertft_utils.config.search_space import search_space

    module = script_module("run_classify")
    data_args = module.ClassificationDataArguments(train_file=str(SARCASM), text_column_name="headline")

    def fingerprint(space: str | None, metric: str = "accuracy") -> str:
        training_args = BertftTrainingArguments(output_dir=str(tmp_path / "out"), do_train=True, hp_search_trials=4,
                                                hp_search_space=space, report_to=[])
        return hp_search.study_fingerprint((ModelArguments(), data_args, training_args),
                                           search_space(space, "run_classify.py"), metric)

    assert fingerprint(SPACE) == fingerprint(SPACE)  # a rerun continues its own study
    assert fingerprint(SPACE) != fingerprint(None) != fingerprint(None, "macro_f1")
