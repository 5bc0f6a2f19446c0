"""Data options: class subsets, resizing, per-channel standardization, the random split, a
checkpoint's test split preprocessed exactly as in training, and the streaming preparation
(chunked statistics, in-place conversion, the test split on first use) against the plain
float64 formula."""
from dataclasses import replace

import pytest
import torch

from linclf_torch.data.cifar import load_cifar10
from linclf_torch.data.prepare import prepare, select, split_indices
from linclf_torch.errors import LinclfError
from linclf_torch.runs.checkpoint import prepare_test
from synthetic import write_pickles


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = write_pickles(tmp_path_factory.mktemp("cifar"), n_per_batch=40)
    return load_cifar10(folder, verify=False, cache_dir=None)


def test_select_keeps_the_classes_relabelled_in_the_given_order(raw):
    sub = select(raw, ("cat", "automobile"))
    assert sub.classes == ("cat", "automobile")
    for new, old in ((0, 3), (1, 1)):
        assert torch.equal(sub.train_images[sub.train_labels == new], raw.train_images[raw.train_labels == old])
        assert torch.equal(sub.test_images[sub.test_labels == new], raw.test_images[raw.test_labels == old])
    assert len(sub.train_labels) == 40 and len(sub.test_labels) == 8
    assert sub.batch_size == int(torch.isin(raw.train_labels[:40], torch.tensor([1, 3])).sum())


@pytest.mark.parametrize("classes", [("cat", "cow"), ("cat", "cat"), ("cat",)])
def test_bad_class_lists_are_refused(raw, classes):
    with pytest.raises(LinclfError, match="--classes"):
        select(raw, classes)


def test_resize_is_antialiased(raw):
    """Columns 0, 4, 8, ... white, the rest black; 32 -> 8 averages each 4-wide cell to ≈ 64.

    Plain bilinear sampling (no antialiasing) would read columns 1-2 of every cell: all black.
    """
    stripes = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    stripes[..., ::4] = 255
    small = select(type(raw)(stripes, torch.zeros(1, dtype=torch.int64), stripes, torch.zeros(1, dtype=torch.int64),
                             raw.classes, 1, "synthetic"), image_size=8)
    assert small.train_images.shape == (1, 3, 8, 8) and small.test_images.shape == (1, 3, 8, 8)
    interior = small.train_images[..., 2:-2].float()
    assert (interior - 63.75).abs().max() <= 2, interior


@pytest.mark.parametrize("normalize", ["pixel", "channel"])
def test_standardized_with_training_statistics(raw, normalize):
    data = prepare(raw, split="random", n_val=30, normalize=normalize, dtype=torch.float64)
    X = data.X_train.reshape(len(data.y_train), 3, -1)  # (n, 3, H·W)
    dims = (0,) if normalize == "pixel" else (0, 2)
    assert data.mean.shape == ((3, 32, 32) if normalize == "pixel" else (3, 1, 1))
    # torch's cascade sums of ≤ 170·1024 standardized values (|x| ≲ 5): error ≲ log₂(n)·u·max|x| ≪ 1e-12
    assert X.mean(dims).abs().max() < 1e-12
    assert (X.std(dims) - 1).abs().max() < 1e-12


def test_random_split_is_seeded_disjoint_and_complete():
    train, val = split_indices(100, 20, "random", 10, seed=0)
    again, other = split_indices(100, 20, "random", 10, seed=0), split_indices(100, 20, "random", 10, seed=1)
    assert len(val) == 10 and len(train) == 90
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    assert torch.equal(val, again[1]) and not torch.equal(val, other[1])
    with pytest.raises(LinclfError, match="--n-val"):
        split_indices(100, 20, "random", 100)


def test_checkpoint_test_split_repeats_the_training_preprocessing(raw):
    data = prepare(raw, split="random", n_val=8, classes=("automobile", "cat"), image_size=16,
                   normalize="channel", seed=3)
    assert data.X_train.shape == (32, 3 * 16 * 16) and data.classes == ("automobile", "cat")
    checkpoint = {"classes": list(data.classes), "image_shape": list(data.image_shape), "mean": data.mean,
                  "std": data.std, "config": {"image_size": 16}, "path": "model.pt"}
    X, y = prepare_test(checkpoint, raw)
    assert torch.equal(X, data.X_test) and torch.equal(y, data.y_test)


def test_checkpoint_of_classes_the_data_lacks_is_refused(raw):
    checkpoint = {"classes": ["automobile", "dragon"], "image_shape": [3, 32, 32], "config": {}, "path": "model.pt"}
    with pytest.raises(LinclfError, match="model.pt was trained on the classes automobile, dragon"):
        prepare_test(checkpoint, raw)


# ------------------------------------------------- streaming preparation vs the plain formula

U = 2.0 ** -24  # float32's unit roundoff (half its machine epsilon)


