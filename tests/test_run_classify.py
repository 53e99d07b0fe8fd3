"""End-to-end runs of run_classify.py on tiny BERT / ALBERT / RoBERTa checkpoints."""

import csv
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ARCHITECTURES, DATA, free_port, report_items, run_script

SAMPLE = DATA / "sarcasm_headlines_sample.jsonl"
FAST = ["--num_train_epochs", "2", "--learning_rate", "1e-3", "--per_device_train_batch_size", "16",
        "--per_device_eval_batch_size", "32", "--logging_steps", "5", "--save_strategy", "no",
        "--eval_strategy", "epoch", "--disable_tqdm", "true", "--max_seq_length", "48"]


@pytest.fixture(scope="module")
def named_label_csv(tmp_path_factory):
    """400 headlines as csv with label names instead of 0/1."""
    path = tmp_path_factory.mktemp("data") / "headlines.csv"
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:400]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["headline", "kind", "article_link"])
        for row in rows:
            writer.writerow([row["headline"], "sarcastic" if row["is_sarcastic"] else "serious", row["article_link"]])
    return path


def read_predictions(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_train_eval_predict_and_reload_with_pipeline(architecture, tiny_models, named_label_csv, tmp_path):
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models[architecture]),
               "--train_file", str(named_label_csv), "--text_column_name", "headline", "--label_column_name", "kind",
               "--regex_transformations", '{"[0-9]+": "0"}', "--no_auto_bf16",  # fp32: compared with pipeline
               "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), *FAST)
    for name in ("all_results.json", "train_results.json", "eval_results.json", "test_results.json",
                 "predictions.tsv", "test_report.txt", "confusion_matrix.png", "learning_curve.png", "README.md",
                 "split_ids.json", "model.safetensors", "config.json"):
        assert (out / name).is_file(), name

    split = json.loads((out / "split_ids.json").read_text())
    assert split["sizes"] == {"train": 320, "validation": 40, "test": 40}
    predictions = read_predictions(out / "predictions.tsv")
    assert len(predictions) == 40
    confusion = json.loads((out / "confusion_matrix.json").read_text())
    assert confusion["labels"] == ["sarcastic", "serious"]
    assert [[sum(p["gold"] == g and p["predicted"] == q for p in predictions) for q in confusion["labels"]]
            for g in confusion["labels"]] == confusion["matrix"]  # the PNG's numbers, checked cell by cell
    # Lines in predictions.tsv are the csv lines of the test ids (header is line 1, record i is on line i + 2).
    assert sorted(int(p["line"]) for p in predictions) == [i + 2 for i in split["test"]]

    test = json.loads((out / "test_results.json").read_text())
    correct = sum(p["gold"] == p["predicted"] for p in predictions)
    assert test["test_accuracy"] == pytest.approx(correct / 40)
    items = report_items(out)  # report.html: every test headline, the errors first
    assert len(items) == 40 and [item["ok"] for item in items] == sorted(item["ok"] for item in items)
    assert sum(item["ok"] for item in items) == correct
    # neither label is 1/true/yes: the positive class is the rarer training label, named, never the one sorting second
    kinds = [row["kind"] for row in csv.DictReader(named_label_csv.open(encoding="utf-8"))]
    train_kinds = [kinds[i] for i in split["train"]]
    rarer = min(("sarcastic", "serious"), key=train_kinds.count)
    assert test["test_positive_label"] == rarer and test["test_positive_label_rule"] == "the rarer label in training"
    true_pos = sum(p["gold"] == p["predicted"] == rarer for p in predictions)
    predicted_pos = sum(p["predicted"] == rarer for p in predictions)
    assert test["test_precision"] == pytest.approx(true_pos / predicted_pos if predicted_pos else 0.0)
    report = (out / "test_report.txt").read_text()
    assert report.startswith(f"accuracy: {test['test_accuracy']:.4f} recall: {test['test_recall']:.4f}")
    assert f"positive label {rarer!r}, the rarer label in training" in report
    # the precision the numbers were computed in is part of them (fp32 here: --no_auto_bf16)
    assert (test["test_compute_precision"], test["test_compute_precision_chosen_by"]) == ("fp32", "flags")
    assert json.loads((out / "eval_results.json").read_text())["eval_compute_precision"] == "fp32"
    assert "Predicted in fp32 (as the flags say)." in report and "computed in fp32" in (out / "README.md").read_text()
    all_results = json.loads((out / "all_results.json").read_text())
    assert all_results["test_accuracy"] == test["test_accuracy"] and "eval_accuracy" in all_results
    # every headline metric with its 95% interval, seeded, in the results, the report and the card
    for metric in ("accuracy", "precision", "recall", "f1", "macro_f1"):
        assert test[f"test_{metric}_ci_low"] <= test[f"test_{metric}"] <= test[f"test_{metric}_ci_high"], metric
    assert (test["test_ci_resamples"], test["test_ci_seed"], test["test_ci_unit"]) == (1000, 42, "examples")
    # cost beside quality: the model's size (embeddings apart) and the process's peak memory
    from transformers import AutoModelForSequenceClassification

    saved = AutoModelForSequenceClassification.from_pretrained(out)
    embedding = sum(p.numel() for name, p in saved.named_parameters() if ".embeddings." in name)
    assert (test["test_parameters"], test["test_embedding_parameters"]) == (saved.num_parameters(), embedding)
    train = json.loads((out / "train_results.json").read_text())
    assert train["train_parameters"] == test["test_parameters"] and train["train_peak_memory_gib"] > 0.1
    assert test["test_samples_per_second"] > 0 and test["test_runtime"] > 0
    low, high = test["test_accuracy_ci_low"], test["test_accuracy_ci_high"]
    shown = f"{test['test_accuracy']:.4f} (95% CI {low:.4f}-{high:.4f})"
    assert f"accuracy {shown}" in report and f"| {shown} |" in (out / "README.md").read_text()

    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "sarcastic", "1": "serious"}
    assert config["bertft_regex_transformations"] == [["[0-9]+", "0"]]
    assert "## Labels" in (out / "README.md").read_text()

    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(out), device="cpu")
    first = predictions[0]
    result = classifier(re.sub("[0-9]+", "0", first["text"]))[0]  # the stored cleaning, applied by hand
    assert result["label"] == first["predicted"]
    assert result["score"] == pytest.approx(float(first["probability"]), abs=1e-4)


