"""One image file -> a (3, 32, 32) uint8 RGB tensor, with torchvision's image library.

Every pixel format becomes 8-bit RGB as torchvision's ImageReadMode.RGB and PIL's
convert("RGB") make it: grayscale repeated in the three channels, palette colours looked up,
alpha dropped, CMYK converted; 16-bit PNGs keep the high byte, v // 256, as torchvision's
to_dtype(scale=True) and PIL do. A file that is empty, does not decode, is not 32x32, or
vanished or cannot be read is refused, named (a LinclfError).

The library is loaded without importing torchvision (`load_image_library`: the first decode
of CIFAR-10 waited 2.6 s for torchvision's import), and its decoder ops are called directly
(`image_decoder`), README "Data loading".
"""
import importlib.machinery
import importlib.util
import itertools
import os
from importlib.metadata import version

import torch

from ..errors import LinclfError


def image_decoder():
    """torchvision's decoders as the ops they register: file bytes -> (3, H, W) RGB.

    torchvision.io.decode_image(data, ImageReadMode.RGB) calls the decode_image op after
    logging the call and warning that the codecs move to TorchCodec (torchvision >= 0.29):
    Python work on every call, which holds the GIL. A JPEG (its first bytes FF D8 FF) goes
    straight to decode_jpeg, which decode_image calls after a format check of its own:
    28 µs per CIFAR-10 image instead of 41 µs.
    """
    ops = load_image_library()
    jpeg, any_format = ops.decode_jpeg.default, ops.decode_image.default

    def decode(data: bytearray) -> torch.Tensor:
        op = jpeg if data.startswith(b"\xff\xd8\xff") else any_format
        return op(torch.frombuffer(data, dtype=torch.uint8), RGB)
    return decode


RGB = 3  # torchvision.io.ImageReadMode.RGB's value, in every torchvision version
IMAGE_LIBRARIES = ("image_stable", "image")  # its file's name in torchvision >= 0.29, and before


def load_image_library():
    """torch.ops.image, torchvision's image codecs, registered without importing torchvision.

    Importing torchvision takes seconds (on the way it imports torch._dynamo and sympy); its
    image library alone takes milliseconds. It is looked for where torchvision.io loads it
    from: the package folder, under IMAGE_LIBRARIES with Python's extension-module suffix.
    Where that finds nothing or fails to load, importing torchvision.io loads it its own way.
    A torchvision without image decoders (they are deprecated since 0.29) is a LinclfError.
    """
    if not has_decoders():
        spec = importlib.util.find_spec("torchvision")
        folders = list(spec.submodule_search_locations or []) if spec else []
        for folder, name, suffix in itertools.product(folders, IMAGE_LIBRARIES,
                                                      importlib.machinery.EXTENSION_SUFFIXES):
            path = os.path.join(folder, name + suffix)
            if os.path.isfile(path):
                try:
                    torch.ops.load_library(path)
                except (OSError, RuntimeError):
                    pass
                break
    if not has_decoders():
        import torchvision.io  # noqa: F401  (registers torch.ops.image)
    if not has_decoders():
        raise LinclfError(f"torchvision {version('torchvision')} has no image decoder (torchvision's image decoding "
                          "is deprecated since 0.29): install a torchvision that decodes images (0.16 to 0.29 do), "
                          "or use the official CIFAR-10 pickles (cifar-10-batches-py/), which need no decoding")
    return torch.ops.image


def has_decoders() -> bool:
    return hasattr(torch.ops.image, "decode_image") and hasattr(torch.ops.image, "decode_jpeg")


def decode_file(path: str, decode) -> torch.Tensor:
    """One image file -> (3, 32, 32) uint8 RGB (see the module docstring), or LinclfError naming it."""
    try:
        data = read_file(path)
    except FileNotFoundError:
        raise LinclfError(f"{path} disappeared while the images were read (moved or deleted "
                          "meanwhile?): run again once the folder is complete") from None
    except OSError as exc:
        raise LinclfError(f"cannot read {path} ({exc.strerror}): check its permissions, or remove it") from exc
    if not data:
        raise LinclfError(f"{path} is empty (0 bytes): remove it or replace it with a 32x32 PNG/JPEG")
    try:
        image = decode(data)
    except RuntimeError as exc:
        raise LinclfError(f"cannot decode {path} as an image (damaged, truncated or not a PNG/JPEG): "
                          "remove it or replace it with a 32x32 PNG/JPEG") from exc
    if image.shape == (3, 32, 32) and image.dtype == torch.uint8:  # what a CIFAR-10 file holds
        return image
    if image.dtype == getattr(torch, "uint16", None):  # a 16-bit PNG (torch >= 2.3, torchvision >= 0.21): high byte
        image = (image.to(torch.int32) >> 8).to(torch.uint8)
    if image.dtype != torch.uint8:
        raise LinclfError(f"{path} decodes to {image.dtype} pixels, not 8 or 16 bits: save it as 8-bit PNG/JPEG")
    if image.shape != (3, 32, 32):
        c, h, w = image.shape[-3:]  # an animated GIF has a frame dimension first
        raise LinclfError(f"{path} is {w}x{h} with {c} channel(s)" + (f", {image.shape[0]} frames" if image.ndim == 4
                          else "") + ", not 32x32 RGB: resize it, or remove it")
    return image


def read_file(path: str) -> bytearray:
    """The file's bytes, writable as torch.frombuffer wants: os.open/os.read, the least Python
    work per file (open() builds a file object; here a 32x32 image is two reads)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # O_BINARY: Windows, else text mode
    try:
        data = bytearray()
        while chunk := os.read(fd, 1 << 16):
            data += chunk
        return data
    finally:
        os.close(fd)
