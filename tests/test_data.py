"""Data options: class subsets, resizing, per-channel standardization, the random split, and
a checkpoint's test split preprocessed exactly as in training."""
import pytest
import torch

from linclf_torch.checkpoint import prepare_test
from linclf_torch.cifar import load_cifar10
from linclf_torch.data import prepare, select, split_indices
from linclf_torch.errors import LinclfError
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
    state = {"classes": list(data.classes), "image_shape": list(data.image_shape), "mean": data.mean, "std": data.std,
             "config": {"image_size": 16}, "path": "model.pt"}
    X, y = prepare_test(state, raw)
    assert torch.equal(X, data.X_test) and torch.equal(y, data.y_test)


def test_checkpoint_of_classes_the_data_lacks_is_refused(raw):
    state = {"classes": ["automobile", "dragon"], "image_shape": [3, 32, 32], "config": {}, "path": "model.pt"}
    with pytest.raises(LinclfError, match="model.pt was trained on the classes automobile, dragon"):
        prepare_test(state, raw)
