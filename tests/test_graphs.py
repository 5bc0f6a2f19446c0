"""CUDA graphs of an epoch (training/graphs.py): the same numbers as the eager epoch.

On the CPU nothing is captured, but everything a capture depends on is checked: the epoch
over fixed buffers gives bit for bit train_epoch's parameters and history (shuffle, flip,
momentum, weight decay, schedules, the last partial batch), after its first epoch it keeps
every tensor at its address, and it reads nothing back. Tests marked cuda compare real replays with eager
epochs on a GPU (experiments/gpu_check.py runs them).
"""
from dataclasses import replace

import pytest
import torch

from linclf_torch.data.prepare import Data
from linclf_torch.grid.stacked import StackedClassifier, StackedSGD
from linclf_torch.nn import SGD
from linclf_torch.training.config import TrainConfig
from linclf_torch.training.graphs import GraphedEpoch
from linclf_torch.training.loop import build_model, epoch_runner, train, train_epoch
from linclf_torch.training.state import TrainState

D, K = 12, 3
# n = 50 in batches of 7: 7 full batches and a last one of 1
BASE = TrainConfig(batch_size=7, epochs=4, eta=0.05, dtype="float64", device="cpu")
CONFIGS = {
    "linear, shuffle, flip, momentum, step decay": replace(BASE, shuffle=True, flip=0.5, momentum=0.9,
                                                           weight_decay=0.01, lam=0.1, decay="step:2:0.5"),
    "mlp mbce, flip, plateau": replace(BASE, model="mlp", hidden=(9, 5), loss="mbce", flip=0.5, momentum=0.85,
                                       decay="plateau:1:0.5", eta=0.5),
    "linear, in order, no momentum": BASE,
}


def toy_data(device="cpu", n=50, seed=0):
    """Random float64 features; X_train_flipped is another random matrix (any stands in for mirrors)."""
    g = torch.Generator().manual_seed(seed)
    X, X_flipped, X_val = (torch.randn(m, D, generator=g, dtype=torch.float64) for m in (n, n, 20))
    y, y_val = torch.randint(K, (n,), generator=g), torch.randint(K, (20,), generator=g)
    stats = torch.zeros(3, 2, 2, dtype=torch.float64)
    to = lambda t: t.to(device)
    return Data(X_train=to(X), y_train=to(y), X_val=to(X_val), y_val=to(y_val),
                test_images=torch.zeros(20, 3, 2, 2, dtype=torch.uint8), y_test=to(y_val), X_train_flipped=to(X_flipped),
                mean=stats, std=stats + 1, classes=tuple("abc"), image_shape=(3, 2, 2))  # the test split is never used


def trained(cfg, data, graphs):
    model = build_model(cfg, D, K, data.X_train.device)
    state = TrainState.start(model, cfg, data.X_train.device)
    history = train(model, data, cfg, progress=False, state=state, graphs=graphs)
    return history, model, state


def assert_same_training(cfg, data, rtol):
    """train() with graphs equals train() without: history, parameters and momentum buffers."""
    (h_g, m_g, s_g), (h_e, m_e, s_e) = trained(cfg, data, True), trained(cfg, data, False)
    assert [r["eta"] for r in h_g] == [r["eta"] for r in h_e]
    for rg, re in zip(h_g, h_e, strict=True):
        for k in rg:
            assert rg[k] == pytest.approx(re[k], rel=rtol, abs=0), f"epoch {re['epoch']} {k}"
    for tensors_g, tensors_e in ((m_g.params, m_e.params), (s_g.optimizer.buffers, s_e.optimizer.buffers)):
        assert tensors_g.keys() == tensors_e.keys()
        for name, t in tensors_e.items():
            err = ((tensors_g[name] - t).abs().max() / t.abs().max()).item()
            assert err <= rtol, f"{name}: max |Δ| / max |θ| = {err:.2e}"
    return h_e


