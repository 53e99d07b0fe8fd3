"""Flags of Hugging Face's example scripts (run_classification.py, run_glue.py, run_ner.py) that a script here does
not take, each refused with the one line that says what it does instead (argparse would only say "unrecognized")."""

from __future__ import annotations

from bertft_utils.errors import UsageError

NOT_TAKEN = {
    "label_all_tokens": "run_ner.py trains on the first sub-token of each word and predicts and scores one tag per "
                        "word, so every word counts once; drop --label_all_tokens.",
    "shuffle_train_dataset": "the Trainer shuffles the training examples every epoch (by --seed), and "
                             "--max_train_samples takes a seeded random subset; drop --shuffle_train_dataset.",
    "shuffle_seed": "the Trainer shuffles the training examples every epoch by --seed; drop --shuffle_seed.",
    "remove_columns": "only the columns the run names are read, the others are left alone; drop --remove_columns.",
    "do_regression": "run_classify.py --do_regression fits numbers; this script predicts labels or tags.",
    "metric_name": "not supported yet; choose the checkpoint by --metric_for_best_model (accuracy, f1, macro_f1, "
                   "...); every test report gives all the metrics.",
}


def refuse_flags_not_taken(names: list[str], known: set[str]) -> None:
    """A UsageError for the first of `names` (flags or config keys) that is in NOT_TAKEN and not a field here."""
    for name in names:
        key = name.lstrip("-").split("=")[0].replace("-", "_")
        if key in NOT_TAKEN and key not in known:
            raise UsageError(f"--{key} (a flag of Hugging Face's example scripts): {NOT_TAKEN[key]}")
