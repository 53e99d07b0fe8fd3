"""The NER task: tagged sentences per split, tag checks, windows in, one tag per word out, entity-level scores."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax
from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

from bertft_utils.data.language import token_separator
from bertft_utils.data.readers import TaggedSentence, TokenFile, count_text_lines, read_token_file, text_line_chunks
from bertft_utils.data.splits import StreamedSplit
from bertft_utils.data.tags import (
    count_illegal,
    detect_scheme,
    name_tag_ids,
    parse_tag_names,
    repair,
    to_scoring_tag,
    validate_tags,
)
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.entity_errors import entity_error_scores
from bertft_utils.evaluation.metrics import entity_scores
from bertft_utils.evaluation.prediction_files import (
    tagged_predictions_layout,
    write_entity_report,
    write_span_predictions,
    write_tagged_predictions,
)
from bertft_utils.evaluation.uncertainty import Bootstrap, interval_note
from bertft_utils.modeling.crf import SENTENCE_EDGES, LinearChainCrf, attach_crf, crf_from_checkpoint
from bertft_utils.modeling.loading import checkpoint_weight_files
from bertft_utils.tasks.decoding import allowed_transitions, crf_rules, viterbi
from bertft_utils.tasks.windows import IGNORE, Windows, encode_windows, stitch_predictions, stitch_scores

logger = logging.getLogger(__name__)
TAG_SCHEME_KEY = "bertft_tag_scheme"  # the scheme a model's predictions follow, stored in its config


@dataclass(frozen=True)
class NerStored:
    """What run_ner.py reads from the checkpoint's config before any data (NerTask.configure)."""

    decoding: str  # --decoding, else 'crf' for a model saved with a CRF, else 'viterbi'
    scheme: str | None  # the tag scheme the model was trained with (None: a model that stored none)


@dataclass(frozen=True)
class NerHead:
    """How the model's scores become tags (NerTask.extend_model): the decoding, the scheme it follows, the CRF."""

    decoding: str
    scheme: str
    crf: LinearChainCrf | None = None


