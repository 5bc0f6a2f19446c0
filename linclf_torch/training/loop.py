"""Mini-batch gradient descent on the model contract of nn/models.py, without autograd.

One code path for CPU and CUDA: the data already lives on the device, batches are views or
on-device gathers, the shuffle permutation and the flip mask are drawn on the device from a
seeded generator, and the epoch's metrics are read back to the host once per epoch.
On CUDA, with cfg.cuda_graphs, the epoch's steps run as a CUDA graph (epoch_runner, graphs.py).
Training stops early when those metrics, or the parameters at an epoch's end, are NaN or inf:
the run has diverged (state.py), and the model goes back to its last finite epoch (finite.py).
With a cyclic learning rate (cfg.eta_cycle) the rate changes before every update step,
η_t = Cyclic(t) (nn/schedules.py), and the metrics are read every n_s/5 steps and at the
end (cyclic_epoch); --cycles stops after exactly 2·cycles·n_s steps, inside an epoch if need be.
"""
import functools
import math
import time

import torch

from ..errors import LinclfError
from ..nn.convnet import ConvNet
from ..nn.mlp import MLPClassifier
from ..nn.models import LinearClassifier
from ..progress import bar as progress_bar
from .batches import batches, draw_epoch
from .config import parse_init
from .finite import nonfinite_tensor
from .graphs import GraphedEpoch
from .state import TrainState, make_cycle


def build_model(cfg, d, K, device):
    """A freshly initialised model for TrainConfig cfg, from a generator seeded with cfg.seed."""
    generator = torch.Generator().manual_seed(cfg.seed)
    common = dict(loss=cfg.loss, lam=cfg.lam, generator=generator, device=device, dtype=cfg.torch_dtype)
    if cfg.model == "conv":
        return ConvNet(d, K, f=cfg.filter_size, nf=cfg.filters, nh=cfg.hidden[0], conv_bias=cfg.conv_bias,
                       label_smoothing=cfg.label_smoothing, **common)
    if cfg.model == "mlp":
        return MLPClassifier(d, cfg.hidden, K, init=parse_init(cfg.init), batchnorm=cfg.batchnorm, **common)
    return LinearClassifier(d, K, **common)


def train_epoch(model, optimizer, data, cfg, generator):
    """One pass over the training set, a gradient step per mini-batch; nothing is read back.

    The same code trains one model or G stacked ones (grid/stacked.py, grid/search.py).
    """
    for Xb, yb in batches(data, cfg, *draw_epoch(data, cfg, generator)):
        optimizer.step(model.gradients(Xb, yb))


def cyclic_epoch(model, optimizer, data, cfg, generator, cycle, step, stop, set_eta, record):
    """One epoch of train_epoch with a rate per update step, from update `step` on.

    Before update t: set_eta(cycle(t)). After every cycle.record_every-th update and after the
    last (t = stop): record(t), which returns False to stop (every model diverged). The epoch
    ends early at update `stop`. Returns the number of updates done, counted over the run.
    """
    for Xb, yb in batches(data, cfg, *draw_epoch(data, cfg, generator)):
        if step == stop:
            break
        set_eta(cycle(step))
        optimizer.step(model.gradients(Xb, yb))
        step += 1
        every = cycle.record_every
        if ((every and step % every == 0) or step == stop) and record(step) is False:
            break
    return step


def planned_steps(cfg, n):
    """(update steps of the whole run, steps per full epoch) for n training images: with
    cfg.cycles, 2·cycles·n_s steps (the last epoch may stop early); else cfg.epochs epochs."""
    per_epoch = math.ceil(n / cfg.batch_size)
    if cfg.cycles is not None:
        return make_cycle(cfg).steps(cfg.cycles), per_epoch
    return cfg.epochs * per_epoch, per_epoch


def planned_epochs(cfg, n):
    """The epochs the run takes, the last one maybe cut short (--cycles)."""
    total, per_epoch = planned_steps(cfg, n)
    return math.ceil(total / per_epoch)


def epoch_runner(model, optimizer, data, cfg, graphs=None):
    """run_epoch(generator), which trains one epoch: train_epoch, or with graphs the same epoch
    replayed as a CUDA graph (graphs.py: the same numbers without a kernel launch per operation).

    graphs=None (the default) uses them where cfg.cuda_graphs asks for them and the data is on
    CUDA, where launches bound a small model's step. They are opt-in until a GPU run of
    experiments/gpu_check.py has shown them equal to the eager epoch and faster.
    """
    if graphs is None:
        graphs = cfg.cuda_graphs and data.X_train.device.type == "cuda"
    if not graphs:
        return functools.partial(train_epoch, model, optimizer, data, cfg)
    return GraphedEpoch(model, optimizer, data, cfg)


def epoch_metrics(model, data):
    """Loss, cost and accuracy on the full training and validation sets, read back once.

    Numbers for one model; for G stacked models each value is a list of G numbers.
    """
    values = torch.stack([*model.evaluate(data.X_train, data.y_train),
                          *model.evaluate(data.X_val, data.y_val)]).tolist()  # one host sync
    keys = ("train_loss", "train_cost", "train_acc", "val_loss", "val_cost", "val_acc")
    return dict(zip(keys, values))


