"""Figures, returned as matplotlib Figures: the caller decides where to save them."""
from matplotlib.figure import Figure


def curves_figure(history, title=""):
    """Loss and cost per epoch, training vs validation, side by side."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    epochs = [r["epoch"] for r in history]
    for ax, key in zip(fig.subplots(1, 2), ("loss", "cost")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], label="training")
        ax.plot(epochs, [r[f"val_{key}"] for r in history], label="validation")
        ax.set(xlabel="epoch", ylabel=key, title=f"{title} {key}".strip())
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def weights_figure(W, classes, image_shape):
    """Each row of W (K, d) as a colour image: the class template, min-max scaled alone."""
    K = W.shape[0]
    cols = min(K, 5)
    rows = -(-K // cols)
    fig = Figure(figsize=(2 * cols, 2.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= K:
            continue
        w = W[k].detach().double().cpu().reshape(image_shape)  # (3, H, W)
        w = (w - w.min()) / (w.max() - w.min()).clamp_min(1e-12)
        ax.imshow(w.permute(1, 2, 0).numpy())
        ax.set_title(classes[k])
    return fig


def grid_heatmaps(results, rows="eta", cols="lam", facet="batch_size"):
    """Validation accuracy over (rows × cols), one panel per value of facet.

    Where other hyperparameters vary too, a cell shows the best over them.
    """
    value = lambda r, k: r["config"][k]
    facets = sorted({value(r, facet) for r in results})
    row_vals = sorted({value(r, rows) for r in results})
    col_vals = sorted({value(r, cols) for r in results})
    accs = [r["final"]["val_acc"] for r in results]
    lo, hi = min(accs), max(accs)  # one colour scale for every panel
    fig = Figure(figsize=(4.2 * len(facets), 3.6), layout="constrained")
    axes = fig.subplots(1, len(facets), squeeze=False)[0]
    for ax, f in zip(axes, facets):
        grid = [[float("nan")] * len(col_vals) for _ in row_vals]
        for r in results:
            if value(r, facet) == f:
                i, j = row_vals.index(value(r, rows)), col_vals.index(value(r, cols))
                acc = r["final"]["val_acc"]
                grid[i][j] = acc if grid[i][j] != grid[i][j] else max(grid[i][j], acc)  # nan != nan
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=lo, vmax=hi)
        for i in range(len(row_vals)):
            for j in range(len(col_vals)):
                dark = grid[i][j] < (lo + hi) / 2  # viridis is dark at the low end
                ax.text(j, i, f"{100 * grid[i][j]:.1f}", ha="center", va="center", fontsize=9,
                        color="w" if dark else "k")
        ax.set(xticks=range(len(col_vals)), xticklabels=col_vals, yticks=range(len(row_vals)),
               yticklabels=row_vals, xlabel=cols, ylabel=rows, title=f"{facet} = {f}")
        fig.colorbar(image, ax=ax, label="validation accuracy")
    return fig


def histories_figure(histories, labels, keys, ylabel):
    """One panel per key of the history records (e.g. train_acc, val_acc), one line per run."""
    fig = Figure(figsize=(5 * len(keys), 4), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys):
        for history, label in zip(histories, labels):
            ax.plot([r["epoch"] for r in history], [r[key] for r in history], label=label)
        ax.set(xlabel="epoch", ylabel=ylabel, title=key.replace("_", " "))
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
