"""--push_to_hub with the real huggingface_hub client against a local endpoint: what is published, and that it works."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DATA, REPO
from hub_endpoint import LocalHub

from bertft_utils.data.prompts import PRESETS

RARE = "龘靐齉爩"  # characters no look-alike vocabulary has: --add_unk_chars must add them
FAST = ["--num_train_epochs", "1", "--learning_rate", "1e-3", "--per_device_train_batch_size", "16",
        "--eval_strategy", "epoch", "--save_strategy", "epoch", "--disable_tqdm", "true", "--max_seq_length", "48",
        "--no_auto_bf16", "--logging_steps", "5"]


def snapshot(hub_cache: Path, name: str) -> Path:
    return next((hub_cache / "hub" / f"models--{name.replace('/', '--')}" / "snapshots").iterdir())


def push(script: str, hub: LocalHub, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN="hf_local_test_token", HF_HOME=str(tmp_path / "hf_home"),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    process = subprocess.run([sys.executable, str(REPO / script), *args, "--push_to_hub"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-5000:]
    return process


def published_files(out: Path) -> dict[str, bytes]:
    """What should be on the Hub: the output folder less checkpoints and the files that hold the data's texts."""
    private = {"predictions.tsv", "predictions.txt", "text_predictions.txt", "answers.tsv", "report.html",
               "data_report.json"}
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()
            and not p.relative_to(out).parts[0].startswith(("checkpoint-", "_", "earlier_run_"))
            and p.name not in private}


def card_metadata(readme: str) -> dict:
    return yaml.safe_load(readme.split("---")[1])


def test_qa_label_push_publishes_a_usable_model_without_the_data_texts(hub_cache, tmp_path):
    train = tmp_path / "taipei.txt"
    lines = (DATA / "taipei_qa_sample.txt").read_text(encoding="utf-8").splitlines()
    train.write_text("\n".join(lines + [f"臺北市立圖書館 請問{RARE}書在哪裡借"] * 3) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()  # an earlier run's answers in the folder: set aside into earlier_run_1/, and never pushed
    (out / "answers.tsv").write_text(f"請問{RARE}書在哪裡借\t臺北市立圖書館\t0.9\n", encoding="utf-8")
    with LocalHub() as hub:
        push("run_qa_label.py", hub, tmp_path, "--model_name_or_path",
             str(snapshot(hub_cache, "google-bert/bert-base-chinese")), "--train_file", str(train),
             "--prompt_template", "department", "--add_unk_chars", "--do_train", "--do_eval", "--do_predict",
             "--max_train_samples", "300", "--max_eval_samples", "40", "--output_dir", str(out),
             "--hub_model_id", "team/bertft-qa_label-bert-base-chinese", "--questions", f"{RARE}書可以借嗎", *FAST)
    assert set(hub.repos) == {"team/bertft-qa_label-bert-base-chinese"}
    pushed = hub.repos["team/bertft-qa_label-bert-base-chinese"]
    expected = published_files(out)
    assert set(pushed) == set(expected)  # exactly these files, and none of the texts
    assert all(pushed[name] == content for name, content in expected.items())  # byte-equal to the output folder
    assert {"predictions.tsv", "answers.tsv", "data_report.json"} <= {p.name for p in out.iterdir()}
    assert (out / "earlier_run_1" / "answers.tsv").is_file() and not any("earlier_run" in name for name in pushed)
    # no record of train/validation/test appears in any pushed file (the card's usage example included)
    questions = {line.split(" ", 1)[1] for line in train.read_text(encoding="utf-8").splitlines() if " " in line}
    leaked = {(name, question) for name, content in pushed.items() for question in questions
              if len(question) >= 6 and question in content.decode("utf-8", "ignore")}
    assert not leaked, sorted(leaked)[:5]
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "test_results.json",
            "confusion_matrix.png", "learning_curve.png"} <= set(pushed)

    card = pushed["README.md"].decode()
    meta = card_metadata(card)
    assert meta["base_model"] == "google-bert/bert-base-chinese" and meta["language"] == "zh"
    results = meta["model-index"][0]["results"]
    test_accuracy = next(m["value"] for r in results if r["dataset"]["split"] == "test" for m in r["metrics"]
                         if m["name"] == "Accuracy (test)")
    assert test_accuracy == pytest.approx(
        json.loads(pushed["test_results.json"])["test_accuracy"], abs=1e-4)
    assert 'model="team/bertft-qa_label-bert-base-chinese"' in card
    assert "More information needed" not in card and "path/or/hub-name" not in card

    published = tmp_path / "published"
    for name, content in pushed.items():
        (published / name).parent.mkdir(parents=True, exist_ok=True)
        (published / name).write_bytes(content)
    from transformers import AutoConfig, AutoTokenizer, pipeline

    config = AutoConfig.from_pretrained(published)
    assert config.bertft_prompt_template == PRESETS["department"]
    tokenizer = AutoTokenizer.from_pretrained(published)
    ids = tokenizer(RARE, add_special_tokens=False)["input_ids"]  # the added characters travel with the model
    assert len(ids) == len(RARE) and min(ids) >= tokenizer.vocab_size and tokenizer.unk_token_id not in ids
    classifier = pipeline("text-classification", model=str(published), device="cpu")
    answer = classifier(PRESETS["department"].format(question="想做大腸癌篩檢，不知如何辦理"))[0]
    assert answer["label"] in config.label2id