def test_predict_only_with_saved_model_and_unlabelled_file(tiny_models, tmp_path):
    out = tmp_path / "trained"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SAMPLE),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "200",
               "--do_train", "--output_dir", str(out), *FAST[:-4])
    unlabelled = tmp_path / "new.jsonl"
    unlabelled.write_text('{"headline": "area man wins"}\n{"headline": "senate passes bill"}\n')
    run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(unlabelled),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_predict",
               "--output_dir", str(tmp_path / "pred"))
    predictions = read_predictions(tmp_path / "pred" / "predictions.tsv")
    assert [p["text"] for p in predictions] == ["area man wins", "senate passes bill"]
    assert {p["predicted"] for p in predictions} <= {"0", "1"} and all(p["gold"] == "" for p in predictions)
    assert not (tmp_path / "pred" / "test_results.json").exists()


def test_a_reused_output_folder_never_shows_an_earlier_runs_outputs_as_this_runs(tiny_models, tmp_path):
    """Scores and predictions of a labelled test split, then an unlabelled file predicted into the same model folder:
    the old test accuracy once stayed beside the new predictions (test_results.json, all_results.json, report.html)."""
    out = tmp_path / "model"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SAMPLE),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "200",
               "--max_predict_samples", "40", "--do_train", "--do_predict", "--output_dir", str(out), *FAST[:-4])
    first = json.loads((out / "test_results.json").read_text())
    unlabelled = tmp_path / "new.jsonl"
    unlabelled.write_text('{"headline": "area man wins"}\n{"headline": "senate passes bill"}\n')
    run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(unlabelled),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_predict",
               "--output_dir", str(out))
    assert [p["text"] for p in read_predictions(out / "predictions.tsv")] == ["area man wins", "senate passes bill"]
    assert not (out / "test_results.json").exists() and not (out / "test_report.txt").exists()
    combined = out / "all_results.json"
    assert not combined.exists() or "test_accuracy" not in json.loads(combined.read_text())
    assert "accuracy" not in (out / "report.html").read_text(encoding="utf-8").split("<script")[0].lower()
    assert json.loads((out / "earlier_run_1" / "test_results.json").read_text()) == first  # set aside, not lost
    assert (out / "model.safetensors").is_file() and (out / "train_results.json").is_file()  # the model's own
    recorded = json.loads((out / "run_settings.json").read_text())  # what this run was made with (compare reads it)
    assert recorded["settings"]["test_file"] == str(unlabelled) and "test_file" in recorded["data_sha256"]
    assert "learning_rate" in recorded["settings"] and "logging_steps" not in recorded["settings"]


