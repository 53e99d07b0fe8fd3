"""The one flow every script runs: config -> data splits -> labels -> tokenizer -> model -> vocabulary -> encode ->
warm-up -> Trainer -> train / evaluate / predict -> reports -> model card and push.

A task (tasks.ner.NerTask, tasks.sequence.SequenceTask) plugs in how its files are read, how
records become model inputs, and how predictions become outputs and metrics; everything else happens here once.
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from transformers import set_seed

from bertft_utils.config.arguments import EMBEDDED_MODEL_ALIAS, apply_metric_name
from bertft_utils.config.logging_setup import setup_logging
from bertft_utils.data.labels import resolve_label_list
from bertft_utils.data.language import guess_language
from bertft_utils.data.splits import (
    StreamedSplit,
    held_out_splits_needed,
    require_splits,
    sample_indices,
    split_train_file,
    train_overlap,
)
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.metrics import scalar_metrics
from bertft_utils.evaluation.run_settings import write_run_settings
from bertft_utils.evaluation.uncertainty import Bootstrap
from bertft_utils.files import PARTIAL_SUFFIX, announce, set_aside_earlier_outputs, write_json
from bertft_utils.modeling.loading import load_config, load_model, load_tokenizer
from bertft_utils.modeling.vocabulary import prepare_vocabulary
from bertft_utils.publishing.hub import PublishingTrainer, finetuned_from, finish
from bertft_utils.publishing.model_card import ModelCardFacts, neutral_example
from bertft_utils.runtime.allocator import keep_freed_memory, release_freed_memory
from bertft_utils.runtime.precision import apply_precision, choose_precision, precision_is_measured
from bertft_utils.training.checkpoints import checkpoint_precision, resume_point
from bertft_utils.training.dropout_masks import choose_masks
from bertft_utils.training.hp_search import run_search
from bertft_utils.training.losses import with_label_smoothing
from bertft_utils.training.mlm_warmup import warm_up_encoder
from bertft_utils.training.trainer import (
    BertftTrainer,
    evaluate_and_save,
    predict_in_order,
    save_split_metrics,
    train_and_save,
)

logger = logging.getLogger(__name__)


class Records(Protocol):
    """What a task reads from a file: records with their source lines, of which a split keeps a subset."""

    def __len__(self) -> int: ...

    def subset(self, indices: list[int]) -> Records: ...


class Encoded(Protocol):
    """A split's model inputs."""

    def dataset(self): ...


