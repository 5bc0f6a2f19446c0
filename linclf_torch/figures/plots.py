"""Figures, returned as matplotlib Figures: the caller decides where to save them.

The three figures every `linclf train` draws (curves, accuracy, weights) have fixed margins,
not a layout engine: matplotlib's constrained layout solves the layout again at every draw,
and took most of the 1.5 s those figures cost (0.4 s without it). Tensors are read through
their own methods (host_array) and pixels computed with numpy, matplotlib's own array
library, which comes with it.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def curves_figure(history, title=""):
    """Loss per epoch (per update step for a cyclic run), training vs validation; beside it
    the cost, when it differs (λ > 0).

    title: the run, above the panels (e.g. its loss and hyperparameters)."""
    keys = ("loss", "cost") if has_cost(history) else ("loss",)
    fig = titled(Figure(figsize=(5 * len(keys), 4)), title, left=0.14 / len(keys), wspace=0.25)
    _curves(fig.subplots(1, len(keys), squeeze=False)[0], history, "", keys)
    return fig


def accuracy_figure(history, title=""):
    """Accuracy per epoch (per update step for a cyclic run), training vs validation; title:
    the run, above the panel."""
    fig = titled(Figure(figsize=(5, 4)), title, left=0.14)
    _curves([fig.subplots()], history, "", ("acc",), ylabel="accuracy")
    return fig


def eta_figure(history, title=""):
    """The learning rate η(t) against the update step: a cyclic run's records sample it."""
    fig = titled(Figure(figsize=(5, 4)), title, left=0.16)
    ax = fig.subplots()
    ax.plot([r["step"] for r in history], [r["eta"] for r in history], marker=".")
    ax.set(xlabel="update step", ylabel="η", title="learning rate")
    ax.grid(alpha=0.3)
    return fig


def titled(fig, title, **margins):
    """fig with fixed margins (no layout engine, see above) and the title above its panels."""
    fig.subplots_adjust(right=0.97, bottom=0.12, top=0.84 if title else 0.92, **margins)
    fig.suptitle(title)
    return fig


def has_cost(history):
    """Whether the cost differs from the loss (λ > 0): else one curve would be drawn twice."""
    return any(r["train_cost"] != r["train_loss"] for r in history)


def curves_rows(histories):
    """curves_figure for several runs, one row each: histories maps a row title to a history.
    One legend above the rows, where it hides no curve."""
    fig = Figure(figsize=(10, 3 * len(histories) + 0.3), layout="constrained")
    for axes, (title, history) in zip(fig.subplots(len(histories), 2, squeeze=False), histories.items()):
        _curves(axes, history, title, ("loss", "cost") if has_cost(history) else ("loss",), legend=False)
        if not has_cost(history):
            axes[1].axis("off")
            axes[1].text(0.5, 0.5, "λ = 0: the cost is the loss, drawn at left", ha="center", va="center",
                         transform=axes[1].transAxes)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
    return fig


def _curves(axes, history, title, keys=("loss", "cost"), ylabel=None, legend=True):
    x = "step" if "step" in history[0] else "epoch"  # a cyclic run's records: against update steps
    xs = [r[x] for r in history]
    for ax, key in zip(axes, keys):
        ax.plot(xs, [r[f"train_{key}"] for r in history], label="training")
        ax.plot(xs, [r[f"val_{key}"] for r in history], label="validation")
        ax.set(xlabel="update step" if x == "step" else "epoch", ylabel=ylabel or key,
               title=f"{title} {ylabel or key}".strip())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.grid(alpha=0.3)
        if legend:
            ax.legend()


