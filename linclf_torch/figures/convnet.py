"""The ConvNet's figures (DD2424 A3, 2025/26): bar charts of architectures, filters as images.

Returned as matplotlib Figures, like plots.py, whose helpers they read tensors with.
"""
import numpy as np
from matplotlib.figure import Figure

from .plots import host_array, minmax_scaled


def bars_figure(labels, values, ylabel, title="", fmt="{:.1f}", references=None):
    """One bar per run, its value written above it; references (optional, one number or None
    per bar) are drawn as a black tick on the bar: the students' numbers beside ours."""
    fig = Figure(figsize=(1.3 * len(labels) + 1.5, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(labels))
    bars = ax.bar(x, values, color="tab:blue", width=0.6)
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8)
    if references is not None:
        known = [(i, r) for i, r in enumerate(references) if r is not None]
        ax.scatter([i for i, _ in known], [r for _, r in known], marker="_", s=600, color="black", zorder=3,
                   label="students")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def filters_figure(F, cols=10, title=""):
    """The filters F (nf, 3, f, f) as f × f colour images, each scaled alone to [0, 1]."""
    images = minmax_scaled(host_array(F))          # (nf, 3, f, f)
    nf = len(images)
    rows = -(-nf // cols)
    fig = Figure(figsize=(0.8 * min(nf, cols), 0.8 * rows + 0.4), layout="constrained")
    for k, ax in enumerate(fig.subplots(rows, min(nf, cols), squeeze=False).flat):
        ax.axis("off")
        if k < nf:
            ax.imshow(images[k].transpose(1, 2, 0), interpolation="nearest")
    fig.suptitle(title, fontsize=9)
    return fig