class Task(Protocol):
    """How one kind of task plugs into `run_task`. The steps run in the order below, and each hands the next what
    it needs as values: `stored` (settings read from, or written to, the model config), `facts` (what the data
    showed, e.g. NER's tag scheme) and `head` (how the model's outputs are read: NER's decoding and CRF, a binary
    task's positive class). A task keeps no state between steps."""

    script: str  # e.g. "run_ner.py", named in the model card
    pipeline_task: str  # the `transformers.pipeline` task of the saved model
    model_class: type  # AutoModelFor...
    pretokenized: bool  # inputs are lists of words
    curve_metric: str  # validation metric of the learning curve
    # what decides an output, for the int8 recheck (runtime.onnx_backend): the top class ("top class"), else why
    # int8 cannot be rechecked (multi-label: each label against its threshold; regression: the number itself)
    int8_recheck: str

    def configure(self, config) -> Any:
        """`stored`: settings stored in (or read from) the model config before anything is read."""

    def read(self, path: str, split: str) -> Records:
        """The records of one data file (`split`: train, validation or test)."""

    def strata(self, records: Records) -> list | None:
        """Values to stratify splits and --max_*_samples subsets by (None: a plain seeded shuffle)."""

    def model_inputs(self, records: Records, stored) -> list[str]:
        """The records as a user would feed them to `pipeline` (model card examples, language, vocabulary)."""

    def prepare_splits(self, splits: dict[str, Records], data_args, stored) -> tuple[dict[str, Records], dict]:
        """After splitting: checks and renamings. Returns the splits and `facts`, what the data showed."""

    def gold_labels(self, records: Records) -> Iterable[str] | None:
        """Every gold label of the records, flattened, read once (None when the file has none)."""

    def label_order(self, stored) -> list[str] | None:
        """An order the label list must follow (else sorted)."""

    def extend_model(self, model, label_list: list[str], model_args, training: bool, new_head: bool, stored,
                     facts: dict) -> Any:
        """`head`: task layers beyond the pipeline model (a CRF), created or read from the checkpoint (not when the
        head is new: another label set), and the task's settings stored in the model config once the label list is
        known (NER's tag scheme, a binary task's positive class)."""

    def bind_model(self, model, head) -> Any:
        """The head of `model` (a hyperparameter-search trial's copy)."""

    def encode(self, split: str, records: Records, tokenizer, label_to_id: dict[str, int], data_args, stored,
               head) -> Encoded:
        """Tokenized model inputs (and label ids)."""

    def trainer_hooks(self, tokenizer, data_args, label_list: list[str], validation: Records | None,
                      encoded_validation: Encoded | None, current_head: Callable[[], Any], facts: dict) -> dict:
        """`data_collator`, `compute_metrics`, `preprocess_logits_for_metrics` for the Trainer (and any other keyword
        argument of BertftTrainer, e.g. `crf_learning_rate`). `current_head()` is the head of the model being
        trained (a search trial's)."""

    def prediction_splits(self, splits: dict[str, Records]) -> list[str]:
        """The splits --do_predict predicts, in order."""

    def streamed_split(self, data_args) -> StreamedSplit | None:
        """Unlabelled input too large to hold, checked now and predicted piece by piece after the other splits
        (NER's --predict_text_file); None: none."""

    def write_predictions(self, split: str, records: Records, outputs, output_dir: str, append: bool = False,
                          suffix: str = "") -> list[str]:
        """The prediction files of a streamed split's piece (`append`: after the earlier pieces), each named with
        `suffix` added; returns their paths."""

    def decode(self, encoded: Encoded, predictions, label_list: list[str], head) -> Any:
        """Raw model predictions (in dataset order) -> the task's outputs (tags per word, label probabilities)."""

    def write_outputs(self, split: str, records: Records, outputs, label_list: list[str], output_dir: str,
                      timing: dict, notes: list[str], head, facts: dict, bootstrap: Bootstrap) -> dict:
        """Prediction files and test reports of one split (`notes`: lines the report adds, e.g. on records that
        also occur in training); returns its metrics, with the confidence intervals of `bootstrap` ({} without gold
        labels)."""

    def headline_scores(self, records: Records, outputs, label_list: list[str], head, facts: dict) -> dict:
        """The split's headline scores (numbers only, no intervals, nothing written), e.g. on a part of a split."""

    def data_report(self, coverage, encoded: dict[str, Encoded], facts: dict) -> dict:
        """What the data looked like (data_report.json; empty: none written)."""

    def card_sections(self, results: dict[str, dict]) -> list[str]:
        """Extra Markdown sections for the model card."""

    def input_note(self, stored) -> str:
        """How to feed `pipeline`, for the model card."""


@dataclass
class TaskRun:
    """What a finished run hands back to its script (e.g. to answer new questions with the trained model)."""

    task: Task
    trainer: BertftTrainer
    tokenizer: Any
    label_list: list[str]
    results: dict[str, dict]
    data_args: Any
    stored: Any
    head: Any

    def predict(self, records: Records) -> Any:
        """The task's outputs for new records, with the trained model (through --inference_backend)."""
        encoded = self.task.encode("new", records, self.tokenizer, {}, self.data_args, self.stored, self.head)
        predictions, _ = predict_split(self.trainer, encoded.dataset(), self.trainer.data_collator)
        return self.task.decode(encoded, predictions, self.label_list, self.head)


def predicts_on_this_process(trainer: BertftTrainer) -> bool:
    """Whether this process takes part in prediction: all do with the Trainer; ONNX Runtime runs on the main one."""
    return trainer.args.inference_backend != "onnxruntime" or trainer.is_world_process_zero()


