"""CIFAR-10 as uint8 tensors: from the official pickles, an image folder, or a download.

`load_cifar10(data_dir)` looks at what data_dir holds, in this order:
1. cifar-10-batches-py/ (or data_batch_1 right in data_dir): the official python batches,
   checked against the official MD5s and read with a restricted unpickler (safe_pickle.py).
2. train/<class>/ and test/<class>/: 32x32 RGB PNG/JPEG files. The training images come in
   "batch order": five seeded, class-stratified pseudo-batches that stand in for
   data_batch_1..5, so batch 1 / batch 2 is a fixed stratified split (imagefolder.py).
3. neither: torchvision downloads and extracts the official archive into data_dir, then 1.
The decoded tensors are cached in one file under cache_dir, rebuilt when any file changes.
"""
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import LinclfError
from .files import write_atomic
from .imagefolder import list_split, read_image_folder
from .safe_pickle import load_cifar_pickle

CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

# The official MD5s, as torchvision.datasets.CIFAR10 lists them (train_list, test_list, meta);
# copied so that a cached load never pays the second it takes to import torchvision.
_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
_CACHE_FORMAT = 1  # bump when the cached dict changes meaning


@dataclass(frozen=True)
class Cifar10:
    train_images: torch.Tensor  # (N, 3, 32, 32) uint8, CPU, in batch order
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor  # (M, 3, 32, 32) uint8
    test_labels: torch.Tensor  # (M,) int64
    classes: tuple[str, ...]
    batch_size: int  # images per training batch: batch 1 = train[:batch_size], batch 2 next
    source: str  # "pickles" | "imagefolder" | "torchvision"


def load_cifar10(data_dir="data", *, cache_dir="data/cache", verify=True, download=True,
                 progress=False) -> Cifar10:
    """Load CIFAR-10 from data_dir (see the module docstring for the layouts it accepts).

    verify: check the official pickles' MD5s (pass False for intentionally different files).
    download: when data_dir holds no CIFAR-10, let torchvision download it there. Later
        loads then find the pickles and report source="pickles".
    cache_dir: folder for the decoded-tensor cache; None disables it.
    progress: show a tqdm bar while decoding image files.
    """
    root = Path(data_dir)
    if (root / "cifar-10-batches-py").is_dir():
        return _load_pickles(root / "cifar-10-batches-py", cache_dir, verify, "pickles")
    if (root / "data_batch_1").is_file():
        return _load_pickles(root, cache_dir, verify, "pickles")
    if (root / "train").is_dir() or (root / "test").is_dir():
        return _load_image_folder(root, cache_dir, progress)
    _download(root, download)
    return _load_pickles(root / "cifar-10-batches-py", cache_dir, verify, "torchvision")


def _download(root: Path, download: bool) -> None:
    """Download and extract the official archive into root, or say how to provide the data."""
    advice = (f"put the official cifar-10-batches-py folder, or train/<class>/ and "
              f"test/<class>/ image folders, in '{root}', or point --data-dir at them")
    if not download:
        state = ("does not exist" if not root.exists() else "is not a folder" if not root.is_dir()
                 else "is empty" if not any(root.iterdir())
                 else "holds neither cifar-10-batches-py/ nor train/ and test/")
        raise LinclfError(f"no CIFAR-10 found: '{root}' {state} and downloading is off: {advice}")
    # Imported here: a cached load never needs torchvision. Not CIFAR10(download=True): after
    # downloading it would unpickle every batch with plain pickle.load, numpy arrays and all.
    from torchvision.datasets import CIFAR10, utils
    try:
        utils.download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename,
                                           md5=CIFAR10.tgz_md5)
    except Exception as exc:  # no network, proxy, disk full, bad archive: the advice is the same
        raise LinclfError(f"no CIFAR-10 found in '{root}' and the download failed "
                          f"({type(exc).__name__}: {exc}): {advice}") from exc


