"""A run killed with SIGKILL at any moment restarts with the same command and ends as an uninterrupted run would."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import DATA, REPO, run_script

HEADLINES = DATA / "sarcasm_headlines_sample.jsonl"
MSRA = DATA / "msra_ner_train_sample.txt"
COMMON = ["--per_device_train_batch_size", "16", "--learning_rate", "1e-3", "--save_strategy", "steps",
          "--save_steps", "4", "--logging_steps", "4", "--disable_tqdm", "true", "--no_auto_bf16", "--seed", "7"]


def classify_args(model, out, *extra):
    return ["--model_name_or_path", str(model), "--train_file", str(HEADLINES), "--text_column_name", "headline",
            "--label_column_name", "is_sarcastic", "--max_train_samples", "240", "--max_predict_samples", "60",
            "--max_seq_length", "48", "--num_train_epochs", "2", "--do_train", "--do_predict", "--output_dir",
            str(out), *COMMON, *extra]


def ner_args(model, out, *extra):
    return ["--model_name_or_path", str(model), "--train_file", str(MSRA), "--add_unk_chars", "--mlm_warmup_epochs",
            "1", "--max_train_samples", "160", "--max_predict_samples", "40", "--max_seq_length", "64",
            "--num_train_epochs", "2", "--validation_split_percentage", "0", "--do_train", "--do_predict",
            "--output_dir", str(out), *COMMON, *extra]


def kill_after_checkpoint(script: str, args: list[str], out, step: int) -> None:
    """Start the script and SIGKILL it as soon as checkpoint-<step> exists (the next save may be under way)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(REPO / script), *args], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / f"checkpoint-{step}").exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "model.safetensors").exists()  # it really stopped mid-training


def predictions(path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [(row["predicted"], row["probability"]) for row in csv.DictReader(handle, delimiter="\t")]


@pytest.mark.slow
def test_classification_killed_then_restarted_ends_like_an_uninterrupted_run(tiny_models, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run_script("run_classify.py", *classify_args(tiny_models["bert"], whole))
    kill_after_checkpoint("run_classify.py", classify_args(tiny_models["bert"], killed), killed, 8)
    resumed = run_script("run_classify.py", *classify_args(tiny_models["bert"], killed))
    assert "Resuming from" in resumed.stdout + resumed.stderr
    assert predictions(killed / "predictions.tsv") == predictions(whole / "predictions.tsv")

    # a checkpoint half-written when the run was killed is skipped, with a word
    newest = max((p for p in whole.glob("checkpoint-*")), key=lambda p: int(p.name.split("-")[1]))
    half = whole / "checkpoint-999"
    shutil.copytree(newest, half)
    (half / "bertft_checkpoint.json").unlink()
    (half / "trainer_state.json").write_text('{"global_step": 9', encoding="utf-8")
    process = run_script("run_classify.py", *classify_args(tiny_models["bert"], whole))
    log = process.stdout + process.stderr
    assert "checkpoint-999 is incomplete (the run was interrupted while saving it): skipped" in log
    assert f"Resuming from {newest}" in log


def test_another_runs_checkpoint_is_refused_before_any_work(tiny_models, tmp_path):
    out = tmp_path / "out"
    run_script("run_classify.py", *classify_args(tiny_models["bert"], out, "--num_train_epochs", "1"))
    process = run_script("run_classify.py", *classify_args(tiny_models["bert"], out, "--num_train_epochs", "1",
                                                           "--learning_rate", "2e-3"), check=False)
    assert process.returncode != 0
    assert "belongs to a different run (learning_rate: 0.001 then, 0.002 now)" in process.stderr
    assert "--resume_from_checkpoint" in process.stderr and "another --output_dir" in process.stderr
    foreign = tmp_path / "foreign"
    shutil.copytree(next(out.glob("checkpoint-*")), foreign / "checkpoint-3")
    (foreign / "checkpoint-3" / "bertft_checkpoint.json").unlink()
    process = run_script("run_classify.py", *classify_args(tiny_models["bert"], foreign), check=False)
    assert process.returncode != 0 and "was not written by a bertft run" in process.stderr


@pytest.mark.slow
@pytest.mark.parametrize("step", [8])  # checkpoint-4 is complete once checkpoint-8 appears
def test_ner_with_added_characters_and_warm_up_resumes_identically(tiny_models, tmp_path, step):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run_script("run_ner.py", *ner_args(tiny_models["bert"], whole))
    kill_after_checkpoint("run_ner.py", ner_args(tiny_models["bert"], killed), killed, step)
    resumed = run_script("run_ner.py", *ner_args(tiny_models["bert"], killed))
    assert "Masked-LM warm-up skipped: training resumes from a checkpoint" in resumed.stdout + resumed.stderr
    added = [json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
             for folder in (whole, killed)]
    assert len(added[0]) > 10 and added[0] == added[1]  # the added characters come back identical, same ids
    assert (killed / "predictions.txt").read_text(encoding="utf-8") == \
        (whole / "predictions.txt").read_text(encoding="utf-8")


def test_a_resumed_run_keeps_the_precision_of_the_checkpoint(tmp_path):
    """A measured precision is chosen after the checkpoint is: the comparison leaves it out, and the resumed run
    trains on in the checkpoint's precision (a cache or machine change must not switch it half-way)."""
    from types import SimpleNamespace

    from bertft_utils.training.checkpoints import MARKER, checkpoint_precision, resumable_checkpoint

    settings = {"learning_rate": 1e-3, "bf16": True, "fp16": False}
    folder = tmp_path / "checkpoint-8"
    folder.mkdir()
    (folder / MARKER).write_text(json.dumps({"step": 8, "hash": "then", "settings": settings}))
    args = SimpleNamespace(resume_from_checkpoint=None, do_train=True, output_dir=str(tmp_path))
    now = {"hash": "now", "settings": {**settings, "bf16": False}}  # before the choice: the flags' default
    assert resumable_checkpoint(args, now, precision_measured=True) == str(folder)
    assert checkpoint_precision(str(folder)) is True
    with pytest.raises(ValueError, match=r"bf16: True then, False now"):  # forced by the flags: another run
        resumable_checkpoint(args, now)
    with pytest.raises(ValueError, match=r"learning_rate: 0.001 then, 0.01 now"):
        resumable_checkpoint(args, {"hash": "x", "settings": {**settings, "learning_rate": 1e-2}},
                             precision_measured=True)
