"""The decoded-image cache: one file per data folder, found from the data, never from the current directory.

Where (`cache_folder`): cache_dir="auto" is <data_dir>/cache/ when the data folder can be
written, else the user cache folder $XDG_CACHE_HOME/linclf_torch (~/.cache/linclf_torch);
a path is that folder; None turns the cache off. The name (`cache_file`): in <data_dir>/cache/
cifar10-KIND.pt, so a copied data folder keeps one file; elsewhere cifar10-KIND-KEY.pt, KEY
from the resolved source folder, so the same data reached from any working directory finds
the same file.
What (`cached`): build()'s dict of tensors, plus
- a fingerprint of the source files (each one's path, size and mtime): a changed, added or
  removed file rebuilds the cache in place, so stale copies never pile up;
- a checksum of the cache's own content (CRC-32 of every tensor's bytes, as zip and PNG
  use: any damage of up to 32 consecutive bits is caught, other damage all but once in 4
  billion), verified on each load: a damaged file (bit rot, an interrupted copy) is rebuilt,
  with one line saying so. It costs about 0.1 s for the 185 MB of CIFAR-10.
A cache that cannot be written (a full disk, a read-only folder) is only a lost speed-up:
one line says so, and the data is returned all the same.
"""
import contextlib
import ctypes
import hashlib
import os
import stat
import sys
import zlib
from pathlib import Path

import torch

from ..errors import LinclfError
from ..files import replace_atomic, write_failed, write_reason

CACHE_FORMAT = 2  # bump when the cached dict changes meaning (2: the checksum)


def cache_folder(cache_dir, data_dir) -> Path | None:
    """The folder that holds data_dir's cache: see the module docstring."""
    if cache_dir is None:
        return None
    if cache_dir != "auto":
        return Path(cache_dir)
    beside = Path(data_dir) / "cache"
    if writable(beside if beside.exists() else Path(data_dir)):
        return beside
    return user_cache_dir()


def writable(folder: Path) -> bool:
    """Whether we may write into folder: its access rights, and its mode bits, which root's
    access check ignores (a dr-xr-xr-x folder is read-only by intent, even for root)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and bool(mode & 0o222) and os.access(folder, os.W_OK | os.X_OK)


def user_cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/linclf_torch, else ~/.cache/linclf_torch; None without a home folder."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return Path(xdg) / "linclf_torch"
    try:
        return Path.home() / ".cache" / "linclf_torch"
    except RuntimeError:  # no HOME and no password entry
        return None


def cache_file(folder, kind: str, data_dir, root: Path) -> Path | None:
    """The cache file in `folder` (cache_folder's answer) of the `kind` data read from root
    (data_dir, or the cifar-10-batches-py folder in it); None when folder is None.

    In data_dir's own cache/ the name is the kind alone, so that a copied data folder
    rebuilds its copy of the file in place. Elsewhere (a folder that may serve many data
    folders) the name adds a key of the resolved root: the same data reached from any
    working directory finds the same file.
    """
    if folder is None:
        return None
    if Path(folder).resolve() == (Path(data_dir) / "cache").resolve():
        return Path(folder) / f"cifar10-{kind}.pt"
    key = hashlib.sha256(f"{kind}\n{root.resolve()}".encode()).hexdigest()[:16]
    return Path(folder) / f"cifar10-{kind}-{key}.pt"


def cached(path, root: Path, files: list[str], build, extra="") -> dict:
    """build()'s dict, or the same dict from the cache file `path` if no source file changed.

    files are paths relative to root (the folder the data is read from); extra is any other
    setting the content depends on. path=None: build() every time. A cache that cannot be
    written (a full disk, a read-only folder) costs the speed-up, not the data: one line
    says so and the built dict is returned all the same.
    """
    if path is None:
        return build()
    entry = read(path)
    fingerprint = source_fingerprint(root, files, f"{CACHE_FORMAT}\n{extra}")
    current = isinstance(entry, dict) and entry.get("fingerprint") == fingerprint
    if current and entry.get("checksum") == checksum(entry):
        return entry
    damage = ("checksum mismatch" if current else
              "not a readable torch file" if entry is None and path.exists() else None)
    if damage:
        print(f"linclf: the decoded-image cache {path} is damaged ({damage}); rebuilding it from {root}",
              file=sys.stderr)
    entry = build()
    entry.update(fingerprint=fingerprint, checksum=checksum(entry))
    save(path, entry)
    return entry


def save(path: Path, entry: dict) -> None:
    """Write the cache file atomically (temporary file + rename: a reader never sees half a
    file), first removing its stale siblings: in a data folder's own cache/, files of the
    same kind named with a key (cifar10-KIND-KEY.pt), left by an earlier version or by the
    folder's former path; each is as large as the cache itself."""
    made = not path.parent.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.stem}-*.pt"):  # none when path's name has the key
            stale.unlink()
        replace_atomic(path, lambda tmp: torch.save(entry, tmp))
    except (OSError, RuntimeError) as e:
        if not write_failed(e):
            raise
        if made:  # the folder made for the file goes too, if still empty
            with contextlib.suppress(OSError):
                path.parent.rmdir()
        print(f"linclf: could not keep the decoded-image cache {path}: {write_reason(path, e)}; "
              "the data was loaded all the same (and is decoded again next time)", file=sys.stderr)


def read(path: Path):
    """The cache file's dict, or None when it is missing, truncated or not a torch file.

    Memory-mapped: only what is used is read, and nothing is copied; a tensor kept beyond
    the load must be cloned, or it keeps the whole file mapped.
    """
    try:
        return torch.load(path, weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 (whatever a damaged file makes torch.load raise: rebuilt from the data)
        return None


def source_fingerprint(root: Path, files: list[str], extra: str) -> str:
    """A hash of every source file's relative path, size and mtime (and extra)."""
    base, lines = os.path.join(root, ""), [extra]
    for f in files:
        try:
            st = os.stat(base + f)
        except FileNotFoundError:
            raise LinclfError(f"{base + f} disappeared while the data was read (moved or deleted "
                              "meanwhile?): run again once the folder is complete") from None
        lines.append(f"{f}\t{st.st_size}\t{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def checksum(entry: dict) -> str | None:
    """CRC-32 of the entry's tensors (name, dtype, shape, bytes) and other values; None if the
    entry is not a dict of contiguous CPU tensors and plain values, as a damaged file may be."""
    crc = 0
    for name in sorted(k for k in entry if k not in ("fingerprint", "checksum")):
        value = entry[name]
        if isinstance(value, torch.Tensor):
            if value.device.type != "cpu" or not value.is_contiguous():
                return None
            crc = zlib.crc32(f"{name}\t{value.dtype}\t{tuple(value.shape)}\n".encode(), crc)
            crc = zlib.crc32(tensor_bytes(value), crc)
        else:
            crc = zlib.crc32(f"{name}\t{value!r}\n".encode(), crc)
    return f"crc32:{crc:08x}"


def tensor_bytes(t: torch.Tensor):
    """A read-only view of a contiguous CPU tensor's bytes, without a copy (and without numpy)."""
    if t.numel() == 0:
        return b""
    return memoryview((ctypes.c_ubyte * t.nbytes).from_address(t.data_ptr())).toreadonly()
