"""CIFAR-10 from the disk to feature matrices on the device; knows no run configuration.

    cifar.py        load_cifar10: official pickles, image folders, or a download
    safe_pickle.py  the official pickles, read without running code
    imagefolder.py  train/ and test/ folders of PNG or JPEG images
    imagedecode.py  torchvision's image codecs, loaded without importing torchvision
    cache.py        decoded images cached beside the data (or in the user's cache folder)
    prepare.py      classes, resizing, the splits, standardization: Data
    text.py         a text for the character RNN: a UTF-8 file, or tiny Shakespeare downloaded
May import the root modules (errors, files, progress, threads) and nothing else of the
package. This file imports nothing, so that training/config.py (which imports no torch)
can take SPLITS from here.
"""

SPLITS = ("a1", "full", "random")  # the train/validation splits prepare.split_indices makes
