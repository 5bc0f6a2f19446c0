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
