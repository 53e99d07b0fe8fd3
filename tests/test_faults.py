"""Faults in the environment: each ends with one clear line naming the path and what to do, and leaves nothing that a
later run would take as finished."""

import os
import resource
import shutil
import subprocess
import sys

import pytest
from conftest import DATA, REPO, run_script

from bertft_utils.data.readers import DataFormatError, read_table

HEADLINES = DATA / "sarcasm_headlines_sample.jsonl"
FAST = ["--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "64",
        "--num_train_epochs", "1", "--save_strategy", "no", "--disable_tqdm", "true", "--max_seq_length", "32"]


def failed(process) -> str:
    assert process.returncode == 1, process.stderr[-2000:]
    assert "Traceback" not in process.stderr  # one clear line, not a library traceback
    return process.stderr


def test_output_folder_that_cannot_be_written(tiny_models, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    stderr = failed(run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                               str(HEADLINES), "--do_train", "--output_dir", str(blocker / "out"), *FAST, check=False))
    assert f"--output_dir {blocker / 'out'} cannot be written" in stderr and "choose a folder" in stderr


def test_full_disk_while_saving_leaves_no_half_written_model(tiny_models, tmp_path):
    out = tmp_path / "out"
    limit = 150_000  # bytes: the tiny model's weights are larger

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out.mkdir()
    (out / "pytorch_model.bin").write_bytes(b"an earlier model: not this save's to remove")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.run([sys.executable, str(REPO / "run_classify.py"), "--model_name_or_path",
                              str(tiny_models["bert"]), "--train_file", str(HEADLINES), "--do_train", "--output_dir",
                              str(out), *FAST], cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                             preexec_fn=limit_file_size)
    stderr = failed(process)
    assert f"saving the model to {out} failed" in stderr and "half-written files of this save were removed" in stderr
    assert not (out / "model.safetensors").exists() and not (out / "config.json").exists()
    assert (out / "pytorch_model.bin").read_bytes().startswith(b"an earlier model")  # not written by this save
    # --save_strategy no: the message does not promise a checkpoint to resume from
    assert "no checkpoint was saved (--save_strategy no), so there is nothing to resume from" in stderr
    assert "resumes from its last checkpoint" not in stderr


def test_model_folder_without_weights(tiny_models, tmp_path):
    folder = tmp_path / "no_weights"
    shutil.copytree(tiny_models["bert"], folder)
    (folder / "model.safetensors").unlink()
    stderr = failed(run_script("run_classify.py", "--model_name_or_path", str(folder), "--train_file", str(HEADLINES),
                               "--do_train", "--output_dir", str(tmp_path / "out"), *FAST, check=False))
    assert f"{folder} is not a complete checkpoint folder" in stderr and "model.safetensors" in stderr


def test_hub_name_while_offline(tmp_path):
    stderr = failed(run_script("run_classify.py", "--model_name_or_path", "no-such-org/no-such-model",
                               "--train_file", str(HEADLINES), "--do_train", "--output_dir", str(tmp_path / "out"),
                               *FAST, check=False))
    assert "no-such-org/no-such-model is neither a local folder nor in the Hugging Face cache" in stderr
    assert "huggingface-cli download" in stderr


def test_input_file_that_is_a_directory_or_binary(tiny_models, tmp_path):
    stderr = failed(run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
                               str(tmp_path), "--do_train", "--output_dir", str(tmp_path / "out"), *FAST, check=False))
    assert f"--train_file '{tmp_path}' is a directory: give the data file inside it" in stderr
    binary = tmp_path / "weights.jsonl"
    binary.write_bytes(b"\x00\x01PK\x03\x04" * 100)
    with pytest.raises(DataFormatError, match=r"weights\.jsonl: a binary file"):
        read_table(str(binary))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(b"text,label\nok,1\n" + "北京,0\n".encode("gbk"))
    with pytest.raises(DataFormatError, match=r"gbk\.csv, line 3: not UTF-8"):
        read_table(str(gbk))


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(capsys, monkeypatch):
    from bertft_utils.config.cli import TRACEBACK_VARIABLE, run_cli
    from bertft_utils.errors import UsageError

    monkeypatch.delenv(TRACEBACK_VARIABLE, raising=False)

    def fails(error):
        def main():
            raise error
        return main

    for user_error in (UsageError("--flag must be > 0"), DataFormatError("f.txt, line 3: bad"),
                       FileNotFoundError("--train_file 'x' does not exist")):
        with pytest.raises(SystemExit) as stopped:
            run_cli(fails(user_error))
        assert stopped.value.code == 1 and capsys.readouterr().err.startswith(f"error: {user_error}\n")
    with pytest.raises(ValueError, match="an internal invariant"):  # a bug: its traceback is shown
        run_cli(fails(ValueError("an internal invariant")))
    from bertft_utils.config.arguments import BertftTrainingArguments, parse_arguments

    with pytest.raises(UsageError, match="load_best_model_at_end"):  # transformers' own flag checks: user errors
        parse_arguments(BertftTrainingArguments, args=["--output_dir", "/tmp/x", "--load_best_model_at_end",
                                                       "--eval_strategy", "epoch", "--save_strategy", "steps"])