def reference(raw, tr, va, normalize):
    """The preparation as plainly written, all in float64: statistics of the training split,
    (u / 255 − mean) / std for every split."""
    train = raw.train_images[tr].double() / 255
    dims = (0,) if normalize == "pixel" else (0, 2, 3)
    mean, std = train.mean(dims, keepdim=True)[0], train.std(dims, keepdim=True)[0]
    std = torch.where(std > 0, std, torch.ones_like(std))
    X = {name: images.double() / 255 for name, images in
         (("train", raw.train_images[tr]), ("val", raw.train_images[va]), ("test", raw.test_images))}
    return mean, std, X


@pytest.mark.parametrize("normalize", ["pixel", "channel"])
@pytest.mark.parametrize("split", ["a1", "full", "random"])
def test_float32_preparation_equals_the_float64_formula_to_float32_rounding(raw, split, normalize):
    """Each element of X = fl(fl(fl(a) − m) / s) with a = u/255, m and s rounded to float32,
    is within U·((|a| + |m| + |a − m|)/s + 2|X|) of the exact value (one rounding each of a, m,
    s, the difference and the quotient, first order in U); 1.5x that for the float64 reference."""
    data = prepare(raw, split=split, n_val=30, normalize=normalize, flip=True)
    tr, va = split_indices(len(raw.train_labels), raw.batch_size, split, 30)
    mean, std, a = reference(raw, tr, va, normalize)
    # float32 roundings of float64 statistics that agree with the formula's to a few float64 ulps
    assert data.mean.dtype == torch.float32
    assert ((data.mean.double() - mean).abs() <= 1.01 * U * mean.abs()).all()
    assert ((data.std.double() - std).abs() <= 1.01 * U * std).all()
    a["flipped"] = raw.train_images[tr].flip(-1).double() / 255
    for name, X32 in (("train", data.X_train), ("val", data.X_val), ("test", data.X_test),
                      ("flipped", data.X_train_flipped)):
        X = ((a[name] - mean) / std).flatten(1)
        bound = U * (((a[name].abs() + mean.abs() + (a[name] - mean).abs()) / std).flatten(1) + 2 * X.abs())
        assert X32.dtype == torch.float32 and X32.shape == X.shape, name
        assert ((X32.double() - X).abs() <= 1.5 * bound).all(), name


def test_float64_preparation_equals_the_formula(raw):
    """The library's statistics come from exact integer sums (a few roundings); the reference
    sums N = 170 rounded u/255 in float64 in an order the kernel picks: its mean is within
    (N + 3)·u relative and its two-pass std within about the same, so N·ε bounds both. X then
    carries that relative error through m/s and 1/s, plus a few roundings of its own."""
    data = prepare(raw, split="full", n_val=30, dtype=torch.float64)
    mean, std, a = reference(raw, slice(0, 170), slice(170, 200), "pixel")
    rel = 170 * torch.finfo(torch.float64).eps
    assert ((data.mean - mean).abs() <= rel * mean.abs()).all() and ((data.std - std).abs() <= rel * std).all()
    X = (a["train"] - mean) / std
    bound = (rel + 4 * torch.finfo(torch.float64).eps) * ((a["train"].abs() + mean.abs()) / std + X.abs())
    assert ((data.X_train - X.flatten(1)).abs() <= bound.flatten(1)).all()


def test_a_constant_pixel_has_std_one_exactly(raw):
    images = raw.train_images.clone()
    images[:, 1, 4, 7] = 77  # the same value in every training image
    data = prepare(replace(raw, train_images=images), split="full", n_val=30, dtype=torch.float64)
    assert data.std[1, 4, 7] == 1 and data.mean[1, 4, 7] == 77 / 255
    assert (data.X_train.reshape(-1, 3, 32, 32)[:, 1, 4, 7] == 0).all()


def test_the_test_split_is_standardized_on_first_use_only(raw):
    data = prepare(raw, split="a1")
    assert "X_test" not in vars(data) and data.test_images.dtype == torch.uint8
    X = data.X_test
    assert data.X_test is X  # made once
    assert torch.equal(X, prepare(raw, split="a1").X_test)
    assert X.shape == (len(raw.test_labels), 3072) and torch.equal(data.y_test, raw.test_labels)


def test_statistics_are_the_same_in_any_chunking(raw, monkeypatch):
    """Integer sums are exact, so the order of summation cannot change them."""
    import linclf_torch.data.prepare as data_module
    whole = prepare(raw, split="full", n_val=30, normalize="channel")
    monkeypatch.setattr(data_module, "CHUNK", 7)
    chunked = prepare(raw, split="full", n_val=30, normalize="channel")
    assert torch.equal(whole.mean, chunked.mean) and torch.equal(whole.std, chunked.std)
    assert torch.equal(whole.X_train, chunked.X_train)
