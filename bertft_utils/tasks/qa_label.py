"""The question -> answer-label task (run_qa_label.py): a sequence task whose texts are questions wrapped in a
prompt template, whose files are checked for duplicates and conflicting answers, and whose model answers new
questions with its top-k labels."""

from __future__ import annotations

import csv
import logging
import os

import numpy as np

from bertft_utils.data.labels import duplicates_and_conflicts
from bertft_utils.data.prompts import PromptTemplate
from bertft_utils.data.readers import Table, read_table
from bertft_utils.files import announce
from bertft_utils.tasks.flow import TaskRun
from bertft_utils.tasks.sequence import LabeledTexts, SequenceTask

logger = logging.getLogger(__name__)


def qa_label_task(data_args) -> SequenceTask:
    """The task for `data_args` (run_qa_label.py's QaLabelDataArguments): files read with a duplicates/conflicts
    report per file (in data_report.json), questions wrapped with the prompt template."""
    data_reports: dict[str, dict] = {}

    def read(path: str) -> Table:
        table = read_table(path, data_args.data_format, data_args.skip_malformed, data_args.tsv_quoting)
        if data_args.answer_column_name in table.columns():
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

    return SequenceTask("qa_label", read, data_args.question_column_name, data_args.answer_column_name,
                        make_preprocessor, top_k=(3, 5), positive_label=data_args.positive_label,
                        column_flags="--question_column_name/--answer_column_name",
                        extra_data_report=lambda: data_reports)


def answer_questions(run: TaskRun, questions: list[str], top_k: int, output_dir: str) -> None:
    """Print and write `question<TAB>answer<TAB>score` (top-k answers per question) to answers.tsv."""
    probabilities = run.predict(LabeledTexts(questions, None, [("questions", i) for i in range(1, len(questions) + 1)]))
    if not run.trainer.is_world_process_zero():
        return
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "answers.tsv")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")  # quotes a question holding tabs/newlines
        for question, scores in zip(questions, probabilities, strict=True):
            for rank in np.argsort(-scores)[:top_k]:
                row = [question, run.label_list[rank], f"{scores[rank]:.4f}"]
                print("\t".join(row))
                writer.writerow(row)
    announce(path)
