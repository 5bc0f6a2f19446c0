"""The character RNN's smooth loss against the update step (`linclf rnn`, experiments/a4_rnn.py)."""
from matplotlib.figure import Figure

from .plots import titled


def smooth_loss_figure(history, title="", reference=None, reduction="mean"):
    """Smooth loss per record, with dotted lines where a new pass over the text begins.

    history: records {"update", "epoch", "smooth_loss"}; reference: optional {update: smooth loss}
    points to mark beside the curve (e.g. the assignment text's own run on its book); reduction: the
    loss's over the τ steps, "mean" or "sum", named on the axis.
    """
    fig = titled(Figure(figsize=(6, 4)), title, left=0.12)
    ax = fig.subplots()
    ax.plot([r["update"] for r in history], [r["smooth_loss"] for r in history], label="smooth loss")
    for before, after in zip(history, history[1:]):
        if after["epoch"] != before["epoch"]:
            ax.axvline(after["update"], color="gray", linestyle=":", linewidth=1)
    if reference:
        ax.plot(list(reference), list(reference.values()), "o", color="C1",
                label="the assignment text's run (its book, K = 80)")
        ax.legend()
    ax.set(xlabel="update step", ylabel=f"smooth loss ({reduction} over τ)")
    ax.grid(alpha=0.3)
    return fig
