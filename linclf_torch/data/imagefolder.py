"""CIFAR-10 from an image folder: train/<class>/ and test/<class>/ of 32x32 PNG/JPEG files.

`list_split` names the files, sorted, class by class; `read_image_folder` decodes them (in
parallel threads) and puts the training images in "batch order" (`batch_order`): five seeded,
class-stratified pseudo-batches that stand in for data_batch_1..5. cifar.py caches the result.

What a class folder may hold:
- images: *.png, *.jpg, *.jpeg, in any letter case, symbolic links to them included, each
  decoded to 8-bit RGB whatever its pixel format (imagedecode.py).
- skipped: hidden files and folders (.DS_Store, macOS's ._name.jpg AppleDouble files,
  .ipynb_checkpoints), files with other suffixes (Thumbs.db, notes.txt).
- refused with the file named: an empty file, a file that does not decode (truncated,
  damaged, not an image), a size other than 32x32, a broken symbolic link, a file that
  vanished or cannot be read.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from ..errors import LinclfError
from ..progress import bar as progress_bar
from ..threads import usable_cores
from .imagedecode import decode_file, image_decoder

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
BLOCK = 256  # files per task of the decoding threads


def list_split(root: Path, split: str, classes: tuple[str, ...]) -> list[list[str]]:
    """Sorted image paths relative to root, of root/split/<class>/, a list per class."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise LinclfError(f"{split_dir} is missing: an image-folder data set needs both "
                          "train/<class>/ and test/<class>/")
    found = {e.name for e in os.scandir(split_dir) if e.is_dir() and not e.name.startswith(".")}
    expected = f"class folders must be exactly the {len(classes)} CIFAR-10 classes: {', '.join(classes)}"
    unknown = sorted(found - set(classes))
    if unknown:
        raise LinclfError(f"unexpected folder {split_dir / unknown[0]}: {expected}")
    files_per_class = []
    for name in classes:
        if name not in found:
            raise LinclfError(f"missing class folder {split_dir / name}: {expected}")
        files = sorted(f"{split}/{name}/{e.name}" for e in os.scandir(split_dir / name) if is_image(e))
        if not files:
            raise LinclfError(f"class folder {split_dir / name} holds no .png/.jpg/.jpeg image")
        files_per_class.append(files)
    return files_per_class


def is_image(entry: os.DirEntry) -> bool:
    """A visible file (or link to one) with an image suffix; a broken link to one is an error."""
    if entry.name.startswith(".") or not entry.name.lower().endswith(IMAGE_SUFFIXES):
        return False
    if entry.is_symlink() and not os.path.exists(entry.path):
        raise LinclfError(f"{entry.path} is a broken symbolic link: remove it or point it at the image")
    return entry.is_file()  # not a folder named like an image


def read_image_folder(root: Path, train: list[list[str]], test: list[list[str]], progress: bool) -> dict:
    """Decode list_split's files -> train (in batch order) and test images and labels, batch_size."""
    train_labels, test_labels = folder_labels(train), folder_labels(test)
    order = batch_order(train_labels)  # (N,) the folder index of each image in batch order
    return dict(train_images=decode_split(root, train, progress, order), train_labels=train_labels[order],
                test_images=decode_split(root, test, progress), test_labels=test_labels, batch_size=len(order) // 5)


def folder_labels(split: list[list[str]]) -> torch.Tensor:
    """(n,) int64: the class index of each file, in folder order."""
    return torch.tensor([c for c, class_files in enumerate(split) for _ in class_files])


def decode_split(root: Path, split: list[list[str]], progress: bool, order: torch.Tensor | None = None):
    """Decode every file -> images (n, 3, 32, 32) uint8: images[j] is file order[j] in folder
    order (order=None: the folder order itself).

    Blocks of files are decoded by as many threads as the process may use cores: torchvision's
    decoder releases the GIL. Each block is copied straight to its rows, so that no second
    copy of the split is made to reorder it. The first file that fails, in folder order, is
    the one named.
    """
    base = os.path.join(root, "")  # root and a separator: joined by +, 6 times faster than os.path.join
    paths = [base + f for class_files in split for f in class_files]
    rows = torch.arange(len(paths)) if order is None else torch.argsort(order)  # (n,) where file i goes
    images = torch.empty(len(paths), 3, 32, 32, dtype=torch.uint8)
    decode = image_decoder()

    def decode_block(lo):
        block = [decode_file(path, decode) for path in paths[lo:lo + BLOCK]]
        images.index_copy_(0, rows[lo:lo + len(block)], torch.stack(block))  # two calls per block
        return len(block)

    with ThreadPoolExecutor(usable_cores()) as pool, \
            progress_bar(total=len(paths), desc="decoding images", unit="image", enabled=progress) as bar:
        try:
            for n in pool.map(decode_block, range(0, len(paths), BLOCK)):
                bar.update(n)
        except BaseException:  # a bad file or Ctrl-C: start no further block
            pool.shutdown(cancel_futures=True)
            raise
    return images


def batch_order(labels: torch.Tensor, n_batches: int = 5, seed: int = 0) -> torch.Tensor:
    """A fixed permutation that puts folder-ordered (class-sorted) images in "batch order".

    Emulates data_batch_1..5, so that the DD2424 split (train on batch 1, validate on batch
    2) becomes a seeded, class-stratified split; for the real 50,000 images, 10,000/10,000.
    Each class's images are shuffled and its j-th of n_c goes to batch floor(j·5/n_c): all
    images are sorted by j/n_c and cut into batches of N // 5 (the last takes the remainder),
    then each batch is shuffled so that consecutive images are not sorted by class.
    Same labels, same permutation: the generator is seeded, never global.
    """
    g = torch.Generator().manual_seed(seed)
    rank = torch.empty(len(labels), dtype=torch.float64)  # j / n_c of each image
    for c in labels.unique():
        members = (labels == c).nonzero().squeeze(1)
        shuffled = members[torch.randperm(len(members), generator=g)]
        rank[shuffled] = torch.arange(len(members), dtype=torch.float64) / len(members)
    order = torch.sort(rank, stable=True).indices
    size = len(labels) // n_batches
    bounds = [b * size for b in range(n_batches)] + [len(labels)]
    batches = [order[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    return torch.cat([b[torch.randperm(len(b), generator=g)] for b in batches])
