"""scripts/reproduce_report.sh --smoke: all nine fine-tunings under the real Hub names (look-alike cache), REPORT.md."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, REPO

QUESTIONS = json.loads((REPO / "scripts" / "original_report.json").read_text(encoding="utf-8"))["qa_label"]["questions"]
MODELS = {
    "ner": ["google-bert/bert-base-chinese", "voidful/albert_chinese_base", "hfl/chinese-roberta-wwm-ext"],
    "classify": ["google-bert/bert-base-uncased", "albert/albert-base-v2", "FacebookAI/roberta-base"],
    "qa_label": ["google-bert/bert-base-chinese", "voidful/albert_chinese_tiny", "hfl/rbt3"],
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The bundled samples under the real datasets' file names."""
    root = tmp_path_factory.mktemp("data")
    for source, target in (("msra_ner_train_sample.txt", "msra_ner/train.txt"),
                           ("msra_ner_test_sample.txt", "msra_ner/test.txt"),
                           ("sarcasm_headlines_sample.jsonl", "sarcasm/Sarcasm_Headlines_Dataset.json"),
                           ("taipei_qa_sample.txt", "taipei_qa/Taipei_QA_new.txt")):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        (root / target).write_bytes((DATA / source).read_bytes())
    return root


def reproduce(script: str, hub_cache: Path, data_dir: Path, out: Path, *args: str, **env: str):
    environment = {**os.environ, "HF_HOME": str(hub_cache), "HF_HUB_OFFLINE": "1", "DATA_DIR": str(data_dir),
                   "OUT": str(out), "OMP_NUM_THREADS": "2", **env}
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], env=environment, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def smoke_run(hub_cache, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    process = reproduce("reproduce_report.sh", hub_cache, data_dir, out, "--smoke")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return out, process


@pytest.mark.slow
def test_smoke_reproduction_runs_nine_fine_tunings_and_writes_the_report(smoke_run):
    out, _ = smoke_run
    report = (out / "REPORT.md").read_text(encoding="utf-8")
    assert "**Smoke run**" in report
    for task, models in MODELS.items():
        assert (out / f"{task}.png").stat().st_size > 5000
        for model in models:
            done = json.loads(next((out / task).glob(f"{model.split('/')[-1]}/seed42/run_done.json")).read_text())
            assert done == {**done, "task": task, "model": model, "seed": 42, "smoke": True}
    model_rows = re.findall(r"^\| `([^`]+)` \| (BERT|ALBERT|RoBERTa) \|", report, flags=re.M)
    assert sorted(model_rows) == sorted((m, f) for task in MODELS.values() for m, f in zip(task, (
        "BERT", "ALBERT", "RoBERTa"), strict=True))
    # classification in the original report's line format, one line per model
    assert len(re.findall(r"^\S+: accuracy: \d\.\d{4} recall: \d\.\d{4} precision: \d\.\d{4} F1-score: \d\.\d{4}$",
                          report, flags=re.M)) == 3
    # NER: a per-type table per model, with the test support of the sample
    entity_rows = re.findall(r"^\| (LOC|ORG|PER|micro avg) \| \d\.\d{4} \| \d\.\d{4} \| \d\.\d{4} \| (\d+) \| "
                             r"0\.\d{4} / 0\.\d{4} / 0\.\d{4} / [\d,]+ \|$",
                             report, flags=re.M)
    assert len(entity_rows) == 12
    # QA: every model answered the three questions (✓ or ✗ with an answer and a score)
    for question in QUESTIONS:
        row = next(line for line in report.splitlines() if line.startswith(f"| {question} |"))
        assert len(re.findall(r"[✓✗] \S+ \(0\.\d{4}\)", row)) == 3
    # every model saw the same split
    splits = {(out / task / "split_ids.json").read_text() for task in MODELS}
    assert len(splits) == 3
    for task in MODELS:
        runs = [json.loads(p.read_text()) for p in (out / task).glob("*/seed42/split_ids.json")]
        assert len(runs) == 3
        assert all(runs[0][name] == run[name] for run in runs for name in ("train", "validation", "test"))
        assert runs[0]["validation"] and (task == "ner" or runs[0]["test"])  # NER is scored on its test file
    # the report's numbers are the runs' own results, not just numbers of the right shape
    for model in MODELS["classify"]:
        test = json.loads((out / "classify" / model.split("/")[-1] / "seed42" / "test_results.json").read_text())
        assert (f"{model}: accuracy: {test['test_accuracy']:.4f} recall: {test['test_recall']:.4f} precision: "
                f"{test['test_precision']:.4f} F1-score: {test['test_f1']:.4f}") in report
    for model in MODELS["ner"]:
        test = json.loads((out / "ner" / model.split("/")[-1] / "seed42" / "test_results.json").read_text())
        assert re.search(rf"^\| `{re.escape(model)}` \| \w+ \| {test['test_f1']:.4f} \|", report, flags=re.M)


@pytest.mark.slow
def test_finished_runs_are_skipped_and_a_failed_run_is_named(smoke_run, hub_cache, data_dir):
    out, _ = smoke_run
    again = reproduce("reproduce_classify.sh", hub_cache, data_dir, out, "--smoke")
    assert again.returncode == 0
    assert again.stdout.count("finished earlier with the same settings, skipped") == 3
    failed = reproduce("reproduce_classify.sh", hub_cache, data_dir, out, "--smoke",
                       CLASSIFY_MODELS="no-such-org/no-such-model")
    assert failed.returncode == 1
    assert "FAILED: [classify] no-such-org/no-such-model seed 42" in failed.stderr
    assert not (out / "classify" / "no-such-model" / "seed42" / "run_done.json").exists()


def test_help_lists_the_knobs_and_push_needs_a_namespace(hub_cache, data_dir, tmp_path):
    shown = reproduce("reproduce_ner.sh", hub_cache, data_dir, tmp_path, "-h")
    assert shown.returncode == 0
    for knob in ("NER_MODELS", "NER_EPOCHS", "SEEDS", "LAUNCHER", "DATA_DIR", "OUT", "--smoke", "--push"):
        assert knob in shown.stdout
    refused = reproduce("reproduce_ner.sh", hub_cache, data_dir, tmp_path, "--push", HUB_NAMESPACE="")
    assert refused.returncode == 2 and "--push needs HUB_NAMESPACE" in refused.stderr


def test_report_gives_mean_and_std_over_seeds_and_links_pushed_models(tmp_path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("build_report", REPO / "scripts" / "build_report.py")
    build_report = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build_report
    spec.loader.exec_module(build_report)
    for seed, accuracy in ((13, 0.90), (42, 0.92), (87, 0.94)):
        folder = tmp_path / "classify" / "roberta-base" / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "run_done.json").write_text(json.dumps({
            "task": "classify", "model": "FacebookAI/roberta-base", "seed": seed,
            "hub_repo": "me/bertft-classify-roberta-base", "smoke": False}))
        (folder / "test_results.json").write_text(json.dumps({
            "test_accuracy": accuracy, "test_recall": 0.5, "test_precision": 0.5, "test_f1": 0.5}))
    ner = tmp_path / "ner" / "bert-base-chinese" / "seed42"
    ner.mkdir(parents=True)
    (ner / "run_done.json").write_text(json.dumps({"task": "ner", "model": "google-bert/bert-base-chinese",
                                                   "seed": 42, "smoke": False}))
    (ner / "test_results.json").write_text(json.dumps({"test_f1": 0.9, "test_samples": 12}))
    (ner / "test_entities.json").write_text(json.dumps({
        name: {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 7} for name in ("LOC", "micro avg")}))
    report = build_report.build_report(tmp_path, REPO / "scripts" / "original_report.json").read_text()
    assert "| `FacebookAI/roberta-base` | RoBERTa | 3 seeds (13, 42, 87) | 0.9200 ± 0.0200 | 0.9256 |" in report
    # the original report's own numbers, per type, where it has them (no "not available")
    assert "| LOC | 0.9000 | 0.9000 | 0.9000 | 7 | 0.9505 / 0.9736 / 0.9619 / 36,517 |" in report
    assert "| `google-bert/bert-base-chinese` | BERT | 0.9000 | 0.9545 | 7 |" in report
    assert "here: 12 test sentences with 7 entities (LOC 7)" in report
    assert "RoBERTa: accuracy: 0.9256 recall: 0.8900 precision 0.9507 F1-score 0.9193" in report
    assert "[me/bertft-classify-roberta-base](https://huggingface.co/me/bertft-classify-roberta-base)" in report
    assert "Smoke run" not in report and (tmp_path / "classify.png").is_file()


def test_a_finished_run_is_skipped_only_with_the_same_settings(tmp_path):
    """A full run after a smoke run (or after a change of arguments or data) never reuses the other run's numbers."""
    data = tmp_path / "train.txt"
    data.write_text("a\n")
    run = tmp_path / "ner" / "bert" / "seed42"
    run.mkdir(parents=True)
    record = ["--", "run_ner.py", "google-bert/bert-base-chinese", "42", "1", "--train_file", str(data)]

    def call(command: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(REPO / "scripts" / "run_record.py"), command, str(run), *args],
                              capture_output=True, text=True, cwd=REPO)

    assert call("check", *record).returncode == 1  # nothing finished: run it
    assert call("write", "ner", "", "12", *record).returncode == 0
    assert json.loads((run / "run_done.json").read_text())["settings"]["smoke"] is True
    assert call("check", *record).returncode == 0  # the same settings: skipped
    full = call("check", *record[:4], "0", *record[5:])  # the full run after a smoke run: refused, saying why
    assert full.returncode == 2 and "smoke: True then, False now" in full.stderr
    data.write_text("b\n")  # the same arguments on other data: refused too
    changed = call("check", *record)
    assert changed.returncode == 2 and "data_sha256" in changed.stderr
    assert call("check", *record, "--logging_steps", "7").returncode == 2  # data changed; then only the flags:
    data.write_text("a\n")
    assert call("check", *record, "--logging_steps", "7", "--disable_tqdm", "true").returncode == 0  # output only
    rate = call("check", *record, "--learning_rate", "3e-5")  # declared to change the weights: refused
    assert rate.returncode == 2 and "arguments" in rate.stderr and "learning_rate" in rate.stderr