def predict_split(trainer: BertftTrainer, dataset, collator) -> tuple[Any, dict]:
    """Raw predictions in dataset order and their timing, by the Trainer or by ONNX Runtime (--inference_backend)."""
    args = trainer.args
    if args.inference_backend == "onnxruntime":
        from bertft_utils.runtime.onnx_backend import predict_in_order_onnx

        return predict_in_order_onnx(trainer.model, dataset, collator, args.per_device_eval_batch_size,
                                     args.output_dir, quantization=args.onnx_quantization,
                                     recheck_margin=args.onnx_recheck_margin)
    return predict_in_order(trainer, dataset)


def predict_streamed(task: Task, trainer: BertftTrainer, streamed: StreamedSplit, tokenizer, label_list: list[str],
                     data_args, stored, head, collator) -> dict:
    """A split too large to hold, read, predicted and written piece by piece (memory: one piece's), its progress
    logged per piece; its files are written as `<name>.partial` and renamed once complete. Returns what was done."""
    started, records, paths = time.perf_counter(), 0, []
    for index, (piece, line) in enumerate(streamed.pieces()):
        records += len(piece)
        if not predicts_on_this_process(trainer):
            continue
        encoded = task.encode(streamed.name, piece, tokenizer, {}, data_args, stored, head)
        predictions, _ = predict_split(trainer, encoded.dataset(), collator)
        outputs = task.decode(encoded, predictions, label_list, head)
        if trainer.is_world_process_zero():
            paths = task.write_predictions(streamed.name, piece, outputs, trainer.args.output_dir,
                                           append=index > 0, suffix=PARTIAL_SUFFIX)
        del encoded, predictions, outputs
        release_freed_memory()  # what this piece took, so that memory stays that of one piece however long the file
        elapsed = time.perf_counter() - started
        logger.info("%s: line %d of %d (%.0f%%), %d records predicted in %.0f s; about %.0f s left.", streamed.path,
                    line, streamed.lines, 100 * line / streamed.lines, records, elapsed,
                    elapsed * (streamed.records - records) / records)
    for path in paths:
        os.replace(path, path[:-len(PARTIAL_SUFFIX)])
        announce(path[:-len(PARTIAL_SUFFIX)])
    return {"records": records, "lines": streamed.lines, "runtime": round(time.perf_counter() - started, 3)}


def load_splits(task: Task, data_args, output_dir: str, is_main_process: bool, stored,
                model_name_or_path: str | None = None) -> dict[str, Records]:
    """train/validation/test records: --train_file split (--split_file, or the split the model folder was trained
    with) where a file is missing, the given files otherwise, then the seeded --max_*_samples subsets."""
    splits: dict[str, Records] = {}
    if data_args.train_file:
        train = task.read(data_args.train_file, "train")
        strata = task.strata(train)
        indices = split_train_file(data_args, [0] * len(train) if strata is None else strata, output_dir,
                                   write=is_main_process, texts=task.model_inputs(train, stored),
                                   model_name_or_path=model_name_or_path)
        splits.update({name: train.subset(ids) for name, ids in indices.items() if ids})
        logger.info("Split of %s: %s.", data_args.train_file, {name: len(ids) for name, ids in indices.items()})
    for name in ("validation", "test"):
        path = getattr(data_args, f"{name}_file")
        if path:
            splits[name] = task.read(path, name)
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples,
              "test": data_args.max_predict_samples}
    return {name: records if limits[name] is None else records.subset(
        sample_indices(len(records), limits[name], data_args.split_seed, task.strata(records)))
        for name, records in splits.items()}


def set_aside_unused(splits: dict[str, Records], training_args) -> None:
    """Held-out parts this run does not use are dropped (and said so): they are never trained on, and the split
    stays the same whatever the run does."""
    evaluates, predicts = held_out_splits_needed(training_args)
    for name, used, flag in (("validation", evaluates, "--do_eval or --eval_strategy"), ("test", predicts,
                                                                                        "--do_predict")):
        if name in splits and not used:
            logger.info("%d %s records are held out and unused in this run (no %s): never trained on.",
                        len(splits.pop(name)), name, flag)


