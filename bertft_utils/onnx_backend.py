"""Prediction through ONNX Runtime (`--inference_backend onnxruntime`): the model is exported once to
`<output_dir>/onnx/model.onnx` and reused while its weights are unchanged.

The export uses torch.onnx (dynamo exporter) rather than optimum: optimum-onnx pins transformers < 4.58, and this
package runs on transformers 5. Examples go through the session sorted by length, in batches padded by the task's own
collator, and come back in dataset order, as `training.predict_in_order` returns them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import numpy as np
import torch

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime")
QUANTIZATIONS = ("none", "dynamic_int8")
EXTRA = "pip install 'bertft[onnx]' (from a checkout: pip install -e '.[onnx]')"


def require_onnxruntime() -> None:
    """A clear error naming the extra when onnxruntime (or the exporter's onnxscript) is missing."""
    for module in ("onnxruntime", "onnxscript", "onnx"):
        try:
            __import__(module)
        except ImportError:
            raise ImportError(f"--inference_backend onnxruntime needs the optional 'onnx' extra ({module} is not "
                              f"installed): {EXTRA}, or use --inference_backend torch.") from None


def weights_fingerprint(model) -> str:
    """SHA-256 of every parameter and buffer, with the torch version: the export is redone when either changes."""
    digest = hashlib.sha256(torch.__version__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def stamped_file(path: str, stamp_path: str, stamp: dict, build) -> bool:
    """`path` made by `build(temporary_path)` unless it is there with `stamp` in `stamp_path`; built under a temporary
    name first, so a killed build never looks finished. True when it was reused."""
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path, encoding="utf-8") as handle:
            if json.load(handle) == stamp:
                return True
    tmp = path + f".{os.getpid()}.tmp"
    build(tmp)
    os.replace(tmp, path)
    with open(stamp_path, "w", encoding="utf-8") as handle:
        json.dump(stamp, handle, indent=1)
    return False


def export(model, output_dir: str, example: dict[str, torch.Tensor]) -> str:
    """`<output_dir>/onnx/model.onnx` for `model` (inputs named as in `example`), exported unless a matching one is
    there."""
    folder = os.path.join(output_dir, "onnx")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    stamp = {"weights_sha256": weights_fingerprint(model), "inputs": sorted(example), "torch": torch.__version__}

    def build(tmp: str) -> None:
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
        was_training = model.training
        model.eval()
        try:
            torch.onnx.export(model, (), kwargs=example, f=tmp, dynamo=True, input_names=list(example),
                              output_names=["logits"],
                              dynamic_shapes={name: {0: batch, 1: sequence} for name in example},
                              external_data=False, verbose=False)
        finally:
            model.train(was_training)

    start = time.perf_counter()
    if stamped_file(path, os.path.join(folder, "export.json"), stamp, build):
        logger.info("ONNX model reused: %s (same weights).", path)
    else:
        logger.info("Exported the model to %s in %.1f s.", path, time.perf_counter() - start)
    return path


def quantize(path: str, quantization: str) -> str:
    """The model at `path` itself for 'none'; for 'dynamic_int8' a copy beside it (`model.dynamic_int8.onnx`) made by
    ONNX Runtime's dynamic quantization, redone whenever the fp32 export changed.

    Only matrix products with a constant weight matrix are quantized (int8 per output channel; activations to uint8 per
    batch at run time): the embedding lookups, the attention products and the normalisations stay fp32, which kept
    the most predictions equal to fp32 in the measurement of results/ner_onnx.md.
    """
    if quantization == "none":
        return path
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = os.path.dirname(path)
    target = os.path.join(folder, f"model.{quantization}.onnx")
    with open(os.path.join(folder, "export.json"), encoding="utf-8") as handle:
        stamp = {"export": json.load(handle), "quantization": quantization}

    def build(tmp: str) -> None:
        quantize_dynamic(path, tmp, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gemm"], extra_options={"MatMulConstBOnly": True})

    start = time.perf_counter()
    if stamped_file(target, os.path.join(folder, f"{quantization}.json"), stamp, build):
        logger.info("Quantized ONNX model reused: %s.", target)
    else:
        logger.info("Quantized the ONNX model (%s) to %s in %.1f s.", quantization, target,
                    time.perf_counter() - start)
    return target


def predict_in_order_onnx(model, dataset, collator, batch_size: int, output_dir: str,
                          quantization: str = "none") -> tuple[np.ndarray, dict]:
    """Logits for every example of `dataset`, in dataset order (padded to the longest example when per token), and
    the prediction time (`test_runtime`, `test_samples_per_second`, export and quantization excluded)."""
    require_onnxruntime()
    import onnxruntime

    columns = [c for c in dataset.column_names if c != "labels"]
    rows = dataset.select_columns(columns).to_list()  # decoded once, not once per row and column
    lengths = np.array([len(row["input_ids"]) for row in rows])
    order = np.argsort(-lengths, kind="stable")
    example = {k: torch.as_tensor(v) for k, v in collator(rows[:2] if len(rows) > 1 else rows).items()
               if k in columns}
    path = quantize(export(model, output_dir, example), quantization)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    logger.info("Predicting with ONNX Runtime: %s.", path)
    names = [i.name for i in session.get_inputs()]
    start = time.perf_counter()
    outputs: list[np.ndarray] = [None] * len(rows)  # type: ignore[list-item]
    for begin in range(0, len(rows), batch_size):
        indices = order[begin:begin + batch_size]
        batch = collator([rows[i] for i in indices])
        logits = session.run(None, {name: np.asarray(batch[name], dtype=np.int64) for name in names})[0]
        for position, index in enumerate(indices):
            outputs[index] = logits[position][:lengths[index]] if logits.ndim == 3 else logits[position]
    seconds = time.perf_counter() - start
    if outputs and outputs[0].ndim == 2:  # per-token logits: pad to one array as Trainer.predict does
        width = int(lengths.max())
        padded = np.zeros((len(outputs), width, outputs[0].shape[-1]), dtype=np.float32)
        for index, logits in enumerate(outputs):
            padded[index, :len(logits)] = logits
        predictions = padded
    else:
        predictions = np.stack(outputs) if outputs else np.zeros((0,))
    return predictions, {"test_runtime": seconds, "test_samples_per_second": len(rows) / seconds if seconds else None}
