"""Hyperparameter search (`--hp_search_trials N`) through `Trainer.hyperparameter_search`.

Optuna by default: the study lives in SQLite in `<output_dir>/hp_search/optuna.db` (or the RDB URL of
`--hp_search_storage`, shared by several machines), so a rerun continues it up to N finished trials; trials whose
validation metric lags the median of earlier trials at the same epoch are pruned. Ray Tune (`--hp_search_backend
ray`) runs the trials on the Ray cluster of `RAY_ADDRESS`, else on a local Ray instance, stopping laggards with ASHA.

Every trial starts from the same model (a copy of the one the run prepared: added tokens, CRF, warm-up); afterwards
the best configuration is written as a JSON config file the same script accepts, every trial goes into a table
(Markdown and CSV) and a plot, and the run goes on to train the best configuration as its model.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import json
import logging
import math
import os
from typing import Any

from bertft_utils.config.effects import SEARCH, SECRET, names_with
from bertft_utils.config.search_space import search_space
from bertft_utils.errors import UsageError
from bertft_utils.files import announce

logger = logging.getLogger(__name__)


def optuna_space(space: dict[str, dict]):
    """Trainer's `hp_space` for Optuna: trial -> {argument: value}."""

    def suggest(trial) -> dict[str, Any]:
        values = {}
        for name, spec in space.items():
            if spec["type"] == "float":
                values[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
            elif spec["type"] == "int":
                values[name] = trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
            else:
                values[name] = trial.suggest_categorical(name, spec["choices"])
        return values

    return suggest


def ray_space(space: dict[str, dict]):
    """Trainer's `hp_space` for Ray Tune: the same space as tune sampling domains."""
    from ray import tune

    def domains(_trial=None) -> dict[str, Any]:
        values = {}
        for name, spec in space.items():
            if spec["type"] == "float":
                values[name] = (tune.loguniform if spec.get("log") else tune.uniform)(spec["low"], spec["high"])
            elif spec["type"] == "int":
                values[name] = (tune.lograndint if spec.get("log") else tune.randint)(spec["low"], spec["high"] + 1)
            else:
                values[name] = tune.choice(spec["choices"])
        return values

    return domains


def prepare_arguments(training_args) -> dict:
    """Evaluate every epoch (the objective and pruning need it) and save no checkpoints while searching.

    Returns the settings to restore for the final training."""
    from transformers.trainer_utils import IntervalStrategy, SaveStrategy

    saved = {name: getattr(training_args, name)
             for name in ("save_strategy", "load_best_model_at_end", "eval_strategy", "do_eval")}
    if training_args.eval_strategy == IntervalStrategy.NO:
        training_args.eval_strategy = IntervalStrategy.EPOCH
    training_args.do_eval = True
    training_args.save_strategy = SaveStrategy.NO
    training_args.load_best_model_at_end = False
    return saved


def run_search(trainer, script: str, objective_metric: str, argument_sets: tuple) -> dict:
    """Search; write the trial table, plot and best configuration; set the best values on `trainer.args`.

    Returns {"best": {argument: value}, "objective": value, "trials": [...]}."""
    args = trainer.args
    space = search_space(args.hp_search_space, script)
    folder = os.path.join(args.output_dir, "hp_search")
    os.makedirs(folder, exist_ok=True)
    restore = prepare_arguments(args)

    def objective(metrics: dict) -> float:
        if objective_metric not in metrics:
            raise UsageError(f"The hyperparameter search needs {objective_metric} in the validation metrics; got "
                             f"{sorted(metrics)}.")
        return metrics[objective_metric]

    if args.hp_search_backend == "optuna":
        trials = _search_optuna(trainer, space, objective, folder, script,
                                study_fingerprint(argument_sets, space, objective_metric))
    else:
        trials = _search_ray(trainer, space, objective, folder)
    for name, value in restore.items():
        setattr(args, name, value)
    finished = [t for t in trials if t["state"] == "complete" and t["objective"] is not None]
    if not finished:
        raise RuntimeError(f"No trial of the hyperparameter search finished (see {folder}).")
    best = max(finished, key=lambda t: t["objective"])
    for name, value in best["params"].items():
        current = getattr(args, name)
        setattr(args, name, type(current)(value) if current is not None else value)
    # What Trainer._hp_search_setup does for a trial: the last trial freed the accelerator, and the batch size the
    # training loop uses is read from here.
    trainer._train_batch_size = args.train_batch_size
    trainer.create_accelerator_and_postprocess()
    write_reports(folder, trials, best, objective_metric, space)
    config_path = os.path.join(folder, "best_config.json")
    write_best_config(config_path, argument_sets, best["params"])
    announce(f"Hyperparameter search: best of {len(trials)} trials is trial {best['trial']} "
             f"({objective_metric} {best['objective']:.4f}): {best['params']}; config {config_path}. Training it.")
    return {"best": best["params"], "objective": best["objective"], "trials": trials}


def study_fingerprint(argument_sets: tuple, space: dict, objective_metric: str) -> str:
    """What a study's trials depend on (data hashes and settings, as a checkpoint's fingerprint, the search space and
    the objective): a rerun with other data, settings or space, in the same folder or a shared storage, never
    continues another study (a study of another space would run no trial and report the old space's best)."""
    import hashlib
    import json

    from bertft_utils.training.checkpoints import run_fingerprint

    payload = json.dumps([run_fingerprint(*argument_sets)["hash"], space, objective_metric], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _search_optuna(trainer, space: dict, objective, folder: str, script: str, fingerprint: str) -> list[dict]:
    import optuna

    args = trainer.args
    storage = args.hp_search_storage or f"sqlite:///{os.path.abspath(os.path.join(folder, 'optuna.db'))}"
    study_name = (f"bertft-{script.removesuffix('.py')}-{os.path.basename(os.path.abspath(args.output_dir))}-"
                  f"{fingerprint}")
    study = optuna.create_study(study_name=study_name, storage=storage, load_if_exists=True, direction="maximize")
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    remaining = args.hp_search_trials - len(done)
    logger.info("Optuna study %s in %s: %d trials finished, %d to run.", study_name, storage, len(done),
                max(remaining, 0))
    if remaining > 0:
        trainer.hyperparameter_search(
            hp_space=optuna_space(space), compute_objective=objective, n_trials=remaining, direction="maximize",
            backend="optuna", hp_name=lambda trial: f"trial-{trial.number}", study_name=study_name, storage=storage,
            load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=args.seed + len(done)),  # no repeats on rerun
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
        study = optuna.load_study(study_name=study_name, storage=storage)
    states = {optuna.trial.TrialState.COMPLETE: "complete", optuna.trial.TrialState.PRUNED: "pruned",
              optuna.trial.TrialState.FAIL: "failed", optuna.trial.TrialState.RUNNING: "interrupted"}
    rows = []
    for trial in study.trials:
        last = trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else None
        seconds = ((trial.datetime_complete - trial.datetime_start).total_seconds()
                   if trial.datetime_complete and trial.datetime_start else None)
        rows.append({"trial": trial.number, "state": states.get(trial.state, trial.state.name.lower()),
                     "params": trial.params, "objective": trial.value if trial.value is not None else last,
                     "epochs_evaluated": len(trial.intermediate_values), "seconds": seconds})
    return rows


def _search_ray(trainer, space: dict, objective, folder: str) -> list[dict]:
    import ray
    from ray.tune.schedulers import ASHAScheduler

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        logger.info("Ray: %s.", f"cluster at {address}" if address else "a local instance")
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    best = trainer.hyperparameter_search(
        hp_space=ray_space(space), compute_objective=objective, n_trials=trainer.args.hp_search_trials,
        direction="maximize", backend="ray", hp_name=lambda trial: "trial",
        scheduler=ASHAScheduler(metric="objective", mode="max", grace_period=1),
        storage_path=os.path.abspath(os.path.join(folder, "ray")), verbose=0)
    analysis = best.run_summary
    rows = []
    for number, trial in enumerate(analysis.trials):
        result = trial.last_result or {}
        stopped = trial.status == "TERMINATED" and not result.get("done", False) and \
            result.get("epoch", math.inf) < trainer.args.num_train_epochs
        rows.append({"trial": number, "state": "pruned" if stopped else (
            "complete" if trial.status == "TERMINATED" else trial.status.lower()),
            "params": {k: trial.config[k] for k in space}, "objective": result.get("objective"),
            "epochs_evaluated": result.get("training_iteration"), "seconds": result.get("time_total_s")})
    return rows


def write_reports(folder: str, trials: list[dict], best: dict, metric: str, space: dict) -> None:
    """trials.csv, trials.md and trials.png in `folder`."""
    names = list(space)
    with open(os.path.join(folder, "trials.csv"), "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial", "state", *names, metric, "epochs_evaluated", "seconds"])
        for t in trials:
            writer.writerow([t["trial"], t["state"], *(t["params"].get(n) for n in names), t["objective"],
                             t["epochs_evaluated"], None if t["seconds"] is None else round(t["seconds"], 1)])
    lines = [f"# Hyperparameter search: {len(trials)} trials, objective validation {metric} (higher is better)", "",
             f"| trial | state | {' | '.join(names)} | {metric} | epochs evaluated | seconds |",
             "|---:|---|" + "---:|" * len(names) + "---:|---:|---:|"]
    for t in trials:
        mark = " **best**" if t is best else ""
        value = "" if t["objective"] is None else f"{t['objective']:.4f}"
        seconds = "" if t["seconds"] is None else f"{t['seconds']:.0f}"
        lines.append(f"| {t['trial']}{mark} | {t['state']} | " + " | ".join(_shown(t["params"].get(n)) for n in names)
                     + f" | {value} | {t['epochs_evaluated']} | {seconds} |")
    with open(os.path.join(folder, "trials.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    _plot(os.path.join(folder, "trials.png"), trials, metric)


def _shown(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _plot(path: str, trials: list[dict], metric: str) -> None:
    from bertft_utils.evaluation.plots import plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for state, marker in (("complete", "o"), ("pruned", "x")):
        points = [(t["trial"], t["objective"]) for t in trials if t["state"] == state and t["objective"] is not None]
        if points:
            axis.scatter(*zip(*points, strict=True), marker=marker, label=state)
    scored = [t for t in trials if t["state"] == "complete" and t["objective"] is not None]
    if scored:
        running, best_so_far = [], -math.inf
        for t in sorted(scored, key=lambda t: t["trial"]):
            best_so_far = max(best_so_far, t["objective"])
            running.append((t["trial"], best_so_far))
        axis.step(*zip(*running, strict=True), where="post", label="best so far")
    axis.set_xlabel("trial")
    axis.set_ylabel(f"validation {metric}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_best_config(path: str, argument_sets: tuple, best: dict) -> None:
    """The run's arguments that differ from their defaults, with the best values, as a JSON config file the same
    script accepts (`python run_X.py best_config.json`); tokens and the search options are left out."""
    config: dict[str, Any] = {}
    for arguments in argument_sets:
        settable = {item.name for item in dataclasses.fields(arguments) if item.init} - set(
            names_with(arguments, SECRET, SEARCH))  # secrets, and the search itself
        # TrainingArguments.to_dict() gives its values in command-line form (a default instance cannot be built for
        # comparison: that resets accelerate's state for the whole process)
        values = arguments.to_dict() if hasattr(arguments, "to_dict") else {
            name: getattr(arguments, name) for name in settable}
        defaults = {item.name: _default(item) for item in dataclasses.fields(arguments)}
        config.update({name: _plain(values[name]) for name in sorted(settable)
                       if name in values and _plain(values[name]) != _plain(defaults.get(name))})
    config.update(best)
    if argument_sets and hasattr(argument_sets[-1], "output_dir"):
        config["output_dir"] = argument_sets[-1].output_dir
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def _default(item: dataclasses.Field):
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory() if item.default_factory is not dataclasses.MISSING else None


def _plain(value):
    """A JSON-able form of an argument value (enums by value)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
