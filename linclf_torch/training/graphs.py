"""train_epoch as a CUDA graph: the same steps on the same numbers, launched as one unit.

Why: a step of the linear classifier is about a dozen small kernels (a product, softmax,
one-hot, another product, the updates). At batch 100 a GPU finishes each in microseconds,
so an eager epoch waits on Python and on kernel launches, not on the GPU. A CUDA graph
records the epoch's kernels once and replays them all with one launch.

A replay re-runs the recorded kernels on the recorded memory with the recorded arguments,
so the recorded epoch must be the same every time:
- Fixed memory. The parameters and momentum buffers are updated in place (optim.py); the
  epoch's shuffle order and flip mask are copied into buffers made once (`order`, `flip`);
  the data never moves.
- No host values that change. The random draws are made on the device outside the graph,
  the same draws as train_epoch's (batches.draw_epoch); batch i is rows i·B … i·B+B−1 of the
  order buffer, a slice fixed at capture and gathered on the device; the last, partial
  batch is just the graph's last step. The learning rate, when it is a Python number, is
  recorded into the update, so a new rate (a schedule) means a new capture; a tensor of
  rates (the grid's, one per configuration) is updated in place and needs none.
- No reads back to the host: nothing in a step waits for the device (tests check).
The first epoch runs eagerly on the capture stream: the warm-up CUDA asks for before a
capture (cuBLAS creates its handle and workspace there, outside the graph), and SGD's first
step creates its momentum buffers there, so the graph records the same update every step.
Each later epoch is one replay: a run pays for one recording per learning rate, about an
eager epoch's time. The graph holds every step of the epoch; its size grows with n / batch size.

On the CPU nothing is captured: the same epoch over the same buffers runs eagerly, and the
tests compare it with train_epoch there (tests/test_graphs.py); on CUDA they compare the
replays with the eager epoch.
"""
import torch

from .batches import batches, draw_epoch


class GraphedEpoch:
    """run_epoch(generator): one epoch of train_epoch(model, optimizer, data, cfg, generator),
    replayed from a CUDA graph when the data is on CUDA."""

    def __init__(self, model, optimizer, data, cfg):
        n, device = len(data.y_train), data.X_train.device
        self.model, self.optimizer, self.data, self.cfg = model, optimizer, data, cfg
        self.order = torch.arange(n, device=device) if cfg.shuffle else None      # (n,)
        self.flip = torch.zeros(n, dtype=torch.bool, device=device) if cfg.flip else None  # (n,)
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.graph, self.graph_lr, self.warm = None, None, False

    def steps(self):
        """The epoch over the fixed buffers: what the graph records."""
        for Xb, yb in batches(self.data, self.cfg, self.order, self.flip):
            self.optimizer.step(self.model.gradients(Xb, yb))

    def __call__(self, generator):
        order, flip = draw_epoch(self.data, self.cfg, generator)
        if order is not None:
            self.order.copy_(order)
        if flip is not None:
            self.flip.copy_(flip)
        if self.stream is None:       # CPU: nothing to capture
            self.steps()
        elif not self.warm:           # the first epoch, eagerly, as the warm-up
            self.on_stream(self.steps)
            self.warm = True
        else:
            if self.graph is None or self.lr_changed():
                self.capture()
            self.graph.replay()

    def lr_changed(self):
        """Whether the rate recorded in the graph is no longer the optimizer's."""
        lr = self.optimizer.lr
        return lr is not self.graph_lr if torch.is_tensor(lr) else lr != self.graph_lr

    def on_stream(self, fn):
        """fn() on the capture stream, ordered after and before the work of the current stream."""
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            fn()
        torch.cuda.current_stream().wait_stream(self.stream)

    def capture(self):
        """Record steps() (nothing runs while recording); the previous graph's memory is freed first."""
        self.graph = None
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream):
            self.steps()
        self.graph, self.graph_lr = graph, self.optimizer.lr