def finite(record):
    """Whether an epoch's metrics are all numbers: NaN or inf means training diverged."""
    return all(map(math.isfinite, record.values()))


def check_data(data, cfg):
    """Refuse a configuration the prepared data cannot train."""
    if cfg.batch_size > len(data.y_train):
        raise LinclfError(f"--batch-size {cfg.batch_size} is larger than the training set "
                          f"({len(data.y_train)} images); use at most {len(data.y_train)}")
    if cfg.flip and data.X_train_flipped is None:
        raise LinclfError("--flip needs the data prepared with flip=True")


@torch.no_grad()
def train(model, data, cfg, *, progress=True, on_epoch=None, state=None, graphs=None):
    """Train `model` in place on data.X_train; return the history.

    Each record: epoch, eta and epoch_metrics' six numbers. With a constant or per-epoch rate
    one record per epoch, eta the rate in effect during it. With a cyclic rate (cfg.eta_cycle)
    one record every n_s/5 update steps and one at the end, each also with "step" (updates
    done), "epoch" the epoch the record falls in (1-based; a record at an epoch's last step
    belongs to it) and "eta" = η_t at t = step, the rate of the next update (so the records
    sample the curve η(t)).
    on_epoch(records), when given, is called after every epoch with the epoch's records
    (checkpoints, logging), once `state` is ready for the next one and its parameters are known
    to be finite. state: a TrainState to continue from (default: epoch 0, step 0); it is updated
    in place. When an epoch's metrics or, at its end, parameters are NaN or inf, training stops:
    state.diverged_epoch is that epoch, none of its records are in the history, and the model
    goes back to the last finite epoch (diverged: the checkpoint runs/run.py keeps).
    graphs: replay each epoch as a CUDA graph (epoch_runner; default: cfg.cuda_graphs, on CUDA).
    """
    check_data(data, cfg)
    if state is None:
        state = TrainState.start(model, cfg, data.X_train.device)
    cycle = make_cycle(cfg)
    total, per_epoch = planned_steps(cfg, len(data.y_train))
    epochs = math.ceil(total / per_epoch)
    run_epoch = epoch_runner(model, state.optimizer, data, cfg, graphs) if cycle is None else None
    bar = progress_bar(range(state.epoch + 1, epochs + 1), desc="train", unit="epoch", enabled=progress,
                       initial=state.epoch, total=epochs)
    last_finite = snapshot(model)
    for epoch in bar:
        start = time.perf_counter()
        if cycle is None:
            run_epoch(state.generator)
            step = epoch * per_epoch
            records = [{"epoch": epoch, "eta": state.optimizer.lr, **epoch_metrics(model, data)}]
        else:
            records = []

            def record(step, epoch=epoch, records=records):
                records.append({"step": step, "epoch": epoch, "eta": cycle(step), **epoch_metrics(model, data)})
                return finite(records[-1])

            step = cyclic_epoch(model, state.optimizer, data, cfg, state.generator, cycle, state.step, total,
                                lambda eta: setattr(state.optimizer, "lr", eta), record)
        # the records are on the host already; the parameters cost one sync an epoch, and are
        # checked because a cyclic rate records between epochs' ends, or only at the run's end
        if not all(map(finite, records)) or nonfinite_tensor(model.params, model.buffers) is not None:
            state.diverged_epoch = epoch
            diverged(model, data, state, cycle, last_finite)
            break
        state.wall_time_s += time.perf_counter() - start  # epoch_metrics waited for the device
        state.epoch, state.step = epoch, step
        state.history.extend(records)
        if cycle is None:
            state.optimizer.lr = state.schedule(state.optimizer.lr, epoch, records[-1]["val_loss"])
        if records:
            bar.set_postfix(cost=f"{records[-1]['train_cost']:.4f}", val_acc=f"{records[-1]['val_acc']:.4f}")
        if on_epoch is not None:
            on_epoch(records)
        last_finite = snapshot(model)
    bar.close()
    return state.history


def snapshot(model):
    """Copies of the model's parameters and running averages: where a diverged run goes back to."""
    return {k: v.clone() for k, v in model.params.items()}, {k: v.clone() for k, v in model.buffers.items()}


def diverged(model, data, state, cycle, last_finite):
    """Put back the last finite epoch's parameters and running averages (the optimizer and a CUDA
    graph hold the tensors: copied in place), and end the history with that epoch's record, measured
    now if a cyclic rate took none at its end (between records, or records only at the end of the
    run): so results.json describes the model that model.pt keeps. Epoch 0 saved nothing to describe.
    """
    params, model.buffers = last_finite
    for k, v in params.items():
        model.params[k].copy_(v)
    if cycle is None or state.epoch == 0 or (state.history and state.history[-1]["step"] == state.step):
        return
    record = {"step": state.step, "epoch": state.epoch, "eta": cycle(state.step), **epoch_metrics(model, data)}
    if finite(record):  # finite parameters can still overflow the cost: then no record is true
        state.history.append(record)


def confusion_matrix(y, pred, K):
    """C (K, K) int64 counts, C[i, j] = number of examples of class i predicted as j."""
    return torch.bincount(y * K + pred, minlength=K * K).reshape(K, K)  # (K, K)
