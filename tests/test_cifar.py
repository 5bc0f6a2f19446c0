"""load_cifar10 on synthetic files: the three layouts, the restricted unpickler, the cache.

Never touches real CIFAR-10 files or the network: downloads are simulated by monkeypatching
torchvision's downloader.
"""
import hashlib
import os
import pathlib
import pickle
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.utils
from PIL import Image
from torchvision.datasets import CIFAR10

from helpers import Exploit
from linclf_torch.data import cifar, imagefolder
from linclf_torch.data.cifar import CLASSES, load_cifar10
from linclf_torch.errors import LinclfError
from synthetic import write_image, write_image_folder, write_pickles


def read_written(folder, name):
    """What write_pickles put in one batch file, read back with plain pickle (we wrote it)."""
    with open(folder / name, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    return torch.from_numpy(batch[b"data"]).reshape(-1, 3, 32, 32), torch.tensor(batch[b"labels"])


def assert_same(a, b):
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert (a.classes, a.batch_size) == (b.classes, b.batch_size)


# ---------------------------------------------------------------------------- official pickles

def test_pickles_load_exactly_what_was_written(tmp_path):
    folder = write_pickles(tmp_path, n_per_batch=20)
    d = load_cifar10(tmp_path, cache_dir=None, verify=False)
    written = [read_written(folder, f"data_batch_{i}") for i in range(1, 6)]
    assert d.source == "pickles" and d.classes == CLASSES and d.batch_size == 20
    assert d.train_images.shape == (100, 3, 32, 32) and d.train_images.dtype == torch.uint8
    assert d.train_labels.shape == (100,) and d.train_labels.dtype == torch.int64
    assert torch.equal(d.train_images, torch.cat([x for x, _ in written]))  # batch 1 first
    assert torch.equal(d.train_labels, torch.cat([y for _, y in written]))
    test_images, test_labels = read_written(folder, "test_batch")
    assert torch.equal(d.test_images, test_images) and torch.equal(d.test_labels, test_labels)


def test_pickles_found_in_data_dir_itself_and_class_names_from_meta(tmp_path):
    folder = write_pickles(tmp_path)
    names = [f"class{k}".encode() for k in range(10)]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": names, b"num_cases_per_batch": 20, b"num_vis": 3072}, f, 2)
    assert load_cifar10(folder, cache_dir=None, verify=False).classes == tuple(
        f"class{k}" for k in range(10))
    (folder / "batches.meta").unlink()
    assert load_cifar10(folder, cache_dir=None, verify=False).classes == CLASSES


def test_md5_check_rejects_unofficial_files_unless_told_not_to(tmp_path, monkeypatch):
    folder = write_pickles(tmp_path)
    with pytest.raises(LinclfError, match="data_batch_1 does not match .*--no-verify"):
        load_cifar10(tmp_path, cache_dir=None)
    # The check passes when the files are the ones the table names.
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    monkeypatch.setattr(cifar, "_MD5", md5s)
    load_cifar10(tmp_path, cache_dir=None)


def test_md5_table_is_torchvisions():
    expected = dict(CIFAR10.train_list + CIFAR10.test_list)
    expected[CIFAR10.meta["filename"]] = CIFAR10.meta["md5"]
    assert expected == cifar._MD5


def test_pickles_load_without_numpy(tmp_path, monkeypatch):
    write_pickles(tmp_path)
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        monkeypatch.setitem(sys.modules, module, None)  # any import of it now fails
    assert load_cifar10(tmp_path, cache_dir=None, verify=False).train_images.shape[0] == 100


def python2_pickle(images, labels):
    """The bytes Python 2's cPickle.dump(batch, f, 2) writes, as in the official archive.

    Python 2 str are BINSTRING opcodes (read back as bytes), no _codecs.encode calls.
    """
    def s(b):
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<I", len(b)) + b
    out = b"\x80\x02}(" + s(b"batch_label") + s(b"testing batch 1 of 1") + s(b"labels") + b"]("
    out += b"".join(b"K" + bytes([y]) for y in labels) + b"e" + s(b"data")
    out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b") + b"\x87R"
    out += b"(K\x01K" + bytes([len(labels)]) + b"M\x00\x0c\x86cnumpy\ndtype\n" + s(b"u1")
    out += b"K\x00K\x01\x87R(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    return out + b"\x89" + s(images.numpy().tobytes()) + b"tbu."


def test_python2_pickle_as_in_the_official_archive(tmp_path):
    folder = write_pickles(tmp_path)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3072), dtype=torch.uint8, generator=gen)
    raw = python2_pickle(images, [3, 1, 4, 1, 5])
    oracle = pickle.loads(raw, encoding="bytes")  # numpy's own reading of the same bytes
    assert torch.equal(torch.from_numpy(oracle[b"data"]), images)
    (folder / "test_batch").write_bytes(raw)
    d = load_cifar10(tmp_path, cache_dir=None, verify=False)
    assert torch.equal(d.test_images, images.reshape(5, 3, 32, 32))
    assert d.test_labels.tolist() == [3, 1, 4, 1, 5]


