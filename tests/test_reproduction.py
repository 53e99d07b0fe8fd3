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
                   "OUT": str(out), "OMP_NUM_THREADS": "2", "SEEDS": "42", **env}  # one seed unless a test asks
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


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--parallel", "2"], ["--ray"]])
def test_the_grid_runner_skips_finished_runs_and_names_a_failed_one(mode, smoke_run, hub_cache, data_dir):
    """--parallel N (one at a time here: no GPU) and --ray (a local Ray instance, CPU-only tasks) run the same grid."""
    out, _ = smoke_run
    again = reproduce("reproduce_report.sh", hub_cache, data_dir, out, "--smoke", *mode)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert again.stdout.count("finished earlier with the same settings, skipped") == 9
    assert (out / "REPORT.md").is_file() and "wrote" in again.stdout
    failed = reproduce("reproduce_classify.sh", hub_cache, data_dir, out, "--smoke", *mode,
                       CLASSIFY_MODELS="albert/albert-base-v2 no-such-org/no-such-model")
    assert failed.returncode == 1
    log = out / "classify" / "no-such-model" / "seed42" / "run.log"
    assert f"FAILED: [classify] no-such-org/no-such-model seed 42 (exit 1); its log: {log}" in failed.stderr
    assert log.is_file() and not (log.parent / "run_done.json").exists()


@pytest.mark.slow
def test_three_models_by_three_seeds_are_compared_and_the_report_compares_all_nine(smoke_run, hub_cache, data_dir):
    out, _ = smoke_run
    more = reproduce("reproduce_classify.sh", hub_cache, data_dir, out, "--smoke", SEEDS="42 43 44")
    assert more.returncode == 0, more.stdout[-3000:] + more.stderr[-3000:]
    folders = [str(out / "classify" / model.split("/")[-1] / f"seed{seed}") for model in MODELS["classify"]
               for seed in (42, 43, 44)]
    process = subprocess.run([sys.executable, "-m", "bertft_utils.compare", *folders, "--output", str(out / "nine")],
                             capture_output=True, text=True, cwd=REPO)
    assert process.returncode == 0, process.stderr[-3000:]
    accuracy = json.loads((out / "nine" / "comparison.json").read_text())["metrics"]["accuracy"]
    assert [g["runs"] for g in accuracy["groups"].values()] == [3, 3, 3] and len(accuracy["pairs"]) == 3
    assert all("verdict" in pair and "mcnemar" not in pair for pair in accuracy["pairs"])  # seeds: bootstrap only
    built = subprocess.run([sys.executable, str(REPO / "scripts" / "build_report.py"), "--out", str(out)],
                           capture_output=True, text=True, cwd=REPO)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (out / "REPORT.md").read_text(encoding="utf-8").count("3 seeds (42, 43, 44)") == 3
    saved = json.loads((out / "classify" / "comparison.json").read_text())  # the one-seed comparison, made again
    assert [len(members) for members in saved["groups"].values()] == [3, 3, 3]


@pytest.mark.slow
def test_an_equal_tuning_budget_searches_every_model_and_the_report_records_it(hub_cache, data_dir, tmp_path):
    process = reproduce("reproduce_classify.sh", hub_cache, data_dir, tmp_path, "--smoke", HP_TRIALS="2")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    built = subprocess.run([sys.executable, str(REPO / "scripts" / "build_report.py"), "--out", str(tmp_path)],
                           capture_output=True, text=True, cwd=REPO)
    assert built.returncode == 0, built.stderr[-3000:]
    report = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    assert "**Equal tuning budget**: each model (each seed) searched 2 trials" in report
    for model in MODELS["classify"]:
        run = tmp_path / "classify" / model.split("/")[-1] / "seed42"
        trials = (run / "hp_search" / "trials.csv").read_text(encoding="utf-8").strip().splitlines()
        assert len(trials) == 1 + 2
        chosen = json.loads((run / "hp_search" / "best_config.json").read_text())
        cells = [f"{chosen[name]:.3g}" if isinstance(chosen[name], float) else str(chosen[name]) for name in
                 ("learning_rate", "per_device_train_batch_size", "weight_decay", "num_train_epochs")]
        assert f"| `{model}` | 42 | {' | '.join(cells)} |" in report


