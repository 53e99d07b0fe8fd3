"""The model card (README.md) of a fine-tuned model: Hub metadata with a filled `model-index`, and every section a
reader needs (what it is, results, labels, usage with the real repo id, data, training settings, versions).

We write our own instead of Trainer's draft card: that one leaves "More information needed" sections, an empty
`results: []` for metrics computed outside `Trainer.evaluate`, and a placeholder usage.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from huggingface_hub import EvalResult, ModelCardData

TASK_DESCRIPTIONS = {
    "token-classification": "named-entity recognition (token classification)",
    "text-classification": "text classification",
}
# metric key -> (model-index metric type, readable name), in the order they are listed
CARD_METRICS = {
    "f1": ("f1", "F1"), "precision": ("precision", "Precision"), "recall": ("recall", "Recall"),
    "accuracy": ("accuracy", "Accuracy"), "macro_f1": ("f1", "Macro F1"),
    "top3_accuracy": ("accuracy", "Top-3 accuracy"), "top5_accuracy": ("accuracy", "Top-5 accuracy"),
    "pearson": ("pearsonr", "Pearson"), "spearman": ("spearmanr", "Spearman"), "mse": ("mse", "MSE"),
}


@dataclass
class ModelCardFacts:
    """What the run knows about the model it trained; `write_model_card` turns it into README.md."""

    base_model: str  # Hub name of the checkpoint fine-tuned from
    task: str  # pipeline tag: token-classification | text-classification
    dataset: str  # the data file(s) it was trained on
    labels: list[str]
    script: str  # run_ner.py, ...
    results: dict[str, dict] = field(default_factory=dict)  # split -> metrics (validation, test)
    split_sizes: dict[str, int] = field(default_factory=dict)
    input_note: str = ""  # how inputs must be prepared (stored template, regex cleaning)
    extra_sections: list[str] = field(default_factory=list)  # e.g. the per-type entity report
    language: str | None = None
    license: str | None = None
    example_input: str = "your text here"
    pair_input: bool = False  # the model classifies sentence pairs
    stratified_split: bool = True  # the split of one file is stratified by label (NER, multi-label, regression: not)


# What the usage snippet feeds the model when the user gives no --card_example: never a record of the data.
NEUTRAL_EXAMPLES = {("token-classification", "zh"): "李明在北京的一家公司工作。",
                    ("token-classification", None): "Ada Lovelace worked in London.",
                    ("text-classification", "zh"): "这是一个例子。",
                    ("text-classification", None): "This is an example sentence."}


def neutral_example(task: str, language: str | None) -> str:
    """A made-up input for the usage snippet, in the data's language (Chinese or else English)."""
    return NEUTRAL_EXAMPLES[(task, "zh" if language == "zh" else None)]


