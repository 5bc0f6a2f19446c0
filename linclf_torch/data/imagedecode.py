"""One image file -> a (3, 32, 32) uint8 RGB tensor, with torchvision's image decoder.

Every pixel format becomes 8-bit RGB as torchvision's ImageReadMode.RGB and PIL's
convert("RGB") make it: grayscale repeated in the three channels, palette colours looked up,
alpha dropped, CMYK converted; 16-bit PNGs keep the high byte, v // 256, as torchvision's
to_dtype(scale=True) and PIL do. A file that is empty, does not decode, is not 32x32, or
vanished or cannot be read is refused, named (a LinclfError).
"""
import os

import torch

from ..errors import LinclfError


def image_decoder():
    """torchvision.io.decode_image in RGB mode, as a function of the file's bytes -> (3, H, W).

    torchvision is imported here, once per first decode of a data set (about 1.3 s: it
    imports torch._dynamo on the way), never by a cached load. A torchvision without image
    decoders (deprecated since 0.29, to be removed) is a LinclfError saying what to do.
    """
    try:
        from torchvision.io import ImageReadMode, decode_image
    except ImportError:
        from importlib.metadata import version
        raise LinclfError(f"torchvision {version('torchvision')} has no image decoder (torchvision's image decoding "
                          "is deprecated since 0.29): install a torchvision that decodes images (0.16 to 0.29 do), "
                          "or use the official CIFAR-10 pickles (cifar-10-batches-py/), which need no decoding"
                          ) from None

    def decode(data: bytearray) -> torch.Tensor:
        return decode_image(torch.frombuffer(data, dtype=torch.uint8), mode=ImageReadMode.RGB)
    return decode


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