def _load_pickles(folder: Path, cache_dir, verify: bool, source: str) -> Cifar10:
    """Train = data_batch_1..5 in order, test = test_batch, class names from batches.meta."""
    names = [*_BATCHES, "test_batch"]
    for name in names:
        if not (folder / name).is_file():
            raise LinclfError(f"{folder / name} is missing (the official folder holds data_batch_1"
                              "..5 and test_batch): re-extract cifar-10-python.tar.gz")
    meta = folder / "batches.meta"
    if meta.is_file():
        names.append(meta.name)

    def build():
        for name in names if verify else []:
            if hashlib.md5((folder / name).read_bytes()).hexdigest() != _MD5[name]:
                raise LinclfError(f"{folder / name} does not match the official CIFAR-10 MD5: "
                                  "re-extract cifar-10-python.tar.gz, or pass --no-verify "
                                  "(verify=False) if the files are intentionally different")
        batches = [_read_batch(folder / name) for name in _BATCHES]
        test_images, test_labels = _read_batch(folder / "test_batch")
        return dict(train_images=torch.cat([x for x, _ in batches]),
                    train_labels=torch.cat([y for _, y in batches]),
                    test_images=test_images, test_labels=test_labels,
                    classes=_read_class_names(meta) if meta.is_file() else list(CLASSES),
                    batch_size=len(batches[0][1]))

    # An entry written without the MD5 check must not satisfy a load that asks for it.
    entry = _cached(cache_dir, "pickles", folder, names, build, extra=f"verified={verify}")
    return _dataset(entry, source)


def _read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file -> images (n, 3, 32, 32) uint8 and labels (n,) int64."""
    entry = load_cifar_pickle(path)
    data, labels = entry.get("data"), entry.get("labels")
    if not (isinstance(data, torch.Tensor) and data.dtype == torch.uint8 and data.ndim == 2
            and data.shape[1] == 3 * 32 * 32):
        got = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise LinclfError(f"{path}: 'data' must be a uint8 array of shape (n, 3072), got {got}; "
                          "re-extract the official file")
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(type(y) is int and 0 <= y < 10 for y in labels)):
        raise LinclfError(f"{path}: 'labels' must list {len(data)} integers in 0..9, one per "
                          "image; re-extract the official file")
    # Each row is 1024 red, 1024 green, 1024 blue values, rows of the image in order.
    return data.reshape(-1, 3, 32, 32), torch.tensor(labels, dtype=torch.int64)


def _read_class_names(meta: Path) -> list[str]:
    names = load_cifar_pickle(meta).get("label_names")
    if not (isinstance(names, list) and len(names) == 10
            and all(isinstance(n, (bytes, str)) for n in names)):
        raise LinclfError(f"{meta}: 'label_names' must list 10 class names; delete it")
    return [n.decode() if isinstance(n, bytes) else n for n in names]


def _load_image_folder(root: Path, cache_dir, progress: bool) -> Cifar10:
    """train/<class>/*.png|jpg|jpeg and test/<class>/*: every class folder, labels by CLASSES."""
    train, test = list_split(root, "train", CLASSES), list_split(root, "test", CLASSES)

    def build():
        return dict(read_image_folder(root, train, test, progress), classes=list(CLASSES))

    files = [f for split in (train, test) for class_files in split for f in class_files]
    return _dataset(_cached(cache_dir, "imagefolder", root, files, build), "imagefolder")


def _cached(cache_dir, kind: str, root: Path, files: list[str], build, extra="") -> dict:
    """build()'s dict, or the same dict from cache_dir if none of `files` changed since.

    files are paths relative to root. One cache file per (kind, resolved root) holds a
    fingerprint of every file's path, size and mtime: a changed, added or removed file
    rebuilds it in place, so stale copies never pile up.
    """
    if cache_dir is None:
        return build()
    name = hashlib.sha256(f"{kind}\n{root.resolve()}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"cifar10-{kind}-{name}.pt"
    h = hashlib.sha256(f"{_CACHE_FORMAT}\n{extra}\n".encode())
    for f in files:
        st = os.stat(os.path.join(root, f))
        h.update(f"{f}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    fingerprint = h.hexdigest()
    try:
        entry = torch.load(path, weights_only=True)
    except Exception:  # missing, truncated or not a torch file: rebuild it, never an error
        entry = None
    if isinstance(entry, dict) and entry.get("fingerprint") == fingerprint:
        return entry
    entry = dict(build(), fingerprint=fingerprint)
    try:  # atomically (temporary file + rename), so a reader never sees half a cache file
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: torch.save(entry, tmp))
    except (OSError, RuntimeError):  # read-only or full disk: lose the speed-up, not the data
        pass
    return entry


def _dataset(entry: dict, source: str) -> Cifar10:
    return Cifar10(entry["train_images"], entry["train_labels"], entry["test_images"],
                   entry["test_labels"], tuple(entry["classes"]), entry["batch_size"], source)
