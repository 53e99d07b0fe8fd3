"""Files a run writes: JSON and text written whole, each announced with one log line."""

from __future__ import annotations

import fnmatch
import json
import logging
import os

logger = logging.getLogger(__name__)
PARTIAL_SUFFIX = ".partial"  # a file written piece by piece, until complete (a killed run leaves none that looks done)


def announce(path: str) -> str:
    """Log one line per output file (tests count them to check each is written once)."""
    logger.info("bertft wrote %s", path)
    return path


def write_json(path: str, payload) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
    return announce(path)


def write_text(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return announce(path)


# What a run writes about its numbers and predictions. An earlier run's copies in the same --output_dir are set aside
# before a run starts, so that no file of it is ever read as the new run's (an evaluation-only run into a model folder
# once left the old test scores beside the new ones). The model, its card, tokenizer, checkpoints and split stay.
RUN_OUTPUTS = ("eval_results.json", "test_results.json", "predict_results.json", "all_results.json", "*report.txt",
               "*predictions*", "*report.html", "test_entities.json", "*_entity_errors.json", "confusion_matrix.*",
               "answers.tsv", "data_report.json", "learning_curve.png", "run_settings.json")
TRAINING_OUTPUTS = ("train_results.json", "mlm_warmup_results.json")  # the model's own, unless it is trained again
EARLIER_RUN_PREFIX = "earlier_run_"


def set_aside_earlier_outputs(output_dir: str, training: bool) -> str | None:
    """Move an earlier run's output files (RUN_OUTPUTS, and TRAINING_OUTPUTS when this run trains) into
    `<output_dir>/earlier_run_<k>/` (k one more than the last); returns that folder, None when there were none."""
    if not os.path.isdir(output_dir):
        return None
    patterns = RUN_OUTPUTS + (TRAINING_OUTPUTS if training else ())
    found = sorted(entry.name for entry in os.scandir(output_dir) if entry.is_file()
                   and any(fnmatch.fnmatch(entry.name, pattern) for pattern in patterns))
    if not found:
        return None
    taken = [int(name.removeprefix(EARLIER_RUN_PREFIX)) for name in os.listdir(output_dir)
             if name.startswith(EARLIER_RUN_PREFIX) and name.removeprefix(EARLIER_RUN_PREFIX).isdigit()]
    folder = os.path.join(output_dir, f"{EARLIER_RUN_PREFIX}{max(taken, default=0) + 1}")
    os.makedirs(folder)
    for name in found:
        os.replace(os.path.join(output_dir, name), os.path.join(folder, name))
    logger.warning("%s held the outputs of an earlier run (%s): moved to %s, so that none is taken for this run's.",
                   output_dir, ", ".join(found), folder)
    return folder
