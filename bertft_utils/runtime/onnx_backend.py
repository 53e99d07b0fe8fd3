"""Prediction through ONNX Runtime (`--inference_backend onnxruntime`): the model is exported once to
`<output_dir>/onnx/model.onnx` and reused while its weights are unchanged.

The export uses torch.onnx (dynamo exporter) rather than optimum: optimum-onnx pins transformers < 4.58, and this
package runs on transformers 5. It is made with eager attention: the sdpa graph adds a NaN guard (IsNaN/Where over
every attention matrix) that cost 5% of fp32 and 10% of int8 prediction time in results/ner_onnx.md. Examples go
through the session sorted by length, in batches padded by the task's own collator, and come back in dataset order,
as `training.predict_in_order` returns them.

ONNX Runtime's graph fusions are not all faster everywhere: on the Zen 5 of results/ner_onnx.md its fused
SkipLayerNormalization was slower than the LayerNormalization + Add it replaces. So each fusion in
`FUSIONS_MEASURED` is timed on and off on the first batch, and the faster session is used (remembered per CPU, ONNX
Runtime version, threads, model shape and graph in the cache folder, like the precision decision).

With `dynamic_int8`, every example whose int8 logits put the top two classes closer than `recheck_margin` (at any
token) is predicted again in fp32, so that uncertain predictions are those of fp32; the count is logged and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time

import numpy as np
import torch

from bertft_utils.config.optional_packages import require_onnxruntime
from bertft_utils.runtime.length_order import longest_first
from bertft_utils.runtime.machine_cache import machine_key, remembered

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime")
FUSIONS_MEASURED = ("SkipLayerNormFusion",)
SESSION_CACHE = "onnx_sessions.json"


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


@contextlib.contextmanager
def prepared_for_export(model):
    """The model as it should be traced, put back afterwards: eval mode, eager attention, and its own forward.

    After bf16 training, accelerate's autocast wraps `model.forward` (the original kept as `_original_forward`):
    traced through it, the graph would hold bf16 products, which ONNX Runtime's CPU provider cannot run.
    """
    was_training = model.training
    attention = getattr(model.config, "_attn_implementation", None)
    switch_attention = attention not in (None, "eager") and hasattr(model, "set_attn_implementation")
    autocast_forward = model.__dict__.get("forward") if "_original_forward" in model.__dict__ else None
    model.eval()
    if switch_attention:
        model.set_attn_implementation("eager")
    if autocast_forward is not None:
        model.forward = model._original_forward
    try:
        yield model
    finally:
        model.train(was_training)
        if autocast_forward is not None:
            model.forward = autocast_forward
        if switch_attention:
            model.set_attn_implementation(attention)


def export(model, output_dir: str, example: dict[str, torch.Tensor]) -> str:
    """`<output_dir>/onnx/model.onnx` for `model` (inputs named as in `example`), exported unless a matching one is
    there."""
    folder = os.path.join(output_dir, "onnx")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    stamp = {"weights_sha256": weights_fingerprint(model), "inputs": sorted(example), "torch": torch.__version__,
             "attention": "eager"}

    def build(tmp: str) -> None:
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
        with prepared_for_export(model):
            torch.onnx.export(model, (), kwargs=example, f=tmp, dynamo=True, input_names=list(example),
                              output_names=["logits"],
                              dynamic_shapes={name: {0: batch, 1: sequence} for name in example},
                              external_data=False, verbose=False)

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


def open_session(path: str, disabled: tuple[str, ...] = ()):
    """An ONNX Runtime CPU session on as many threads as torch uses, with the named graph optimizers left out."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"],
                                        disabled_optimizers=list(disabled))


def run_session(session, feed: dict) -> np.ndarray:
    """The first output for `feed`, given only the inputs the graph has (the exporter drops unused ones)."""
    return session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]


def _run_seconds(session, feed: dict) -> float:
    start = time.perf_counter()
    run_session(session, feed)
    return time.perf_counter() - start


def time_sessions(sessions: dict, feed: dict, rounds: int = 2) -> dict[str, float]:
    """Seconds per run of `feed` for each session (by label): one warm-up each, then `rounds` interleaved runs, the
    fastest kept."""
    for session in sessions.values():
        run_session(session, feed)  # warm-up: the first run allocates
    best = {label: float("inf") for label in sessions}
    for _ in range(rounds):
        for label, session in sessions.items():
            best[label] = min(best[label], _run_seconds(session, feed))
    return best


