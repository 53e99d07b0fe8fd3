#!/usr/bin/env python
"""Answer questions by classifying them into a fixed set of answers (e.g. the Taipei City department responsible).

    python run_qa_label.py --train_file data/taipei_qa_sample.txt --prompt_template department --add_unk_chars \
        --do_train --do_eval --do_predict --output_dir outputs/taipei_qa
    python run_qa_label.py --model_name_or_path outputs/taipei_qa --questions "想做大腸癌篩檢，不知如何辦理" --top_k 3

Input: `answer<space>question` lines (.txt), or csv/jsonl with --question_column_name/--answer_column_name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bertft_utils.config.arguments import (
    BertftTrainingArguments,
    ModelArguments,
    SequenceDataArguments,
    parse_arguments,
)
from bertft_utils.config.cli import run_cli
from bertft_utils.config.effects import OUTPUT, PREDICTION, TRAINING, affects
from bertft_utils.data.prompts import PRESETS
from bertft_utils.data.readers import open_text
from bertft_utils.errors import UsageError


@dataclass
class QaLabelDataArguments(SequenceDataArguments):
    """Question/answer columns, prompt template, and new questions to answer."""

    question_column_name: str = field(default="question", metadata={**affects(TRAINING, PREDICTION),
                                                                    "help": "csv/jsonl: column with the question."})
    answer_column_name: str = field(default="answer", metadata={**affects(TRAINING, PREDICTION),
                                                                "help": "csv/jsonl: column with the answer label."})
    prompt_template: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": f"Wraps each question before tokenization, e.g. '問題：{{question}} 請問負責的單位是？', or "
                  f"a preset: {', '.join(PRESETS)}. Default: the template stored with the model, else '{{question}}'."},
    )
    skip_malformed: bool = field(default=False, metadata={**affects(TRAINING, PREDICTION),
                                                          "help": "Skip (and count) lines without a question."})
    questions: list[str] | None = field(default=None, metadata={**affects(PREDICTION),
                                                                "help": "New questions to answer.", "nargs": "+"})
    questions_file: str | None = field(default=None, metadata={**affects(PREDICTION),
                                                               "help": "New questions to answer, one per line."})
    top_k: int = field(default=1, metadata={**affects(OUTPUT),
                                            "help": "How many answers to give for each new question."})

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


# The script's arguments, in parsing order (scripts/run_record.py reads them too).
ARGUMENT_CLASSES = (ModelArguments, QaLabelDataArguments, BertftTrainingArguments)


def main() -> None:
    model_args, data_args, training_args = parse_arguments(*ARGUMENT_CLASSES)
    # imported after parsing: --help and argument errors need only the argument classes
    from bertft_utils.tasks.flow import run_script
    from bertft_utils.tasks.qa_label import answer_questions, qa_label_task

    run = run_script(qa_label_task, model_args, data_args, training_args)
    questions = data_args.new_questions()
    if questions:
        answer_questions(run, questions, data_args.top_k, training_args.output_dir)


if __name__ == "__main__":
    run_cli(main)