def test_help_lists_the_knobs_and_push_needs_a_namespace(hub_cache, data_dir, tmp_path):
    shown = reproduce("reproduce_ner.sh", hub_cache, data_dir, tmp_path, "-h")
    assert shown.returncode == 0
    for knob in ("NER_MODELS", "NER_EPOCHS", "SEEDS", "LAUNCHER", "DATA_DIR", "OUT", "HP_TRIALS", "HP_SPACE", "--smoke",
                 "--push", "--parallel N", "--ray"):
        assert knob in shown.stdout
    refused = reproduce("reproduce_report.sh", hub_cache, data_dir, tmp_path, "--parallel", "two")
    assert refused.returncode == 2 and "--parallel must be a number of runs at once (1 or more), got 'two'" in (
        refused.stderr)
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
    for changed in (["--metric_for_best_model", "accuracy"], ["--greater_is_better", "false"], ["--eval_steps", "9"],
                    ["--lr_scheduler_kwargs", '{"power": 2.0}'], ["--neftune_noise_alpha", "5"],
                    ["--dataloader_drop_last", "true"], ["--no_auto_bf16"]):  # each can change a number
        refused = call("check", *record, *changed)
        assert refused.returncode == 2 and changed[0].lstrip("-").removeprefix("no_") in refused.stderr, changed


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
    # one seed each: a statement about the two trained runs, not about the models
    assert re.search(r"^\| BERT vs ALBERT \| -0\.2000 \| .* \| not measured \(one seed\) \| run ALBERT > run BERT "
                     r"on this test set \(one run on a side: .*seed variance not measured\) \|$", report, flags=re.M)
    assert ('The original report concluded: "ALBERT obtained the highest F1 score on this task." Here, on test '
            "accuracy: run ALBERT > run BERT on this test set (one run on a side: a statement about these trained "
            "runs; seed variance not measured; p = ") in report
    saved = tmp_path / "classify" / "comparison.json"
    assert json.loads(saved.read_text())["groups"] == {"BERT": ["classify/bert-base-uncased/seed42"],
                                                       "ALBERT": ["classify/albert-base-v2/seed42"]}
    for predictions in tmp_path.glob("classify/*/seed42/predictions.tsv"):
        predictions.unlink()  # a committed report keeps only comparison.json: it is reused
    assert build_report.build_report(tmp_path, REPO / "scripts" / "original_report.json").read_text() == report


def load_build_report():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_report", REPO / "scripts" / "build_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_finished_run(folder: Path, model: str, seed: int, arguments: dict, test: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "run_done.json").write_text(json.dumps({
        "task": "classify", "model": model, "seed": seed, "smoke": False,
        "settings": {"script": "run_classify.py", "model": model, "seed": seed, "smoke": False,
                     "arguments": arguments}}))
    (folder / "test_results.json").write_text(json.dumps({"test_recall": 0.5, "test_precision": 0.5, "test_f1": 0.5,
                                                          "test_samples": 300, **test}))
    return folder


def test_report_says_how_each_model_was_tuned_and_scores_the_items_not_in_training(tmp_path):
    build_report = load_build_report()
    recipe = {"learning_rate": 5e-05, "per_device_train_batch_size": 32, "num_train_epochs": 4.0}
    space = {"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-4, "log": True},
             "per_device_train_batch_size": {"type": "categorical", "choices": [16, 32]}}
    shared, searched = tmp_path / "shared", tmp_path / "searched"
    for model, accuracy, unseen, chosen in (("google-bert/bert-base-uncased", 0.9, 0.85, (3e-5, 16)),
                                            ("albert/albert-base-v2", 0.8, 0.8, (8e-5, 32))):
        slug = model.split("/")[-1]
        test = {"test_accuracy": accuracy, "test_records_in_train": 20, "test_unseen_samples": 280,
                "test_unseen_accuracy": unseen}
        write_finished_run(shared / "classify" / slug / "seed42", model, 42, recipe, test)
        run = write_finished_run(searched / "classify" / slug / "seed42", model, 42,
                                 {**recipe, "hp_search_trials": 4, "hp_search_space": json.dumps(space)}, test)
        (run / "hp_search").mkdir()
        (run / "hp_search" / "best_config.json").write_text(json.dumps({
            "learning_rate": chosen[0], "per_device_train_batch_size": chosen[1], "output_dir": str(run)}))
    original = REPO / "scripts" / "original_report.json"
    report = build_report.build_report(shared, original).read_text()
    assert "**Tuning**: none; all models share one recipe (learning rate 5e-05, batch 32, epochs 4)." in report
    assert "| `google-bert/bert-base-uncased` | 20 of 300 | 0.9000 | 0.8500 |" in report
    assert "| `albert/albert-base-v2` | 20 of 300 | 0.8000 | 0.8000 |" in report
    report = build_report.build_report(searched, original).read_text()
    assert ("**Equal tuning budget**: each model (each seed) searched 4 trials (Optuna, objective: the validation "
            f"metric; the test split is not seen) before its final training. Search space: `{json.dumps(space)}`."
            ) in report
    assert "| `google-bert/bert-base-uncased` | 42 | 3e-05 | 16 |" in report
    assert "| `albert/albert-base-v2` | 42 | 8e-05 | 32 |" in report
    (searched / "classify" / "albert-base-v2" / "seed42" / "run_done.json").write_text(json.dumps({
        "task": "classify", "model": "albert/albert-base-v2", "seed": 42, "smoke": False,
        "settings": {"script": "run_classify.py", "arguments": {**recipe, "hp_search_trials": 2}}}))
    report = build_report.build_report(searched, original).read_text()
    assert ("**Unequal tuning budgets**: `google-bert/bert-base-uncased` 4 trials; `albert/albert-base-v2` 2 trials "
            "(and different search spaces)") in report


