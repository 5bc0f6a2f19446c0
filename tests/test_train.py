"""The trainer: learning happens, nothing is tracked by autograd, and seeds reproduce."""
import math
from dataclasses import replace

import pytest
import torch

from linclf_torch.data.prepare import load_data
from linclf_torch.errors import LinclfError
from linclf_torch.nn.schedules import PlateauDecay, StepDecay
from linclf_torch.runs.run import run
from linclf_torch.training.batches import batches, draw_epoch
from linclf_torch.training.config import TrainConfig, parse_decay
from linclf_torch.training.loop import build_model, train

PICKLES_PER_BATCH = 50  # the conftest's pickles fixture: images per batch


def tiny(pickles, device, **kw):
    return load_data(pickles, flip=True, device=device, verify=False, cache_dir=None, **kw)


CFG = TrainConfig(epochs=3, batch_size=10, eta=0.01, device="cpu")


def test_loss_at_init_is_about_ln_K(pickles):
    data = tiny(pickles, "cpu")
    model = build_model(CFG, data.X_train.shape[1], 10, "cpu")
    loss, cost, acc = model.evaluate(data.X_train, data.y_train)
    assert abs(loss.item() - math.log(10)) < 0.2, f"initial loss {loss.item():.3f}, expected ≈ ln 10 = 2.303"
    assert cost.item() == loss.item()  # λ = 0


@pytest.mark.parametrize("loss", ["ce", "mbce"])
def test_overfits_a_tiny_training_set(pickles, device, loss):
    data = tiny(pickles, device)
    cfg = replace(CFG, loss=loss, eta=0.05 if loss == "ce" else 0.5, epochs=60, lam=0.0001)
    results, _ = run(cfg, data, progress=False)
    history = results["history"]
    assert history[-1]["train_acc"] == 1.0, f"{loss}: training accuracy {history[-1]['train_acc']}"
    assert history[-1]["train_cost"] < history[0]["train_cost"] / 3
    assert history[-1]["train_cost"] > history[-1]["train_loss"]  # λ > 0 adds to the cost
    assert results["final"]["test_acc"] > 0.5  # the synthetic classes are learnable: chance is 0.1


def test_training_builds_no_autograd_graph(pickles):
    """Even with grad mode on and parameters that require grad, autograd saves nothing."""
    data = tiny(pickles, "cpu")
    model = build_model(CFG, data.X_train.shape[1], 10, "cpu")
    for p in model.params.values():
        p.requires_grad_(True)
    saved = []
    assert torch.is_grad_enabled()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        train(model, data, replace(CFG, shuffle=True, flip=0.5), progress=False)
    assert saved == [], f"autograd saved {len(saved)} tensors during training"
    assert all(p.grad is None and p.grad_fn is None for p in model.params.values())


def test_same_seed_same_history_other_seed_differs(pickles):
    data = tiny(pickles, "cpu")
    cfg = replace(CFG, shuffle=True, flip=0.5, decay="step:2:0.5")
    first, again, other = (run(replace(cfg, seed=s), data, progress=False)[0]["history"] for s in (0, 0, 1))
    assert first == again
    assert first != other
    assert [r["eta"] for r in first] == [0.01, 0.01, 0.005]


def test_flip_is_drawn_per_image_not_per_batch(pickles):
    data = tiny(pickles, "cpu")
    cfg = replace(CFG, flip=0.5, batch_size=50)
    Xb, _ = next(batches(data, cfg, *draw_epoch(data, cfg, torch.Generator().manual_seed(0))))
    flipped = (Xb == data.X_train_flipped[:50]).all(1)
    kept = (Xb == data.X_train[:50]).all(1)
    assert (flipped | kept).all()
    assert 10 < flipped.sum() < 40, f"{flipped.sum()} of 50 flipped with p = 0.5"


def test_batches_cover_the_training_set_once_in_order_or_shuffled(pickles):
    data = tiny(pickles, "cpu")
    for shuffle in (False, True):
        cfg = replace(CFG, shuffle=shuffle, batch_size=7)
        ys = torch.cat([yb for _, yb in batches(data, cfg, *draw_epoch(data, cfg, torch.Generator()))])
        assert sorted(ys.tolist()) == sorted(data.y_train.tolist())
        assert torch.equal(ys, data.y_train) != shuffle


def test_step_and_plateau_schedules():
    step = StepDecay(every=2, factor=0.1)
    assert [step(1.0, e, 0.0) for e in (1, 2, 3, 4)] == [1.0, 0.1, 1.0, 0.1]  # applied to eta each call
    plateau = PlateauDecay(patience=2, factor=0.5)
    etas, eta = [], 1.0
    for val_loss in (3.0, 2.0, 2.5, 2.4, 1.0, 1.5, 1.6):
        eta = plateau(eta, 0, val_loss)
        etas.append(eta)
    assert etas == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("spec", ["step", "step:0:0.1", "step:10:2", "plateau:1", "cosine", "step:a:b"])
def test_malformed_decay_is_refused(spec):
    with pytest.raises(LinclfError, match="--decay"):
        parse_decay(spec)


@pytest.mark.parametrize("field,value", [("eta", 0.0), ("eta", float("nan")), ("lam", -1.0), ("batch_size", 0),
                                         ("epochs", 0), ("flip", 1.5), ("loss", "hinge"), ("model", "cnn")])
def test_bad_config_is_refused(field, value):
    with pytest.raises(LinclfError):
        TrainConfig(**{field: value})


def test_batch_larger_than_training_set_is_refused(pickles):
    with pytest.raises(LinclfError, match="--batch-size"):
        train(build_model(CFG, 3072, 10, "cpu"), tiny(pickles, "cpu"), replace(CFG, batch_size=51), progress=False)