class NerTask:
    """run_ner.py's part of the task flow (see flow.Task). Each step gets what it needs as values: the settings
    stored with the model (`NerStored`), the tag report of the data (`check_tags`) and the head (`NerHead`)."""

    script = "run_ner.py"
    pipeline_task = "token-classification"
    model_class = AutoModelForTokenClassification
    pretokenized = True
    curve_metric = "eval_f1"
    int8_recheck = "top class"

    def __init__(self, data_args):
        self.data_args = data_args
        self.tag_names = parse_tag_names(data_args.tag_names) if data_args.tag_names else None

    def configure(self, config) -> NerStored:
        """--decoding's default: 'crf' for a model saved with a CRF, else 'viterbi'; the tag scheme the model was
        trained with (stored in its config)."""
        decoding = self.data_args.decoding or ("crf" if getattr(config, "bertft_crf", False) else "viterbi")
        logger.info("Decoding: %s.", decoding)
        return NerStored(decoding, getattr(config, TAG_SCHEME_KEY, None))

    def input_note(self, stored: NerStored) -> str:
        return ""

    def read(self, path: str, split: str) -> TokenFile:
        token_file = read_token_file(path, self.data_args.data_format, self.data_args.tokens_column_name,
                                     self.data_args.tags_column_name)
        if self.tag_names:
            name_tag_ids(token_file, self.tag_names)
        validate_tags(token_file)
        return token_file

    def strata(self, records: TokenFile) -> None:
        return None

    def prepare_splits(self, splits: dict[str, TokenFile], data_args,
                       stored: NerStored) -> tuple[dict[str, TokenFile], dict]:
        """Tags are validated (unknown tags are errors), the scheme is detected, illegal sequences are counted per
        split and, with --fix_tags, repaired. Returns the splits and the tag report."""
        return splits, check_tags(splits, data_args.tag_scheme, data_args.fix_tags)

    def streamed_split(self, data_args) -> StreamedSplit | None:
        """--predict_text_file as the `text` split: checked (UTF-8, some text) and counted now, before any training,
        then read and tagged piece by piece (a file of millions of lines is never held)."""
        path = data_args.predict_text_file
        if not path:
            return None
        lines, records = count_text_lines(path)
        split = data_args.text_split
        return StreamedSplit("text", path, lines, records, lambda: (
            (piece, piece.sentences[-1].lines[0]) for piece in text_line_chunks(path, split)))

    def gold_labels(self, records: TokenFile) -> Iterator[str] | None:
        """Every tag, read as it is asked for (a list of them all took gigabytes on millions of sentences)."""
        if any(s.tags is None for s in records.sentences):
            return None
        return itertools.chain.from_iterable(s.tags for s in records.sentences)

    def label_order(self, stored: NerStored) -> None:
        return None

    def extend_model(self, model, label_list: list[str], model_args, training: bool, new_head: bool,
                     stored: NerStored, tag_report: dict) -> NerHead:
        """The tag scheme decoding follows (training: the training data's, after --fix_tags; else the model's own),
        stored in the config. With --decoding crf: the CRF stored with the checkpoint, else (training only) a new
        one whose forbidden moves start at crf.FORBIDDEN. The config records whether the saved model has a CRF."""
        scheme = (tag_report.get("training_scheme") if training else stored.scheme) \
            or self.fallback_scheme(label_list, tag_report)
        if training or stored.scheme is None:
            setattr(model.config, TAG_SCHEME_KEY, scheme)
        logger.info("Tag scheme of the model's predictions: %s.", scheme)
        illegal = tag_report.get("illegal", {}).get("train", {}).get("tags", 0)
        if stored.decoding == "crf" and training and illegal and not tag_report.get("fixed"):
            raise UsageError(f"--decoding crf: the training data has {illegal} illegal tag transitions (an I-X after O "
                             "or another type), which the CRF's forbidden moves would score at -10,000 each. Add "
                             "--fix_tags to repair them for training (validation and test gold stay as given).")
        if stored.decoding != "crf":
            if training and getattr(model.config, "bertft_crf", False):
                model.config.bertft_crf = False  # the CRF of the checkpoint is not trained, nor saved
            return NerHead(stored.decoding, scheme)
        crf = None if new_head else crf_from_checkpoint(checkpoint_weight_files(model_args), model, len(label_list))
        if crf is None:
            if not training:
                raise UsageError(f"--decoding crf: {model_args.model_name_or_path} has no CRF layer (no crf.* "
                                 "weights): it was not trained with --decoding crf. Use --decoding viterbi (the same "
                                 "search without learned transitions), or train with --decoding crf.")
            crf = attach_crf(model, len(label_list), allowed_transitions(label_list, scheme))
            logger.info("A new CRF over %d labels; moves the %s scheme forbids start at a score of %g.",
                        len(label_list), scheme, crf.transitions.min().item())
        else:
            logger.info("CRF read from %s.", model_args.model_name_or_path)
        model.config.bertft_crf = True
        return NerHead(stored.decoding, scheme, crf)

    def bind_model(self, model, head: NerHead) -> NerHead:
        """The head of `model` (a search trial's copy): its own CRF."""
        return dataclasses.replace(head, crf=getattr(model, "crf", None))

    def model_inputs(self, records: TokenFile, stored: NerStored) -> list[str]:
        sentences = records.sentences
        joiner = token_separator(sentences[0].tokens) if sentences else " "
        return [joiner.join(s.tokens) for s in sentences]

    def encode(self, split: str, records: TokenFile, tokenizer, label_to_id: dict[str, int], data_args,
               stored: NerStored, head: NerHead) -> Windows:
        windows = encode_windows([s.tokens for s in records.sentences], tag_ids(records.sentences, label_to_id),
                                 tokenizer, data_args.max_seq_length, data_args.doc_stride)
        if head.decoding == "crf" and split in ("train", "validation"):  # where the CRF's loss is computed
            windows.edges_column = SENTENCE_EDGES
        return windows

    def trainer_hooks(self, tokenizer, data_args, label_list: list[str], validation: TokenFile | None,
                      encoded_validation: Windows | None, current_head: Callable[[], NerHead],
                      tag_report: dict) -> dict:
        """`current_head()` is the head of the model being trained (a search trial's own CRF)."""
        head = current_head()

        def compute_metrics(prediction) -> dict:
            """Full-length validation scores: windows stitched back into sentences first."""
            tags = self.decode(encoded_validation, prediction.predictions, label_list, current_head())
            metrics = score(validation.sentences, tags, self.strict_scheme(tag_report))
            return {k: v for k, v in metrics.items() if isinstance(v, float)}

        def keep(logits, labels):
            """What the Trainer keeps of the logits: ids for argmax, log-probabilities for viterbi, the scores
            themselves for the CRF (which was trained on them)."""
            if head.decoding == "argmax":
                return logits.argmax(dim=-1)
            return logits.float() if head.decoding == "crf" else logits.log_softmax(dim=-1)

        hooks = {"data_collator": DataCollatorForTokenClassification(tokenizer),
                 "compute_metrics": compute_metrics if validation is not None else None,
                 "preprocess_logits_for_metrics": keep}
        if head.crf is not None:
            hooks["crf_learning_rate"] = self.data_args.crf_learning_rate
        return hooks

    def strict_scheme(self, tag_report: dict) -> str | None:
        return tag_report["scheme"] if self.data_args.strict_scoring else None

    def prediction_splits(self, splits: dict[str, TokenFile]) -> list[str]:
        return [name for name in ("test",) if name in splits]

    def decode(self, encoded: Windows, predictions, label_list: list[str], head: NerHead) -> list[list[str]]:
        """Tags per word (--decoding): from predicted ids (the Trainer's argmax), per-token log-probabilities (the
        Trainer under viterbi), per-token scores (under crf) or logits (ONNX Runtime)."""
        if head.decoding == "argmax":
            return predicted_tags(encoded, predictions.argmax(axis=-1) if predictions.ndim == 3 else predictions,
                                  label_list)
        rules = allowed_transitions(label_list, head.scheme)
        scores = np.asarray(predictions, dtype=np.float32)
        if head.decoding == "crf":
            rules = crf_rules(rules, head.crf.scores())
        else:
            scores = log_softmax(scores, axis=-1)
        return [[label_list[i] for i in viterbi(word_scores, *rules)] for word_scores in stitch_scores(encoded, scores)]

    def fallback_scheme(self, label_list: list[str], tag_report: dict) -> str:
        """For a model that stored no scheme: given, else detected from the data, else from the labels."""
        if self.data_args.tag_scheme:
            return self.data_args.tag_scheme
        if tag_report.get("tagged"):
            return tag_report["scheme"]
        return "IOBES" if any(label[:2] in ("E-", "S-", "M-") for label in label_list) else "IOB2"

    def write_predictions(self, split: str, records: TokenFile, outputs: list[list[str]], output_dir: str,
                          append: bool = False, suffix: str = "") -> list[str]:
        """predictions.txt (`<split>_predictions.txt` but for test) and, with --output_format spans,
        `predictions_spans.json`; each file name + `suffix`, `append`ed to for a split written piece by piece."""
        file_name = "predictions.txt" if split == "test" else f"{split}_predictions.txt"
        paths = [write_tagged_predictions(records, outputs, os.path.join(output_dir, file_name + suffix), append)]
        if self.data_args.output_format == "spans":
            spans_name = "predictions_spans.json" if split == "test" else f"{split}_predictions_spans.json"
            paths.append(write_span_predictions(records, outputs, os.path.join(output_dir, spans_name + suffix),
                                                append))
        return paths

    def write_outputs(self, split: str, records: TokenFile, outputs: list[list[str]], label_list: list[str],
                      output_dir: str, timing: dict, notes: list[str], head: NerHead, tag_report: dict,
                      bootstrap: Bootstrap) -> dict:
        self.write_predictions(split, records, outputs, output_dir)
        if records.sentences[0].tags is None:
            return {}
        strict_scheme = self.strict_scheme(tag_report)
        metrics = score(records.sentences, outputs, strict_scheme, bootstrap)
        metrics.update(entity_error_scores(*scoring_tags(records.sentences, outputs), strict_scheme))
        illegal = count_illegal(outputs, head.scheme)
        metrics["decoding"] = head.decoding
        if strict_scheme:
            metrics["strict_scheme"] = strict_scheme  # how compare and report.html score these predictions again
        metrics["predictions_layout"] = tagged_predictions_layout(records)  # and how they read predictions.txt
        metrics["illegal_predicted_transitions"] = illegal.illegal
        metrics["sentences_with_illegal_predictions"] = illegal.sentences_with_illegal
        shown = {"f1": "micro F1", "macro_f1": "macro F1", **{f"{t}_f1": f"{t} F1" for t in entity_types(metrics)}}
        metrics["report_text"] += (f"\n{illegal.illegal} illegal tag transitions in the predictions ({illegal.scheme}, "
                                   f"decoding: {head.decoding}), in {illegal.sentences_with_illegal} "
                                   "sentences.\n") + "".join(f"{note}\n" for note in [*interval_note(metrics, shown),
                                                                                      *notes])
        metrics["report_text"] += metrics.pop("partial_match_text")
        metrics["samples"] = len(records)
        metrics["tokens"] = sum(len(t) for t in outputs)
        metrics["runtime"] = timing.get("test_runtime")
        metrics["decode_runtime"] = timing.get("decode_runtime")
        metrics["sentences_per_second"] = len(records) / metrics["runtime"] if metrics["runtime"] else None
        write_entity_report(metrics, output_dir, split)
        return metrics

    def headline_scores(self, records: TokenFile, outputs: list[list[str]], label_list: list[str], head: NerHead,
                        tag_report: dict) -> dict:
        metrics = score(records.sentences, outputs, self.strict_scheme(tag_report))
        return {name: metrics[name] for name in ("precision", "recall", "f1", "macro_f1")}

    def data_report(self, coverage, encoded: dict[str, Windows], tag_report: dict) -> dict:
        return {"tags": tag_report, "vocabulary": coverage.as_dict() if coverage else None,
                "windowed_sentences": {n: w.windowed_sentences for n, w in encoded.items()},
                "zero_token_tokens": {n: w.zero_token_words for n, w in encoded.items()}}

    def card_sections(self, results: dict[str, dict]) -> list[str]:
        return [f"Entity level ({split}, full-length sentences, seqeval):\n\n```\n{m['report_text']}```"
                for split, m in results.items() if "report_text" in m]


