"""Small synthetic CIFAR-10 data sets on disk, in the official pickle format or as image folders.

Each class has its own mean colour (matplotlib's tab10 palette); an image is that colour
plus Gaussian noise (std 40) on every pixel. A linear classifier separates the classes
within an epoch or two, so tests that train on this data can expect accuracy far above
chance (0.1), while no two images are the same.
"""
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from linclf_torch.data.cifar import CLASSES

PALETTE = np.array([  # (K, 3) mean RGB colour of each class
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
])


def images(labels, rng):
    """(n, 3, 32, 32) uint8 images of the given classes: class colour + noise."""
    noise = rng.normal(0, 40, size=(len(labels), 3, 32, 32))
    return np.clip(PALETTE[labels][:, :, None, None] + noise, 0, 255).astype(np.uint8)


def write_pickles(root, n_per_batch=20, seed=0) -> Path:
    """Write root/cifar-10-batches-py/ exactly as the official archive lays it out.

    data_batch_1..5 and test_batch hold n_per_batch images each, classes balanced as far
    as n_per_batch allows and shuffled; batches.meta names the classes. Returns the folder.
    """
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    titles = [f"training batch {i} of 5" for i in range(1, 6)] + ["testing batch 1 of 1"]
    for name, title in zip(names, titles):
        labels = rng.permutation(np.arange(n_per_batch) % 10)
        batch = {
            b"batch_label": title.encode(),
            b"labels": labels.tolist(),
            # One row per image: 1024 red, then 1024 green, then 1024 blue values.
            b"data": images(labels, rng).reshape(n_per_batch, 3072),
            b"filenames": [f"synthetic_{name}_{j:05d}.png".encode() for j in range(n_per_batch)],
        }
        _dump(folder / name, batch)
    meta = {b"num_cases_per_batch": n_per_batch, b"label_names": [c.encode() for c in CLASSES],
            b"num_vis": 3072}
    _dump(folder / "batches.meta", meta)
    return folder


def write_image_folder(root, n_train_per_class=10, n_test_per_class=4, seed=0, ext="png") -> Path:
    """Write root/train/<class>/NNNN.<ext> and root/test/<class>/NNNN.<ext>, 32x32 RGB.

    ext is "png" (lossless: the files decode to exactly `images(...)`) or "jpg"/"jpeg".
    Returns root.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train_per_class), ("test", n_test_per_class)):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for j, image in enumerate(images(np.full(n, label), rng)):
                write_image(folder / f"{j:04d}.{ext}", torch.from_numpy(image))
    return root


def write_image(path, image):
    """Write a (C, H, W) uint8 tensor (C = 1 or 3) as PNG or JPEG, chosen by the path's suffix."""
    array = image.permute(1, 2, 0).numpy()  # (H, W, C), PIL's layout
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(path, quality=95)


def write_png16(path, image):
    """Write a (C, H, W) uint16 tensor as a 16-bit PNG: C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.

    PIL writes no 16-bit colour PNGs, so this follows the PNG specification directly:
    signature, IHDR (bit depth 16), one zlib stream of rows of big-endian samples, each row
    after a filter byte 0, and IEND; every chunk is length, type, data, CRC-32.
    """
    C, H, W = image.shape
    rows = image.permute(1, 2, 0).numpy().astype(">u2")  # (H, W, C), big-endian
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", W, H, 16, {1: 0, 2: 4, 3: 2, 4: 6}[C], 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))


def _dump(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)  # the official files are Python 2 pickles, protocol 2
