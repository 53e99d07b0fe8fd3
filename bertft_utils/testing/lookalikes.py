"""Look-alikes of real Hub checkpoints, laid out in a Hugging Face cache so their real names resolve offline.

Each look-alike copies its checkpoint's packaging (which files, which config keys, which tokenizer quirk) with a
vocabulary drawn from texts we have and random weights: tiny (a few layers of 32 units) for tests and smoke runs,
or full-size (the real config) to time training steps. With `HF_HUB_OFFLINE=1` and `HF_HOME` pointing at the cache,
`from_pretrained("voidful/albert_chinese_tiny")` loads the look-alike exactly as it would load the download.

    python -m bertft_utils.testing.lookalikes --hf-home /tmp/hf --texts data/msra_ner_*_sample.txt \
        data/sarcasm_headlines_sample.jsonl data/taipei_qa_sample.txt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The data/ samples the look-alikes' vocabularies are drawn from in tests and smoke runs (samples added later do not
# change them).
VOCABULARY_SAMPLES = ("msra_ner_test_sample.txt", "msra_ner_train_sample.txt", "sarcasm_headlines_sample.jsonl",
                      "taipei_qa_sample.txt")
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 48,
        "max_position_embeddings": 128}
BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
             "max_position_embeddings": 512}


@dataclass
class Packaging:
    """How one Hub checkpoint is stored: architecture, real size, tokenizer files and their quirks."""

    model_type: str  # the config's model_type
    real_config: dict  # the real checkpoint's size (used for full-size look-alikes)
    vocabulary: str  # "chinese" (WordPiece chars), "english" (WordPiece words), "bpe" or "sentencepiece"
    weights: str = "model.safetensors"  # or "pytorch_model.bin"
    tokenizer_config: dict | None = None  # written as is (None: no tokenizer_config.json)
    config_extra: dict = field(default_factory=dict)
    extra_files: dict = field(default_factory=dict)  # name -> JSON content
    save_tokenizer: bool = False  # tokenizer files written by save_pretrained (tokenizer.json, ...)
    weights_prefix: str = ""  # key prefix in the weights file ("bert." for BERT-trained checkpoints)
    weights_model_type: str | None = None  # architecture that wrote the weights, if not model_type


ALBERT_TINY = {"embedding_size": 128, "hidden_size": 312, "num_hidden_layers": 4, "num_attention_heads": 12,
               "intermediate_size": 1248, "max_position_embeddings": 512}
ALBERT_BASE = {"embedding_size": 128, **BERT_BASE}
CHINESE_VOCAB = {"vocab_size": 21128}

CHECKPOINTS: dict[str, Packaging] = {
    # BERT, the reference packaging: vocab.txt + tokenizer_config.json + tokenizer.json.
    "google-bert/bert-base-chinese": Packaging("bert", {**BERT_BASE, **CHINESE_VOCAB}, "chinese", save_tokenizer=True),
    "google-bert/bert-base-uncased": Packaging("bert", {**BERT_BASE, "vocab_size": 30522}, "english",
                                               save_tokenizer=True),
    # (a) ALBERT with vocab.txt only: no spiece.model, no tokenizer class anywhere.
    "clue/albert_chinese_tiny": Packaging("albert", {**ALBERT_TINY, **CHINESE_VOCAB}, "chinese",
                                          weights="pytorch_model.bin"),
    # (b) ALBERT + vocab.txt + tokenizer_config.json naming BertTokenizer ...
    "voidful/albert_chinese_tiny": Packaging("albert", {**ALBERT_TINY, **CHINESE_VOCAB}, "chinese",
                                             weights="pytorch_model.bin",
                                             tokenizer_config={"tokenizer_class": "BertTokenizer"}),
    "voidful/albert_chinese_base": Packaging("albert", {**ALBERT_BASE, **CHINESE_VOCAB}, "chinese",
                                             weights="pytorch_model.bin",
                                             tokenizer_config={"tokenizer_class": "BertTokenizer"}),
    # ... or config.json naming BertTokenizerFast.
    "ckiplab/albert-tiny-chinese": Packaging("albert", {**ALBERT_TINY, **CHINESE_VOCAB}, "chinese",
                                             weights="pytorch_model.bin",
                                             config_extra={"tokenizer_class": "BertTokenizerFast"}),
    # (c) "RoBERTa" packaged as BERT, tokenizer_config.json = {"init_inputs": []}.
    "hfl/chinese-roberta-wwm-ext": Packaging("bert", {**BERT_BASE, **CHINESE_VOCAB}, "chinese",
                                             weights="pytorch_model.bin", tokenizer_config={"init_inputs": []},
                                             extra_files={"added_tokens.json": {}, "special_tokens_map.json": {
                                                 "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                                 "cls_token": "[CLS]", "mask_token": "[MASK]"}}),
    "hfl/rbt3": Packaging("bert", {**BERT_BASE, "num_hidden_layers": 3, **CHINESE_VOCAB}, "chinese",
                          weights="pytorch_model.bin", tokenizer_config={"init_inputs": []},
                          extra_files={"added_tokens.json": {}, "special_tokens_map.json": {
                              "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                              "cls_token": "[CLS]", "mask_token": "[MASK]"}}),
    # (d) model_type roberta with only vocab.txt, weights written by BERT (its authors load it with BertModel).
    "clue/roberta_chinese_base": Packaging("roberta", {**BERT_BASE, **CHINESE_VOCAB}, "chinese",
                                           weights="pytorch_model.bin", weights_prefix="bert.",
                                           weights_model_type="bert"),
    # (e) byte-level BPE RoBERTa: 514 positions, vocab.json + merges.txt + tokenizer.json.
    "FacebookAI/roberta-base": Packaging("roberta", {**BERT_BASE, "max_position_embeddings": 514, "vocab_size": 50265,
                                                     "type_vocab_size": 1}, "bpe", save_tokenizer=True),
    # (f) SentencePiece ALBERT: spiece.model + tokenizer.json.
    "albert/albert-base-v2": Packaging("albert", {**ALBERT_BASE, "vocab_size": 30000}, "sentencepiece",
                                       save_tokenizer=True),
}


def _vocabulary_texts(text_files: list[Path]) -> list[str]:
    texts = ["hello world", "北京 上海 中国 臺北市", "the quick brown fox jumps over the lazy dog"]
    for path in text_files:
        texts.extend(Path(path).read_text(encoding="utf-8").splitlines()[:5000])
    return texts


def _wordpiece(texts: list[str], chinese: bool, size: int | None) -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = Counter(w for t in texts for w in re.findall(r"[a-z]+", t.lower()))
    chars = sorted({c for t in texts for c in t if ("\u4e00" <= c <= "\u9fff") or c.isalnum()})
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    common = [w for w, _ in words.most_common(2000 if not chinese else 300) if len(w) > 1]
    vocab = list(dict.fromkeys(special + list("abcdefghijklmnopqrstuvwxyz0123456789") + pieces
                               + (chars + common if chinese else common + chars)))
    if size:  # full-size look-alike: as many entries as the real vocabulary
        vocab = vocab[:size] + [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def train_byte_level_bpe(texts: list[str], folder: Path, vocab_size: int = 1200):
    """A RoBERTa-style byte-level BPE tokenizer trained on `texts` (vocab.json and merges.txt written to folder)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split()) for line in (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    return RobertaTokenizer(vocab=vocab, merges=merges)


def _tokenizer(packaging: Packaging, texts: list[str], folder: Path, full_size: bool):
    """Write the vocabulary files into `folder`; returns a tokenizer object to save (or None) and its size."""
    from transformers import AlbertTokenizer, BertTokenizer

    if packaging.vocabulary in ("chinese", "english"):
        vocab = _wordpiece(texts, packaging.vocabulary == "chinese",
                           packaging.real_config["vocab_size"] if full_size else None)
        (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        return BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=packaging.vocabulary == "english")
    if packaging.vocabulary == "bpe":
        return train_byte_level_bpe(texts, folder)
    import sentencepiece

    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in texts if t.strip() and t.isascii()]), model_prefix=str(folder / "spiece"),
        vocab_size=1000, model_type="unigram", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"], minloglevel=2)
    (folder / "spiece.vocab").unlink()
    return AlbertTokenizer.from_pretrained(str(folder))  # converted from spiece.model (needs sentencepiece)