@pytest.mark.slow  # keeps `make test` under 10 minutes; CI runs it in `make test-slow`
def test_label_names_reach_reports_config_and_a_reloaded_model(tiny_models, tmp_path):
    out = tmp_path / "named"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SAMPLE),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "200",
               "--rename_labels", "0=serious,1=sarcastic", "--do_train", "--do_predict", "--output_dir", str(out),
               *FAST[:-4])
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "serious", "1": "sarcastic"}
    plain = tmp_path / "plain"  # naming the labels does not change the split
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SAMPLE),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "20",
               "--num_train_epochs", "1", "--do_train", "--do_predict", "--eval_strategy", "epoch", "--output_dir",
               str(plain), "--save_strategy", "no")
    assert (json.loads((plain / "split_ids.json").read_text()) == json.loads((out / "split_ids.json").read_text()))
    assert "positive label 'sarcastic'" in (out / "test_report.txt").read_text()
    assert {p["gold"] for p in read_predictions(out / "predictions.tsv")} == {"serious", "sarcastic"}
    # the names are stored: a raw 0/1 file scored with the saved model needs no --rename_labels
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"headline": "area man wins", "is_sarcastic": 1}\n'
                   '{"headline": "senate passes", "is_sarcastic": 0}\n')
    run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(raw),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_predict",
               "--output_dir", str(tmp_path / "pred"))
    assert [p["gold"] for p in read_predictions(tmp_path / "pred" / "predictions.tsv")] == ["sarcastic", "serious"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"headline": "a", "is_sarcastic": 1}\n{"headline": "b", "is_sarcastic": 2}\n')
    process = run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(bad),
                         "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_predict",
                         "--output_dir", str(tmp_path / "bad"), check=False)
    assert process.returncode != 0 and "bad.jsonl, line 2: label '2' has no name in --rename_labels" in process.stderr


def test_label_only_in_test_file_is_an_error(tiny_models, tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(f'{{"text": "t{i}", "label": "{"ab"[i % 2]}"}}\n' for i in range(20)))
    test = tmp_path / "test.jsonl"
    test.write_text('{"text": "x", "label": "a"}\n{"text": "y", "label": "zzz"}\n')
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]),
                         "--train_file", str(train), "--test_file", str(test), "--do_train", "--do_predict",
                         "--output_dir", str(tmp_path / "o"), check=False)
    assert process.returncode != 0
    assert "never occur in the training data: test: ['zzz']" in process.stderr


def test_broken_line_stops_the_run_with_file_and_line(tiny_models, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": 0}\n{"text": "y", "label": 1\n')
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]),
                         "--train_file", str(bad), "--do_train", "--output_dir", str(tmp_path / "o"), check=False)
    assert process.returncode != 0 and "bad.jsonl, line 2: not valid JSON" in process.stderr


ACCELERATE = shutil.which("accelerate", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(ACCELERATE is None, reason="accelerate CLI not installed next to this Python")
def test_accelerate_launch_two_cpu_processes(tiny_models, tmp_path):
    out = tmp_path / "ddp"
    accelerate = ACCELERATE
    process = run_script(
        "run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(SAMPLE),
        "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "128",
        "--max_eval_samples", "50", "--max_predict_samples", "51",
        "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), *FAST, "--no_auto_bf16",
        launcher=[accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                  "--main_process_port", str(free_port()),
                  "--mixed_precision", "no", "--dynamo_backend", "no"],
    )
    log = process.stdout + process.stderr
    assert "Process rank 1" in log
    for name in ("predictions.tsv", "test_report.txt", "confusion_matrix.png", "README.md"):
        assert log.count(f"bertft wrote {out / name}") == 1, name
    predictions = read_predictions(out / "predictions.tsv")
    assert len(predictions) == 51  # gathered from both processes, padding duplicates removed
    test = json.loads((out / "test_results.json").read_text())
    assert test["test_samples"] == 51
    assert test["test_accuracy"] == pytest.approx(sum(p["gold"] == p["predicted"] for p in predictions) / 51)
    assert json.loads((out / "train_results.json").read_text())["train_samples"] == 128
    # the two processes predict exactly what one process predicts with the saved model
    texts = tmp_path / "ddp_test.jsonl"
    texts.write_text("".join(json.dumps({"headline": p["text"], "is_sarcastic": int(p["gold"])}) + "\n"
                             for p in predictions), encoding="utf-8")
    run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(texts), "--text_column_name",
               "headline", "--label_column_name", "is_sarcastic", "--do_predict", "--output_dir", str(tmp_path / "one"),
               "--no_auto_bf16")
    single = read_predictions(tmp_path / "one" / "predictions.tsv")
    assert [p["predicted"] for p in single] == [p["predicted"] for p in predictions]
    assert [float(p["probability"]) for p in single] == pytest.approx([float(p["probability"]) for p in predictions],
                                                                     abs=1e-4)  # padding differs