def overlap_with_training(task: Task, splits: dict[str, Records], stored) -> dict[str, dict]:
    """Per held-out split: how many of its records also occur in this run's training part."""
    if "train" not in splits:
        return {}
    train_texts = task.model_inputs(splits["train"], stored)
    return {name: train_overlap(train_texts, task.model_inputs(splits[name], stored))
            for name in ("validation", "test") if name in splits}


def model_size(model) -> dict:
    """Parameters of the model: all, those of its embeddings (words, positions, token types) and the rest."""
    total = sum(p.numel() for p in model.parameters())
    embeddings = getattr(getattr(model, "base_model", model), "embeddings", None)
    embedding = sum(p.numel() for p in embeddings.parameters()) if embeddings is not None else \
        model.get_input_embeddings().weight.numel()
    return {"parameters": total, "embedding_parameters": embedding, "encoder_parameters": total - embedding}


def peak_memory() -> dict:
    """The process's peak resident memory so far (and the GPU's peak allocation, when there is one), in GiB."""
    import resource

    import torch

    facts = {"peak_memory_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # KiB on Linux
    if torch.cuda.is_available():
        facts["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return facts


def first_batch(dataset, size: int, collator) -> dict:
    """The first `size` examples of `dataset` collated as the Trainer's batches are (for the measured choices)."""
    return dict(collator([dataset[i] for i in range(min(size, len(dataset)))]))


def precision_facts(training_args, measured: bool, resumed: bool = False) -> dict:
    """The precision the run computes in, and who chose it: recorded in every *_results.json."""
    chosen = "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "fp32"
    return {"compute_precision": chosen,
            "compute_precision_chosen_by": "measured" if measured else "resumed checkpoint" if resumed else "flags"}


def prediction_precision(precision: dict, training_args) -> dict:
    """The precision of --do_predict's numbers: PyTorch's (`precision`), or ONNX Runtime's graph."""
    if training_args.inference_backend != "onnxruntime":
        return precision
    graph = "fp32" if training_args.onnx_quantization == "none" else (
        f"{training_args.onnx_quantization} (fp32 recheck margin {training_args.onnx_recheck_margin:g})")
    return {"compute_precision": graph, "compute_precision_chosen_by": "--inference_backend onnxruntime"}


def precision_note(precision: dict, training_args) -> str:
    """The test report's line on the precision of the predictions."""
    chosen = prediction_precision(precision, training_args)
    by = chosen["compute_precision_chosen_by"]
    how = {"measured": "the faster on this machine, measured", "flags": "as the flags say",
           "resumed checkpoint": "that of the checkpoint it resumed"}.get(by, by)
    return f"Predicted in {chosen['compute_precision']} ({how})."


def overlap_note(split: str, overlap: dict | None) -> list[str]:
    """The test report's line on records that also occur in training."""
    if not overlap:
        return []
    return [f"{overlap['identical_in_train']} of {overlap['records']} {split} records also appear in training "
            f"(identical after whitespace normalisation); {overlap['near_identical_in_train']} nearly (case, spaces "
            "and punctuation ignored)."]


def unseen_scores(task: Task, records: Records, outputs, label_list: list[str], head, facts: dict,
                  in_train: list[int]) -> dict:
    """The headline scores on the records that do not occur in training (`unseen_<metric>`, over `unseen_samples`
    records): a score that does not lean on memorised test items."""
    seen = set(in_train)
    kept = [i for i in range(len(records)) if i not in seen]
    if not kept:
        return {"unseen_samples": 0}
    part = outputs[kept] if isinstance(outputs, np.ndarray) else [outputs[i] for i in kept]
    scores = task.headline_scores(records.subset(kept), part, label_list, head, facts)
    return {"unseen_samples": len(kept), **{f"unseen_{name}": value for name, value in scores.items()}}


def card_facts(task: Task, model_args, data_args, label_list: list[str], results: dict[str, dict],
               splits: dict[str, Records], stored, facts: dict, card_example: str | None = None,
               streamed: StreamedSplit | None = None) -> ModelCardFacts:
    """What the model card says about a run. It quotes no text of the data: the usage example is --card_example
    or a neutral sentence in the data's language."""
    examples = next((task.model_inputs(records, stored) for records in splits.values() if len(records)), [""])
    data_file = next((f for f in (data_args.train_file, data_args.validation_file, data_args.test_file,
                                  getattr(data_args, "predict_text_file", None)) if f), "")
    language = guess_language(examples[:200])
    example = card_example or neutral_example(task.pipeline_task, language)
    return ModelCardFacts(
        base_model=finetuned_from(model_args), task=task.pipeline_task, dataset=os.path.basename(data_file),
        labels=label_list, script=task.script, results=results,
        split_sizes={**{name: len(records) for name, records in splits.items()},
                     **({streamed.name: streamed.records} if streamed is not None else {})},
        extra_sections=task.card_sections(results), input_note=task.input_note(stored),
        pair_input=bool(facts.get("pairs")), language=language, example_input=example.replace('"', "'")[:200],
        stratified_split=next((task.strata(records) is not None for records in splits.values() if len(records)), True),
        license="apache-2.0" if model_args.model_name_or_path == EMBEDDED_MODEL_ALIAS else None)


def trial_model_factory(task: Task, prepared, heads: dict):
    """`model_init` for a hyperparameter search: a fresh copy of the prepared model for every trial (and for the
    final training), so that each starts from the same weights; `heads["current"]` follows the copy (its CRF)."""
    template = copy.deepcopy(prepared).cpu()

    def model_init(trial=None):
        model = copy.deepcopy(template)
        heads["current"] = task.bind_model(model, heads["current"])
        return model

    return model_init


def run_task(task: Task, model_args, data_args, training_args) -> TaskRun:
    """Read, split, tokenize, train, evaluate and predict; write every output; card and push."""
    if training_args.onnx_quantization != "none" and task.int8_recheck != "top class":
        raise UsageError(f"--onnx_quantization {training_args.onnx_quantization} is for classifiers and taggers: its "
                         f"fp32 recheck looks at the top two classes, but {task.int8_recheck}, so int8 would change "
                         "predictions unchecked. Leave --onnx_quantization none (ONNX Runtime in fp32).")
    os.makedirs(training_args.output_dir, exist_ok=True)
    if training_args.should_save:
        set_aside_earlier_outputs(training_args.output_dir, training_args.do_train)
        write_run_settings(training_args.output_dir, task.script, model_args, data_args, training_args)
    if training_args.keep_freed_memory:
        keep_freed_memory()  # before the model's weights are allocated
    resume_from, checkpoint_marker = resume_point(model_args, data_args, training_args,
                                                  precision_is_measured(training_args))
    config = load_config(model_args)
    stored = task.configure(config)
    with training_args.main_process_first(desc="reading and splitting the data"):
        splits = load_splits(task, data_args, training_args.output_dir, training_args.should_save, stored,
                             model_args.model_name_or_path)
        splits, facts = task.prepare_splits(splits, data_args, stored)
        streamed = task.streamed_split(data_args)
    if streamed is not None and not training_args.do_predict:
        logger.warning("%s is tagged with --do_predict only: not read in this run.", streamed.path)
        streamed = None
    set_aside_unused(splits, training_args)
    gc.freeze()  # the records live to the end of the run: Python's cyclic collections stop walking them (millions)
    overlap = overlap_with_training(task, splits, stored)
    for name, counts in overlap.items():
        if counts["identical_in_train"] or counts["near_identical_in_train"]:
            logger.warning(" ".join(overlap_note(name, counts)))
    if not training_args.do_train:
        splits.pop("train", None)  # evaluation or prediction only: the training part is neither encoded nor used
    require_splits(training_args, splits, [*task.prediction_splits(splits), *([streamed.name] if streamed else [])])
    label_list, new_head = resolve_label_list(config, training_args.do_train,
                                    task.gold_labels(splits["train"]) if "train" in splits else None,
                                    {name: task.gold_labels(records) for name, records in splits.items()
                                     if name != "train"}, data_args.allow_unseen_labels, task.label_order(stored))
    logger.info("Labels (%d): %s", len(label_list), label_list[:20])
    label_to_id = {label: i for i, label in enumerate(label_list)}

    tokenizer = load_tokenizer(model_args, config, pretokenized=task.pretokenized)
    model = load_model(task.model_class, model_args, config, tokenizer, new_head=new_head)
    heads = {"current": task.extend_model(model, label_list, model_args, training_args.do_train, new_head, stored,
                                          facts)}  # a search trial's model brings its own head (model_init)
    coverage, embedding_learning_rate = prepare_vocabulary(
        model_args, training_args, tokenizer, model,
        task.model_inputs(splits["train"], stored) if "train" in splits else None)
    with training_args.main_process_first(desc="tokenizing"):
        encoded = {name: task.encode(name, records, tokenizer, label_to_id, data_args, stored, heads["current"])
                   for name, records in splits.items()}
    train_dataset = encoded["train"].dataset() if "train" in encoded else None
    hooks = task.trainer_hooks(tokenizer, data_args, label_list, splits.get("validation"), encoded.get("validation"),
                               lambda: heads["current"], facts)
    if "compute_loss_func" in hooks:  # a loss of ours (class weights) replaces Trainer's, label smoothing included
        hooks["compute_loss_func"] = with_label_smoothing(hooks["compute_loss_func"],
                                                          training_args.label_smoothing_factor)
    measured = precision_is_measured(training_args) and (bool(encoded) or streamed is not None)
    train_batch = None if train_dataset is None else first_batch(  # measures precision and dropout masks
        train_dataset, training_args.per_device_train_batch_size, hooks["data_collator"])
    resumed_bf16 = checkpoint_precision(resume_from) if measured and training_args.do_train else None
    if resumed_bf16 is not None:  # a resumed run goes on in the precision it was trained in
        apply_precision(training_args, resumed_bf16)
        logger.info("Precision: %s, that of the checkpoint resumed (%s).", "bf16" if resumed_bf16 else "fp32",
                    resume_from)
        measured = False
    elif measured:
        if train_batch is not None:
            batch = train_batch
        else:  # a prediction-only run measures on the first batch it predicts
            sample = next(iter(encoded.values())).dataset() if encoded else task.encode(
                streamed.name, next(streamed.pieces())[0], tokenizer, label_to_id, data_args, stored,
                heads["current"]).dataset()
            batch = first_batch(sample, training_args.per_device_eval_batch_size, hooks["data_collator"])
        apply_precision(training_args, choose_precision(model, batch, training=train_batch is not None))
    precision = precision_facts(training_args, measured, resumed=resumed_bf16 is not None)
    dropout = {"masks": "torch", "why": "not training"} if train_batch is None else choose_masks(
        model, train_batch, training_args.bf16, training_args.dropout_masks, training_args.device.type)
    checkpoint_marker.refresh(model_args, data_args, training_args)
    warm_up_encoder(model, tokenizer, train_dataset, model_args, training_args, embedding_learning_rate, resume_from)

    searching = training_args.do_train and training_args.hp_search_trials > 0
    if searching and "validation" not in encoded:
        raise UsageError("--hp_search_trials needs validation data to compare trials: --validation_file, or "
                         "--validation_split_percentage > 0.")
    trainer = PublishingTrainer(
        model=None if searching else model, model_init=trial_model_factory(task, model, heads) if searching else None,
        args=training_args, train_dataset=train_dataset,
        eval_dataset=encoded["validation"].dataset() if "validation" in encoded else None,
        processing_class=tokenizer, callbacks=[checkpoint_marker], dropout_masks=dropout["masks"],
        # a rate derived from --learning_rate follows it (each search trial's, the best one's)
        embedding_learning_rate=model_args.embedding_learning_rate,
        embedding_learning_rate_factor=None if model_args.embedding_learning_rate is not None
        or embedding_learning_rate is None else embedding_learning_rate / training_args.learning_rate,
        **hooks)
    results: dict[str, dict] = {}
    if searching:
        run_search(trainer, task.script, task.curve_metric, (model_args, data_args, training_args))
        resume_from = None  # the best configuration is trained from the start
    if training_args.do_train:
        train_and_save(trainer, training_args, len(splits["train"]), resume_from,
                       {**precision, "dropout_masks": dropout["masks"], "dropout_masks_chosen_by": dropout["why"],
                        **model_size(model), **peak_memory()})
    if training_args.do_eval:
        results["validation"] = evaluate_and_save(trainer, len(splits["validation"]), precision)
        if training_args.do_train and trainer.is_world_process_zero():  # what the evaluation stored in the config
            trainer.model.config.save_pretrained(training_args.output_dir)  # (multi-label thresholds) is saved
    if training_args.do_predict:
        for name in task.prediction_splits(splits):
            if not predicts_on_this_process(trainer):
                continue
            predictions, timing = predict_split(trainer, encoded[name].dataset(), hooks["data_collator"])
            started = time.perf_counter()
            outputs = task.decode(encoded[name], predictions, label_list, heads["current"])
            timing["decode_runtime"] = time.perf_counter() - started
            if not trainer.is_world_process_zero():
                continue
            notes = [*overlap_note(name, overlap.get(name)), precision_note(precision, training_args)]
            metrics = task.write_outputs(name, splits[name], outputs, label_list, training_args.output_dir, timing,
                                         notes, heads["current"], facts,
                                         Bootstrap(training_args.bootstrap_resamples, training_args.bootstrap_seed))
            if metrics:
                metrics.update(prediction_precision(precision, training_args))
                metrics.update({**model_size(model), **peak_memory()})
                if name in overlap:
                    metrics["records_in_train"] = overlap[name]["identical_in_train"]
                    metrics["records_nearly_in_train"] = overlap[name]["near_identical_in_train"]
                    metrics.update(unseen_scores(task, splits[name], outputs, label_list, heads["current"], facts,
                                                 overlap[name]["identical_indices"]))
                if "onnx_int8_rechecked_in_fp32" in timing:
                    metrics["onnx_int8_rechecked_in_fp32"] = timing["onnx_int8_rechecked_in_fp32"]
                save_split_metrics(trainer, name, scalar_metrics(metrics, name))
                results[name] = metrics
    if streamed is not None:
        facts["streamed"] = predict_streamed(task, trainer, streamed, tokenizer, label_list, data_args, stored,
                                             heads["current"], hooks["data_collator"])
    report = {**task.data_report(coverage, encoded, facts), "overlap_with_training": overlap,
              **({f"{streamed.name}_prediction": facts["streamed"]} if streamed is not None else {})}
    if trainer.is_world_process_zero():
        write_json(os.path.join(training_args.output_dir, "data_report.json"), report)
    finish(trainer, training_args, card_facts(task, model_args, data_args, label_list, results, splits, stored,
                                              facts, training_args.card_example, streamed),
           task.curve_metric)
    return TaskRun(task, trainer, tokenizer, label_list, results, data_args, stored, heads["current"])


def run_script(make_task: Callable[[Any], Task], model_args, data_args, training_args) -> TaskRun:
    """What every script's main() does once its arguments are parsed: logging as in the Hugging Face examples, the
    seed, then `run_task` on the task `make_task(data_args)`."""
    setup_logging(training_args)
    apply_metric_name(data_args, training_args)
    set_seed(training_args.seed)
    try:
        return run_task(make_task(data_args), model_args, data_args, training_args)
    finally:
        gc.unfreeze()  # what run_task froze is collectable again (runs one after another in one process)