@pytest.mark.parametrize("attack", ["os.system", "Path.touch"])
def test_restricted_unpickler_refuses_to_run_code(tmp_path, attack):
    folder = write_pickles(tmp_path)
    marker = tmp_path / "pwned"
    call = (os.system, (f"touch {marker}",)) if attack == "os.system" else (
        pathlib.Path.touch, (marker,))
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Exploit(call), b"labels": []}, f, protocol=2)
    with pytest.raises(LinclfError, match="data_batch_1.*refuses to load global"):
        load_cifar10(tmp_path, cache_dir=None, verify=False)
    assert not marker.exists()
    with open(folder / "data_batch_1", "rb") as f:
        pickle.load(f)  # the payload is live: plain pickle runs it
    assert marker.exists()


def test_truncated_pickle_names_the_file(tmp_path):
    folder = write_pickles(tmp_path)
    raw = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(LinclfError, match="data_batch_3 is not a readable CIFAR-10 pickle"):
        load_cifar10(tmp_path, cache_dir=None, verify=False)


def test_wrong_array_shape_or_type_and_missing_file(tmp_path):
    folder = write_pickles(tmp_path)
    with open(folder / "data_batch_2", "wb") as f:
        pickle.dump({b"data": np.zeros((20, 3072)), b"labels": [0] * 20}, f, 2)
    with pytest.raises(LinclfError, match="data_batch_2 is not .*not C-ordered uint8"):
        load_cifar10(tmp_path, cache_dir=None, verify=False)
    write_pickles(tmp_path)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((20, 3000), np.uint8), b"labels": [0] * 20}, f, 2)
    with pytest.raises(LinclfError, match=r"test_batch: 'data' must be .*got \(20, 3000\)"):
        load_cifar10(tmp_path, cache_dir=None, verify=False)
    (folder / "data_batch_4").unlink()
    with pytest.raises(LinclfError, match="data_batch_4 is missing"):
        load_cifar10(tmp_path, cache_dir=None, verify=False)


# ------------------------------------------------------------------------------- image folder

def read_png(path):
    """A second decoder (PIL) as the oracle for what a file holds, (3, 32, 32) uint8."""
    return torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1)