@pytest.mark.slow  # keeps `make test` under 10 minutes; CI runs it in `make test-slow`
def test_a_later_run_on_the_same_train_file_scores_only_records_the_model_never_saw(tiny_models, named_label_csv,
                                                                                    tmp_path):
    """Train with --do_train (with and without --do_eval), then predict on the same --train_file with the model
    folder: the test records are exactly the trained run's test part, never a training or selection record."""
    columns = ["--text_column_name", "headline", "--label_column_name", "kind"]
    for name, extra in (("train_only", ["--eval_strategy", "no"]), ("train_eval", ["--do_eval"])):
        model = tmp_path / name
        run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                   str(named_label_csv), *columns, "--do_train", *extra, "--output_dir", str(model), *FAST[:-6],
                   "--max_seq_length", "48", "--num_train_epochs", "1")
        trained = json.loads((model / "split_ids.json").read_text())
        later = tmp_path / f"{name}_predict"
        process = run_script("run_classify.py", "--model_name_or_path", str(model), "--train_file",
                             str(named_label_csv), *columns, "--do_predict", "--output_dir", str(later))
        assert "Using the split" in process.stdout + process.stderr
        lines = {int(p["line"]) for p in read_predictions(later / "predictions.tsv")}  # record i is on line i + 2
        assert lines == {i + 2 for i in trained["test"]} and len(lines) == 40
        assert not lines & {i + 2 for i in trained["train"] + trained["validation"]}
        report = json.loads((later / "data_report.json").read_text())
        texts = [row["headline"] for row in csv.DictReader(named_label_csv.open(encoding="utf-8"))]
        in_train = {" ".join(texts[i].split()) for i in trained["train"]}
        expected = sum(" ".join(texts[i].split()) in in_train for i in trained["test"])
        assert "test" in report["overlap_with_training"] or expected == 0


def test_test_records_also_in_training_are_scored_apart(tiny_models, named_label_csv, tmp_path):
    """A test file that repeats training records: test_results.json gives the scores on the other records too."""
    with open(named_label_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    for path, part in ((train, rows[:200]), (test, rows[185:225])):  # test rows 0-14 are training rows
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--test_file", str(test), "--text_column_name", "headline", "--label_column_name", "kind",
               "--do_train", "--do_predict", "--output_dir", str(out), *FAST[:-6], "--num_train_epochs", "1")
    results = json.loads((out / "test_results.json").read_text())
    seen_texts = {" ".join(row["headline"].split()) for row in rows[:200]}
    unseen_lines = {i + 2 for i, row in enumerate(rows[185:225]) if " ".join(row["headline"].split()) not in seen_texts}
    unseen = [p for p in read_predictions(out / "predictions.tsv") if int(p["line"]) in unseen_lines]
    assert results["test_records_in_train"] == 40 - len(unseen_lines) >= 15
    assert results["test_unseen_samples"] == len(unseen) == len(unseen_lines)
    assert results["test_unseen_accuracy"] == pytest.approx(sum(p["gold"] == p["predicted"] for p in unseen)
                                                            / len(unseen))
    assert results["test_samples"] == 40


def write_pairs_tsv(path: Path, rows: int = 120) -> list[tuple[str, str, str]]:
    """MRPC's layout: a UTF-8 BOM, CRLF line ends, columns named with spaces and '#'; label 1 when the second text
    restates the first."""
    headlines = [json.loads(line)["headline"] for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:rows]]
    records = []
    for i, first in enumerate(headlines):
        same = i % 2 == 0
        second = first.upper() if same else headlines[(i + 7) % len(headlines)]
        records.append(("1" if same else "0", first, second))
    lines = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
    lines += [f"{label}\t{i}\t{i + 1000}\t{first}\t{second}" for i, (label, first, second) in enumerate(records)]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return records


