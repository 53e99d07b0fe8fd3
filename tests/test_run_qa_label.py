"""End-to-end runs of run_qa_label.py on tiny checkpoints."""

import csv
import json

import pytest
from conftest import DATA, report_items, run_script

SAMPLE = DATA / "taipei_qa_sample.txt"
FAST = ["--learning_rate", "2e-3", "--per_device_train_batch_size", "32", "--per_device_eval_batch_size", "64",
        "--save_strategy", "no", "--logging_steps", "5", "--disable_tqdm", "true", "--max_seq_length", "64"]
QUESTIONS = ["為何路邊停車格有編號的要收費，無編號的不用收費", "想做大腸癌篩檢，不知如何辦理"]


def config_labels(out) -> set[str]:
    return set(json.loads((out / "config.json").read_text())["label2id"])


@pytest.mark.parametrize("architecture", ["bert", "roberta"])  # ALBERT: tests/test_reproduction.py
def test_train_predict_answer_and_reload(architecture, tiny_models, tmp_path):
    out = tmp_path / "out"
    process = run_script(
        "run_qa_label.py", "--model_name_or_path", str(tiny_models[architecture]), "--train_file", str(SAMPLE),
        "--prompt_template", "department", "--add_unk_chars", "--no_auto_bf16", "--num_train_epochs", "2",
        "--do_train", "--do_eval",
        "--do_predict", "--output_dir", str(out), "--questions", *QUESTIONS, "--top_k", "2", *FAST)
    test = json.loads((out / "test_results.json").read_text())
    with open(out / "predictions.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:  # the top answers are listed best first, each with its own probability
        ranked = [float(row["probability"])] + [float(row[f"top{r}_probability"]) for r in range(2, 6)]
        assert ranked == sorted(ranked, reverse=True) and len({row["predicted"]} | {
            row[f"top{r}_label"] for r in range(2, 6)}) == 5
    split = json.loads((out / "split_ids.json").read_text())
    assert len(rows) == split["sizes"]["test"] == test["test_samples"]
    assert test["test_accuracy"] == pytest.approx(sum(r["gold"] == r["predicted"] for r in rows) / len(rows))
    items = report_items(out)  # report.html: each wrong answer with the five best answers
    assert len(items) == len(rows) and all(len(item["top"]) == 5 for item in items if not item["ok"])
    in_top3 = sum(r["gold"] in (r["predicted"], r["top2_label"], r["top3_label"]) for r in rows)
    assert test["test_top3_accuracy"] == pytest.approx(in_top3 / len(rows))
    assert not rows[0]["text"].startswith("問題：")  # predictions show the question, not its prompt
    answers = (out / "answers.tsv").read_text(encoding="utf-8").splitlines()
    assert [a.split("\t")[0] for a in answers] == [QUESTIONS[0]] * 2 + [QUESTIONS[1]] * 2
    assert all(a in process.stdout.splitlines() for a in answers)  # printed as written: question, answer, score
    assert all(a.split("\t")[1] in config_labels(out) and 0 < float(a.split("\t")[2]) <= 1 for a in answers)
    report = json.loads((out / "data_report.json").read_text())["taipei_qa_sample.txt"]
    assert report["records"] == 1391 and report["duplicate_records"] == 2  # two lines occur twice in the sample
    config = json.loads((out / "config.json").read_text())
    assert config["bertft_prompt_template"] == "問題：{question} 請問負責的單位是？"
    assert len(config["id2label"]) == 12
    if architecture != "roberta":  # byte-level BPE has no unknown characters to add
        assert config["vocab_size"] > len((tiny_models[architecture] / "vocab.txt").read_text().split())

    # reload: the stored template is applied, and pipeline returns answer names for the wrapped question
    again = run_script("run_qa_label.py", "--model_name_or_path", str(out), "--output_dir", str(tmp_path / "again"),
                       "--questions", QUESTIONS[0], "--no_auto_bf16")
    assert answers[0] in again.stdout.splitlines()
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(out), device="cpu")
    result = classifier("問題：" + QUESTIONS[0] + " 請問負責的單位是？")[0]
    assert result["label"] == answers[0].split("\t")[1]
    assert result["score"] == pytest.approx(float(answers[0].split("\t")[2]), abs=1e-3)
    conflict = run_script("run_qa_label.py", "--model_name_or_path", str(out), "--output_dir", str(tmp_path / "c"),
                          "--questions", "x", "--prompt_template", "plain", check=False)
    assert conflict.returncode != 0 and "fine-tuned with --prompt_template" in conflict.stderr


def test_bad_template_malformed_line_and_unseen_answer(tiny_models, tmp_path):
    common = ["--model_name_or_path", str(tiny_models["bert"]), "--do_train", "--output_dir", str(tmp_path / "o")]
    bad_template = run_script("run_qa_label.py", "--train_file", str(SAMPLE), "--prompt_template", "{query}",
                              *common, check=False)
    assert "unknown field(s) ['query']" in bad_template.stderr
    malformed = tmp_path / "m.txt"
    malformed.write_text("甲 問題一\n乙\n甲 問題二\n", encoding="utf-8")
    process = run_script("run_qa_label.py", "--train_file", str(malformed), *common, check=False)
    assert "m.txt, line 2: no question after the answer '乙'" in process.stderr
    train = tmp_path / "train.txt"
    train.write_text("".join(f"甲 問題{i}\n乙 問{i}\n" for i in range(10)), encoding="utf-8")
    test = tmp_path / "test.txt"
    test.write_text("丙 新問題\n", encoding="utf-8")
    process = run_script("run_qa_label.py", "--train_file", str(train), "--test_file", str(test), "--do_predict",
                         *common, check=False)
    assert "never occur in the training data: test: ['丙']" in process.stderr