def measured_session(path: str, feed: dict, model, graph: str):
    """The faster ONNX Runtime session for `path` (the `graph` named: 'none' for fp32 or a quantization) on this
    machine: ONNX Runtime's default graph and the graph without each fusion of `FUSIONS_MEASURED`, timed on `feed`
    once per key and remembered."""
    import onnxruntime

    rows, length = np.shape(feed["input_ids"])
    key = machine_key(model, f"onnxruntime {onnxruntime.__version__}",
                      f"{graph} | batch {rows} x up to {1 << max(int(length) - 1, 1).bit_length()} tokens")
    variants = {"default": (), **{f"without {name}": (name,) for name in FUSIONS_MEASURED}}
    sessions: dict = {}

    def measure() -> dict:
        sessions.update({label: open_session(path, disabled) for label, disabled in variants.items()})
        seconds = time_sessions(sessions, feed)
        fastest = min(seconds, key=seconds.get)
        return {"seconds": seconds, "disabled": list(variants[fastest]), "choice": fastest}

    entry, cached = remembered(SESSION_CACHE, key, measure)
    timings = ", ".join(f"{label} {seconds:.4f} s" for label, seconds in entry["seconds"].items())
    logger.info("ONNX Runtime graph: %s (%s one batch: %s).", entry["choice"],
                f"measured on {entry['date']}, cached," if cached else "measured here on", timings)
    return sessions.get(entry["choice"]) or open_session(path, tuple(entry["disabled"]))


def top_two_gap(logits: np.ndarray) -> float:
    """The smallest difference between the two largest logits of any position (inf with a single class)."""
    if logits.shape[-1] < 2:
        return float("inf")
    top = np.partition(logits, -2, axis=-1)
    return float((top[..., -1] - top[..., -2]).min()) if top.size else float("inf")


def predict_in_order_onnx(model, dataset, collator, batch_size: int, output_dir: str,
                          quantization: str = "none", recheck_margin: float = 0.0) -> tuple[np.ndarray, dict]:
    """Logits for every example of `dataset`, in dataset order (padded to the longest example when per token), and
    the prediction time (`test_runtime`, `test_samples_per_second`; export, quantization and the session measurement
    excluded; with int8 the fp32 recheck included, and `onnx_int8_rechecked_in_fp32` counts the examples)."""
    require_onnxruntime()

    columns = [c for c in dataset.column_names if c != "labels"]
    rows = dataset.select_columns(columns).to_list()  # decoded once, not once per row and column
    lengths = np.array([len(row["input_ids"]) for row in rows])
    order = longest_first(lengths)
    example = {k: torch.as_tensor(v) for k, v in collator(rows[:2] if len(rows) > 1 else rows).items()
               if k in columns}
    fp32_path = export(model, output_dir, example)
    path = quantize(fp32_path, quantization)

    def feed(indices) -> dict:
        batch = collator([rows[i] for i in indices])
        return {name: np.asarray(batch[name], dtype=np.int64) for name in example}

    first = feed(order[:batch_size]) if len(rows) else None
    session = measured_session(path, first, model, quantization) if len(rows) else None
    recheck = quantization != "none" and recheck_margin > 0 and len(rows) > 0
    fp32_session = measured_session(fp32_path, first, model, "none") if recheck else None
    logger.info("Predicting with ONNX Runtime: %s%s.", path,
                f" (examples with a top-two logit gap below {recheck_margin} predicted again in fp32)" if recheck
                else "")
    start = time.perf_counter()
    outputs: list[np.ndarray] = [None] * len(rows)  # type: ignore[list-item]

    def predict(session, indices) -> None:
        for begin in range(0, len(indices), batch_size):
            chunk = indices[begin:begin + batch_size]
            logits = run_session(session, feed(chunk))
            for position, index in enumerate(chunk):
                outputs[index] = logits[position][:lengths[index]] if logits.ndim == 3 else logits[position]

    predict(session, order)
    timing: dict = {}
    if recheck:
        first_pass = time.perf_counter() - start
        uncertain = [int(i) for i in order if top_two_gap(outputs[i]) < recheck_margin]  # still longest first
        predict(fp32_session, uncertain)
        timing["onnx_int8_rechecked_in_fp32"] = len(uncertain)
        logger.info("int8: %d of %d examples (%.1f%%, %.1f%% of the tokens) had a top-two logit gap below %s and were "
                    "predicted again in fp32 (--onnx_recheck_margin): int8 %.2f s, fp32 recheck %.2f s.",
                    len(uncertain), len(rows), 100 * len(uncertain) / len(rows),
                    100 * lengths[uncertain].sum() / lengths.sum(), recheck_margin, first_pass,
                    time.perf_counter() - start - first_pass)
        if len(uncertain) > len(rows) / 2:
            logger.warning("Most examples were predicted again in fp32, so int8 saved no time: this model's logits "
                           "rarely clear --onnx_recheck_margin %s (a CRF model's emissions, for one: the transitions "
                           "decide). Use --onnx_quantization none, or a smaller margin (0: int8 alone).",
                           recheck_margin)
    seconds = time.perf_counter() - start
    if outputs and outputs[0].ndim == 2:  # per-token logits: pad to one array as Trainer.predict does
        width = int(lengths.max())
        padded = np.zeros((len(outputs), width, outputs[0].shape[-1]), dtype=np.float32)
        for index, logits in enumerate(outputs):
            padded[index, :len(logits)] = logits
        predictions = padded
    else:
        predictions = np.stack(outputs) if outputs else np.zeros((0,))
    return predictions, {"test_runtime": seconds, "test_samples_per_second": len(rows) / seconds if seconds else None,
                         **timing}
