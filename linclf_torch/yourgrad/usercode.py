"""Your own Python file, imported as `linclf gradcheck FILE.py:FUNCTION` asks: the function in it.

Importing a file runs its top-level code, with your permissions: it is your code, run because
you asked (`linclf gradcheck --help` says so). Its folder goes first on sys.path, as with
`python FILE.py`, so that it can import the modules beside it. Imports no torch.
"""
import importlib.util
import sys
from pathlib import Path

from ..errors import LinclfError

MODULE = "linclf_user_gradient"  # the name your file is imported under, not "__main__": its main block stays off


def parse_spec(spec):
    """'path/to/file.py:function' -> (Path, function name); a mistake in it is a LinclfError."""
    path, sep, name = spec.rpartition(":")  # the last colon: C:\\... paths keep theirs
    example = "e.g. my_gradients.py:ComputeGradients"
    if not sep or not path or not name.isidentifier():
        raise LinclfError(f"give your function as FILE.py:FUNCTION, {example} (got {spec!r})")
    path = Path(path)
    if path.suffix == ".ipynb":
        raise LinclfError(f"{path} is a notebook: copy the function into a .py file (or File > Save and Export "
                          "Notebook As > Executable Script) and give that file")
    if path.suffix != ".py":
        raise LinclfError(f"{path} is not a Python file (.py); give FILE.py:FUNCTION, {example}")
    if not path.is_file():
        raise LinclfError(f"{path}: no such file" if not path.exists() else f"{path} is a folder, not a .py file")
    return path, name


def load_function(path, name):
    """Import the file at `path` and return its callable `name`; anything wrong is one LinclfError line."""
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).resolve().parent))
    sys.modules[MODULE] = module  # dataclasses and pickle look a module up by name
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # noqa: BLE001 (whatever your file raises: one line naming it)
        message = " ".join(str(e).split())
        raise LinclfError(f"importing {path} failed: {type(e).__name__}: {message}") from None
    return lookup(module, path, name)


def beside(path, name, required=True):
    """The callable `name` of the file load_function imported (your forward, ApplyNetwork, beside your
    backward), not imported again; None when it has none and `required` is False."""
    module = sys.modules[MODULE]
    if not required and not callable(getattr(module, name, None)):
        return None
    return lookup(module, path, name)


def lookup(module, path, name):
    """The module's callable `name`; its absence is one LinclfError line naming the functions it has."""
    fn = getattr(module, name, None)
    if fn is None:
        defined = sorted(k for k, v in vars(module).items() if callable(v) and getattr(v, "__module__", "") == MODULE)
        raise LinclfError(f"{path} has no function {name!r}" +
                          (f"; it defines {', '.join(defined)}" if defined else "; it defines no function"))
    if not callable(fn):
        raise LinclfError(f"{path}: {name} is a {type(fn).__name__}, not a function")
    return fn
