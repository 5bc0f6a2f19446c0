"""From decoded CIFAR-10 images to standardized feature matrices on the device.

First `select` keeps a subset of the classes (relabelled 0..K−1 in the order given) and
resizes the images, for training and for evaluating a checkpoint alike.
Splits (`--split`), on the training images in batch order (see cifar.py):
    a1      DD2424's protocol: train on batch 1, validate on batch 2, test on the test set
            (10,000 / 10,000 / 10,000 with the real data)
    full    all training images but the last n_val, which are kept for validation
    random  n_val images drawn at random (generator seeded with `seed`) for validation,
            the rest for training (INF265's 90/10 split)
Preprocessing as in the reports: pixels to [0, 1], flattened channel-first
(3×32×32 -> 3072, so a row of W reshapes to an image), then standardized with the mean and
std of the training split only, applied to every split: per dimension (`pixel`, DD2424)
or per colour channel (`channel`, INF265).
Memory: the statistics come from running sums over chunks of images (`pixel_stats`), and each
split is converted once, chunk by chunk, into its final tensor on the device (`features`):
no float64 copy of the data, no temporaries the size of a split. The test split stays uint8
until `Data.X_test` is first used.
"""
from dataclasses import dataclass, replace
from functools import cached_property

import torch

from ..errors import LinclfError
from . import SPLITS
from .cifar import load_cifar10


@dataclass(frozen=True)
class Data:
    X_train: torch.Tensor                 # (n, d) standardized, on the device
    y_train: torch.Tensor                 # (n,) int64
    X_val: torch.Tensor
    y_val: torch.Tensor
    test_images: torch.Tensor             # (M, 3, H, W) uint8 on the CPU, standardized into X_test on first use
    y_test: torch.Tensor
    X_train_flipped: torch.Tensor | None  # (n, d): X_train mirrored left-right, for --flip
    mean: torch.Tensor                    # (3, H, W) (pixel) or (3, 1, 1) (channel) training statistics
    std: torch.Tensor                     # like mean
    classes: tuple
    image_shape: tuple                    # (3, H, W)

    @cached_property
    def X_test(self):
        """(M, d) the test split standardized like the others, on their device; made once, when first used."""
        return features(self.test_images, self.mean, self.std)