def test_a_run_recorded_before_the_declarations_is_compared_argument_by_argument(tmp_path):
    run = tmp_path / "seed42"
    run.mkdir()
    record = ["run_ner.py", "google-bert/bert-base-chinese", "42", "0", "--logging_steps", "5"]
    (run / "run_done.json").write_text(json.dumps({"settings": {
        "script": "run_ner.py", "model": "google-bert/bert-base-chinese", "seed": 42, "smoke": False,
        "args": ["--logging_steps", "5"], "data_sha256": {}}}))

    def check(*args: str) -> int:
        return subprocess.run([sys.executable, str(REPO / "scripts" / "run_record.py"), "check", str(run), "--",
                               *args], capture_output=True, text=True, cwd=REPO).returncode

    assert check(*record) == 0 and check(*record[:-1], "6") == 2


def test_smoke_runs_write_to_their_own_folder_by_default():
    shell = 'source scripts/lib.sh; parse_options "$@"; echo "$OUT"'
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    smoke = subprocess.run(["bash", "-c", shell, "bash", "--smoke"], capture_output=True, text=True, cwd=REPO, env=env)
    full = subprocess.run(["bash", "-c", shell, "bash"], capture_output=True, text=True, cwd=REPO, env=env)
    assert smoke.stdout.strip().endswith("outputs/reproduce_smoke")
    assert full.stdout.strip().endswith("outputs/reproduce")
    given = subprocess.run(["bash", "-c", shell, "bash", "--smoke"], capture_output=True, text=True, cwd=REPO,
                           env={**env, "OUT": "/tmp/mine"})
    assert given.stdout.strip() == "/tmp/mine"