@pytest.mark.parametrize("name", CONFIGS)
def test_fixed_buffer_epoch_is_bit_for_bit_the_eager_epoch(name):
    cfg, data = CONFIGS[name], toy_data()
    assert len(data.y_train) % cfg.batch_size != 0  # the last batch is a partial one
    history = assert_same_training(cfg, data, rtol=0.0)
    if cfg.decay != "none":
        assert len({r["eta"] for r in history}) > 1, "the schedule never changed eta: the test is empty"


def test_every_tensor_an_epoch_touches_keeps_its_address():
    """A CUDA graph replays on the memory it recorded: draws are copied in, updates are in place."""
    cfg, data = CONFIGS["linear, shuffle, flip, momentum, step decay"], toy_data()
    model = build_model(cfg, D, K, "cpu")
    state = TrainState.start(model, cfg, "cpu")
    run_epoch = GraphedEpoch(model, state.optimizer, data, cfg)
    tensors = lambda: [run_epoch.order, run_epoch.flip, *model.params.values(), *state.optimizer.buffers.values()]
    run_epoch(state.generator)  # the eager warm-up: SGD's first step makes the momentum buffers
    addresses = [t.data_ptr() for t in tensors()]
    assert len(addresses) == 6  # order, flip, W, b and their two momentum buffers
    orders = [run_epoch.order.clone()]
    for _ in range(3):  # what a capture records and each replay reuses
        state.optimizer.lr /= 2
        run_epoch(state.generator)
        orders.append(run_epoch.order.clone())
        assert [t.data_ptr() for t in tensors()] == addresses
    assert not torch.equal(orders[1], orders[2])  # each epoch's draw reached the buffer


def test_an_epoch_reads_nothing_back(monkeypatch):
    """Nothing in the recorded steps asks the device for a number (on CUDA: a host sync, fatal in a capture)."""
    cfg, data = CONFIGS["mlp mbce, flip, plateau"], toy_data()
    cfg = replace(cfg, shuffle=True)
    model = build_model(cfg, D, K, "cpu")
    state = TrainState.start(model, cfg, "cpu")
    before = model.params["W1"].clone()
    run_epoch = GraphedEpoch(model, state.optimizer, data, cfg)
    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, lambda *a, name=name: pytest.fail(f"Tensor.{name} in an epoch"))
    run_epoch(state.generator)
    monkeypatch.undo()
    assert not torch.equal(model.params["W1"], before)  # it trained


def test_stacked_models_with_a_tensor_of_rates_equal_the_eager_group(device):
    """The grid's group: G models as one, a (G,) learning rate changed in place between epochs
    (on CUDA: one capture, then replays that read the new rates)."""
    cfg, data = replace(CONFIGS["linear, shuffle, flip, momentum, step decay"], decay="none"), toy_data(device)
    finals = []
    for graphs in (True, False):
        models = [build_model(replace(cfg, lam=lam, loss=loss), D, K, device)
                  for loss in ("ce", "mbce") for lam in (0.0, 0.1)]
        model = StackedClassifier(models)
        optimizer = StackedSGD(model.params, torch.full((4,), cfg.eta, dtype=torch.float64, device=device),
                        momentum=cfg.momentum)
        run_epoch = epoch_runner(model, optimizer, data, cfg, graphs)
        generator = torch.Generator(device=device).manual_seed(0)
        for epoch in range(4):
            run_epoch(generator)
            optimizer.lr.copy_(torch.tensor([0.05, 0.02, 0.01, 0.0]) / (epoch + 1))
        finals.append(model.params)
    for name, p in finals[1].items():
        err = ((finals[0][name] - p).abs().max() / p.abs().max()).item()
        assert err <= (0.0 if device.type == "cpu" else 1e-12), f"{name}: max |Δ| / max |θ| = {err:.2e}"


