"""The decoded-image cache: where it lives (keyed by the data, never by the current folder),
what happens when its file is damaged, and when it cannot be written."""
import errno
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch

from linclf_torch import files as linclf_files
from linclf_torch.data import cache, imagefolder
from linclf_torch.data.cache import cache_folder
from linclf_torch.data.cifar import load_cifar10
from synthetic import write_image_folder, write_pickles


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """XDG_CACHE_HOME and HOME in tmp_path, so that no test writes into the real ones."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def decodes(monkeypatch):
    """How many times the image folder was decoded."""
    calls = []
    decode = imagefolder.read_image_folder

    def counting(*args, **kwargs):
        calls.append(1)
        return decode(*args, **kwargs)
    monkeypatch.setattr("linclf_torch.data.cifar.read_image_folder", counting)
    return calls


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def files(folder):
    return sorted(p.name for p in folder.rglob("*.pt")) if folder.exists() else []


def read_only(folder):
    """Mode r-x for everyone, folder and all below: read-only by intent, even for root."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_two_working_directories_decode_once(homes, monkeypatch, decodes):
    root = write_image_folder(homes / "images")
    for cwd, path in (("a", "../images"), ("b/c", "../../images")):
        (homes / cwd).mkdir(parents=True)
        monkeypatch.chdir(homes / cwd)
        d = load_cifar10(path)
        assert d.train_images.shape == (100, 3, 32, 32)
    assert len(decodes) == 1
    assert len(files(root / "cache")) == 1 and not (homes / "a" / "data").exists()


def test_writable_data_folder_keeps_its_cache_inside(homes):
    root = write_image_folder(homes / "images")
    assert cache_folder("auto", root) == root / "cache"
    load_cifar10(root)
    assert len(files(root / "cache")) == 1 and files(homes / "xdg") == []


def test_read_only_data_folder_is_never_written_the_user_cache_is(homes, decodes):
    root = write_image_folder(homes / "images")
    before = sorted(p for p in root.rglob("*"))
    read_only(root)
    assert not root.stat().st_mode & 0o222
    assert cache_folder("auto", root) == homes / "xdg" / "linclf_torch"
    load_cifar10(root)
    load_cifar10(root)
    assert sorted(p for p in root.rglob("*")) == before and len(decodes) == 1
    assert len(files(homes / "xdg" / "linclf_torch")) == 1


def test_read_only_cache_folder_inside_writable_data_folder(homes):
    root = write_image_folder(homes / "images")
    (root / "cache").mkdir()
    read_only(root / "cache")
    assert cache_folder("auto", root) == homes / "xdg" / "linclf_torch"


@pytest.mark.parametrize("xdg", [None, "", "relative/path"])
def test_without_a_usable_xdg_cache_home_the_cache_is_under_home(homes, monkeypatch, xdg):
    """The XDG spec: unset, empty or relative means ~/.cache."""
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME")
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    root = write_pickles(homes / "pickles").parent
    read_only(root)
    load_cifar10(root, verify=False)
    assert len(files(homes / "home" / ".cache" / "linclf_torch")) == 1


def test_a_given_folder_and_none(homes):
    root = write_image_folder(homes / "images")
    load_cifar10(root, cache_dir=homes / "mine")
    assert len(files(homes / "mine")) == 1
    load_cifar10(root, cache_dir=None)
    assert files(root) == [] and files(homes / "xdg") == [] and files(homes / "home") == []


# ------------------------------------------------------------------------------------ damage

def flip_bytes_inside(path, image):
    """Change 3 bytes in the middle of one stored image (found by its bytes in the file)."""
    raw = bytearray(path.read_bytes())
    at = raw.find(image.numpy().tobytes())
    assert at > 0
    for i in (100, 101, 2000):
        raw[at + i] ^= 0x5A
    path.write_bytes(raw)


def test_damaged_cache_is_rebuilt_with_one_line(homes, capsys, decodes):
    root = write_image_folder(homes / "images")
    first = load_cifar10(root)
    [path] = (root / "cache").iterdir()
    flip_bytes_inside(path, first.train_images[7])
    second = load_cifar10(root)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.count("is damaged") == 1
    assert f"linclf: the decoded-image cache {path} is damaged (checksum mismatch); rebuilding it" in err
    assert torch.equal(second.train_images, first.train_images) and torch.equal(second.test_images, first.test_images)
    assert len(decodes) == 2
    third = load_cifar10(root)  # the rebuilt file is whole again
    assert capsys.readouterr().err == "" and len(decodes) == 2
    assert torch.equal(third.train_images, first.train_images)


def test_damaged_pickle_cache_is_rebuilt(homes, capsys):
    folder = write_pickles(homes / "data")
    first = load_cifar10(folder, verify=False)
    [path] = (folder / "cache").iterdir()
    flip_bytes_inside(path, first.test_images[3])
    assert torch.equal(load_cifar10(folder, verify=False).test_images, first.test_images)
    assert "checksum mismatch" in capsys.readouterr().err


def test_truncated_cache_is_rebuilt_with_one_line(homes, capsys):
    root = write_image_folder(homes / "images")
    first = load_cifar10(root)
    [path] = (root / "cache").iterdir()
    path.write_bytes(path.read_bytes()[:5000])
    assert torch.equal(load_cifar10(root).train_images, first.train_images)
    assert "is damaged (not a readable torch file)" in capsys.readouterr().err