def test_report_compares_the_models_and_shows_each_interval(tmp_path):
    import importlib.util
    import sys

    from test_compare import flipped, write_run

    spec = importlib.util.spec_from_file_location("build_report", REPO / "scripts" / "build_report.py")
    build_report = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build_report
    spec.loader.exec_module(build_report)
    gold = ["1", "0"] * 150
    for model, slug, wrong in (("google-bert/bert-base-uncased", "bert-base-uncased", range(0, 300, 4)),
                               ("albert/albert-base-v2", "albert-base-v2", range(0, 300, 20))):
        folder = write_run(tmp_path / "classify" / slug / "seed42", gold, flipped(gold, set(wrong)))
        (folder / "run_done.json").write_text(json.dumps({"task": "classify", "model": model, "seed": 42,
                                                          "smoke": False}))
        accuracy = 1 - len(wrong) / 300
        (folder / "test_results.json").write_text(json.dumps({
            "test_accuracy": accuracy, "test_recall": 0.5, "test_precision": 0.5, "test_f1": 0.5,
            "test_positive_label": "1", "test_accuracy_ci_low": accuracy - 0.03,
            "test_accuracy_ci_high": accuracy + 0.02}))
        (folder / "train_results.json").write_text(json.dumps({
            "train_runtime": 90.0, "train_parameters": 11_700_000, "train_embedding_parameters": 3_900_000,
            "train_peak_memory_gib": 1.5}))
    report = build_report.build_report(tmp_path, REPO / "scripts" / "original_report.json").read_text()
    assert "| `albert/albert-base-v2` | ALBERT | 1 seed (42) | 0.9500 | 0.9229 | 0.9200-0.9700 |" in report
    assert "| `albert/albert-base-v2` | 11.7M (3.9M / 7.8M) | 1.5 min | 1.50 | – |" in report
    assert "**Is the difference real?** test accuracy, paired bootstrap over the 300 test examples" in report
    assert re.search(r"^\| BERT vs ALBERT \| -0\.2000 \| .* \| ALBERT > BERT \|$", report, flags=re.M)
    assert ('The original report concluded: "ALBERT obtained the highest F1 score on this task." Here, on test '
            "accuracy: ALBERT > BERT.") in report
    saved = tmp_path / "classify" / "comparison.json"
    assert json.loads(saved.read_text())["groups"] == {"BERT": ["classify/bert-base-uncased/seed42"],
                                                       "ALBERT": ["classify/albert-base-v2/seed42"]}
    for predictions in tmp_path.glob("classify/*/seed42/predictions.tsv"):
        predictions.unlink()  # a committed report keeps only comparison.json: it is reused
    assert build_report.build_report(tmp_path, REPO / "scripts" / "original_report.json").read_text() == report