def test_image_folder_loads_every_image_with_its_label(tmp_path):
    root = write_image_folder(tmp_path, n_train_per_class=10, n_test_per_class=4)
    d = load_cifar10(root, cache_dir=None)
    assert d.source == "imagefolder" and d.classes == CLASSES and d.batch_size == 20
    assert d.train_images.shape == (100, 3, 32, 32) and d.test_images.shape == (40, 3, 32, 32)
    assert d.train_labels.dtype == torch.int64 and d.train_images.dtype == torch.uint8
    # Test set in folder order: class by class, files sorted.
    test_files = [p for c in CLASSES for p in sorted((root / "test" / c).iterdir())]
    assert torch.equal(d.test_images, torch.stack([read_png(p) for p in test_files]))
    assert torch.equal(d.test_labels, torch.arange(10).repeat_interleave(4))
    # Training set: every file exactly once (in batch order), with its folder's label.
    label_of = {read_png(p).numpy().tobytes(): k
                for k, c in enumerate(CLASSES) for p in (root / "train" / c).iterdir()}
    loaded = [x.numpy().tobytes() for x in d.train_images]
    assert sorted(loaded) == sorted(label_of)
    assert [label_of[x] for x in loaded] == d.train_labels.tolist()


def test_image_folder_batch_order_is_stratified_shuffled_and_fixed(tmp_path):
    root = write_image_folder(tmp_path, n_train_per_class=10, ext="jpg")
    d = load_cifar10(root, cache_dir=None)
    batches = d.train_labels.view(5, d.batch_size)
    for batch in batches:
        assert torch.bincount(batch, minlength=10).tolist() == [2] * 10
        assert not torch.equal(batch, batch.sort().values)  # not sorted by class
    again = load_cifar10(root, cache_dir=None)
    assert torch.equal(d.train_labels, again.train_labels)
    assert torch.equal(d.train_images, again.train_images)


def test_batch_order_with_uneven_classes():
    sizes = torch.tensor([7, 3, 12, 5, 9, 6, 11, 4, 8, 10])
    labels = torch.arange(10).repeat_interleave(sizes)
    order = imagefolder.batch_order(labels)
    assert sorted(order.tolist()) == list(range(len(labels)))
    size = len(labels) // 5
    for b in range(5):
        batch = labels[order[b * size:(b + 1) * size if b < 4 else None]]
        assert ((torch.bincount(batch, minlength=10) - sizes / 5).abs() <= 1).all()


def bad_size(path):
    write_image(path, torch.zeros(3, 32, 31, dtype=torch.uint8))


def not_an_image(path):
    path.write_text("hello")


@pytest.mark.parametrize("write, error", [
    (bad_size, r"train/cat/bad\.png is 31x32 with 3 channel\(s\), not 32x32 RGB"),
    (not_an_image, r"cannot decode .*train/cat/bad\.png"),
])
def test_bad_image_names_the_file(tmp_path, write, error):
    root = write_image_folder(tmp_path, n_train_per_class=5, n_test_per_class=1)
    write(root / "train" / "cat" / "bad.png")
    with pytest.raises(LinclfError, match=error):
        load_cifar10(root, cache_dir=None)


@pytest.mark.parametrize("change, error", [
    (lambda root: shutil.rmtree(root / "train" / "cat"), r"missing class folder .*train/cat"),
    (lambda root: (root / "train" / "kitten").mkdir(), r"unexpected folder .*train/kitten"),
    (lambda root: (root / "test" / "dog").rename(root / "test" / "doggo"), r"test/doggo"),
    (lambda root: [p.unlink() for p in (root / "test" / "dog").iterdir()],
     r"class folder .*test/dog holds no"),
    (lambda root: shutil.rmtree(root / "test"), r"test is missing"),
])
def test_bad_class_folders_are_named(tmp_path, change, error):
    root = write_image_folder(tmp_path, n_train_per_class=5, n_test_per_class=1)
    change(root)
    with pytest.raises(LinclfError, match=error):
        load_cifar10(root, cache_dir=None)


# --------------------------------------------------------------------------- download branch

def fake_download(calls):
    """Stands in for torchvision's downloader: "downloads" synthetic pickles."""
    def download_and_extract_archive(url, download_root, filename=None, md5=None, **kw):
        assert (url, filename, md5) == (CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5)
        calls.append(download_root)
        write_pickles(download_root)
    return download_and_extract_archive


