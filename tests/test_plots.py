"""The figures (plots.py) as a reader sees them: titles, ticks, margins and legends."""
import numpy as np

from linclf_torch.figures.plots import accuracy_figure, curves_figure, curves_rows, weights_figure
from linclf_torch.runs.run import figures
from linclf_torch.training.config import TrainConfig


def history(epochs, lam):
    return [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_cost": 2.0 / e + lam,
             "val_cost": 2.1 / e + lam, "train_acc": 0.3 + e / 100, "val_acc": 0.28 + e / 100}
            for e in range(1, epochs + 1)]


def test_a_runs_figures_are_titled_with_its_hyperparameters():
    cfg = TrainConfig(eta=0.01, lam=0.1, batch_size=50)
    drawn = figures(False, history(3, 0.1), None, None, cfg)  # not completed: no weights figure
    assert sorted(drawn) == ["accuracy", "curves"]
    for name, fig in drawn.items():
        assert fig.get_suptitle() == "CE, η = 0.01, λ = 0.1, batch size 50", name


def test_epoch_ticks_are_whole_numbers_in_a_short_run():
    for fig in (curves_figure(history(2, 0.1)), accuracy_figure(history(2, 0.0)), curves_rows({"a": history(2, 0)})):
        for ax in fig.axes:
            if ax.axison:
                ticks = [t for t in ax.get_xticks() if 1 <= t <= 2]
                assert ticks == [1, 2], ticks


def test_the_class_templates_have_white_below_the_last_row():
    W = np.random.default_rng(0).standard_normal((10, 3 * 32 * 32))
    fig = weights_figure(W, [str(k) for k in range(10)], (3, 32, 32), title="CE")
    mosaic = fig.axes[0].images[0].get_array()
    assert np.all(mosaic[-5:] == 1) and not np.all(mosaic[-15:] == 1)  # a margin of 5 rows of pixels
    assert fig.get_suptitle() == "CE"


def test_rows_of_curves_draw_the_cost_only_where_it_differs_and_one_legend_outside():
    fig = curves_rows({"λ = 0": history(4, 0.0), "λ = 0.1": history(4, 0.1)})
    loss0, cost0, loss1, cost1 = fig.axes
    assert not cost0.lines and not cost0.axison and "the cost is the loss" in cost0.texts[0].get_text()
    assert len(cost1.lines) == 2 and len(loss0.lines) == 2
    assert all(ax.get_legend() is None for ax in fig.axes)  # inside a panel a legend can hide a curve
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["training", "validation"]
