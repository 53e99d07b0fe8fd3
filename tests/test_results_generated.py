"""Every results/*.md is generated: `bench/<name>.py --report` rewrites it byte for byte from the committed JSON."""

import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

REPORTS = [  # (script, BERTFT_BENCH_SUFFIX, files it writes)
    ("classify_speed.py", "", ["classify_speed.md"]),
    ("ner_speed.py", "", ["ner_speed.md"]),
    ("ner_predict_ceiling.py", "", ["ner_predict_ceiling.md"]),
    ("msra_quality.py", "", ["msra.md"]),
    ("msra_quality.py", "_gpu", ["msra_gpu.md"]),
    ("sarcasm_quality.py", "", ["sarcasm.md"]),
    ("sarcasm_quality.py", "_gpu", ["sarcasm_gpu.md"]),
    ("taipei_qa.py", "", ["taipei_qa.md"]),
    ("taipei_qa.py", "_gpu", ["taipei_qa_gpu.md"]),
    ("mlm_warmup_probe.py", "_gpu", ["mlm_warmup_probe_gpu.md"]),
    ("reliability.py", "", ["reliability.md"]),
    ("reproduction_cost.py", "", ["reproduction_cost.md"]),
    ("reproduction_smoke.py", "", ["reproduction_smoke/REPORT.md", "reproduction_smoke/ner.png"]),
    ("mutation.py", "", ["mutation.md"]),
    ("significance.py", "", ["significance.md"]),
    ("task_types.py", "", ["task_types.md"]),
    ("report_pages.py", "", ["report_pages.md"]),
    ("scale.py", "", ["scale.md"]),
    ("scale_ner.py", "", ["scale_ner.md"]),
    ("classify_predict.py", "", ["classify_predict.md"]),
    ("ner_memory.py", "", ["ner_memory.md"]),
    ("ner_onnx.py", "", ["ner_onnx.md"]),
    ("ner_decoding.py", "", ["ner_decoding.md"]),
    ("train_throughput.py", "", ["train_throughput.md"]),
    ("train_throughput.py", "", ["train_throughput_bf16.md"]),
    ("train_throughput.py", "", ["train_throughput_bf16_paired.md"]),
    ("dropout_masks.py", "", ["dropout_masks.md"]),
    ("ner_crf.py", "", ["ner_crf.md"]),
    ("sarcasm_search.py", "", ["sarcasm_search.md"]),
    ("ci_cost.py", "", ["ci_cost.md"]),
    ("calibration.py", "", ["calibration.md"]),
]


# reports of one script run another way
ARGUMENTS = {"train_throughput_bf16.md": ["--precision", "bf16"],
             "train_throughput_bf16_paired.md": ["--precision", "bf16", "--paired",
                                                 "torch_dropout_masks,dense_embedding_gradient"]}


@pytest.fixture(scope="module")
def copy_of_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    for folder in ("bench", "results", "scripts"):
        shutil.copytree(REPO / folder, root / folder)
    return root


@pytest.mark.parametrize(("script", "suffix", "files"), REPORTS, ids=[f"{s}{x}:{f[0]}" for s, x, f in REPORTS])
def test_report_is_regenerated_byte_for_byte(copy_of_repo, script, suffix, files):
    for name in files:
        (copy_of_repo / "results" / name).unlink()
    env = {**os.environ, "BERTFT_BENCH_SUFFIX": suffix, "HF_HUB_OFFLINE": "1"}
    extra = [arg for name in files for arg in ARGUMENTS.get(name, [])]
    subprocess.run([sys.executable, str(copy_of_repo / "bench" / script), "--report", *extra], cwd=copy_of_repo,
                   env=env, check=True, capture_output=True, timeout=120)
    for name in files:
        assert (copy_of_repo / "results" / name).read_bytes() == (REPO / "results" / name).read_bytes(), name


def test_every_results_markdown_has_a_generator():
    covered = {name for _, _, files in REPORTS for name in files}
    found = {str(p.relative_to(REPO / "results")) for p in (REPO / "results").rglob("*.md")}
    assert found <= covered, found - covered