def test_empty_data_dir_downloads_through_torchvision(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive",
                        fake_download(calls))
    d = load_cifar10(tmp_path / "data", cache_dir=None, verify=False)
    assert d.source == "torchvision" and len(calls) == 1
    assert_same(d, load_cifar10(write_pickles(tmp_path / "ref"), cache_dir=None, verify=False))
    again = load_cifar10(tmp_path / "data", cache_dir=None, verify=False)
    assert again.source == "pickles" and len(calls) == 1  # now found on disk


def offline(url, download_root, **kwargs):
    """torchvision's downloader without network: it creates the folder, then fails."""
    os.makedirs(download_root, exist_ok=True)
    raise OSError("no network")


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("data_dir", ["data", "data/typo/nested"])
def test_failed_download_creates_nothing_and_says_what_to_do(tmp_path, monkeypatch, data_dir):
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", offline)
    with pytest.raises(LinclfError) as error:
        load_cifar10(tmp_path / data_dir, cache_dir=None)
    assert str(error.value) == (
        f"no CIFAR-10 found: '{tmp_path / data_dir}' does not exist, and downloading CIFAR-10 into it failed "
        "(OSError: no network): check the path; or put the official cifar-10-batches-py folder, or "
        f"train/<class>/ and test/<class>/ image folders, in '{tmp_path / data_dir}', or pass the folder "
        "that holds them as --data-dir PATH (data_dir=PATH from Python)")
    assert listing(tmp_path) == []  # neither the folder, nor its parents, nor a temporary folder


