"""Whether a model's numbers are all finite: the one check that keeps NaN and inf out of every
checkpoint, record and printed result.

A NaN in the parameters makes the metrics NaN, but a run does not measure every state it
saves: with a cyclic rate the metrics are read every n_s/5 updates (or only at the end),
while model.pt is written after every epoch. So the parameters themselves are checked, and
batch norm's running averages with them (evaluation uses those). Callers:
    training/loop.train       after every epoch, before its checkpoint: NaN or inf is divergence
    runs/checkpoint.py        before every save, and after every load (`linclf evaluate`, --resume)
A model trained by another loop (a char-RNN's) calls nonfinite_tensor in the same two places.
"""
import torch

KINDS = {"params": "parameter", "buffers": "running average"}  # the model contract's tensors, in messages


def nonfinite_tensor(params, buffers=None):
    """"parameter W1" or "running average v1": the first tensor of params (a model's), then of
    buffers (its running averages, if any), that holds a NaN or ±inf; None when every number in
    them is finite.

    One isfinite reduction per tensor and one host sync for all of them, so that a trainer can
    afford it after every epoch.
    """
    parts = {"params": params, "buffers": buffers or {}}
    named = [(f"{what} {name}", t) for part, what in KINDS.items() for name, t in parts[part].items()]
    finite = torch.stack([torch.isfinite(t).all() for _, t in named]).tolist()  # one host sync
    return next((name for (name, _), ok in zip(named, finite) if not ok), None)