def check_tags(splits: dict[str, TokenFile], given_scheme: str | None, fix: bool) -> dict:
    """Detect the scheme (from train when there is one), count illegal transitions per split and, with `fix`,
    repair those of the training split only: validation and test gold is scored as given. Returns the tag report;
    `training_scheme` is the scheme the model learns (IOB1 repaired becomes IOB2)."""
    tagged = {name: token_file for name, token_file in splits.items()  # untagged input: tagged by the model only
              if not any(s.tags is None for s in token_file.sentences)}
    reference = tagged.get("train") or next(iter(tagged.values()), None)
    scheme = given_scheme or (detect_scheme([s.tags for s in reference.sentences]) if reference else "IOB2")
    repairs = fix and "train" in splits
    report = {"scheme": scheme, "fixed": repairs, "illegal": {}, "tagged": reference is not None,
              "training_scheme": "IOB2" if repairs and scheme == "IOB1" else scheme}
    for name, token_file in tagged.items():
        counts = count_illegal([s.tags for s in token_file.sentences], scheme)
        report["illegal"][name] = {"tags": counts.illegal, "sentences": counts.sentences_with_illegal}
        repaired = fix and name == "train"
        if counts.illegal:
            logger.warning("%s (%s): %d illegal tag transitions (a continuation after O or another type) in %d "
                           "sentences: %s.", name, token_file.path, counts.illegal, counts.sentences_with_illegal,
                           "repaired for training (--fix_tags)" if repaired else
                           "scored as given (seqeval's default chunking)" if name != "train" else
                           "trained on as given; --fix_tags repairs them")
        if repaired:
            for sentence in token_file.sentences:
                sentence.tags = repair(sentence.tags, scheme)
    logger.info("Tag scheme: %s. Sentences: %s.", scheme, {k: len(v) for k, v in splits.items()})
    return report