@pytest.mark.parametrize("architecture", ["roberta"])  # BERT's token types: test_the_task_encodes_a_pair_...
def test_sentence_pairs_reach_the_tokenizer_as_pairs_and_pipeline_agrees(architecture, tiny_models, tmp_path):
    data = tmp_path / "msr_paraphrase_train.tsv"
    records = write_pairs_tsv(data)
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models[architecture]), "--train_file", str(data),
               "--text_column_name", "#1 String", "--text_pair_column_name", "#2 String",
               "--label_column_name", "Quality", "--no_auto_bf16", "--do_train", "--do_predict",
               "--output_dir", str(out), *FAST)
    predictions = read_predictions(out / "predictions.tsv")
    assert len(predictions) == 12
    for row in predictions:  # line 1 is the header: record i is on line i + 2
        label, first, second = records[int(row["line"]) - 2]
        assert (row["text"], row["text_pair"], row["gold"]) == (first, second, label)
    from transformers import AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(out)
    together = tokenizer(predictions[0]["text"], predictions[0]["text_pair"])
    if "token_type_ids" in together:  # BERT: the second text is segment 1
        assert set(together["token_type_ids"]) == {0, 1}
    classifier = pipeline("text-classification", model=str(out), device="cpu")
    for row in predictions[:4]:
        result = classifier({"text": row["text"], "text_pair": row["text_pair"]})
        result = result[0] if isinstance(result, list) else result
        assert result["label"] == row["predicted"]
        assert result["score"] == pytest.approx(float(row["probability"]), abs=1e-4)
    assert '"text_pair": ' in (out / "README.md").read_text()
    onnx = tmp_path / "onnx"  # the saved model on the same test part, through ONNX Runtime
    run_script("run_classify.py", "--model_name_or_path", str(out), "--train_file", str(data),
               "--text_column_name", "#1 String", "--text_pair_column_name", "#2 String",
               "--label_column_name", "Quality", "--do_predict", "--inference_backend", "onnxruntime",
               "--output_dir", str(onnx))
    exported = read_predictions(onnx / "predictions.tsv")
    assert [(r["line"], r["predicted"]) for r in exported] == [(r["line"], r["predicted"]) for r in predictions]
    assert [float(r["probability"]) for r in exported] == pytest.approx([float(r["probability"]) for r in
                                                                          predictions], abs=1e-4)


@pytest.mark.parametrize("architecture", ["bert", "roberta"])
def test_the_task_encodes_a_pair_as_the_tokenizer_pairs_it(architecture, tiny_models):
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from bertft_utils.tasks.classify import classify_task
    from bertft_utils.tasks.sequence import LabeledTexts, SequenceStored

    tokenizer = AutoTokenizer.from_pretrained(tiny_models[architecture])
    task = classify_task(SimpleNamespace(data_format=None, tsv_quoting=False, text_column_name="a",
                                         label_column_name="y", rename_labels=None, positive_label=None,
                                         text_pair_column_name="b", text_column_delimiter=" "))
    records = LabeledTexts(["the cat sat", "dogs bark"], ["0", "1"], [("f", 2), ("f", 3)], ["a cat sat", "cats"])
    stored = SequenceStored(None, lambda text: text, "")
    arguments = SimpleNamespace(max_seq_length=32, pad_to_max_length=False)
    encoded = task.encode("test", records, tokenizer, {"0": 0, "1": 1}, arguments, stored, None).dataset()
    expected = tokenizer(records.texts, records.pairs)
    assert encoded["input_ids"] == expected["input_ids"]
    if "token_type_ids" in expected:
        assert encoded["token_type_ids"] == expected["token_type_ids"] and 1 in encoded["token_type_ids"][0]


def test_sentence1_sentence2_columns_are_pairs_as_run_glue_takes_them(tiny_models, tmp_path):
    data = tmp_path / "pairs.jsonl"
    records = write_pairs_tsv(tmp_path / "unused.tsv", rows=60)
    data.write_text("".join(json.dumps({"sentence1": a, "sentence2": b, "label": int(y)}) + "\n"
                            for y, a, b in records), encoding="utf-8")
    out = tmp_path / "out"
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                         str(data), "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    assert "sentence pairs from 'sentence1' and 'sentence2'" in process.stdout + process.stderr
    row = read_predictions(out / "predictions.tsv")[0]
    assert row["text_pair"] == records[int(row["line"]) - 1][2]


def test_class_weights_reach_the_loss_and_the_data_report(tiny_models, named_label_csv, tmp_path):
    losses = {}
    for name, extra in (("balanced", ["--class_weights", "balanced"]),
                        ("heavy", ["--class_weights", '{"sarcastic": 5}'])):
        out = tmp_path / name
        run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                   str(named_label_csv), "--text_column_name", "headline", "--label_column_name", "kind",
                   "--do_train", "--output_dir", str(out), *extra, *FAST[:-6], "--num_train_epochs", "1",
                   "--eval_strategy", "no")
        losses[name] = json.loads((out / "train_results.json").read_text())["train_loss"]
        report = json.loads((out / "data_report.json").read_text())
        if name == "balanced":
            split = json.loads((out / "split_ids.json").read_text())
            kinds = [row["kind"] for row in csv.DictReader(named_label_csv.open(encoding="utf-8"))]
            counts = {kind: sum(kinds[i] == kind for i in split["train"]) for kind in ("sarcastic", "serious")}
            total = sum(counts.values())
            assert report["class_weights"] == pytest.approx({k: total / (2 * n) for k, n in counts.items()})
        else:
            assert report["class_weights"] == {"sarcastic": 5.0, "serious": 1.0}
    assert losses["balanced"] != pytest.approx(losses["heavy"])  # the same seed and data: only the weights differ