def test_graphs_are_opt_in_and_on_cuda_only():
    """--cuda-graphs is off by default (no GPU run has yet shown them equal and faster), and on
    the CPU even --cuda-graphs trains the eager epoch; graphs=True forces the fixed buffers."""
    assert BASE.cuda_graphs is False
    data = toy_data()
    for cfg in (BASE, replace(BASE, cuda_graphs=True)):
        model = build_model(cfg, D, K, "cpu")
        optimizer = SGD(model.params, cfg.eta)
        assert epoch_runner(model, optimizer, data, cfg).func is train_epoch  # CPU: the eager epoch
    assert isinstance(epoch_runner(model, optimizer, data, cfg, graphs=True), GraphedEpoch)


@pytest.mark.cuda
def test_on_cuda_graphs_run_only_with_cuda_graphs():
    data = toy_data("cuda")
    for cfg, graphed in ((replace(BASE, device="cuda"), False), (replace(BASE, device="cuda", cuda_graphs=True), True)):
        model = build_model(cfg, D, K, "cuda")
        assert isinstance(epoch_runner(model, SGD(model.params, cfg.eta), data, cfg), GraphedEpoch) == graphed


def test_a_new_rate_means_a_new_capture_unless_it_changed_in_place():
    cfg, data = BASE, toy_data()
    model = build_model(cfg, D, K, "cpu")
    optimizer = SGD(model.params, 0.05)
    run_epoch = GraphedEpoch(model, optimizer, data, cfg)
    run_epoch.graph_lr = 0.05  # as capture() records it
    assert not run_epoch.lr_changed()
    optimizer.lr = 0.025
    assert run_epoch.lr_changed()
    optimizer.lr = run_epoch.graph_lr = torch.tensor([0.05, 0.01])
    optimizer.lr.copy_(torch.tensor([0.0, 0.01]))  # in place: the graph reads the new values
    assert not run_epoch.lr_changed()
    optimizer.lr = torch.tensor([0.0, 0.01])         # another tensor: the graph would read the old one
    assert run_epoch.lr_changed()


# ------------------------------------------------------------------------------------ CUDA

@pytest.mark.cuda
@pytest.mark.parametrize("name", CONFIGS)
def test_cuda_graph_replays_equal_the_eager_epochs(name):
    """Captured and replayed on a GPU: the same kernels on the same inputs as the eager epochs."""
    cfg = replace(CONFIGS[name], device="cuda", epochs=5)
    assert_same_training(cfg, toy_data("cuda"), rtol=1e-12)


@pytest.mark.cuda
def test_cuda_graph_is_recaptured_when_the_schedule_changes_eta(monkeypatch):
    captures = []
    capture = GraphedEpoch.capture
    monkeypatch.setattr(GraphedEpoch, "capture", lambda self: captures.append(self.optimizer.lr) or capture(self))
    cfg = replace(CONFIGS["linear, shuffle, flip, momentum, step decay"], device="cuda", epochs=6)
    history, _, _ = trained(cfg, toy_data("cuda"), True)
    assert [r["eta"] for r in history] == [0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]
    assert captures == [0.05, 0.025, 0.0125]  # epoch 1 is the eager warm-up; then one capture per eta


@pytest.mark.cuda
def test_cuda_graph_replay_never_syncs_and_holds_its_memory():
    cfg = replace(CONFIGS["mlp mbce, flip, plateau"], device="cuda", shuffle=True, decay="none")
    data = toy_data("cuda", n=4000)
    model = build_model(cfg, D, K, "cuda")
    state = TrainState.start(model, cfg, "cuda")
    run_epoch = GraphedEpoch(model, state.optimizer, data, cfg)
    run_epoch(state.generator)  # eager warm-up
    run_epoch(state.generator)  # capture (it synchronizes), then a replay
    torch.cuda.synchronize()
    allocated = torch.cuda.memory_allocated()
    torch.cuda.set_sync_debug_mode("error")  # any host sync raises
    try:
        for _ in range(3):
            run_epoch(state.generator)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() == allocated
