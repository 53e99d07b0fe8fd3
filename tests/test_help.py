"""The first thing a newcomer types: `--help` of every script works, and our help texts quote no measured figure."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys

import pytest
from conftest import REPO, run_script
from transformers import TrainingArguments

SCRIPTS = ("run_classify.py", "run_ner.py", "run_qa_label.py")
# A measured figure: a percentage or an "N x faster/slower" ratio or a score gain. Settings (a default of 10.0,
# "100 x --learning_rate") are not figures; results files are where figures live.
MEASURED = re.compile(r"\d\s*%|\d(?:\.\d+)?x (?:faster|slower)|[+-]\d+(?:\.\d+)? (?:\w+ )?(?:F1|points)")


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_works(script):
    process = run_script(script, "--help", check=False, timeout=120)
    assert process.returncode == 0, process.stderr[-2000:]
    assert "--train_file" in process.stdout and "--output_dir" in process.stdout


def _our_help_texts(script: str) -> dict[str, str]:
    """Help of every argument field a script defines (transformers' own TrainingArguments fields excluded)."""
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), REPO / script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    inherited = {f.name: f for f in dataclasses.fields(TrainingArguments)}
    texts = {}
    for value in vars(module).values():
        if dataclasses.is_dataclass(value) and isinstance(value, type):
            for item in dataclasses.fields(value):
                if item.name in inherited and item.metadata == inherited[item.name].metadata:
                    continue
                texts[f"{value.__name__}.{item.name}"] = item.metadata.get("help", "")
    return texts


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_texts_quote_no_measured_figure(script):
    texts = _our_help_texts(script)
    assert "BertftTrainingArguments.keep_freed_memory" in texts and len(texts) > 30
    quoted = {name: MEASURED.findall(text) for name, text in texts.items() if MEASURED.search(text)}
    assert not quoted
