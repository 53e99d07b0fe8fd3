"""--inference_backend onnxruntime: the same predictions as PyTorch fp32, the export cached and reused."""

import csv
import json

import pytest
from conftest import DATA, run_script

pytest.importorskip("onnxruntime", reason="the optional 'onnx' extra is not installed (pip install -e '.[onnx]')")

FAST = ["--learning_rate", "2e-3", "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "8",
        "--save_strategy", "no", "--disable_tqdm", "true", "--seed", "1", "--no_auto_bf16"]


def test_ner_tags_equal_pytorch_and_the_export_is_reused(tiny_models, tmp_path):
    trained = tmp_path / "trained"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
               str(DATA / "msra_ner_train_sample.txt"), "--do_train", "--num_train_epochs", "2",
               "--max_seq_length", "32", "--output_dir", str(trained), *FAST)
    test = ["--model_name_or_path", str(trained), "--test_file", str(DATA / "msra_ner_test_sample.txt"),
            "--do_predict", "--max_seq_length", "32", *FAST]
    run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "torch"))
    first = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "onnx"), "--inference_backend",
                       "onnxruntime")
    torch_lines = (tmp_path / "torch" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    onnx_lines = (tmp_path / "onnx" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    assert len(onnx_lines) == len(torch_lines) > 100  # windows of 30 characters: long sentences stitched
    assert onnx_lines == torch_lines  # every character, every tag
    torch_f1 = json.loads((tmp_path / "torch" / "test_results.json").read_text())["test_f1"]
    assert json.loads((tmp_path / "onnx" / "test_results.json").read_text())["test_f1"] == torch_f1
    assert (tmp_path / "onnx" / "onnx" / "model.onnx").stat().st_size > 10_000
    assert "Exported the model to" in first.stdout + first.stderr
    again = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "onnx"), "--inference_backend",
                       "onnxruntime")
    assert "ONNX model reused" in again.stdout + again.stderr and "Exported the model" not in again.stdout


def test_classification_probabilities_equal_pytorch(tmp_path):
    """The embedded MiniLM (pretrained features that differ from text to text), two training steps."""
    args = ["--model_name_or_path", "embedded", "--train_file", str(DATA / "sarcasm_headlines_sample.jsonl"),
            "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_train", "--do_predict",
            "--max_steps", "2", "--max_train_samples", "32", "--max_predict_samples", "60", *FAST]
    run_script("run_classify.py", *args, "--output_dir", str(tmp_path / "torch"))
    run_script("run_classify.py", *args, "--output_dir", str(tmp_path / "onnx"), "--inference_backend", "onnxruntime")

    def rows(name):
        with open(tmp_path / name / "predictions.tsv", encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t"))

    torch_rows, onnx_rows = rows("torch"), rows("onnx")
    assert len(onnx_rows) == len(torch_rows) == 60
    assert [r["text"] for r in onnx_rows] == [r["text"] for r in torch_rows]
    assert [r["predicted"] for r in onnx_rows] == [r["predicted"] for r in torch_rows]
    spread = [float(r["probability"]) if r["predicted"] == "1" else 1 - float(r["probability"]) for r in torch_rows]
    assert max(spread) - min(spread) > 0.05  # outputs depend on the text: a mix-up of rows would show
    assert max(abs(float(a["probability"]) - float(b["probability"])) for a, b in zip(onnx_rows, torch_rows,
                                                                                     strict=True)) < 1e-4


def test_a_missing_extra_is_named(tiny_models, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "onnxruntime.py").write_text("raise ImportError('blocked for this test')\n")
    import os

    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{blocker}{os.pathsep}{env_path}" if env_path else str(blocker)
    try:
        process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--test_file",
                             str(DATA / "sarcasm_headlines_sample.jsonl"), "--do_predict", "--inference_backend",
                             "onnxruntime", "--output_dir", str(tmp_path / "out"), check=False)
    finally:
        os.environ["PYTHONPATH"] = env_path
    assert process.returncode == 1
    assert [line for line in process.stderr.splitlines() if line.startswith("error:")] == [
        "error: --inference_backend onnxruntime needs the optional 'onnx' extra (onnxruntime is not installed): pip "
        "install 'bertft[onnx]' (from a checkout: pip install -e '.[onnx]'), or use --inference_backend torch."]