class TagIds(Sequence):
    """Label ids per token of each sentence, made when asked for (held at once for millions of sentences, they took
    gigabytes); a tag unseen in training gets -100 (ignored by the loss)."""

    def __init__(self, sentences: list[TaggedSentence], label_to_id: dict[str, int]):
        self.sentences, self.label_to_id = sentences, label_to_id

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, index: int) -> list[int]:
        return [self.label_to_id.get(tag, IGNORE) for tag in self.sentences[index].tags]


def tag_ids(sentences: list[TaggedSentence], label_to_id: dict[str, int]) -> TagIds | None:
    """Label ids per token (None for untagged sentences)."""
    if any(s.tags is None for s in sentences):
        return None
    return TagIds(sentences, label_to_id)


def predicted_tags(windows: Windows, predicted_ids: np.ndarray, label_list: list[str]) -> list[list[str]]:
    """Tag names per word of every sentence, stitched from the windows' predicted ids."""
    return [[label_list[i] for i in ids] for ids in stitch_predictions(windows, predicted_ids)]


def score(sentences: list[TaggedSentence], predictions: list[list[str]], strict_scheme: str | None,
          bootstrap: Bootstrap | None = None) -> dict:
    """Entity-level metrics on full-length sentences (BMES `M-` counted as `I-`), with confidence intervals when a
    `bootstrap` is given."""
    return entity_scores(*scoring_tags(sentences, predictions), strict_scheme, bootstrap)


def scoring_tags(sentences: list[TaggedSentence], predictions: list[list[str]]) -> tuple[list, list]:
    """Gold and predicted tags as scored (BMES `M-` counted as `I-`)."""
    return ([[to_scoring_tag(t) for t in s.tags] for s in sentences],
            [[to_scoring_tag(t) for t in p] for p in predictions])


def entity_types(metrics: dict) -> list[str]:
    """The entity types of an entity report (its per-type rows)."""
    return [name for name in metrics.get("per_type", {}) if not name.endswith(" avg")]