def test_regression_on_sts_style_pairs_scores_numbers_and_pipeline_returns_them(tiny_models, tmp_path):
    """STS-B's layout: tab-separated, sentence1/sentence2 and a float score; --do_regression as HF's flag."""
    records = write_pairs_tsv(tmp_path / "unused.tsv", rows=100)
    data = tmp_path / "sts-train.tsv"
    lines = ["index\tgenre\tsentence1\tsentence2\tscore"]
    lines += [f"{i}\tnews\t{a}\t{b}\t{4.6 if y == '1' else 0.4 + (i % 5) / 10:.2f}"
              for i, (y, a, b) in enumerate(records)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(data),
               "--label_column_name", "score", "--do_regression", "--metric_name", "pearson", "--no_auto_bf16",
               "--do_train", "--do_eval", "--do_predict", "--load_best_model_at_end", "--save_strategy", "epoch",
               "--output_dir", str(out), *FAST[:6], "--eval_strategy", "epoch", "--num_train_epochs", "2")
    from scipy import stats

    predictions = read_predictions(out / "predictions.tsv")
    gold = [float(p["gold"]) for p in predictions]
    predicted = [float(p["predicted"]) for p in predictions]
    test = json.loads((out / "test_results.json").read_text())
    assert test["test_pearson"] == pytest.approx(stats.pearsonr(gold, predicted)[0], abs=1e-4)
    assert test["test_mse"] == pytest.approx(float(np.mean((np.array(gold) - predicted) ** 2)), abs=1e-4)
    assert test["test_pearson_ci_low"] <= test["test_pearson"] <= test["test_pearson_ci_high"]
    assert predictions[0]["text_pair"] and "mse: " in (out / "test_report.txt").read_text()
    config = json.loads((out / "config.json").read_text())
    assert (config["problem_type"], config["id2label"]) == ("regression", {"0": "score"})
    state = json.loads((out / "trainer_state.json").read_text())  # --metric_name pearson chose the checkpoint
    assert state["best_metric"] == max(entry["eval_pearson"] for entry in state["log_history"]
                                       if "eval_pearson" in entry)
    from transformers import pipeline

    scorer = pipeline("text-classification", model=str(out), device="cpu")
    result = scorer({"text": predictions[0]["text"], "text_pair": predictions[0]["text_pair"]})
    result = result[0] if isinstance(result, list) else result
    assert result["score"] == pytest.approx(predicted[0], abs=1e-3)
    broken = tmp_path / "broken.tsv"
    broken.write_text("sentence1\tsentence2\tscore\na\tb\t1.0\nc\td\thigh\n", encoding="utf-8")
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                         str(broken), "--label_column_name", "score", "--do_regression", "--do_train",
                         "--output_dir", str(tmp_path / "b"), check=False)
    assert f"{broken}, line 3: label 'high' is not a number" in process.stderr


def test_long_texts_as_windows_are_predicted_by_the_mean_of_their_windows(tiny_models, named_label_csv, tmp_path):
    out = tmp_path / "out"
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                         str(named_label_csv), "--text_column_name", "headline", "--label_column_name", "kind",
                         "--long_text_strategy", "windows", "--max_seq_length", "12", "--doc_stride", "3",
                         "--no_auto_bf16", "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out),
                         *FAST[:-2])
    assert "overlapping windows in all (--long_text_strategy windows)" in process.stdout + process.stderr
    predictions = read_predictions(out / "predictions.tsv")
    assert len(predictions) == 40  # one row per text, not per window
    import torch
    from scipy.special import softmax
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    longest = max(predictions, key=lambda row: len(tokenizer(row["text"])["input_ids"]))
    windows = tokenizer(longest["text"], truncation=True, max_length=12, stride=3, return_overflowing_tokens=True,
                        padding=True, return_tensors="pt")
    windows.pop("overflow_to_sample_mapping")
    assert len(windows["input_ids"]) > 1
    with torch.no_grad():
        logits = model(**windows).logits.numpy().astype(np.float64).mean(axis=0)
    probabilities = softmax(logits)
    label = model.config.id2label[int(probabilities.argmax())]
    assert (longest["predicted"], float(longest["probability"])) == (label, pytest.approx(probabilities.max(),
                                                                                           abs=1e-4))