def test_download_into_an_existing_empty_folder_leaves_nothing_else(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", offline)
    with pytest.raises(LinclfError, match=r"'[^']*data' is empty, and downloading CIFAR-10 into it failed "
                                          r"\(OSError: no network\): put the official"):
        load_cifar10(tmp_path / "data", cache_dir=None)
    assert listing(tmp_path) == ["data"]


@pytest.mark.parametrize("half", ["train", "test"])
def test_half_of_an_image_folder_names_its_parent(tmp_path, monkeypatch, half):
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", None)  # never called
    root = write_image_folder(tmp_path / "cifar", n_train_per_class=1, n_test_per_class=1)
    before = listing(tmp_path)
    with pytest.raises(LinclfError) as error:
        load_cifar10(root / half, cache_dir=None)
    assert str(error.value) == (
        f"no CIFAR-10 found: '{root / half}' holds class folders (airplane, automobile, bird, ...): it looks "
        f"like the {half}/ half of an image folder: pass its parent, '{root}', as --data-dir (data_dir from Python)")
    assert listing(tmp_path) == before
    assert load_cifar10(root, cache_dir=None).train_images.shape == (10, 3, 32, 32)  # the advice works


def test_class_folders_under_another_name_are_half_of_an_image_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", None)
    (tmp_path / "training" / "cat").mkdir(parents=True)
    with pytest.raises(LinclfError, match=r"'[^']*training' holds class folders \(cat\): it looks like one half "
                                          r"of an image folder, .*name it train/ or test/"):
        load_cifar10(tmp_path / "training", cache_dir=None, download=False)


def test_interrupted_download_leaves_no_partial_folder(tmp_path, monkeypatch):
    def half(url, download_root, **kwargs):
        (Path(download_root) / "cifar-10-batches-py").mkdir()
        (Path(download_root) / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", half)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(tmp_path / "data", cache_dir=None)
    assert listing(tmp_path) == []


def test_download_lands_in_place_with_the_archive_beside_it(tmp_path, monkeypatch):
    def download(url, download_root, filename=None, md5=None, **kwargs):
        (Path(download_root) / filename).write_bytes(b"the archive")
        write_pickles(download_root)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", download)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    d = load_cifar10(tmp_path / "data", cache_dir=None, verify=False)
    assert d.source == "torchvision" and d.train_images.shape == (100, 3, 32, 32)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "cifar-10-batches-py", "cifar-10-python.tar.gz", "notes.txt"]
    assert listing(tmp_path / "data" / "cifar-10-batches-py") == listing(write_pickles(tmp_path / "ref"))


def test_an_archive_put_in_the_folder_by_hand_is_offered_to_torchvision(tmp_path, monkeypatch):
    seen = []

    def download(url, download_root, filename=None, md5=None, **kwargs):
        seen.append((Path(download_root) / filename).read_bytes())  # torchvision checks its MD5
        write_pickles(download_root)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", download)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / CIFAR10.filename).write_bytes(b"copied by hand")
    load_cifar10(tmp_path / "data", cache_dir=None, verify=False)
    assert seen == [b"copied by hand"]


@pytest.mark.parametrize("make, data_dir, download, state", [
    (lambda p: None, "data", False, "'[^']*data' does not exist and downloading is off: check the path; or"),
    (lambda p: (p / "data").mkdir(), "data", False, "'[^']*data' is empty and downloading is off"),
    (lambda p: ((p / "data").mkdir(), (p / "data" / "notes.txt").write_text("hi")), "data", False,
     "'[^']*data' holds neither cifar-10-batches-py/ nor train/ and test/ and downloading is off"),
    # Not a folder: refused before any download (the downloader is None: calling it would fail)
    (lambda p: (p / "data").write_text("not a folder"), "data", True, "'[^']*data' is not a folder"),
    (lambda p: (p / "file").write_text("x"), "file/data", True, "'[^']*file' is not a folder"),
])
def test_no_data_gives_advice_and_creates_nothing(tmp_path, monkeypatch, make, data_dir, download, state):
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", None)
    make(tmp_path)
    before = listing(tmp_path)
    with pytest.raises(LinclfError, match=f"no CIFAR-10 found: {state}:? put .*--data-dir PATH \\(data_dir=PATH from Python\\)$"):
        load_cifar10(tmp_path / data_dir, cache_dir=None, download=download)
    assert listing(tmp_path) == before


# ------------------------------------------------------------------------------------- cache

def fail(*args, **kwargs):
    raise AssertionError("decoded although the cache should have answered")


def test_cache_answers_the_second_load(tmp_path, monkeypatch):
    root = write_image_folder(tmp_path / "data")
    first = load_cifar10(root, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(imagefolder, "decode_split", fail)
    assert_same(load_cifar10(root, cache_dir=tmp_path / "cache"), first)
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_cache_rebuilt_when_a_file_changes(tmp_path):
    root = write_image_folder(tmp_path / "data")
    load_cifar10(root, cache_dir=tmp_path / "cache")
    black = root / "train" / "cat" / "0000.png"
    write_image(black, torch.zeros(3, 32, 32, dtype=torch.uint8))
    os.utime(black, ns=(1, 1))  # a different mtime even on a coarse clock
    d = load_cifar10(root, cache_dir=tmp_path / "cache")
    assert (d.train_images.flatten(1).amax(1) == 0).sum() == 1
    assert len(list((tmp_path / "cache").iterdir())) == 1  # replaced, not added


def test_corrupt_cache_is_ignored_and_rewritten(tmp_path):
    root = write_image_folder(tmp_path / "data")
    first = load_cifar10(root, cache_dir=tmp_path / "cache")
    [cache_file] = (tmp_path / "cache").iterdir()
    cache_file.write_bytes(b"not a torch file")
    assert_same(load_cifar10(root, cache_dir=tmp_path / "cache"), first)
    assert torch.load(cache_file, weights_only=True)["batch_size"] == first.batch_size


def test_pickle_cache_and_md5_check(tmp_path, monkeypatch):
    write_pickles(tmp_path / "data")
    first = load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache", verify=False)
    monkeypatch.setattr(cifar, "load_cifar_pickle", fail)
    assert_same(load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache", verify=False), first)
    # An entry made without the MD5 check does not answer a load that asks for it.
    with pytest.raises(LinclfError, match="--no-verify"):
        load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache", verify=True)
