"""Logging as in the Hugging Face examples: info on the main process, warnings elsewhere."""

from __future__ import annotations

import logging
import sys

import datasets
import transformers
from transformers import TrainingArguments

logger = logging.getLogger(__name__)


def setup_logging(training_args: TrainingArguments) -> None:
    """Library logging as in the Hugging Face examples: info on the main process, warnings elsewhere."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    level = training_args.get_process_log_level()
    ours = logging.INFO if training_args.should_log else logging.WARNING
    logging.getLogger("bertft_utils").setLevel(ours)
    logging.getLogger("__main__").setLevel(ours)
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    logger.warning(
        "Process rank %s, device %s, n_gpu %s, distributed %s, bf16 %s",
        training_args.process_index, training_args.device, training_args.n_gpu,
        training_args.parallel_mode.value == "distributed", training_args.bf16,
    )