def test_fine_tuning_a_checkpoint_with_a_head_keeps_its_label_order(tiny_models, named_label_csv, tmp_path):
    """A public checkpoint whose head is ordered serious, sarcastic (not sorted): fine-tuning it on data with the same
    label set keeps the order, so its rows keep their meaning; another label set gets a new head."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.manual_seed(0)
    public = tmp_path / "public"
    model = AutoModelForSequenceClassification.from_pretrained(
        str(tiny_models["bert"]), num_labels=2, id2label={0: "serious", 1: "sarcastic"},
        label2id={"serious": 0, "sarcastic": 1})
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 1.0]))  # a decided head: a swapped row flips every answer
    model.save_pretrained(str(public))
    AutoTokenizer.from_pretrained(str(tiny_models["bert"])).save_pretrained(str(public))
    out = tmp_path / "tuned"
    process = run_script("run_classify.py", "--model_name_or_path", str(public), "--train_file", str(named_label_csv),
                         "--text_column_name", "headline", "--label_column_name", "kind", "--do_train",
                         "--do_predict", "--max_steps", "1", "--learning_rate", "1e-12", "--save_strategy", "no",
                         "--no_auto_bf16", "--output_dir", str(out))
    assert "its order is kept" in process.stdout + process.stderr
    assert json.loads((out / "config.json").read_text())["id2label"] == {"0": "serious", "1": "sarcastic"}
    predictions = read_predictions(out / "predictions.tsv")
    original = pipeline("text-classification", model=str(public), device="cpu")
    assert [r["label"] for r in original([p["text"] for p in predictions])] == [p["predicted"] for p in predictions]
    other = tmp_path / "other.jsonl"  # another label set: a new head, said in one line
    other.write_text("".join(f'{{"text": "headline {i}", "label": "{"abc"[i % 3]}"}}\n' for i in range(30)))
    process = run_script("run_classify.py", "--model_name_or_path", str(public), "--train_file", str(other),
                         "--do_train", "--max_steps", "1", "--save_strategy", "no", "--output_dir",
                         str(tmp_path / "new_head"))
    assert "a new head is trained for the data's 3" in process.stdout + process.stderr


def topic_labels(headline: str, sarcastic: bool) -> list[str]:
    """Labels a tiny model can learn from the words: any number of them per headline (none too)."""
    labels = ["sarcastic"] if sarcastic else []
    if any(c.isdigit() for c in headline):
        labels.append("number")
    if any(word in headline.split() for word in ("trump", "obama", "clinton", "congress")):
        labels.append("politics")
    return labels


def write_multilabel_files(folder: Path, rows: int = 300) -> tuple[Path, Path, list[list[str]]]:
    """The same records as JSON lines with JSON-list labels, and as csv with labels split by ';' (GoEmotions'
    layout: a text column and a label column)."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:rows]]
    labels = [topic_labels(r["headline"], r["is_sarcastic"]) for r in records]
    jsonl = folder / "topics.jsonl"
    jsonl.write_text("".join(json.dumps({"text": r["headline"], "labels": y}) + "\n"
                             for r, y in zip(records, labels, strict=True)), encoding="utf-8")
    delimited = folder / "topics.csv"
    with open(delimited, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "labels"])
        writer.writerows([r["headline"], ";".join(y)] for r, y in zip(records, labels, strict=True))
    return jsonl, delimited, labels


