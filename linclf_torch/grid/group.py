"""Training a group at once: the configurations that see the same mini-batches in the same
order (same batch size, epochs or cycles, shuffling, flipping and model shape) are stacked
along a leading configuration dimension (stacked.py) and trained as one tensor program: each
mini-batch is read once for all of them, and each keeps its own eta, lam, decay schedule and
loss. The step code is training/loop.py's, so the results equal training each alone
(tests/test_grid.py), up to float rounding in the order of the sums.
"""
import torch

from ..training.loop import check_data, cyclic_epoch, epoch_metrics, epoch_runner, finite, planned_epochs, planned_steps
from ..training.state import make_cycle
from .stacked import PerConfig, StackedClassifier, StackedSGD
from .stackedconv import StackedConvNet

# What configurations of one group must share; eta, lam, decay and loss may differ.
# A cyclic η (eta_cycle, cycles) is shared too: one per-step rate for the whole group.
GROUP_FIELDS = ("model", "hidden", "batchnorm", "batch_size", "epochs", "eta_cycle", "cycles", "shuffle", "flip",
                "momentum", "weight_decay", "split", "n_val", "device", "dtype", "cycle_growth", "filter_size",
                "filters", "conv_bias", "label_smoothing")


def group_key(cfg):
    """Configurations with equal keys see the same batches and can be stacked.

    The seed draws each model's init (stacked freely) and the data order (shared), so it
    separates groups only when there is an order to draw: with shuffle or flip.
    """
    return tuple(getattr(cfg, f) for f in GROUP_FIELDS) + (cfg.seed if cfg.shuffle or cfg.flip else None,)


def group_configs(configs):
    """Indices of configs in groups that train together; within a group sorted by loss,
    so that each loss is one slice of the configuration dimension (stacked.loss_runs)."""
    groups = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(group_key(cfg), []).append(i)
    return [sorted(group, key=lambda i: configs[i].loss) for group in groups.values()]


@torch.no_grad()
def train_group(models, data, cfgs, *, bar=None):
    """Train the G models of one group (group_key) in place, at once; return their G histories.

    Records are train's (epoch, eta, epoch_metrics' six numbers); all G metrics are read
    back in one host sync per epoch. Returns (histories, diverged_epochs): as in train, a
    configuration whose metrics are NaN or inf diverged in that epoch, its history stops
    before it, and its eta becomes 0 so its parameters stop moving. It cannot disturb the
    others: in every product and reduction a configuration's numbers meet only the shared
    data and its own parameters.
    """
    cfg = cfgs[0]
    check_data(data, cfg)
    model = StackedConvNet(models) if cfg.model == "conv" else StackedClassifier(models)
    param = next(iter(model.params.values()))
    etas = [c.eta for c in cfgs]
    lr = torch.tensor(etas, dtype=param.dtype, device=param.device)  # (G,)
    optimizer = StackedSGD(model.params, lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.eta_cycle != "none":
        return train_group_cyclic(model, optimizer, data, cfg, len(cfgs), bar)
    schedules = PerConfig([c.decay for c in cfgs])
    generator = torch.Generator(device=data.X_train.device).manual_seed(cfg.seed)
    run_epoch = epoch_runner(model, optimizer, data, cfg)  # a CUDA graph with --cuda-graphs: lr is updated in place
    histories, diverged, live = [[] for _ in cfgs], [None] * len(cfgs), set(range(len(cfgs)))
    for epoch in range(1, cfg.epochs + 1):
        run_epoch(generator)
        metrics = epoch_metrics(model, data)  # each value: a list of G numbers
        for g in sorted(live):
            record = {"epoch": epoch, "eta": etas[g], **{k: v[g] for k, v in metrics.items()}}
            if finite(record):
                histories[g].append(record)
            else:
                diverged[g] = epoch
                live.discard(g)
        etas = [eta if g in live else 0.0 for g, eta in enumerate(schedules(etas, epoch, metrics["val_loss"]))]
        optimizer.lr.copy_(torch.tensor(etas, dtype=lr.dtype))
        if bar is not None:
            bar.update(len(cfgs))
            bar.set_postfix(best_val_acc=f"{max((metrics['val_acc'][g] for g in live), default=0):.4f}")
        if not live:
            break
    model.unstack()
    return histories, diverged


def train_group_cyclic(model, optimizer, data, cfg, G, bar):
    """train_group for a group with one cyclic η (cfg.eta_cycle): before every update t the
    G rates become η_t in place (0 for a diverged configuration); the records are train's
    cyclic records (step, epoch, eta, the six metrics), G of them per record step."""
    cycle = make_cycle(cfg)
    total, _ = planned_steps(cfg, len(data.y_train))
    generator = torch.Generator(device=data.X_train.device).manual_seed(cfg.seed)
    histories, diverged, live = [[] for _ in range(G)], [None] * G, set(range(G))
    alive = torch.ones_like(optimizer.lr)  # (G,) 1 while a configuration trains, then 0

    def set_eta(eta):
        torch.mul(alive, eta, out=optimizer.lr)  # in place: a CUDA graph would keep its pointer

    step = 0
    for epoch in range(1, planned_epochs(cfg, len(data.y_train)) + 1):
        def record(step, epoch=epoch):
            metrics = epoch_metrics(model, data)  # each value: a list of G numbers
            for g in sorted(live):
                r = {"step": step, "epoch": epoch, "eta": cycle(step), **{k: v[g] for k, v in metrics.items()}}
                if finite(r):
                    histories[g].append(r)
                else:
                    diverged[g] = epoch
                    live.discard(g)
                    alive[g] = 0.0
            if bar is not None:
                bar.set_postfix(best_val_acc=f"{max((metrics['val_acc'][g] for g in live), default=0):.4f}")
            return bool(live)

        step = cyclic_epoch(model, optimizer, data, cfg, generator, cycle, step, total, set_eta, record)
        if bar is not None:
            bar.update(G)
        if not live:
            break
    model.unstack()
    return histories, diverged
