"""--inference_backend onnxruntime: the same predictions as PyTorch fp32, the export cached and reused."""

import csv
import json
import re

import pytest
from conftest import DATA, run_script

pytest.importorskip("onnxruntime", reason="the optional 'onnx' extra is not installed (pip install -e '.[onnx]')")

FAST = ["--learning_rate", "2e-3", "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "8",
        "--save_strategy", "no", "--disable_tqdm", "true", "--seed", "1", "--no_auto_bf16"]


@pytest.fixture(scope="module")
def trained_ner(tiny_models, tmp_path_factory):
    trained = tmp_path_factory.mktemp("onnx") / "trained"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
               str(DATA / "msra_ner_train_sample.txt"), "--do_train", "--num_train_epochs", "2",
               "--validation_split_percentage", "0", "--test_split_percentage", "0",  # scored on the test sample
               "--max_seq_length", "32", "--output_dir", str(trained), *FAST)
    return trained


def test_ner_tags_equal_pytorch_and_the_export_is_reused(trained_ner, tmp_path):
    trained = trained_ner
    test = ["--model_name_or_path", str(trained), "--test_file", str(DATA / "msra_ner_test_sample.txt"),
            "--do_predict", "--max_seq_length", "32", *FAST]
    run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "torch"))
    first = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "onnx"), "--inference_backend",
                       "onnxruntime")
    torch_lines = (tmp_path / "torch" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    onnx_lines = (tmp_path / "onnx" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    assert len(onnx_lines) == len(torch_lines) > 100  # windows of 30 characters: long sentences stitched
    assert onnx_lines == torch_lines  # every character, every tag
    predicted = [line.split("\t")[-1] for line in torch_lines if line.strip()]
    assert sum(tag != "O" for tag in predicted) > 20  # a model that tagged everything O would prove nothing
    torch_f1 = json.loads((tmp_path / "torch" / "test_results.json").read_text())["test_f1"]
    assert json.loads((tmp_path / "onnx" / "test_results.json").read_text())["test_f1"] == torch_f1
    assert (tmp_path / "onnx" / "onnx" / "model.onnx").stat().st_size > 10_000
    assert "Exported the model to" in first.stdout + first.stderr
    again = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "onnx"), "--inference_backend",
                       "onnxruntime")
    assert "ONNX model reused" in again.stdout + again.stderr and "Exported the model" not in again.stdout


@pytest.mark.slow
def test_dynamic_int8_quantization_runs_the_quantized_graph(trained_ner, tmp_path):
    import onnx

    test = ["--model_name_or_path", str(trained_ner), "--test_file", str(DATA / "msra_ner_test_sample.txt"),
            "--do_predict", "--max_seq_length", "32", *FAST, "--inference_backend", "onnxruntime"]
    run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "fp32"))
    first = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "int8"), "--onnx_quantization",
                       "dynamic_int8", "--onnx_recheck_margin", "0")
    folder = tmp_path / "int8" / "onnx"
    assert "Quantized the ONNX model (dynamic_int8)" in first.stdout + first.stderr
    assert f"Predicting with ONNX Runtime: {folder / 'model.dynamic_int8.onnx'}." in first.stdout + first.stderr
    operators = {node.op_type for node in onnx.load(str(folder / "model.dynamic_int8.onnx")).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= operators  # the products run in int8
    assert "MatMulInteger" not in {node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node}
    fp32_lines = (tmp_path / "fp32" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    int8_lines = (tmp_path / "int8" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    assert len(int8_lines) == len(fp32_lines) > 100  # no character lost
    tagged = [(a, b) for a, b in zip(fp32_lines, int8_lines, strict=True) if a.strip()]
    assert [a.split("\t")[0] for a, _ in tagged] == [b.split("\t")[0] for _, b in tagged]
    assert sum(a == b for a, b in tagged) / len(tagged) > 0.9  # close to fp32 (not required to be equal)
    assert sum(a.split("\t")[-1] != "O" for a, _ in tagged) > 20  # and the model does predict entities
    int8_results = json.loads((tmp_path / "int8" / "test_results.json").read_text())
    assert "test_onnx_int8_rechecked_in_fp32" not in int8_results
    # the numbers say which graph computed them, not the precision PyTorch would have used
    assert int8_results["test_compute_precision"] == "dynamic_int8 (fp32 recheck margin 0)"
    assert "Predicted in dynamic_int8 (fp32 recheck margin 0) (--inference_backend onnxruntime)." in (
        tmp_path / "int8" / "test_entity_report.txt").read_text()
    assert json.loads((tmp_path / "fp32" / "test_results.json").read_text())["test_compute_precision"] == "fp32"

    def rechecked(margin: str) -> tuple[str, int, int]:
        """A run with this recheck margin: its log and how many of how many examples it predicted again in fp32."""
        process = run_script("run_ner.py", *test, "--output_dir", str(tmp_path / "int8"), "--onnx_quantization",
                             "dynamic_int8", "--onnx_recheck_margin", margin)
        log = process.stdout + process.stderr
        count, examples = (int(x) for x in re.search(r"int8: (\d+) of (\d+) examples", log).groups())
        assert json.loads((tmp_path / "int8" / "test_results.json").read_text())[
            "test_onnx_int8_rechecked_in_fp32"] == count
        return log, count, examples

    log, count, examples = rechecked("1e9")  # every example predicted again in fp32
    assert "Quantized ONNX model reused" in log and "Quantized the ONNX model" not in log
    assert count == examples > 20  # the sample's windows
    assert "Most examples were predicted again in fp32, so int8 saved no time" in log
    assert (tmp_path / "int8" / "predictions.txt").read_text(encoding="utf-8").splitlines() == fp32_lines
    log, count, examples = rechecked("0.3")  # the default: only the uncertain ones
    assert count < examples
    assert ("int8 saved no time" in log) == (count > examples / 2)


def test_top_two_gap():
    import numpy as np

    from bertft_utils.runtime.onnx_backend import top_two_gap

    assert top_two_gap(np.array([0.1, 2.0, 1.5])) == pytest.approx(0.5)  # one example's class logits
    assert top_two_gap(np.array([[3.0, 0.0, 1.0], [1.0, 1.2, -4.0]])) == pytest.approx(0.2)  # tokens: the smallest
    assert top_two_gap(np.array([[5.0], [1.0]])) == float("inf")  # one output: nothing to confuse


def test_onnx_graph_fusions_are_measured_cached_and_applied(tiny_models, tmp_path, monkeypatch):
    import onnxruntime
    import torch
    from transformers import AutoModelForTokenClassification

    from bertft_utils.runtime import onnx_backend

    monkeypatch.setenv("BERTFT_CACHE", str(tmp_path / "cache"))
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_models["bert"]), num_labels=3)
    feed = {"input_ids": torch.randint(5, 100, (4, 16)), "attention_mask": torch.ones(4, 16, dtype=torch.long)}
    path = onnx_backend.export(model, str(tmp_path / "out"), feed)
    numpy_feed = {k: v.numpy() for k, v in feed.items()}
    onnx_backend.measured_session(path, numpy_feed, model, "none")
    (entry,) = json.loads((tmp_path / "cache" / "onnx_sessions.json").read_text()).values()
    assert set(entry["seconds"]) == {"default", "without SkipLayerNormFusion"}
    assert entry["choice"] == min(entry["seconds"], key=entry["seconds"].get)

    def executed_operators(session) -> set[str]:
        session.run(None, numpy_feed)
        trace = json.loads(open(session.end_profiling(), encoding="utf-8").read())
        return {event["args"]["op_name"] for event in trace if event.get("cat") == "Node"}

    opened = []

    def profiled(path, disabled=()):
        options = onnxruntime.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = str(tmp_path / f"profile{len(opened)}")
        opened.append(disabled)
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=list(disabled))

    monkeypatch.setattr(onnx_backend, "open_session", profiled)
    for choice, disabled in (("without SkipLayerNormFusion", ["SkipLayerNormFusion"]), ("default", [])):
        cache = tmp_path / "cache" / "onnx_sessions.json"
        cache.write_text(json.dumps({key: {**entry, "choice": choice, "disabled": disabled}
                                     for key in json.loads(cache.read_text())}))
        operators = executed_operators(onnx_backend.measured_session(path, numpy_feed, model, "none"))
        assert ("SkipLayerNormalization" in operators) == (choice == "default")  # the cached choice is applied
    assert opened == [("SkipLayerNormFusion",), ()]  # from the cache: no new measurement


