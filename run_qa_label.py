#!/usr/bin/env python
"""Answer questions by classifying them into a fixed set of answers (e.g. the Taipei City department responsible).

    python run_qa_label.py --train_file data/taipei_qa_sample.txt --prompt_template department --add_unk_chars \
        --do_train --do_eval --do_predict --output_dir outputs/taipei_qa
    python run_qa_label.py --model_name_or_path outputs/taipei_qa --questions "想做大腸癌篩檢，不知如何辦理" --top_k 3

Input: `answer<space>question` lines (.txt), or csv/jsonl with --question_column_name/--answer_column_name.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field

import numpy as np
from transformers import set_seed

from bertft_utils.arguments import (
    BertftTrainingArguments,
    ModelArguments,
    SequenceDataArguments,
    parse_arguments,
)
from bertft_utils.cli import run_cli
from bertft_utils.errors import UsageError
from bertft_utils.labels import duplicates_and_conflicts
from bertft_utils.logging_setup import setup_logging
from bertft_utils.prompts import PRESETS, PromptTemplate
from bertft_utils.readers import Table, open_text, read_table
from bertft_utils.reporting import announce
from bertft_utils.sequence_classification import LabeledTexts, SequenceTask
from bertft_utils.task_flow import TaskRun, run_task

logger = logging.getLogger(__name__)


@dataclass
class QaLabelDataArguments(SequenceDataArguments):
    """Question/answer columns, prompt template, and new questions to answer."""

    question_column_name: str = field(default="question", metadata={"help": "csv/jsonl: column with the question."})
    answer_column_name: str = field(default="answer", metadata={"help": "csv/jsonl: column with the answer label."})
    prompt_template: str | None = field(
        default=None,
        metadata={"help": f"Wraps each question before tokenization, e.g. '問題：{{question}} 請問負責的單位是？', or "
                  f"a preset: {', '.join(PRESETS)}. Default: the template stored with the model, else '{{question}}'."},
    )
    skip_malformed: bool = field(default=False, metadata={"help": "Skip (and count) lines without a question."})
    questions: list[str] | None = field(default=None, metadata={"help": "New questions to answer.", "nargs": "+"})
    questions_file: str | None = field(default=None, metadata={"help": "New questions to answer, one per line."})
    top_k: int = field(default=1, metadata={"help": "How many answers to give for each new question."})

    def __post_init__(self):
        super().__post_init__()
        if self.questions_file is not None and not os.path.isfile(self.questions_file):
            raise FileNotFoundError(f"--questions_file {self.questions_file!r} does not exist.")
        if self.top_k < 1:
            raise UsageError(f"--top_k must be >= 1, got {self.top_k}.")

    def new_questions(self) -> list[str]:
        questions = list(self.questions or [])
        if self.questions_file:
            with open_text(self.questions_file) as handle:
                questions += [line.strip() for line in handle if line.strip()]
        return questions


def answer_questions(run: TaskRun, questions: list[str], data_args: QaLabelDataArguments, output_dir: str) -> None:
    """Print and write `question<TAB>answer<TAB>score` (top-k answers per question) to answers.tsv."""
    probabilities = run.predict(LabeledTexts(questions, None, [("questions", i) for i in range(1, len(questions) + 1)]))
    if not run.trainer.is_world_process_zero():
        return
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "answers.tsv")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")  # quotes a question holding tabs/newlines
        for question, scores in zip(questions, probabilities, strict=True):
            for rank in np.argsort(-scores)[:data_args.top_k]:
                row = [question, run.label_list[rank], f"{scores[rank]:.4f}"]
                print("\t".join(row))
                writer.writerow(row)
    announce(path)


def main() -> None:
    model_args, data_args, training_args = parse_arguments(ModelArguments, QaLabelDataArguments,
                                                           BertftTrainingArguments)
    setup_logging(training_args)
    set_seed(training_args.seed)
    data_reports: dict[str, dict] = {}

    def read(path: str) -> Table:
        table = read_table(path, data_args.data_format, data_args.skip_malformed, data_args.tsv_quoting)
        if any(data_args.answer_column_name in row for row in table.rows):
            report = duplicates_and_conflicts([str(q) for q in table.column(data_args.question_column_name)],
                                              [str(a) for a in table.column(data_args.answer_column_name)])
            report["skipped_malformed_lines"] = table.skipped_lines
            logger.info("%s: %d records, %d duplicates, %d questions with more than one answer (all kept), "
                        "%d malformed lines skipped.", path, report["records"], report["duplicate_records"],
                        report["conflicting_texts"], len(table.skipped_lines))
            data_reports[os.path.basename(path)] = report
        return table

    def make_preprocessor(config):
        template = PromptTemplate.resolve(data_args.prompt_template, config)
        logger.info("Prompt template: %r", template.template)
        return template, (f"Questions are wrapped with the template stored in `config.bertft_prompt_template` "
                          f"(`{template.template}`) before tokenization: feed `pipeline` the wrapped question.")

    task = SequenceTask("qa_label", read, data_args.question_column_name, data_args.answer_column_name,
                        make_preprocessor, top_k=(3, 5), positive_label=data_args.positive_label,
                        column_flags="--question_column_name/--answer_column_name",
                        extra_data_report=lambda: data_reports)
    run = run_task(task, model_args, data_args, training_args)
    questions = data_args.new_questions()
    if questions:
        answer_questions(run, questions, data_args, training_args.output_dir)


if __name__ == "__main__":
    run_cli(main)