def build_checkpoint(name: str, folder: Path, texts: list[str], full_size: bool = False, seed: int = 0) -> Path:
    """Write the look-alike of Hub checkpoint `name` into `folder` (its files only, no cache layout)."""
    import torch
    from transformers import AutoConfig, AutoModel

    packaging = CHECKPOINTS[name]
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed + sum(map(ord, name)))  # the same weights on every run: tests must not be luck
    tokenizer = _tokenizer(packaging, texts, folder, full_size)
    size = dict(packaging.real_config) if full_size else {
        **TINY, **({"embedding_size": 16} if packaging.model_type == "albert" else {})}
    if packaging.model_type == "roberta":
        size["max_position_embeddings"] = (packaging.real_config["max_position_embeddings"] if full_size
                                           else TINY["max_position_embeddings"] + 2)
        size["type_vocab_size"] = packaging.real_config.get("type_vocab_size", 2)
    size["vocab_size"] = packaging.real_config["vocab_size"] if full_size else len(tokenizer)
    if packaging.vocabulary == "bpe" and full_size:
        size["vocab_size"] = len(tokenizer)  # a trained BPE of 50k merges is not needed to time steps
    ids = {"pad_token_id": tokenizer.pad_token_id}
    if packaging.model_type == "roberta":
        ids.update(bos_token_id=tokenizer.bos_token_id or 0, eos_token_id=tokenizer.eos_token_id or 2)
    config = AutoConfig.for_model(packaging.weights_model_type or packaging.model_type, **size, **ids)
    model = AutoModel.from_config(config)
    state = {packaging.weights_prefix + key: value.contiguous() for key, value in model.state_dict().items()}
    if packaging.weights == "pytorch_model.bin":
        torch.save(state, folder / "pytorch_model.bin")
    else:
        from safetensors.torch import save_file

        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config_dict = AutoConfig.for_model(packaging.model_type, **size, **ids).to_dict()
    for key in ("transformers_version", "dtype", "torch_dtype"):
        config_dict.pop(key, None)
    if not packaging.weights_model_type:
        config_dict["architectures"] = [type(model).__name__]
    config_dict.update(packaging.config_extra)
    (folder / "config.json").write_text(json.dumps(config_dict, indent=2, sort_keys=True), encoding="utf-8")
    if packaging.save_tokenizer:
        tokenizer.model_max_length = size["max_position_embeddings"] - (2 if packaging.model_type == "roberta" else 0)
        tokenizer.save_pretrained(str(folder))
    for file_name in ("vocab.json", "merges.txt") if not packaging.save_tokenizer else ():
        (folder / file_name).unlink(missing_ok=True)
    if packaging.tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(packaging.tokenizer_config), encoding="utf-8")
    for file_name, content in packaging.extra_files.items():
        (folder / file_name).write_text(json.dumps(content), encoding="utf-8")
    return folder


