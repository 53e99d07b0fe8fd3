"""Plots of a run and of a comparison of runs (matplotlib, no display needed). Call on the main process only."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bertft_utils.files import announce  # noqa: E402


def plot_confusion_matrix(matrix: list[list[int]], labels: list[str], path: str, title: str) -> str:
    """Confusion matrix heat map with counts (rows: gold, columns: predicted)."""
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    if len(labels) <= 30:
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return announce(path)


def plot_learning_curve(log_history: list[dict], path: str, metric_key: str) -> str | None:
    """Training loss per logging step, with validation loss and `metric_key` per evaluation."""
    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    evals = [(h["step"], h.get("eval_loss"), h.get(metric_key)) for h in log_history if "eval_loss" in h]
    if not train and not evals:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss")
    if evals:
        ax.plot([s for s, _, _ in evals], [v for _, v, _ in evals], "o-", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    handles, names = ax.get_legend_handles_labels()
    if evals and any(m is not None for _, _, m in evals):
        right = ax.twinx()
        right.plot([s for s, _, m in evals if m is not None], [m for _, _, m in evals if m is not None],
                   "s--", color="tab:green", label=metric_key)
        right.set_ylabel(metric_key)
        more_handles, more_names = right.get_legend_handles_labels()
        handles, names = handles + more_handles, names + more_names
    ax.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    ax.set_title("learning curve")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return announce(path)


def plot_model_comparison(scores: dict[str, tuple[list[float], float | None]], path, metric: str,
                          title: str) -> str:
    """Bar per model (mean over seeds, std as error bar) with the original report's figure as a black mark."""
    import statistics

    names = list(scores)
    means = [statistics.mean(v) if v else 0.0 for v, _ in scores.values()]
    errors = [statistics.stdev(v) if len(v) > 1 else 0.0 for v, _ in scores.values()]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(names) + 1), 4.5))
    positions = range(len(names))
    ax.bar(positions, means, yerr=errors, capsize=4, color="tab:blue", label="bertft (test)")
    for x, mean in zip(positions, means, strict=True):
        ax.text(x, mean, f"{mean:.3f}", ha="center", va="bottom", fontsize=8)
    theirs = [(x, ref) for x, (_, ref) in zip(positions, scores.values(), strict=True) if ref is not None]
    if theirs:
        ax.scatter([x for x, _ in theirs], [r for _, r in theirs], marker="_", s=900, color="black", zorder=3,
                   label="original report")
    ax.set_xticks(list(positions), [n.split("/")[-1] for n in names], rotation=15, ha="right")
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return announce(str(path))