def test_loaded_data_holds_no_view_of_the_mapped_cache_file(homes, monkeypatch):
    """The cache is memory-mapped; what prepare keeps must be its own memory, or the whole
    file stays mapped for the run."""
    from linclf_torch.data import cache
    from linclf_torch.data.prepare import load_data
    root = write_image_folder(homes / "images")
    load_data(root)
    read, mapped = cache.read, []

    def recording(path):
        entry = read(path)
        mapped.extend((t.data_ptr(), t.data_ptr() + t.nbytes) for t in entry.values() if isinstance(t, torch.Tensor))
        return entry
    monkeypatch.setattr(cache, "read", recording)
    data = load_data(root)
    assert len(mapped) == 4
    for t in (data.X_train, data.y_train, data.X_val, data.y_val, data.test_images, data.y_test, data.X_test):
        assert not any(lo <= t.data_ptr() < hi for lo, hi in mapped)


# ----------------------------------------------------------------------------- one file per folder

def test_a_copied_data_folder_keeps_one_cache_file(homes, decodes):
    """A copy has new mtimes, so its cache is rebuilt: in place, under the same name."""
    root = write_image_folder(homes / "images")
    load_cifar10(root)
    assert files(root / "cache") == ["cifar10-imagefolder.pt"]
    copy = shutil.copytree(root, homes / "copy", copy_function=shutil.copy)
    for image in copy.rglob("*.png"):
        os.utime(image, ns=(1, 1))  # new timestamps, whatever the clock's resolution
    assert torch.equal(load_cifar10(copy).train_images, load_cifar10(root).train_images)
    assert len(decodes) == 2 and files(copy / "cache") == ["cifar10-imagefolder.pt"]


def test_a_keyed_cache_file_beside_the_data_is_removed_when_rebuilt(homes):
    """Earlier versions named the file beside the data with a key of its path: such a file
    (185 MB with CIFAR-10) is removed, one of another kind is not."""
    root = write_image_folder(homes / "images")
    (root / "cache").mkdir()
    for old in ("cifar10-imagefolder-0123456789abcdef.pt", "cifar10-pickles-0123456789abcdef.pt"):
        (root / "cache" / old).write_bytes(b"an old cache file")
    load_cifar10(root)
    assert files(root / "cache") == ["cifar10-imagefolder.pt", "cifar10-pickles-0123456789abcdef.pt"]


def test_a_shared_cache_folder_names_each_data_folder_apart(homes):
    a, b = write_image_folder(homes / "a"), write_image_folder(homes / "b", seed=1)
    assert not torch.equal(load_cifar10(a, cache_dir=homes / "shared").train_images,
                           load_cifar10(b, cache_dir=homes / "shared").train_images)
    assert len(files(homes / "shared")) == 2
    assert torch.equal(load_cifar10(b, cache_dir=homes / "shared").train_images,
                       load_cifar10(b, cache_dir=None).train_images)


# ------------------------------------------------------------------------------- cannot be written

def full_disk_at(number):
    """replace_atomic whose write stops half-way with OSError(number), as torch.save on a full
    disk: the temporary file exists, holding a part of the cache."""
    def replace_atomic(path, write):
        def half(tmp):
            Path(tmp).write_bytes(b"the first bytes of a cache file")
            raise OSError(number, os.strerror(number))
        linclf_files.replace_atomic(path, half)
    return replace_atomic


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_costs_the_cache_not_the_data(homes, monkeypatch, capsys, decodes, number):
    root = write_image_folder(homes / "images")
    before = listing(root)
    monkeypatch.setattr(cache, "replace_atomic", full_disk_at(number))
    for _ in range(2):  # each load decodes, and says so once
        d = load_cifar10(root)
        err = capsys.readouterr().err
        assert err == (f"linclf: could not keep the decoded-image cache {root / 'cache' / 'cifar10-imagefolder.pt'}: "
                       "the disk is full; the data was loaded all the same (and is decoded again next time)\n")
        assert torch.equal(d.train_images, load_cifar10(root, cache_dir=None).train_images)
        assert listing(root) == before  # no temporary file, no cache file, no empty cache/ folder
    assert len(decodes) == 4


def test_a_cache_folder_that_cannot_be_made_costs_the_cache_not_the_data(homes, capsys):
    root = write_image_folder(homes / "images")
    (homes / "file").write_text("a file, so no folder can be made under it")
    d = load_cifar10(root, cache_dir=homes / "file" / "cache")
    assert d.train_images.shape == (100, 3, 32, 32)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"linclf: could not keep the decoded-image cache {homes / 'file' / 'cache'}/cifar10-imagefolder-")
    assert ": Not a directory; the data was loaded all the same" in err


def test_a_write_that_fails_for_another_reason_than_writing_is_a_bug_seen_in_full(homes, monkeypatch):
    def bug(path, write):
        raise RuntimeError("a bug in the cache's code")
    monkeypatch.setattr(cache, "replace_atomic", bug)
    with pytest.raises(RuntimeError, match="a bug in the cache's code"):
        load_cifar10(write_image_folder(homes / "images"))
