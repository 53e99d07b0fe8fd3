"""Fixtures: tiny random-initialised BERT, ALBERT and RoBERTa checkpoints built and saved locally."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# precision decisions of test runs go to a throw-away folder, not the user's ~/.cache/bertft
import tempfile  # noqa: E402

os.environ["BERTFT_CACHE"] = tempfile.mkdtemp(prefix="bertft-test-cache-")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
ARCHITECTURES = ("bert", "albert", "roberta")
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 48,
         "max_position_embeddings": 128}


def _corpus() -> list[str]:
    """Texts of the bundled samples (English words and CJK characters) plus a few fixed sentences."""
    texts = ["hello world", "北京 上海 中国 臺北市", "the quick brown fox jumps over the lazy dog"]
    from bertft_utils.testing.lookalikes import VOCABULARY_SAMPLES

    for name in VOCABULARY_SAMPLES:
        texts.extend((DATA / name).read_text(encoding="utf-8").splitlines()[:3000])
    return texts


def _wordpiece_vocab(texts: list[str]) -> list[str]:
    words = Counter(w for t in texts for w in re.findall(r"[a-z]+", t.lower()))
    chars = sorted({c for t in texts for c in t if "\u4e00" <= c <= "\u9fff" or c.isalnum()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    vocab += [w for w, _ in words.most_common(400) if len(w) > 1]
    return list(dict.fromkeys(vocab + chars))


def _build(kind: str, folder: Path) -> Path:
    import torch
    from transformers import AlbertConfig, AutoModel, BertConfig, BertTokenizer, RobertaConfig

    from bertft_utils.testing.lookalikes import train_byte_level_bpe

    torch.manual_seed(sum(map(ord, kind)))  # the same tiny weights on every run: learning tests must not be luck
    folder.mkdir(parents=True, exist_ok=True)
    texts = _corpus()
    if kind == "roberta":
        tokenizer = train_byte_level_bpe(texts, folder)
        config = RobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                               bos_token_id=0, eos_token_id=2, type_vocab_size=1, **{
                                   **SMALL, "max_position_embeddings": SMALL["max_position_embeddings"] + 2})
    else:
        vocab_file = folder / "vocab.txt"
        vocab_file.write_text("\n".join(_wordpiece_vocab(texts)) + "\n", encoding="utf-8")
        tokenizer = BertTokenizer(vocab=str(vocab_file))
        if kind == "bert":
            config = BertConfig(vocab_size=len(tokenizer), pad_token_id=0, **SMALL)
        else:
            config = AlbertConfig(vocab_size=len(tokenizer), embedding_size=16, pad_token_id=0,
                                  bos_token_id=2, eos_token_id=3, **SMALL)
    model = AutoModel.from_config(config)
    model.save_pretrained(str(folder))
    if kind != "albert":
        # Chinese ALBERT checkpoints ship vocab.txt only (no tokenizer files, no spiece.model): keep it that way.
        tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory) -> Path:
    """HF_HOME holding tiny look-alikes of the real Hub checkpoints, under their real names (HF_HUB_OFFLINE=1).

    Subprocesses use it as HF_HOME; in-process loads pass `cache_dir=hub_cache / "hub"`."""
    from bertft_utils.testing.lookalikes import VOCABULARY_SAMPLES, build_cache

    home = tmp_path_factory.mktemp("hf_home")
    build_cache(home, [DATA / name for name in VOCABULARY_SAMPLES])
    return home


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_models")
    return {kind: _build(kind, root / kind) for kind in ARCHITECTURES}


def free_port() -> int:
    """A TCP port nobody listens on now (for `accelerate launch --main_process_port`: tests run in parallel)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(script: str, *args: str, launcher: list[str] | None = None, timeout: int = 300,
               check: bool = True) -> subprocess.CompletedProcess:
    """Run one of our scripts in a subprocess, as a user would; returns the finished process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    command = [*(launcher or [sys.executable]), str(REPO / script), *args]
    process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if check and process.returncode != 0:
        raise AssertionError(f"{script} failed ({process.returncode}):\n{process.stdout[-4000:]}\n"
                             f"{process.stderr[-6000:]}")
    return process


def report_items(out: Path) -> list[dict]:
    """The items report.html shows (its embedded data block), as the page's script reads them."""
    import json

    html = (out / "report.html").read_text(encoding="utf-8")
    start = html.index('<script id="data" type="application/json">') + len('<script id="data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])["items"]