def build_cache(hf_home: Path, text_files: list[Path], names: list[str] | None = None,
                full_size: bool = False) -> dict[str, Path]:
    """Build look-alikes into `hf_home/hub` as the Hub client lays out a download; returns name -> snapshot."""
    texts = _vocabulary_texts(text_files)
    snapshots = {}
    for name in names or list(CHECKPOINTS):
        commit = hashlib.sha1(f"bertft-lookalike:{name}:{full_size}".encode()).hexdigest()
        repo = Path(hf_home) / "hub" / f"models--{name.replace('/', '--')}"
        snapshot = repo / "snapshots" / commit
        if snapshot.exists():
            shutil.rmtree(snapshot)
        build_checkpoint(name, snapshot, texts, full_size)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(commit, encoding="utf-8")
        snapshots[name] = snapshot
    return snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf-home", required=True, type=Path, help="Cache root; use it as HF_HOME.")
    parser.add_argument("--texts", nargs="+", type=Path, default=[], help="Files whose characters/words make the "
                        "vocabularies (e.g. the bundled data samples).")
    parser.add_argument("--names", nargs="+", choices=list(CHECKPOINTS), help="Which checkpoints (default: all).")
    parser.add_argument("--full-size", action="store_true", help="The real configs (to time steps), not tiny ones.")
    args = parser.parse_args()
    for name, snapshot in build_cache(args.hf_home, args.texts, args.names, args.full_size).items():
        print(f"{name}\t{snapshot}")


if __name__ == "__main__":
    main()
