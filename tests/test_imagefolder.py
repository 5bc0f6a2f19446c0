"""Image folders as a user's disk has them: every pixel format, odd files, files that change.

Each pixel format is checked against the same picture saved as 8-bit RGB PNG in the same
folder, both read by the loader: the two decoded images must be equal.
"""
import os
import shutil
import sys
import types

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from linclf_torch.data import imagedecode, imagefolder
from linclf_torch.data.cifar import CLASSES, load_cifar10
from linclf_torch.errors import LinclfError
from synthetic import write_image_folder, write_png16

CAT = CLASSES.index("cat")
OLD_TORCHVISION = tuple(int(v) for v in torchvision.__version__.split(".")[:2]) < (0, 21)
N_TEST = 2  # test images per class: test/cat/0000.* is test image 2·CAT, test/cat/0001.png the next


@pytest.fixture
def root(tmp_path):
    return write_image_folder(tmp_path / "images", n_train_per_class=5, n_test_per_class=N_TEST)


def picture(seed=0):
    """(32, 32, 3) uint8: smooth gradients plus noise, so that JPEG and palettes have work to do."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32]
    base = np.stack([x * 8, y * 8, (x + y) * 4], axis=-1) + rng.normal(0, 20, (32, 32, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def pil(mode):
    """Saved by PIL in `mode`; the 8-bit RGB version is PIL's convert("RGB") of the same image."""
    def write(path, rgb):
        image = Image.fromarray(rgb).convert(mode.split("+")[0])
        if mode == "P+transparency":
            image.info["transparency"] = 0  # palette entry 0 fully transparent: a tRNS chunk
        image.save(path)
        return np.array(Image.open(path).convert("RGB"))
    return write


def rgba(path, rgb):
    alpha = np.random.default_rng(1).integers(0, 256, (32, 32, 1), dtype=np.uint8)
    Image.fromarray(np.concatenate([rgb, alpha], axis=-1)).save(path)
    return rgb  # alpha dropped, not blended, as torchvision and PIL do


def png16(channels):
    """A 16-bit PNG whose high bytes are the 8-bit picture and whose low bytes are noise:
    8 bits are v // 256, as torchvision's to_dtype(scale=True) and PIL keep them."""
    def write(path, rgb):
        gray = np.array(Image.fromarray(rgb).convert("L"))[:, :, None]
        alpha = np.full((32, 32, 1), 77, np.uint8)
        eight = {1: gray, 2: np.concatenate([gray, alpha], -1), 3: rgb, 4: np.concatenate([rgb, alpha], -1)}[channels]
        low = np.random.default_rng(2).integers(0, 256, eight.shape)
        write_png16(path, torch.from_numpy(eight.astype(np.int64) * 256 + low).permute(2, 0, 1))
        return np.repeat(gray, 3, -1) if channels < 3 else rgb
    return write


def jpeg(mode):
    """A JPEG in `mode`; the reference is PIL's decoding of that very file."""
    def write(path, rgb):
        Image.fromarray(rgb).convert(mode).save(path, quality=90)
        return np.array(Image.open(path).convert("RGB"))
    return write


FORMATS = {
    "gray PNG": ("png", pil("L")),
    "gray+alpha PNG": ("png", pil("LA")),
    "1-bit PNG": ("png", pil("1")),
    "palette PNG": ("png", pil("P")),
    "palette PNG with a transparent colour": ("png", pil("P+transparency")),
    "RGBA PNG": ("png", rgba),
    "16-bit gray PNG": ("png", png16(1)),
    "16-bit gray+alpha PNG": ("png", png16(2)),
    "16-bit RGB PNG": ("png", png16(3)),
    "16-bit RGBA PNG": ("png", png16(4)),
    "gray JPEG": ("jpg", jpeg("L")),
    "CMYK JPEG": ("jpg", jpeg("CMYK")),
    "RGB JPEG, upper-case .JPEG": ("JPEG", jpeg("RGB")),
}


@pytest.mark.parametrize("name", FORMATS)
def test_pixel_format_decodes_like_the_same_image_in_8_bit_rgb(root, name):
    suffix, write = FORMATS[name]
    cat = root / "test" / "cat"
    for f in cat.iterdir():
        f.unlink()
    expected = write(cat / f"0000.{suffix}", picture())
    Image.fromarray(expected).save(cat / "0001.png")  # the same picture, 8-bit RGB
    if OLD_TORCHVISION:  # 16-bit PNGs (0.21) and CMYK JPEGs are newer: refused by name is right too
        try:
            load_cifar10(root, cache_dir=None)
        except LinclfError as e:
            assert f"cat/0000.{suffix}" in str(e)
            return
    images = load_cifar10(root, cache_dir=None).test_images
    got, reference = images[N_TEST * CAT], images[N_TEST * CAT + 1]
    if suffix.lower() in ("jpg", "jpeg"):
        # Two builds of libjpeg may round the inverse DCT differently: one level at most.
        assert (got.int() - reference.int()).abs().max() <= 1, name
    else:
        assert torch.equal(got, reference), name