def test_classify_push_with_data_files_on_request_keeps_stored_settings(hub_cache, tmp_path):
    out = tmp_path / "out"
    with LocalHub() as hub:
        push("run_classify.py", hub, tmp_path, "--model_name_or_path",
             str(snapshot(hub_cache, "google-bert/bert-base-uncased")), "--train_file",
             str(DATA / "sarcasm_headlines_sample.jsonl"), "--text_column_name", "headline", "--label_column_name",
             "is_sarcastic", "--rename_labels", "0=serious,1=sarcastic", "--regex_transformations",
             '{"[0-9]+": "0"}', "--max_train_samples", "200", "--max_eval_samples", "40", "--max_predict_samples",
             "40", "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), "--hub_model_id",
             "team/sarcasm", "--push_data_files", *FAST)
    pushed = hub.repos["team/sarcasm"]
    assert pushed["predictions.tsv"] == (out / "predictions.tsv").read_bytes()  # asked for: published
    config = json.loads(pushed["config.json"])
    assert config["bertft_regex_transformations"] == [["[0-9]+", "0"]]
    assert config["id2label"] == {"0": "serious", "1": "sarcastic"}
    card = pushed["README.md"].decode()
    meta = card_metadata(card)
    assert meta["base_model"] == "google-bert/bert-base-uncased" and meta["language"] == "en"
    assert re.search(r"\| test \| 0\.\d{4} \(95% CI [01]\.\d{4}-[01]\.\d{4}\) \|", card)
    assert "`serious`, `sarcastic`" in card
    assert "regex transformations stored in `config.bertft_regex_transformations`" in card


def test_every_file_written_with_the_data_texts_is_kept_back():
    from fnmatch import fnmatch

    from bertft_utils.publishing.hub import DATA_TEXT_FILES

    for name in ("predictions.tsv", "predictions.txt", "text_predictions.txt", "predictions_spans.json",
                 "text_predictions_spans.json", "answers.tsv", "report.html", "comparison_report.html",
                 "data_report.json", "run.log", "text_predictions.txt.partial",
                 "text_predictions_spans.json.partial"):  # a piece-by-piece run stopped midway leaves these
        assert any(fnmatch(name, pattern) for pattern in DATA_TEXT_FILES), name
    for name in ("model.safetensors", "config.json", "README.md", "test_results.json", "tokenizer.json",
                 "test_report.txt"):
        assert not any(fnmatch(name, pattern) for pattern in DATA_TEXT_FILES), name


def test_no_credential_reaches_a_written_or_pushed_file(hub_cache, tmp_path):
    """--hub_token, --token and HF_TOKEN: the token's text is in no file of the output folder (checkpoints included)
    and in no pushed file, with every checkpoint pushed (Trainer pickles its arguments into training_args.bin)."""
    secrets = {"hf_HUBTOKENforTheTest123", "hf_MODELTOKENforTheTest456", "hf_local_test_token"}
    out = tmp_path / "out"
    with LocalHub() as hub:
        push("run_classify.py", hub, tmp_path, "--model_name_or_path",
             str(snapshot(hub_cache, "google-bert/bert-base-uncased")), "--train_file",
             str(DATA / "sarcasm_headlines_sample.jsonl"), "--text_column_name", "headline", "--label_column_name",
             "is_sarcastic", "--max_train_samples", "64", "--max_eval_samples", "16", "--max_predict_samples", "16",
             "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), "--hub_model_id", "team/secret",
             "--hub_token", "hf_HUBTOKENforTheTest123", "--token", "hf_MODELTOKENforTheTest456",
             "--hub_strategy", "all_checkpoints", *FAST)
    written = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    pushed = {f"{repo}:{name}": content for repo, files in hub.repos.items() for name, content in files.items()}
    assert "training_args.bin" in written and any(name.endswith("training_args.bin") for name in pushed)
    assert any("checkpoint-" in name for name in pushed)  # the checkpoints were pushed too
    found = sorted({(name, secret) for files in (written, pushed) for name, content in files.items()
                    for secret in secrets if any(secret.encode() in text for text in _readable_parts(content))})
    assert not found, found
    import torch

    restored = torch.load(out / "training_args.bin", weights_only=False)  # still loads, as Trainer's does
    assert restored.hub_model_id == "team/secret" and restored.hub_token is None


def _readable_parts(content: bytes) -> list[bytes]:
    """The bytes of a file, and of each member when it is a zip archive (torch.save writes one)."""
    import io
    import zipfile

    parts = [content]
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts += [archive.read(name) for name in archive.namelist()]
    return parts