def test_multilabel_json_lists_train_with_tuned_thresholds_and_pipeline_and_onnx_agree(tiny_models, tmp_path):
    jsonl, delimited, labels = write_multilabel_files(tmp_path)
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(jsonl),
               "--label_column_name", "labels", "--no_auto_bf16", "--do_train", "--do_eval", "--do_predict",
               "--output_dir", str(out), *FAST)
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert sorted(config["label2id"]) == ["number", "politics", "sarcastic"]
    thresholds = config["bertft_multilabel_thresholds"]
    assert json.loads((out / "thresholds.json").read_text()) == thresholds
    assert thresholds != {label: 0.5 for label in thresholds}  # tuned on validation, not the default
    evaluated = json.loads((out / "eval_results.json").read_text())
    assert evaluated["eval_thresholds_cross_fitted"] == 1.0  # its scores are not those of thresholds fitted to them
    predictions = read_predictions(out / "predictions.tsv")
    gold = [json.loads(row["gold"]) for row in predictions]
    assert gold == [labels[int(row["line"]) - 1] for row in predictions]  # JSON lines: record i on line i + 1
    predicted = [json.loads(row["predicted"]) for row in predictions]
    for row, chosen in zip(predictions, predicted, strict=True):
        every = json.loads(row["probabilities"])  # rounded to 6 digits: a tie with a threshold can go either way
        assert set(chosen) == {label for label, p in every.items() if p >= thresholds[label] + 1e-6} | (
            set(chosen) & {label for label, p in every.items() if abs(p - thresholds[label]) <= 1e-6})
        assert json.loads(row["predicted_probabilities"]) == {label: every[label] for label in chosen}
    from sklearn.metrics import f1_score, hamming_loss
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=["number", "politics", "sarcastic"])
    test = json.loads((out / "test_results.json").read_text())
    assert test["test_f1"] == pytest.approx(f1_score(binarizer.fit_transform(gold), binarizer.transform(predicted),
                                                     average="micro", zero_division=0), abs=1e-6)
    assert test["test_hamming_loss"] == pytest.approx(hamming_loss(binarizer.fit_transform(gold),
                                                                   binarizer.transform(predicted)), abs=1e-6)
    assert test["test_subset_accuracy"] == pytest.approx(np.mean([set(g) == set(p) for g, p in zip(
        gold, predicted, strict=True)]), abs=1e-6)
    assert test["test_label_cardinality"] == pytest.approx(np.mean([len(g) for g in gold]))
    assert test["test_f1_ci_low"] <= test["test_f1"] <= test["test_f1_ci_high"]
    assert "subset accuracy: " in (out / "test_report.txt").read_text()
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(out), device="cpu", top_k=None)
    for row in predictions[:4]:
        results = classifier(row["text"])
        results = results[0] if isinstance(results[0], list) else results
        scores = {result["label"]: result["score"] for result in results}
        assert scores == pytest.approx(json.loads(row["probabilities"]), abs=1e-4)
    assert "top_k=None" in (out / "README.md").read_text()
    onnx = tmp_path / "onnx"  # the saved model, its stored thresholds, the same test part through ONNX Runtime
    run_script("run_classify.py", "--model_name_or_path", str(out), "--train_file", str(jsonl),
               "--label_column_name", "labels", "--do_eval", "--do_predict", "--inference_backend", "onnxruntime",
               "--output_dir", str(onnx))
    # evaluating a saved model applies the thresholds stored with it (they were once tuned afresh, used, not saved)
    assert json.loads((onnx / "thresholds.json").read_text()) == thresholds
    int8 = run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(jsonl),
                      "--label_column_name", "labels", "--do_predict", "--inference_backend", "onnxruntime",
                      "--onnx_quantization", "dynamic_int8", "--output_dir", str(tmp_path / "int8"), check=False)
    assert int8.returncode != 0 and "each label's probability against its threshold, so int8 would change " \
        "predictions unchecked" in int8.stderr  # its recheck looked at the top two logits: blind here
    exported = read_predictions(onnx / "predictions.tsv")
    assert [r["line"] for r in exported] == [r["line"] for r in predictions]
    for mine, theirs in zip(predictions, exported, strict=True):
        probabilities = json.loads(mine["probabilities"])
        assert json.loads(theirs["probabilities"]) == pytest.approx(probabilities, abs=1e-4)
        clear = {label for label, p in probabilities.items() if abs(p - thresholds[label]) > 1e-4}
        assert set(json.loads(theirs["predicted"])) & clear == set(json.loads(mine["predicted"])) & clear


@pytest.mark.slow  # keeps `make test` under 10 minutes; CI runs it in `make test-slow`
def test_multilabel_delimited_labels_with_a_fixed_threshold_and_pos_weights(tiny_models, tmp_path):
    jsonl, delimited, labels = write_multilabel_files(tmp_path)
    out = tmp_path / "out"
    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["roberta"]), "--train_file",
               str(delimited), "--label_column_name", "labels", "--label_delimiter", ";", "--multilabel_threshold",
               "0.3", "--class_weights", "balanced", "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    predictions = read_predictions(out / "predictions.tsv")
    assert [json.loads(row["gold"]) for row in predictions] == [labels[int(row["line"]) - 2] for row in predictions]
    for row in predictions:
        assert set(json.loads(row["predicted"])) == {label for label, p in json.loads(row["probabilities"]).items()
                                                     if p >= 0.3}
    config = json.loads((out / "config.json").read_text())
    assert config["bertft_multilabel_thresholds"] == {"number": 0.3, "politics": 0.3, "sarcastic": 0.3}
    assert config["bertft_label_delimiter"] == ";"
    weights = json.loads((out / "data_report.json").read_text())["class_weights"]
    kept = [labels[i] for i in json.loads((out / "split_ids.json").read_text())["train"]]
    assert set(weights) == {"number", "politics", "sarcastic"}
    for label, weight in weights.items():  # pos_weight: negatives / positives in the training split
        positives = sum(label in y for y in kept)
        assert weight == pytest.approx((len(kept) - positives) / positives)
    again = tmp_path / "again"  # the saved model reads delimited gold labels with its stored delimiter
    run_script("run_classify.py", "--model_name_or_path", str(out), "--test_file", str(delimited),
               "--label_column_name", "labels", "--do_predict", "--output_dir", str(again))
    assert json.loads((again / "test_results.json").read_text())["test_samples"] == len(labels)
