#!/usr/bin/env python
"""Fine-tune a BERT-family encoder for named-entity recognition (character-level Chinese or word-level CoNLL).

    python run_ner.py --train_file data/msra_ner_sample.txt --test_file data/msra_ner_test_sample.txt \
        --add_unk_chars --do_train --do_eval --do_predict --output_dir outputs/msra

Sentences are never truncated: long ones are split into overlapping windows and every token is predicted and scored.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification, set_seed

from bertft_utils.arguments import (
    EMBEDDED_MODEL_ALIAS,
    BertftTrainingArguments,
    DataArguments,
    ModelArguments,
    parse_arguments,
)
from bertft_utils.cli import run_cli
from bertft_utils.labels import resolve_label_list
from bertft_utils.metrics import scalar_metrics
from bertft_utils.mlm_warmup import warm_up_encoder
from bertft_utils.model_card import ModelCardFacts, guess_language
from bertft_utils.modeling import load_config, load_model, load_tokenizer
from bertft_utils.readers import read_text_lines
from bertft_utils.reporting import write_json
from bertft_utils.tags import SCHEMES, parse_tag_names
from bertft_utils.token_classification import (
    load_tagged_splits,
    predicted_tags,
    score,
    tag_ids,
    write_entity_report,
    write_predictions,
)
from bertft_utils.training import (
    BertftTrainer,
    evaluate_and_save,
    finetuned_from,
    finish,
    held_out_splits_needed,
    predict_in_order,
    require_splits,
    resume_point,
    save_split_metrics,
    setup_logging,
    train_and_save,
)
from bertft_utils.vocabulary import prepare_vocabulary
from bertft_utils.windows import encode_windows

logger = logging.getLogger(__name__)


@dataclass
class NerDataArguments(DataArguments):
    """Token-level input: columns, tag scheme, windows and raw-text prediction."""

    tokens_column_name: str = field(default="tokens", metadata={
        "help": "jsonl/csv: column with the token list (default 'tokens', else the first column; alias: HF's "
                "--text_column_name).", "aliases": ["--text_column_name"]})
    tags_column_name: str = field(default="ner_tags", metadata={
        "help": "jsonl/csv: column with the tag list (default 'ner_tags', else the second column; alias: HF's "
                "--label_column_name).", "aliases": ["--label_column_name"]})
    doc_stride: int | None = field(
        default=None, metadata={"help": "Overlap in tokens between windows of a long sentence. Default: a quarter of "
                                "--max_seq_length (32 for 128)."})
    tag_scheme: str | None = field(default=None, metadata={"help": f"One of {SCHEMES}; detected when absent."})
    tag_names: str | None = field(
        default=None,
        metadata={"help": "For files whose tags are integer ids (e.g. exported from Hugging Face datasets): the tag "
                          "names in id order, comma-separated (O,B-PER,I-PER,...), as a JSON list or in a file with "
                          "one name per line."},
    )
    fix_tags: bool = field(default=False, metadata={"help": "Repair illegal tag sequences (I-X after O -> B-X)."})
    strict_scoring: bool = field(default=False, metadata={"help": "seqeval strict mode for the detected scheme."})
    predict_text_file: str | None = field(
        default=None, metadata={"help": "Untagged text, one sentence per line, to tag with --do_predict."})
    text_split: str = field(default="char", metadata={"help": "How --predict_text_file lines become tokens: "
                                                              "'char' (Chinese) or 'whitespace'."})

    def __post_init__(self):
        super().__post_init__()
        if self.doc_stride is None:
            self.doc_stride = self.max_seq_length // 4
        if not 0 <= self.doc_stride < self.max_seq_length - 2:  # the exact bound (special tokens) is checked later
            raise ValueError(f"--doc_stride must be in [0, {self.max_seq_length - 2}) for --max_seq_length "
                             f"{self.max_seq_length}, got {self.doc_stride}; leave it out for a quarter of it.")
        if self.tag_scheme is not None and self.tag_scheme not in SCHEMES:
            raise ValueError(f"--tag_scheme must be one of {SCHEMES}, got {self.tag_scheme!r}.")
        if self.text_split not in ("char", "whitespace"):
            raise ValueError(f"--text_split must be 'char' or 'whitespace', got {self.text_split!r}.")
        if self.tag_names is not None:
            parse_tag_names(self.tag_names)  # a bad list fails here, before any work
        if self.predict_text_file is not None and not os.path.isfile(self.predict_text_file):
            raise FileNotFoundError(f"--predict_text_file {self.predict_text_file!r} does not exist.")


def main() -> None:
    model_args, data_args, training_args = parse_arguments(ModelArguments, NerDataArguments, BertftTrainingArguments)
    setup_logging(training_args)
    set_seed(training_args.seed)

    resume_from, checkpoint_marker = resume_point(model_args, data_args, training_args)
    with training_args.main_process_first(desc="reading and checking the data"):
        files, tag_report = load_tagged_splits(data_args, training_args.output_dir, training_args.should_save,
                                               held_out_splits_needed(training_args))
    if data_args.predict_text_file:
        files["text"] = read_text_lines(data_args.predict_text_file, data_args.text_split)
    require_splits(training_args, [*files, "test"] if "text" in files else files)

    config = load_config(model_args)
    label_list = resolve_label_list(config, training_args.do_train,
                                    [t for s in files["train"].sentences for t in s.tags] if "train" in files else None,
                                    {n: [t for s in f.sentences for t in s.tags or []] for n, f in files.items()
                                     if n in ("validation", "test")}, data_args.allow_unseen_labels)
    label_to_id = {label: i for i, label in enumerate(label_list)}

    tokenizer = load_tokenizer(model_args, config, pretokenized=True)
    model = load_model(AutoModelForTokenClassification, model_args, config, tokenizer)
    coverage, embedding_learning_rate = prepare_vocabulary(
        model_args, training_args, tokenizer, model,
        ["".join(s.tokens) for s in files["train"].sentences] if "train" in files else None)

    with training_args.main_process_first(desc="tokenizing into windows"):
        windows = {name: encode_windows([s.tokens for s in f.sentences], tag_ids(f.sentences, label_to_id),
                                        tokenizer, data_args.max_seq_length, data_args.doc_stride)
                   for name, f in files.items()}

    train_dataset = windows["train"].dataset() if "train" in windows else None
    warm_up_encoder(model, tokenizer, train_dataset, model_args, training_args, embedding_learning_rate, resume_from)

    def compute_metrics(prediction) -> dict:
        """Full-length validation scores: windows stitched back into sentences first."""
        tags = predicted_tags(windows["validation"], prediction.predictions, label_list)
        metrics = score(files["validation"].sentences, tags, tag_report["scheme"] if data_args.strict_scoring else None)
        return {k: v for k, v in metrics.items() if isinstance(v, float)}

    trainer = BertftTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=windows["validation"].dataset() if "validation" in windows else None,
        processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=compute_metrics if "validation" in windows else None,
        preprocess_logits_for_metrics=lambda logits, labels: logits.argmax(dim=-1),
        embedding_learning_rate=embedding_learning_rate,
        callbacks=[checkpoint_marker],
    )

    results: dict[str, dict] = {}
    if training_args.do_train:
        train_and_save(trainer, training_args, len(files["train"]), resume_from)
    if training_args.do_eval:
        results["validation"] = evaluate_and_save(trainer, len(files["validation"]))
    if training_args.do_predict:
        for name in ("test", "text"):
            if name not in files:
                continue
            predicted_ids, timing = predict_in_order(trainer, windows[name].dataset())
            tags = predicted_tags(windows[name], predicted_ids, label_list)
            if not trainer.is_world_process_zero():
                continue
            file_name = "predictions.txt" if name == "test" else "text_predictions.txt"
            write_predictions(files[name], tags, os.path.join(training_args.output_dir, file_name))
            if files[name].sentences[0].tags is not None:
                metrics = score(files[name].sentences, tags, tag_report["scheme"] if data_args.strict_scoring else None)
                metrics["samples"] = len(files[name])
                metrics["tokens"] = sum(len(t) for t in tags)
                metrics["runtime"] = timing.get("test_runtime")
                metrics["sentences_per_second"] = len(files[name]) / metrics["runtime"] if metrics["runtime"] else None
                write_entity_report(metrics, training_args.output_dir, name)
                save_split_metrics(trainer, name, scalar_metrics(metrics, name))
                results[name] = metrics
    if trainer.is_world_process_zero():
        write_json(os.path.join(training_args.output_dir, "data_report.json"), {
            "tags": tag_report, "vocabulary": coverage.as_dict() if coverage else None,
            "windowed_sentences": {n: w.windowed_sentences for n, w in windows.items()},
            "zero_token_tokens": {n: w.zero_token_words for n, w in windows.items()}})
    finish(trainer, training_args, _card_facts(model_args, data_args, label_list, results, files), "eval_f1")


def _card_facts(model_args, data_args, label_list: list[str], results: dict[str, dict],
                files: dict) -> ModelCardFacts:
    """What the model card says about an NER run: the entity report per split besides the scalar results."""
    sentences = next(iter(files.values())).sentences
    joiner = "" if guess_language(["".join(sentences[0].tokens)]) == "zh" else " "
    return ModelCardFacts(
        base_model=finetuned_from(model_args), task="token-classification",
        dataset=os.path.basename(data_args.train_file or data_args.test_file or data_args.predict_text_file or ""),
        labels=label_list, script="run_ner.py", results=results,
        split_sizes={name: len(f) for name, f in files.items()},
        extra_sections=[f"Entity level ({split}, full-length sentences, seqeval):\n\n```\n{m['report_text']}```"
                        for split, m in results.items() if "report_text" in m],
        language=guess_language([joiner.join(s.tokens) for s in sentences[:200]]),
        example_input=joiner.join(sentences[0].tokens).replace('"', "'")[:200],
        license="apache-2.0" if model_args.model_name_or_path == EMBEDDED_MODEL_ALIAS else None)


if __name__ == "__main__":
    run_cli(main)
