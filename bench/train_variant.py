#!/usr/bin/env python
"""One run_classify.py training run (2,000 headlines, 1 epoch, batch 32, fp32 or bf16) with one change applied, for
bench/train_throughput.py. Changes without a command-line flag are applied by patching the library for this process
only: this harness measures candidates; it is not how bertft runs.

    python bench/train_variant.py VARIANT OUTPUT_DIR [--profile PROFILE_JSON]
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
COMMON = ["--model_name_or_path", "embedded", "--train_file", str(REPO / "data" / "sarcasm_headlines_sample.jsonl"),
          "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--validation_split_percentage",
          "0", "--test_split_percentage", "0", "--max_train_samples", "2000", "--do_train", "--num_train_epochs", "1",
          "--per_device_train_batch_size", "32", "--save_strategy", "no", "--logging_strategy", "no",
          "--disable_tqdm", "true", "--seed", "42"]
# The precision every variant trains in (bench/train_throughput.py --precision): fp32 or bf16, forced either way.
PRECISION = os.environ.get("BERTFT_VARIANT_PRECISION", "fp32")
COMMON.append("--bf16" if PRECISION == "bf16" else "--no_auto_bf16")
# variant -> (flags, what it changes)
VARIANTS = {
    "baseline": ([], "bertft defaults (sdpa attention, fused AdamW, gradient clipping at 1.0, dropout 0.1, all cores; "
                     "since 2026-12-01 freed memory kept for reuse)"),
    "malloc_as_is": (["--keep_freed_memory", "false"], "`--keep_freed_memory false`: glibc's malloc as it is (fresh "
                                                        "mmap'd pages for every large tensor, heap trimmed)"),
    "torch_dropout_masks": (["--dropout_masks", "torch"], "`--dropout_masks torch`: torch's dropout masks (on CPUs "
                                                            "other than Intel's one random number per element, drawn "
                                                            "in one thread)"),
    "dense_embedding_gradient": ([], "torch's dense word-embedding gradient, a new zeroed vocabulary x hidden matrix "
                                     "every step, instead of one kept buffer with only the touched rows zeroed"),
    "one_thread": ([], "torch.set_num_threads(1) instead of one per core"),
    "no_grad_clipping": (["--max_grad_norm", "0"], "`--max_grad_norm 0`: no gradient-norm clipping"),
    "adamw_foreach": (["--optim", "adamw_torch"], "`--optim adamw_torch` (foreach AdamW) instead of the fused one"),
    "pad_to_multiple_of_8": ([], "DataCollatorWithPadding(pad_to_multiple_of=8)"),
    "eager_attention": ([], "attn_implementation='eager' instead of sdpa"),
    "no_dropout": ([], "hidden, attention and classifier dropout 0 (changes what is trained)"),
    "rand_dropout": (["--dropout_masks", "torch"],
                     "dropout mask from torch.rand_like(x) >= p instead of bernoulli_ (same distribution)"),
    "torch_compile": (["--torch_compile", "true"], "`--torch_compile true` (inductor, dynamic lengths)"),
}


def apply(variant: str) -> None:
    """Patch the library for the changes that have no flag."""
    import transformers

    import bertft_utils.modeling.loading as modeling
    import bertft_utils.tasks.flow as task_flow

    if variant == "dense_embedding_gradient":
        import contextlib

        import bertft_utils.training.trainer as trainer_module

        trainer_module.kept_embedding_gradient = lambda model: contextlib.nullcontext(False)
    elif variant == "one_thread":
        torch.set_num_threads(1)
    elif variant == "pad_to_multiple_of_8":
        original_init = transformers.DataCollatorWithPadding.__init__

        def init(self, *args, **kwargs):
            original_init(self, *args, **{**kwargs, "pad_to_multiple_of": 8})

        transformers.DataCollatorWithPadding.__init__ = init
    elif variant in ("eager_attention", "no_dropout"):
        original_config = modeling.load_config

        def load_config(*args, **kwargs):
            config = original_config(*args, **kwargs)
            if variant == "eager_attention":
                config._attn_implementation = "eager"
            else:
                config.hidden_dropout_prob = config.attention_probs_dropout_prob = config.classifier_dropout = 0.0
            return config

        task_flow.load_config = load_config
    elif variant == "rand_dropout":
        functional = torch.nn.functional
        original_dropout = functional.dropout

        def dropout(x, p=0.5, training=True, inplace=False):
            if not training or p == 0:
                return original_dropout(x, p, training, inplace)
            return x * (torch.rand_like(x) >= p) * (1.0 / (1.0 - p))

        functional.dropout = dropout


def profile_train(path: Path) -> None:
    """Wrap Trainer.train in torch.profiler; write the operators' self CPU time to `path`."""
    import transformers
    from torch.profiler import ProfilerActivity, profile

    original_train = transformers.Trainer.train

    def train(self, *args, **kwargs):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            result = original_train(self, *args, **kwargs)
        ops = [{"name": e.key, "self_s": e.self_cpu_time_total / 1e6, "total_s": e.cpu_time_total / 1e6,
                "calls": e.count} for e in prof.key_averages()]
        ops.sort(key=lambda op: -op["self_s"])
        keep = ops[:40] + [op for op in ops[40:] if op["name"] == "aten::embedding_dense_backward"]
        path.write_text(json.dumps(keep, indent=1))
        return result

    transformers.Trainer.train = train


def main() -> None:
    variant, output_dir = sys.argv[1], sys.argv[2]
    flags, _ = VARIANTS[variant]
    apply(variant)
    if "--profile" in sys.argv:
        profile_train(Path(sys.argv[sys.argv.index("--profile") + 1]))
    sys.argv = ["run_classify.py", *COMMON, *flags, "--output_dir", output_dir]
    sys.path.insert(0, str(REPO))
    runpy.run_path(str(REPO / "run_classify.py"), run_name="__main__")


if __name__ == "__main__":
    main()