def _versions() -> str:
    found = []
    for name in ("bertft", "transformers", "torch", "datasets", "tokenizers"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def _metadata(facts: ModelCardFacts, model_name: str) -> ModelCardData:
    dataset_type = re.sub(r"[^a-z0-9]+", "_", os.path.splitext(facts.dataset)[0].lower()).strip("_") or "custom"
    eval_results = []
    for split, metrics in facts.results.items():
        for key, (metric_type, name) in CARD_METRICS.items():
            value = metrics.get(key)
            if isinstance(value, float):
                eval_results.append(EvalResult(
                    task_type=facts.task, task_name=TASK_DESCRIPTIONS.get(facts.task, facts.task),
                    dataset_type=dataset_type, dataset_name=facts.dataset, dataset_split=split,
                    metric_type=metric_type, metric_name=f"{name} ({split})", metric_value=round(value, 4)))
    return ModelCardData(
        language=facts.language, license=facts.license, library_name="transformers", base_model=facts.base_model,
        pipeline_tag=facts.task, tags=["bertft", facts.task, facts.script.removesuffix(".py")],
        model_name=model_name, eval_results=eval_results or None)


def _results_table(results: dict[str, dict]) -> str:
    keys = [k for k in CARD_METRICS if any(isinstance(m.get(k), float) for m in results.values())]
    rows = ["| split | " + " | ".join(CARD_METRICS[k][1] for k in keys) + " | examples |",
            "|---|" + "---:|" * (len(keys) + 1)]
    for split, metrics in results.items():
        cells = [_with_interval(metrics, k) if isinstance(metrics.get(k), float) else "–" for k in keys]
        rows.append(f"| {split} | " + " | ".join(cells) + f" | {metrics.get('samples', '–')} |")
    return "\n".join(rows)


def _with_interval(metrics: dict, key: str) -> str:
    """'0.9299 (95% CI 0.9201-0.9392)' when the metric has a confidence interval, else '0.9299'."""
    if f"{key}_ci_low" not in metrics:
        return f"{metrics[key]:.4f}"
    return f"{metrics[key]:.4f} (95% CI {metrics[key + '_ci_low']:.4f}-{metrics[key + '_ci_high']:.4f})"


def _usage(facts: ModelCardFacts, repo_id: str) -> str:
    if facts.task == "token-classification":
        call = (f'ner = pipeline("token-classification", model="{repo_id}", aggregation_strategy="simple")\n'
                f'print(ner("{facts.example_input}"))')
    else:
        given = (f'{{"text": "{facts.example_input}", "text_pair": "{facts.example_input}"}}' if facts.pair_input
                 else f'"{facts.example_input}"')
        call = (f'classifier = pipeline("text-classification", model="{repo_id}")\n'
                f'print(classifier({given}))')
    return f"```python\nfrom transformers import pipeline\n\n{call}\n```"


def render_model_card(facts: ModelCardFacts, repo_id: str, training_args) -> str:
    """The whole README.md text."""
    model_name = repo_id.rstrip("/").split("/")[-1]
    base_link = (f"[{facts.base_model}](https://huggingface.co/{facts.base_model})" if "/" in facts.base_model
                 and not os.path.isdir(facts.base_model) else f"`{facts.base_model}`")
    shown_labels = ", ".join(f"`{label}`" for label in facts.labels[:40])
    if len(facts.labels) > 40:
        shown_labels += f", ... ({len(facts.labels)} in all)"
    sizes = ", ".join(f"{split} {count:,}" for split, count in facts.split_sizes.items())
    precision = "bf16 mixed precision" if training_args.bf16 else ("fp16" if training_args.fp16 else "fp32")
    parts = [
        "---\n" + _metadata(facts, model_name).to_yaml() + "\n---",
        f"# {model_name}",
        f"{base_link} fine-tuned for {TASK_DESCRIPTIONS.get(facts.task, facts.task)} on `{facts.dataset}` with "
        f"[bertft](https://pypi.org/project/bertft/)'s `{facts.script}`.",
    ]
    if facts.results:
        computed = sorted({f"{m['compute_precision']} ({m.get('compute_precision_chosen_by', 'flags')})"
                           for m in facts.results.values() if m.get("compute_precision")})
        parts += ["## Results", _results_table(facts.results)
                  + (f"\n\nScores computed in {', '.join(computed)}." if computed else ""), *facts.extra_sections]
    parts += [
        "## Labels",
        f"{len(facts.labels)} labels, in `config.id2label` (so `pipeline` returns their names): {shown_labels}.",
        "## Usage",
        _usage(facts, repo_id) + (f"\n\n{facts.input_note}" if facts.input_note else ""),
        "## Training data",
        f"`{facts.dataset}`" + (f", records per split: {sizes}." if sizes else ".") + " The split's record ids are in "
        "`split_ids.json` when it was made from one file (seeded" + (" and stratified by label)." if
                                                                     facts.stratified_split else ").") ,
        "## Training procedure",
        f"- learning rate {training_args.learning_rate:g}, batch size {training_args.per_device_train_batch_size} "
        f"per device, {_length(training_args)}, seed {training_args.seed}\n"
        f"- optimizer {training_args.optim}, weight decay {training_args.weight_decay:g}, "
        f"scheduler {training_args.lr_scheduler_type}, warm-up {training_args.warmup_steps:g}\n"
        f"- {precision}",
        "## Framework versions",
        _versions(),
    ]
    return "\n\n".join(parts) + "\n"


def _length(training_args) -> str:
    """How long it trained, as the flags said: --max_steps overrides --num_train_epochs."""
    if training_args.max_steps and training_args.max_steps > 0:
        return f"{training_args.max_steps} steps (--max_steps)"
    return f"{training_args.num_train_epochs:g} epochs"


def write_model_card(output_dir: str, facts: ModelCardFacts, repo_id: str | None, training_args) -> str:
    """Write README.md into output_dir; `repo_id` None means the model stays local (usage shows the folder)."""
    path = os.path.join(output_dir, "README.md")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_model_card(facts, repo_id or output_dir, training_args))
    return path
