"""CIFAR-10 as uint8 tensors: from the official pickles, an image folder, or a download.

`load_cifar10(data_dir)` looks at what data_dir holds, in this order:
1. cifar-10-batches-py/ (or data_batch_1 right in data_dir): the official python batches,
   checked against the official MD5s and read with a restricted unpickler (safe_pickle.py).
2. train/<class>/ and test/<class>/: 32x32 PNG/JPEG files. The training images come in
   "batch order": five seeded, class-stratified pseudo-batches that stand in for
   data_batch_1..5, so batch 1 / batch 2 is a fixed stratified split (imagefolder.py).
3. neither: torchvision downloads and extracts the official archive into a temporary folder,
   moved into data_dir once complete (a failed download creates nothing, and its error says
   whether data_dir exists), then 1. Not when data_dir holds <class>/ folders: that is the
   train/ or test/ half of an image folder, refused with its parent named.
The decoded tensors are cached in one file (cache.py: beside the data, or in the user cache
folder), rebuilt when any source file changes or the file is damaged.
"""
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import LinclfError
from ..files import nearest_existing, staging_folder
from .cache import cache_file, cache_folder, cached
from .imagefolder import list_split, read_image_folder
from .safe_pickle import load_cifar_pickle

CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

# The official MD5s, as torchvision.datasets.CIFAR10 lists them (train_list, test_list, meta);
# copied so that a cached load never pays the 2.6 s it takes to import torchvision.
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


@dataclass(frozen=True)
class Cifar10:
    train_images: torch.Tensor  # (N, 3, 32, 32) uint8, CPU, in batch order
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor  # (M, 3, 32, 32) uint8
    test_labels: torch.Tensor  # (M,) int64
    classes: tuple[str, ...]
    batch_size: int  # images per training batch: batch 1 = train[:batch_size], batch 2 next
    source: str  # "pickles" | "imagefolder" | "torchvision"


def load_cifar10(data_dir="data", *, cache_dir="auto", verify=True, download=True,
                 progress=False) -> Cifar10:
    """Load CIFAR-10 from data_dir (see the module docstring for the layouts it accepts).

    verify: check the official pickles' MD5s (pass False for intentionally different files).
    download: when data_dir holds no CIFAR-10, let torchvision download it there. Later
        loads then find the pickles and report source="pickles".
    cache_dir: "auto" (<data_dir>/cache/ if writable, else the user cache folder), a folder
        for the decoded-tensor cache, or None for no cache (cache.py).
    progress: show a tqdm bar while decoding image files.
    """
    root = Path(data_dir)
    source = "pickles"
    if not ((root / "cifar-10-batches-py").is_dir() or (root / "data_batch_1").is_file()
            or (root / "train").is_dir() or (root / "test").is_dir()):
        _download(root, download)
        source = "torchvision"
    cache = cache_folder(cache_dir, root)
    if (root / "cifar-10-batches-py").is_dir():
        folder = root / "cifar-10-batches-py"
        return _load_pickles(folder, cache_file(cache, "pickles", root, folder), verify, source)
    if (root / "data_batch_1").is_file():
        return _load_pickles(root, cache_file(cache, "pickles", root, root), verify, source)
    return _load_image_folder(root, cache_file(cache, "imagefolder", root, root), progress)


def _download(root: Path, download: bool) -> None:
    """Download and extract the official archive into root, or say how to provide the data.

    Into a temporary folder in root (in the nearest existing folder above it, if root does
    not exist), moved into place only once complete: a failed or interrupted download leaves
    nothing behind and creates no root. Half of an image folder is refused before any download.
    """
    # Worded for both callers: the command line and load_cifar10/load_data from Python.
    advice = (f"put the official cifar-10-batches-py folder, or train/<class>/ and test/<class>/ "
              f"image folders, in '{root}', or pass the folder that holds them as --data-dir PATH "
              "(data_dir=PATH from Python)")
    existing = nearest_existing(root)
    if not existing.is_dir():
        raise LinclfError(f"no CIFAR-10 found: '{existing}' is not a folder: {advice}")
    half = _half_of_an_image_folder(root)
    if half:
        raise LinclfError(half)
    state = ("does not exist" if not root.exists() else "is empty" if not any(root.iterdir())
             else "holds neither cifar-10-batches-py/ nor train/ and test/")
    check = "check the path; or " if not root.exists() else ""
    if not download:
        raise LinclfError(f"no CIFAR-10 found: '{root}' {state} and downloading is off: {check}{advice}")
    # Imported here: a cached load never needs torchvision. Not CIFAR10(download=True): after
    # downloading it would unpickle every batch with plain pickle.load, numpy arrays and all.
    from torchvision.datasets import CIFAR10, utils
    try:
        with staging_folder(existing) as tmp:
            if (root / CIFAR10.filename).is_file():  # an archive put there by hand: used if its MD5 is right
                shutil.copyfile(root / CIFAR10.filename, tmp / CIFAR10.filename)
            utils.download_and_extract_archive(CIFAR10.url, str(tmp), filename=CIFAR10.filename,
                                               md5=CIFAR10.tgz_md5)
            if not (tmp / "cifar-10-batches-py").is_dir():
                raise OSError("the archive holds no cifar-10-batches-py folder")
            root.mkdir(parents=True, exist_ok=True)
            for entry in tmp.iterdir():  # the extracted folder and the archive, beside what root holds
                shutil.move(entry, root / entry.name)
    except Exception as exc:  # no network, proxy, disk full, bad archive: the advice is the same
        raise LinclfError(f"no CIFAR-10 found: '{root}' {state}, and downloading CIFAR-10 into it failed "
                          f"({type(exc).__name__}: {exc}): {check}{advice}") from exc


def _half_of_an_image_folder(root: Path) -> str | None:
    """The error for a root that holds class folders (airplane/, automobile/, ...): the train/
    or test/ half of an image folder, given instead of the folder that holds both. None for
    any other root."""
    classes = sorted(p.name for p in root.iterdir() if p.name in CLASSES and p.is_dir()) if root.is_dir() else []
    if not classes:
        return None
    some = ", ".join(classes[:3]) + (", ..." if len(classes) > 3 else "")
    held = f"no CIFAR-10 found: '{root}' holds class folders ({some})"
    if root.name in ("train", "test"):
        return (f"{held}: it looks like the {root.name}/ half of an image folder: pass its parent, "
                f"'{root.absolute().parent}', as --data-dir (data_dir from Python)")
    return (f"{held}: it looks like one half of an image folder, whose halves are train/<class>/ and "
            "test/<class>/: name it train/ or test/ and pass the folder that holds both as --data-dir "
            "(data_dir from Python)")


def _load_pickles(folder: Path, cache, verify: bool, source: str) -> Cifar10:
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
    entry = cached(cache, folder, names, build, extra=f"verified={verify}")
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


def _load_image_folder(root: Path, cache, progress: bool) -> Cifar10:
    """train/<class>/*.png|jpg|jpeg and test/<class>/*: every class folder, labels by CLASSES."""
    train, test = list_split(root, "train", CLASSES), list_split(root, "test", CLASSES)

    def build():
        return dict(read_image_folder(root, train, test, progress), classes=list(CLASSES))

    files = [f for split in (train, test) for class_files in split for f in class_files]
    return _dataset(cached(cache, root, files, build), "imagefolder")


def _dataset(entry: dict, source: str) -> Cifar10:
    return Cifar10(entry["train_images"], entry["train_labels"], entry["test_images"],
                   entry["test_labels"], tuple(entry["classes"]), entry["batch_size"], source)
