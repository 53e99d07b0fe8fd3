#!/usr/bin/env python
"""Fine-tune a BERT-family encoder for single-sentence classification (e.g. sarcastic news headlines).

    python run_classify.py --train_file data/sarcasm_headlines_sample.jsonl --text_column_name headline \
        --label_column_name is_sarcastic --do_train --do_eval --do_predict --output_dir outputs/sarcasm

Also: `accelerate launch run_classify.py ...`, or a single JSON config file as the only argument.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial

from transformers import AutoModelForSequenceClassification, set_seed

from bertft_utils.arguments import BertftTrainingArguments, DataArguments, ModelArguments, parse_arguments
from bertft_utils.labels import apply_label_maps, check_unseen_labels, sort_labels
from bertft_utils.modeling import labels_from_config, load_config, load_model, load_tokenizer
from bertft_utils.readers import read_table
from bertft_utils.reporting import plot_learning_curve
from bertft_utils.sequence_classification import (
    data_collator,
    encode_texts,
    load_labeled_splits,
    make_compute_metrics,
    model_card_sections,
    predict_probabilities,
    report_test_split,
    test_metrics_for_saving,
)
from bertft_utils.training import BertftTrainer, publish, save_split_metrics, setup_logging, train_and_save
from bertft_utils.transforms import resolve_regex_transformations

logger = logging.getLogger(__name__)


@dataclass
class ClassificationDataArguments(DataArguments):
    """Which columns hold the text and the label, and how to clean the text."""

    text_column_name: str = field(default="text", metadata={"help": "Column with the text to classify."})
    label_column_name: str = field(default="label", metadata={"help": "Column with the gold label."})
    regex_transformations: str | None = field(
        default=None,
        metadata={"help": "JSON {pattern: replacement} (or a file holding it) applied to every text in order, at "
                  "train, eval and predict time; stored with the model."},
    )


def main() -> None:
    model_args, data_args, training_args = parse_arguments(
        ModelArguments, ClassificationDataArguments, BertftTrainingArguments
    )
    setup_logging(training_args)
    set_seed(training_args.seed)

    read = partial(read_table, data_format=data_args.data_format)
    with training_args.main_process_first(desc="reading and splitting the data"):
        splits = load_labeled_splits(data_args, read, data_args.text_column_name, data_args.label_column_name,
                                     training_args.output_dir, training_args.should_save)
    for flag, split in (("do_train", "train"), ("do_eval", "validation"), ("do_predict", "test")):
        if getattr(training_args, flag) and split not in splits:
            raise ValueError(f"--{flag} needs a {split} split: pass --{split}_file or a --train_file to split.")

    config = load_config(model_args)
    label_list = None if training_args.do_train else labels_from_config(config)
    if label_list is None:
        if "train" not in splits:
            raise ValueError("The label set comes from the training data: pass --train_file.")
        label_list = sort_labels(splits["train"].labels)
    check_unseen_labels(label_list, {name: s.labels for name, s in splits.items() if name != "train" and s.labels},
                        data_args.allow_unseen_labels)
    apply_label_maps(config, label_list)
    clean = resolve_regex_transformations(data_args.regex_transformations, config)
    clean.save_to_config(config)
    logger.info("Labels (%d): %s", len(label_list), label_list[:20])

    tokenizer = load_tokenizer(model_args, config)
    model = load_model(AutoModelForSequenceClassification, model_args, config, tokenizer)
    label_to_id = {label: i for i, label in enumerate(label_list)}
    with training_args.main_process_first(desc="tokenizing"):
        encoded = {
            name: encode_texts([clean(t) for t in split.texts],
                               None if split.labels is None else [label_to_id.get(x, -100) for x in split.labels],
                               tokenizer, data_args.max_seq_length, data_args.pad_to_max_length, name)
            for name, split in splits.items()
        }

    trainer = BertftTrainer(
        model=model,
        args=training_args,
        train_dataset=encoded.get("train"),
        eval_dataset=encoded.get("validation"),
        processing_class=tokenizer,
        data_collator=data_collator(tokenizer, data_args.pad_to_max_length),
        compute_metrics=make_compute_metrics(label_list),
        embedding_learning_rate=model_args.embedding_learning_rate,
    )

    results: dict[str, dict] = {}
    if training_args.do_train:
        train_and_save(trainer, training_args, len(encoded["train"]))
    if training_args.do_eval:
        metrics = trainer.evaluate()
        metrics["eval_samples"] = len(encoded["validation"])
        save_split_metrics(trainer, "eval", metrics)
        results["validation"] = {k.removeprefix("eval_"): v for k, v in metrics.items()}
    if training_args.do_predict:
        probabilities = predict_probabilities(trainer, encoded["test"])
        if trainer.is_world_process_zero():
            metrics = report_test_split(splits["test"], probabilities, label_list, training_args.output_dir)
            if metrics:
                save_split_metrics(trainer, "test", test_metrics_for_saving(metrics))
                results["test"] = metrics
    if trainer.is_world_process_zero():
        plot_learning_curve(trainer.state.log_history, os.path.join(training_args.output_dir, "learning_curve.png"),
                            "eval_accuracy")
    note = ("Input is cleaned with the regex transformations stored in `config.bertft_regex_transformations` "
            "before tokenization; apply them yourself when calling `pipeline`." if clean else "")
    trainer.card_sections = model_card_sections(label_list, results, note)
    if training_args.do_train:
        publish(trainer, model_args, training_args, "text-classification", data_args.train_file)


if __name__ == "__main__":
    main()
