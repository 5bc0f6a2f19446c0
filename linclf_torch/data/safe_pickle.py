"""A restricted unpickler for the official CIFAR-10 python batches, without numpy.

`pickle.load` calls whatever global a file names, with any arguments, so a tampered
data_batch_1 could run a shell command. A CIFAR-10 batch needs only dicts, lists, ints,
bytes and numpy uint8 arrays, so `load_cifar_pickle` allows just the globals that rebuild
such an array and maps them to small stand-ins that end in a torch tensor.

What numpy writes for an array (any protocol below 5):
    _reconstruct(ndarray, (0,), b"b")                      an empty array, then BUILD with
    (version, shape, dtype("u1", False, True), is_fortran, raw_bytes)
and the dtype gets its own BUILD with (3, byteorder, ...). Python 3 writes bytes under
protocol 2 as `_codecs.encode(text, "latin1")`; Python 2 files (the official ones) hold
plain strings, read back as bytes with encoding="bytes".
"""
import pickle
from pathlib import Path

import torch

from ..errors import LinclfError


def _text(s):
    """Python 2 strings arrive as bytes under encoding="bytes"; numpy's codes are ASCII."""
    return s.decode("ascii") if isinstance(s, bytes) else s


class _DType:
    """Stands in for numpy.dtype: keeps the type code ("u1" is uint8)."""

    def __init__(self, code, align=False, copy=True):
        self.code = _text(code)

    def __setstate__(self, state):
        pass  # only the byte order is in there, and a one-byte type has none


class _Array:
    """Stands in for numpy.ndarray: BUILD turns numpy's state into `self.tensor`."""

    tensor = None

    def __setstate__(self, state):
        _version, shape, dtype, is_fortran, raw = state
        uint8 = isinstance(dtype, _DType) and dtype.code == "u1"
        if not uint8 or is_fortran or not isinstance(raw, bytes):
            raise ValueError("an array that is not C-ordered uint8")
        # bytearray: torch.frombuffer wants a writable buffer.
        self.tensor = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(shape)


def _reconstruct(cls, shape, typecode):
    """Stands in for numpy's _reconstruct: an empty array that BUILD will fill."""
    if cls is not _Array:
        raise ValueError("_reconstruct of something other than an ndarray")
    return _Array()


def _encode(text, encoding):
    """Stands in for _codecs.encode, which protocol 2 uses to write bytes: latin-1 only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ValueError("_codecs.encode used for something other than bytes")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # numpy < 2 and Python 2 files
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # numpy >= 2
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _DType,
    ("_codecs", "encode"): _encode,
}


class _CifarUnpickler(pickle.Unpickler):
    def __init__(self, file, path):
        super().__init__(file, encoding="bytes")
        self.path = path

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise LinclfError(
                f"{self.path}: the loader refuses to load global {module}.{name}: not a CIFAR-10 "
                "pickle (replace it with the official file from cifar-10-python.tar.gz)"
            )
        return _ALLOWED[(module, name)]


def load_cifar_pickle(path: Path) -> dict:
    """Load one CIFAR-10 pickle (a batch or batches.meta) with only the globals it needs.

    Returns the top-level dict with str keys; numpy arrays come back as CPU torch tensors,
    bytes stay bytes. Any refused global, truncation or corruption raises LinclfError
    naming the file.
    """
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, path).load()
        if not isinstance(obj, dict):
            raise ValueError(f"top level is a {type(obj).__name__}, not a dict")
        return {_text(k): (v.tensor if isinstance(v, _Array) else v) for k, v in obj.items()}
    except LinclfError:
        raise
    # A corrupt file can fail in any of pickle's or the stand-ins' checks; all mean the same.
    except Exception as exc:
        raise LinclfError(
            f"{path} is not a readable CIFAR-10 pickle ({type(exc).__name__}: {exc}); "
            "re-extract it from cifar-10-python.tar.gz"
        ) from exc
