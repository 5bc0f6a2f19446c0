"""A text for the character RNN: any UTF-8 file, or tiny Shakespeare downloaded into data/.

`load_text(spec, data_dir)`: spec is a path to a UTF-8 file, or the name "tinyshakespeare",
the public-domain text of karpathy/char-rnn (1,115,394 characters, 65 distinct), read from
<data_dir>/tinyshakespeare/input.txt when there and downloaded there otherwise, its MD5
checked either way. A download goes into a temporary folder beside it, moved into place only
once its MD5 is right: a failed download leaves nothing behind.
The characters are the text's own, sorted; a model saves them, and sampling decodes with them.
"""
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import LinclfError
from ..files import nearest_existing, staging_folder

TINY_SHAKESPEARE = "tinyshakespeare"
URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
MD5 = "6fb458f1232090904fb40fe944165e91"


@dataclass(frozen=True)
class Text:
    text: str
    chars: tuple[str, ...]  # the character set, sorted: index k is chars[k]
    path: str               # where the text was read from

    def encode(self, text=None, device="cpu"):
        """(N,) int64 character indices of `text` (default: the whole text)."""
        index = {ch: k for k, ch in enumerate(self.chars)}
        return torch.tensor([index[ch] for ch in (self.text if text is None else text)], dtype=torch.int64,
                            device=device)


def decode(indices, chars):
    """The string of character indices (a tensor or a list) in the character set chars."""
    return "".join(chars[k] for k in (indices.tolist() if isinstance(indices, torch.Tensor) else indices))


def load_text(spec, data_dir="data", download=True):
    """Text from a UTF-8 file, or from tiny Shakespeare (spec "tinyshakespeare"; see the module docstring)."""
    path = tiny_shakespeare(Path(data_dir), download) if spec == TINY_SHAKESPEARE else Path(spec)
    text = read_text(path)
    return Text(text, tuple(sorted(set(text))), str(path.resolve()))


def read_text(path):
    """The file's text, refusing what is no text: a missing or empty file, bytes that are not UTF-8,
    NUL characters (a binary file that happens to decode)."""
    advice = "pass a UTF-8 text file as --text PATH, or --text tinyshakespeare"
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise LinclfError(f"--text {path}: no such file; {advice}") from None
    except IsADirectoryError:
        raise LinclfError(f"--text {path} is a folder; {advice}") from None
    if not data:
        raise LinclfError(f"--text {path} is empty; {advice}")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is no character of the text
    except UnicodeDecodeError as e:
        raise LinclfError(f"--text {path} is not UTF-8 text (byte {e.start} is {data[e.start]:#04x}): convert it "
                          f"to UTF-8 (e.g. iconv -t UTF-8), or {advice}") from None
    if "\0" in text:
        raise LinclfError(f"--text {path} holds NUL characters: a binary file, not text; {advice}")
    return text


def md5_of(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def tiny_shakespeare(data_dir, download=True):
    """<data_dir>/tinyshakespeare/input.txt, downloaded there first if missing; its MD5 checked."""
    path = data_dir / TINY_SHAKESPEARE / "input.txt"
    if path.is_file():
        if md5_of(path) != MD5:
            raise LinclfError(f"{path} is not tiny Shakespeare (its MD5 is not {MD5}): delete it to download it "
                              "again, or pass your file as --text PATH")
        return path
    by_hand = f"download {URL} into {path} yourself, or pass a text as --text PATH"
    if not download:
        raise LinclfError(f"{path} does not exist and downloading is off: {by_hand}")
    existing = nearest_existing(path.parent)
    if not existing.is_dir():
        raise LinclfError(f"cannot download tiny Shakespeare into {path}: {existing} is not a folder; "
                          "choose another --data-dir")
    try:
        with staging_folder(existing) as tmp:
            fetch(URL, tmp, "input.txt", MD5)
            if md5_of(tmp / "input.txt") != MD5:
                raise OSError(f"the downloaded file's MD5 is not {MD5}")
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp / "input.txt", path)
    except Exception as exc:  # noqa: BLE001 (no network, proxy, disk full, a wrong file: the advice is the same)
        raise LinclfError(f"downloading tiny Shakespeare into {path} failed ({type(exc).__name__}: {exc}): "
                          f"{by_hand}") from None
    return path


def fetch(url, folder, filename, md5):
    """torchvision's download_url, as CIFAR-10's download uses it: the file into folder, its MD5 checked
    (imported here: only a download needs torchvision)."""
    from torchvision.datasets import utils
    utils.download_url(url, str(folder), filename=filename, md5=md5)