def resolve_device(name):
    """'auto' -> CUDA when PyTorch sees a GPU, else CPU; 'cpu' and 'cuda' as asked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise LinclfError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu or --device auto")
    return torch.device(name)  # names are checked by TrainConfig and the flags' choices


def select(raw, classes=(), image_size=None):
    """raw (cifar.Cifar10) with only `classes`, relabelled 0..K−1 in that order, resized.

    classes: class names; () keeps all. image_size: pixels per side (None keeps the size);
    other sizes are resized with torchvision's antialiased bilinear resize, on the uint8 images.
    The a1 split's batch 1 becomes the kept images of batch 1 (batch_size shrinks to match).
    """
    if classes:
        unknown = [c for c in classes if c not in raw.classes]
        if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
            raise LinclfError(f"bad --classes {' '.join(classes)}: name two or more different classes "
                              f"of {', '.join(raw.classes)}")
        new_label = torch.full((len(raw.classes),), -1)              # (10,) old label -> new, −1 = dropped
        new_label[[raw.classes.index(c) for c in classes]] = torch.arange(len(classes))
        train_keep = new_label[raw.train_labels] >= 0                # (N,)
        test_keep = new_label[raw.test_labels] >= 0                  # (M,)
        raw = replace(raw, train_images=raw.train_images[train_keep],
                      train_labels=new_label[raw.train_labels[train_keep]],
                      test_images=raw.test_images[test_keep], test_labels=new_label[raw.test_labels[test_keep]],
                      classes=tuple(classes), batch_size=int(train_keep[:raw.batch_size].sum()))
    if image_size is not None and image_size != raw.train_images.shape[-1]:
        # Imported here: torchvision takes seconds to import, and only a resize needs it.
        from torchvision.transforms.v2.functional import resize
        size = [image_size, image_size]
        raw = replace(raw, train_images=resize(raw.train_images, size, antialias=True),
                      test_images=resize(raw.test_images, size, antialias=True))
    return raw


def split_indices(n_train, batch_size, split, n_val, seed=0):
    """The training and validation images, in training order: slices (a1, full) or CPU int64 indices."""
    if split == "a1":
        if n_train < 2 * batch_size:
            raise LinclfError(f"--split a1 needs two training batches but the data has {n_train} images")
        return slice(0, batch_size), slice(batch_size, 2 * batch_size)
    if not 1 <= n_val < n_train:
        raise LinclfError(f"--n-val {n_val} must be between 1 and {n_train - 1} (the training images less one)")
    if split == "full":
        return slice(0, n_train - n_val), slice(n_train - n_val, n_train)
    if split == "random":
        order = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))
        return order[n_val:], order[:n_val]
    raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)} (TrainConfig checks it)")


CHUNK = 256  # images per step of pixel_stats and features: a few MB, cache-sized


def pixel_stats(images, normalize="pixel", device="cpu"):
    """Mean and std (unbiased, as torch.std) of images/255 over images (`pixel`) or over images
    and positions (`channel`): float64 (3, H, W) or (3, 1, 1) on device, from running sums.

    Math: with sums S₁ = Σ u and S₂ = Σ u² of the pixel values u over N entries,
    mean = S₁/N and var = (S₂ − S₁·mean) / (N − 1), both divided by 255 (255²) for [0, 1].
    For uint8 images every sum is an integer its type holds exactly (float32 below 2²⁴: at
    most 256 values ≤ 255² per chunk; float64 below 2⁵³ across chunks), so the statistics are
    the same in any order, on any device, and a constant pixel gets var = 0 exactly.
    """
    work = torch.float64 if images.is_floating_point() else torch.float32
    u = torch.empty((CHUNK, *images.shape[1:]), dtype=work, device=device)  # (CHUNK, 3, H, W), reused
    s1 = s2 = 0
    for lo in range(0, len(images), CHUNK):
        part = images[lo:lo + CHUNK]
        chunk = u[:len(part)].copy_(part)                       # (c, 3, H, W)
        s1 = s1 + chunk.sum(0).double()                         # (3, H, W) sums per pixel
        s2 = s2 + chunk.mul_(chunk).sum(0).double()
    N = len(images)
    if normalize == "channel":  # every position of a channel is one more entry
        s1, s2, N = s1.sum((1, 2), keepdim=True), s2.sum((1, 2), keepdim=True), N * s1[0].numel()
    mean = s1 / N
    var = (s2 - s1 * mean) / (N - 1)
    return mean / 255, var.clamp(min=0).sqrt() / 255


def features(images, mean, std):
    """uint8 images (n, 3, H, W) -> standardized rows (n, 3·H·W) in mean's dtype, on mean's device.

    ((images / 255 − mean) / std).flatten(1), channel-first, computed in place chunk by chunk
    in the one tensor it returns: the same float operations, without temporaries.
    """
    X = torch.empty(images.shape, dtype=mean.dtype, device=mean.device)  # (n, 3, H, W)
    for lo in range(0, len(images), CHUNK):
        part = X[lo:lo + CHUNK]
        part.copy_(images[lo:lo + CHUNK])
        part.div_(255).sub_(mean).div_(std)
    return X.flatten(1)  # (n, d)


def prepare(raw, *, split="a1", n_val=1000, classes=(), image_size=None, normalize="pixel", seed=0,
            flip=False, device="cpu", dtype=torch.float32):
    """Select and resize, split, standardize with training statistics, move to `device` once."""
    raw = select(raw, classes, image_size)
    for name in ("train", "test"):  # once, at load: training never checks its inputs again
        images = getattr(raw, f"{name}_images")
        if images.is_floating_point() and not torch.isfinite(images).all():
            raise LinclfError(f"the {name} images hold NaN or inf values: pixels must be finite "
                              "numbers in 0..255; check where the data came from")
    tr, va = split_indices(len(raw.train_labels), raw.batch_size, split, n_val, seed)
    train = raw.train_images[tr]                             # (n, 3, H, W) uint8
    mean, std = pixel_stats(train, normalize, device)
    std = torch.where(std > 0, std, torch.ones_like(std))   # a constant pixel carries no signal
    mean, std = mean.to(dtype), std.to(dtype)
    own = dict(device=device, copy=True)  # never a view that keeps the whole (mapped) cache file
    return Data(
        X_train=features(train, mean, std),
        y_train=raw.train_labels[tr].to(**own),
        X_val=features(raw.train_images[va], mean, std),
        y_val=raw.train_labels[va].to(**own),
        test_images=raw.test_images.to("cpu", copy=True),
        y_test=raw.test_labels.to(**own),
        X_train_flipped=features(train.flip(-1), mean, std) if flip else None,  # mirrored: width reversed
        mean=mean, std=std, classes=tuple(raw.classes), image_shape=tuple(train.shape[1:]),
    )


def load_data(data_dir="data", *, verify=True, download=True, cache_dir="auto", progress=False, **options):
    """load_cifar10 + prepare(raw, **options): the one call the CLI and the experiments make."""
    raw = load_cifar10(data_dir, cache_dir=cache_dir, verify=verify, download=download, progress=progress)
    return prepare(raw, **options)