def test_hidden_files_other_suffixes_and_folders_named_like_images_are_skipped(root):
    before = load_cifar10(root, cache_dir=None)
    cat = root / "train" / "cat"
    (cat / "._0000.png").write_bytes(b"\x00\x05\x16\x07" + bytes(100))  # macOS AppleDouble
    (cat / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    (cat / "Thumbs.db").write_bytes(bytes(50))
    (cat / "notes.txt").write_text("cats")
    (cat / "folder.png").mkdir()
    (root / "train" / ".ipynb_checkpoints").mkdir()
    after = load_cifar10(root, cache_dir=None)
    assert torch.equal(before.train_images, after.train_images)
    assert torch.equal(before.train_labels, after.train_labels)


def test_upper_case_suffixes_and_symbolic_links_are_images(root):
    before = load_cifar10(root, cache_dir=None)
    cat = root / "train" / "cat"
    (cat / "0000.png").rename(cat / "0000.PNG")
    (cat / "0001.png").rename(root / "elsewhere.png")
    (cat / "0001.png").symlink_to(root / "elsewhere.png")
    after = load_cifar10(root, cache_dir=None)
    assert torch.equal(before.train_images, after.train_images)


def truncated_jpeg(path):
    path.unlink()
    Image.fromarray(picture()).save(path.with_suffix(".jpg"), quality=90)
    data = path.with_suffix(".jpg").read_bytes()
    path.with_suffix(".jpg").write_bytes(data[:len(data) * 2 // 3])


@pytest.mark.parametrize("damage, error", [
    (lambda p: p.write_bytes(b""), r"train/cat/0002\.png is empty \(0 bytes\)"),
    (truncated_jpeg, r"cannot decode .*train/cat/0002\.jpg .*truncated"),
    (lambda p: p.write_text("hello"), r"cannot decode .*train/cat/0002\.png"),
    (lambda p: Image.fromarray(np.zeros((31, 32, 3), np.uint8)).save(p), r"train/cat/0002\.png is 32x31 with 3 channel\(s\), not 32x32 RGB"),
    (lambda p: (p.unlink(), p.symlink_to(p.parent / "gone.png")), r"train/cat/0002\.png is a broken symbolic link"),
])
def test_bad_files_are_refused_by_name(root, damage, error):
    damage(root / "train" / "cat" / "0002.png")
    with pytest.raises(LinclfError, match=error):
        load_cifar10(root, cache_dir=None)


@pytest.mark.parametrize("cache", [None, "cache"])
def test_a_file_that_vanishes_after_the_listing_is_named(root, tmp_path, monkeypatch, cache):
    """Listed, then deleted before it is read: by the fingerprint (with a cache) or the decoder."""
    list_split = imagefolder.list_split

    def list_then_delete(root_, split, classes):
        files = list_split(root_, split, classes)
        if split == "test":
            (root / "train" / "cat" / "0003.png").unlink()
        return files
    monkeypatch.setattr("linclf_torch.data.cifar.list_split", list_then_delete)
    with pytest.raises(LinclfError, match=r"train/cat/0003\.png disappeared while .*run again"):
        load_cifar10(root, cache_dir=cache and tmp_path / cache)


def test_decoding_threads_name_the_first_bad_file_in_folder_order(root, monkeypatch):
    monkeypatch.setattr(imagefolder, "BLOCK", 3)  # many blocks, decoded by several threads
    for name in ("0001.png", "0004.png"):
        (root / "train" / "dog" / name).write_bytes(b"")
    (root / "train" / "cat" / "0004.png").write_bytes(b"")
    for _ in range(3):
        with pytest.raises(LinclfError, match=r"train/cat/0004\.png is empty"):
            load_cifar10(root, cache_dir=None)


def test_threads_decode_the_same_images_as_one_thread(root, monkeypatch):
    many = load_cifar10(root, cache_dir=None)
    monkeypatch.setattr(imagefolder, "BLOCK", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    one = load_cifar10(root, cache_dir=None)
    assert torch.equal(many.train_images, one.train_images) and torch.equal(many.test_images, one.test_images)


def test_a_class_folder_of_only_hidden_files_holds_no_image(root):
    cat = root / "test" / "cat"
    for f in cat.iterdir():
        shutil.move(f, cat / f".{f.name}")
    with pytest.raises(LinclfError, match=r"class folder .*test/cat holds no \.png/\.jpg/\.jpeg image"):
        load_cifar10(root, cache_dir=None)


def test_read_file_reads_files_larger_than_one_read(tmp_path):
    blob = bytes(range(256)) * 1000 + b"end"  # 256,003 bytes: four reads of 64 KiB and a short one
    (tmp_path / "big.png").write_bytes(blob)
    data = imagedecode.read_file(str(tmp_path / "big.png"))
    assert isinstance(data, bytearray) and data == blob


def test_a_torchvision_without_image_decoders_is_one_line(root, monkeypatch):
    """torchvision's image decoding is deprecated since 0.29: where a later one has none, the
    error says what to install, or to use the pickles, instead of an AttributeError."""
    monkeypatch.setitem(sys.modules, "torchvision.io", types.ModuleType("torchvision.io"))  # no decode_image
    with pytest.raises(LinclfError, match=r"^torchvision \S+ has no image decoder .*official CIFAR-10 pickles"):
        load_cifar10(root, cache_dir=None)
