"""An epoch's mini-batches: the random draws (shuffle order, flip mask) made on the device,
and the (X, y) batches they give. The eager loop (loop.py) and its CUDA graph (graphs.py)
both draw and batch with these, so that they train on the same numbers.
"""
import torch


def draw_epoch(data, cfg, generator):
    """The epoch's random draws, made on the device: the shuffle order (n,) and the flip mask
    (n,), each None when that option is off."""
    X, n = data.X_train, len(data.y_train)
    order = torch.randperm(n, generator=generator, device=X.device) if cfg.shuffle else None
    flip = torch.rand(n, generator=generator, device=X.device) < cfg.flip if cfg.flip else None
    return order, flip


def batches(data, cfg, order=None, flip=None):
    """Yield the epoch's (X, y) mini-batches, in order or in `order`, image i mirrored where flip[i]."""
    X, y, n = data.X_train, data.y_train, len(data.y_train)
    for i in range(0, n, cfg.batch_size):
        rows = slice(i, i + cfg.batch_size) if order is None else order[i:i + cfg.batch_size]
        Xb = X[rows]                                                     # (B, d)
        if flip is not None:  # per image, not one coin for the whole batch
            Xb = torch.where(flip[rows].unsqueeze(1), data.X_train_flipped[rows], Xb)
        yield Xb, y[rows]