@pytest.mark.parametrize(("flags", "message"), [
    (["--onnx_quantization", "dynamic_int8"], "error: --onnx_quantization applies to ONNX Runtime prediction: add "
     "--inference_backend onnxruntime (or leave --onnx_quantization none)."),
    (["--inference_backend", "onnxruntime", "--onnx_quantization", "int4"], "error: --onnx_quantization must be one "
     "of none, dynamic_int8, got 'int4'."),
    (["--onnx_recheck_margin", "-1"], "error: --onnx_recheck_margin must be >= 0 (0 turns the fp32 recheck off), got "
     "-1.0."),
])
def test_quantization_option_errors(tiny_models, tmp_path, flags, message):
    process = run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--test_file",
                         str(DATA / "sarcasm_headlines_sample.jsonl"), "--do_predict", *flags, "--output_dir",
                         str(tmp_path / "out"), check=False)
    assert process.returncode == 1
    assert [line for line in process.stderr.splitlines() if line.startswith("error:")] == [message]


def test_classification_probabilities_equal_pytorch(tmp_path):
    """The embedded MiniLM (pretrained features that differ from text to text), two training steps."""
    args = ["--model_name_or_path", "embedded", "--train_file", str(DATA / "sarcasm_headlines_sample.jsonl"),
            "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_train", "--do_predict",
            "--max_steps", "2", "--max_train_samples", "32", "--max_predict_samples", "60",
            "--validation_split_percentage", "0", *FAST]
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


def test_export_after_bf16_training_runs_in_fp32(tiny_models, tmp_path):
    """Trained with --bf16 and predicted in the same run: accelerate's autocast wrapper must not reach the graph."""
    import onnx

    run_script("run_classify.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file",
               str(DATA / "sarcasm_headlines_sample.jsonl"), "--text_column_name", "headline", "--label_column_name",
               "is_sarcastic", "--do_train", "--do_predict", "--max_steps", "2", "--max_predict_samples", "20",
               "--bf16", "--save_strategy", "no", "--disable_tqdm", "true", "--inference_backend", "onnxruntime",
               "--output_dir", str(tmp_path / "out"))
    graph = onnx.load(str(tmp_path / "out" / "onnx" / "model.onnx")).graph
    types = {value.type.tensor_type.elem_type for value in [*graph.value_info, *graph.output]}
    assert onnx.TensorProto.BFLOAT16 not in types | {tensor.data_type for tensor in graph.initializer}
    assert len((tmp_path / "out" / "predictions.tsv").read_text(encoding="utf-8").splitlines()) == 21


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