def weights_figure(W, classes, image_shape, cols=5, title=""):
    """Each row of W (K, d) as a colour image: the class template, min-max scaled alone.

    W: a tensor on any device, or an array. One image of cols templates per row, each under
    its class name (one imshow, not K axes); title: the run, above them.
    """
    K, (C, H, Wd) = W.shape[0], image_shape
    rows, top, gap = -(-K // cols), H // 3, 2  # pixels above each template for its name, and between
    h = top + H + top // 2  # and a margin below
    t = minmax_scaled(host_array(W).reshape(K, C, H, Wd))
    tiles = np.ones((rows * cols, C, h, Wd + gap))  # white around each
    tiles[:K, :, top:top + H, gap // 2:gap // 2 + Wd] = t
    mosaic = tiles.reshape(rows, cols, C, h, Wd + gap).transpose(0, 3, 1, 4, 2).reshape(
        rows * h, cols * (Wd + gap), C)                                              # (rows·h, cols·w, C)
    inches = 2.4 * rows + 0.4 * bool(title)
    fig = Figure(figsize=(2 * cols, inches))
    fig.suptitle(title)
    ax = fig.add_axes((0, 0, 1, 1 - 0.4 * bool(title) / inches))
    ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    for k in range(K):
        ax.text((k % cols) * (Wd + gap) + (Wd + gap) / 2, (k // cols) * h + top / 2, classes[k],
                ha="center", va="center", fontsize=11)
    return fig


def host_array(x):
    """A tensor on any device (read through its own methods), or an array -> float64 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().double().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def minmax_scaled(t):
    """Each image of t (n, C, H, W) scaled alone to [0, 1]: (t − min) / (max − min)."""
    lo, hi = t.min(axis=(1, 2, 3), keepdims=True), t.max(axis=(1, 2, 3), keepdims=True)
    return (t - lo) / np.maximum(hi - lo, 1e-12)


def weights_rows(Ws, classes, image_shape):
    """The class templates of several models, one row each: Ws maps a row title to W (K, d)."""
    K = len(classes)
    fig = Figure(figsize=(1.2 * K, 1.3 * len(Ws)), layout="constrained")
    for row, (axes, (title, W)) in enumerate(zip(fig.subplots(len(Ws), K, squeeze=False), Ws.items())):
        for k, ax in enumerate(axes):
            _template(ax, W[k], image_shape, classes[k] if row == 0 else "", fontsize=8)
        axes[0].axis("on")  # keep the first axis' frame hidden but its label: the row title
        axes[0].set(xticks=[], yticks=[], frame_on=False)
        axes[0].set_ylabel(title, fontsize=8)
    return fig


def _template(ax, w, image_shape, title, fontsize=None):
    w = minmax_scaled(host_array(w).reshape(1, *image_shape))[0]  # (3, H, W)
    ax.imshow(w.transpose(1, 2, 0))
    ax.set_title(title, fontsize=fontsize)
    ax.axis("off")


def grid_heatmaps(results, rows="eta", cols="lam", facet="batch_size"):
    """Validation accuracy (%) over (rows × cols), one panel per value of facet.

    Where other hyperparameters vary too, a cell shows the best over them; a cell whose
    runs all diverged reads "div". Cells and colour bar are in the same unit, percent.
    """
    value = lambda r, k: r["config"][k]
    facets = sorted({value(r, facet) for r in results})
    row_vals = sorted({value(r, rows) for r in results})
    col_vals = sorted({value(r, cols) for r in results})
    diverged = {(value(r, facet), value(r, rows), value(r, cols)) for r in results if r["status"] == "diverged"}
    results = [r for r in results if r["status"] != "diverged"]
    accs = [100 * r["final"]["val_acc"] for r in results] or [0.0]
    lo, hi = min(accs), max(accs)  # one colour scale for every panel
    fig = Figure(figsize=(4.2 * len(facets), 3.6), layout="constrained")
    axes = fig.subplots(1, len(facets), squeeze=False)[0]
    for ax, f in zip(axes, facets):
        grid = [[float("nan")] * len(col_vals) for _ in row_vals]
        for r in results:
            if value(r, facet) == f:
                i, j = row_vals.index(value(r, rows)), col_vals.index(value(r, cols))
                acc = 100 * r["final"]["val_acc"]
                grid[i][j] = acc if grid[i][j] != grid[i][j] else max(grid[i][j], acc)  # nan != nan
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=lo, vmax=hi)
        for i in range(len(row_vals)):
            for j in range(len(col_vals)):
                dark = grid[i][j] < (lo + hi) / 2  # viridis is dark at the low end
                label = f"{grid[i][j]:.1f}" if grid[i][j] == grid[i][j] else (
                    "div" if (f, row_vals[i], col_vals[j]) in diverged else "")
                ax.text(j, i, label, ha="center", va="center", fontsize=9,
                        color="w" if dark else "k")
        ax.set(xticks=range(len(col_vals)), xticklabels=col_vals, yticks=range(len(row_vals)),
               yticklabels=row_vals, xlabel=cols, ylabel=rows, title=f"{facet} = {f}")
        fig.colorbar(image, ax=ax, label="validation accuracy (%)")
    return fig


def histories_figure(histories, labels, keys, ylabel, mark_epoch=None):
    """One panel per key of the history records (e.g. train_acc, val_acc), one line per run;
    mark_epoch: (epoch, text) drawn as a dotted vertical line, e.g. the epoch a table reports."""
    fig = Figure(figsize=(5 * len(keys), 4), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys):
        for history, label in zip(histories, labels):
            ax.plot([r["epoch"] for r in history], [r[key] for r in history], label=label)
        if mark_epoch is not None:
            ax.axvline(mark_epoch[0], color="k", linestyle=":", linewidth=1, label=mark_epoch[1])
        ax.set(xlabel="epoch", ylabel=ylabel, title=key.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def confusion_figure(C, classes, title=""):
    """Confusion matrix C (K, K), C[i, j] = examples of class i predicted as j, with its counts."""
    C = C.cpu()
    fig = Figure(figsize=(1.2 * len(classes) + 2, 1.2 * len(classes) + 1.2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(C.numpy(), cmap="Blues")
    for i in range(len(classes)):
        for j in range(len(classes)):
            dark = C[i, j] > C.max() / 2  # Blues is dark at the high end
            ax.text(j, i, str(C[i, j].item()), ha="center", va="center", color="w" if dark else "k")
    ax.set(xticks=range(len(classes)), xticklabels=classes, yticks=range(len(classes)), yticklabels=classes,
           xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(image, ax=ax, label="images")
    return fig


def probability_histograms(panels, bins=20):
    """Histogram of the probability given to the true class, correct and wrong predictions overlaid.

    panels maps a panel title to (p_true (n,), correct (n,) bool), tensors on any device.
    """
    fig = Figure(figsize=(4.5 * len(panels), 3.6), layout="constrained")
    edges = [i / bins for i in range(bins + 1)]
    for ax, (title, (p_true, correct)) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels.items()):
        p, right = p_true.detach().double().cpu(), correct.cpu()
        ax.hist(p[right].numpy(), bins=edges, alpha=0.6, label=f"correct ({int(right.sum())})")
        ax.hist(p[~right].numpy(), bins=edges, alpha=0.6, label=f"wrong ({int((~right).sum())})")
        ax.set(xlabel="probability of the true class", ylabel="test images", title=title, xlim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def reliability_diagrams(panels):
    """Accuracy per confidence bin (calibration.summary's bins), the bin's mean confidence, the diagonal.

    panels maps a panel title to a calibration summary (dict with "bins" and "ece").
    """
    fig = Figure(figsize=(4 * len(panels), 4), layout="constrained")
    for ax, (title, s) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels.items()):
        b, M = s["bins"], len(s["bins"]["count"])
        full = [m for m in range(M) if b["count"][m] > 0]  # empty bins draw nothing
        centers = [(m + 0.5) / M for m in full]
        acc, conf = [b["accuracy"][m] for m in full], [b["confidence"][m] for m in full]
        ax.bar(centers, acc, width=1 / M, edgecolor="k", linewidth=0.5, label="accuracy in the bin")
        ax.plot(centers, conf, "_", color="tab:red", markersize=10, markeredgewidth=2,
                label="mean confidence in the bin")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
               title=f"{title}: ECE {100 * s['ece']:.2f}%")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)  # below: never on a bar
    return fig