def test_the_report_checks_a_claim_with_p_and_the_resolution_of_the_test_set():
    words = load_build_report().pair_in_words
    assert words({"first": "BERT", "second": "ALBERT", "p_holm": 0.41, "difference": 0.0003,
                  "verdict": "no difference this test set can show (minimum detectable difference 1.1 points)"}) == (
        "BERT vs ALBERT: no difference this test set can show (p = 0.41, minimum detectable difference 1.1 points)")
    assert words({"first": "BERT", "second": "ALBERT", "p_adjusted": 0.0123, "difference": -0.02,
                  "verdict": "ALBERT > BERT"}) == "ALBERT > BERT (p = 0.012)"


def write_compared_run(out: Path, model: str, seed: int, gold: list[str], wrong: set[int], arguments: dict) -> Path:
    from test_compare import flipped, write_run

    folder = write_run(out / "classify" / model.split("/")[-1] / f"seed{seed}", gold, flipped(gold, wrong))
    (folder / "run_done.json").write_text(json.dumps({
        "task": "classify", "model": model, "seed": seed, "smoke": False,
        "settings": {"script": "run_classify.py", "model": model, "seed": seed, "smoke": False,
                     "arguments": {**arguments, "seed": seed}, "data_sha256": {}}}))
    accuracy = 1 - len(wrong) / len(gold)
    (folder / "test_results.json").write_text(json.dumps({"test_accuracy": accuracy, "test_positive_label": "1"}))
    return folder


def test_a_redone_run_changes_the_verdict_and_the_page(tmp_path):
    """The report once reused comparison.json while the folder names matched: a run redone (as the reproduction
    advises, by deleting its folder) kept the old verdict under a table where the other model now won."""
    import shutil

    build_report = load_build_report()
    original = REPO / "scripts" / "original_report.json"
    gold = ["1", "0"] * 150
    recipe = {"learning_rate": 5e-5}
    for seed in (42, 43, 44):
        write_compared_run(tmp_path, "google-bert/bert-base-uncased", seed, gold, set(range(0, 300, 10 + seed % 3)),
                           recipe)
        write_compared_run(tmp_path, "albert/albert-base-v2", seed, gold, set(range(0, 300, 3 + seed % 2)), recipe)
    first = build_report.build_report(tmp_path, original).read_text()
    assert re.search(r"^\| BERT vs ALBERT \| \+0\.\d+ \| .* \| measured \| BERT > ALBERT \|$", first, flags=re.M)
    page = (tmp_path / "classify" / "comparison_report.html").read_text()
    for seed in (42, 43, 44):  # ALBERT redone: now the better model
        shutil.rmtree(tmp_path / "classify" / "albert-base-v2" / f"seed{seed}")
        write_compared_run(tmp_path, "albert/albert-base-v2", seed, gold, set(range(0, 300, 40 + seed % 3)), recipe)
    again = build_report.build_report(tmp_path, original).read_text()
    assert re.search(r"^\| BERT vs ALBERT \| -0\.\d+ \| .* \| measured \| ALBERT > BERT \|$", again, flags=re.M)
    assert (tmp_path / "classify" / "comparison_report.html").read_text() != page


def test_seeds_made_with_other_settings_are_not_shown_as_one_model(tmp_path):
    """Seed 42 searched 10 trials at 5e-5, seed 13 trained at 2e-5 without a search: once shown as "2 seeds" of one
    model and one search budget."""
    build_report = load_build_report()
    gold = ["1", "0"] * 50
    write_compared_run(tmp_path, "google-bert/bert-base-uncased", 42, gold, {1, 2},
                       {"learning_rate": 5e-5, "hp_search_trials": 10})
    write_compared_run(tmp_path, "google-bert/bert-base-uncased", 13, gold, {3}, {"learning_rate": 2e-5})
    with pytest.raises(SystemExit, match=r"seeds of google-bert/bert-base-uncased made with other settings "
                                         r"\(hp_search_trials: None \(seed 13\) vs 10 \(seed 42\); learning_rate: "
                                         r"2e-05 \(seed 13\) vs 5e-05 \(seed 42\)\)"):
        build_report.build_report(tmp_path, REPO / "scripts" / "original_report.json")
