"""Your own code, loaded as `linclf gradcheck FILE.py:FUNCTION` (or NOTEBOOK.ipynb:FUNCTION, or
FILE.py:Class.method) asks: the function in it.

Importing a file runs its top-level code, with your permissions: it is your code, run because
you asked (`linclf gradcheck --help` says so). Its folder goes first on sys.path, as with
`python FILE.py`, so that it can import the modules beside it. A notebook runs its definitions
only (notebook.py). What the check could not run is remembered, so that a function that then
misses a name can be told where it is set (explain_name_error). Imports no torch.
"""
import ast
import importlib.util
import sys
import traceback
import types
from pathlib import Path

from ..errors import LinclfError
from .notebook import bound_names, run_definitions

MODULE = "linclf_user_gradient"  # the name your file is imported under, not "__main__": its main block stays off
GUARD = 'if __name__ == "__main__":'
EXAMPLE = ("e.g. my_gradients.py:ComputeGradients (a notebook: a2.ipynb:ComputeGradients; a class's method: "
           "a3.py:Network.compute_gradients)")
loaded = {"path": None, "skipped": {}, "failed": {}}  # the last file loaded: what its code not run sets


def parse_spec(spec):
    """'path/to/file.py:function' (or .ipynb, or Class.method) -> (Path, name); a mistake in it is a LinclfError."""
    path, sep, name = spec.rpartition(":")  # the last colon: C:\\... paths keep theirs
    parts = name.split(".")
    if not sep or not path or len(parts) > 2 or not all(part.isidentifier() for part in parts):
        raise LinclfError(f"give your function as FILE.py:FUNCTION, {EXAMPLE} (got {spec!r})")
    path = Path(path)
    if path.suffix not in (".py", ".ipynb"):
        raise LinclfError(f"{path} is not a Python file (.py) or a notebook (.ipynb); give FILE.py:FUNCTION, {EXAMPLE}")
    if not path.is_file():
        raise LinclfError(f"{path}: no such file" if not path.exists() else f"{path} is a folder, not a file")
    return path, name


def load_function(path, name):
    """Load the file at `path` (import a .py, run a notebook's definitions) and return its callable
    `name`, or for 'Class.method' the method of a Class() built without arguments; anything wrong
    is one LinclfError line."""
    path = Path(path)
    sys.path.insert(0, str(path.resolve().parent))
    if path.suffix == ".ipynb":
        module = types.ModuleType(MODULE)
        module.__file__ = str(path)
        sys.modules[MODULE] = module  # dataclasses and pickle look a module up by name
        skipped, failed = run_definitions(path, vars(module))
    else:
        module = import_file(path, name)
        skipped, failed = under_guard(path), {}
    loaded.update(path=path, skipped=skipped, failed=failed)
    owner, _, method = name.rpartition(".")
    return built_method(path, lookup(module, path, owner), owner, method) if owner else lookup(module, path, name)


def import_file(path, name):
    """The .py file at `path`, imported as MODULE; its top-level code raising is one line naming its line."""
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # noqa: BLE001 (whatever your file raises: one line naming it)
        raise LinclfError(import_failure(path, name, e)) from None
    return module


def import_failure(path, name, e):
    """What importing `path` raised, where in it (the top-level line, and the deepest line of the
    file it reached, when that is inside one of its functions), and the likely fix: most often
    training or data loading at the top level, which the guard keeps from running on import."""
    message = f"{type(e).__name__}: {' '.join(str(e).split())}"
    if isinstance(e, SyntaxError) and e.filename and same_file(e.filename, path):
        return f"importing {path} failed at line {e.lineno} ({(e.text or '').strip()}): {type(e).__name__}: {e.msg}"
    frames = [frame for frame in traceback.extract_tb(e.__traceback__) if same_file(frame.filename, path)]
    if not frames:
        return f"importing {path} failed: {message}"
    top, deepest = frames[0], frames[-1]
    where = f"at line {top.lineno} ({top.line})" + \
        (f", in {deepest.name} at line {deepest.lineno} ({deepest.line})" if deepest is not top else "")
    if isinstance(e, SyntaxError):  # in a module your file imports
        fix = f"fix {e.filename}, line {e.lineno} ({(e.text or '').strip()})"
    elif isinstance(e, NameError) and e.name == "get_ipython":
        fix = ("this file was exported from a notebook, and get_ipython() exists only inside Jupyter: give the "
               f"notebook itself ({path.with_suffix('.ipynb')}:{name}), or delete the get_ipython() lines")
    elif isinstance(e, ModuleNotFoundError):
        fix = f"is it installed for the Python that runs linclf ({sys.executable})?"
    else:
        fix = ("the check imports your file, which runs its top-level code: put the code that loads data or "
               f"trains under {GUARD}")
    return f"importing {path} failed {where}: {message}; {fix}"


def same_file(filename, path):
    """Whether a traceback's file is `path`: one may be relative, or reached through a link."""
    return Path(filename).resolve() == Path(path).resolve()


def under_guard(path):
    """{name: "line N: its statement"} for the names the file binds only under its main guard,
    which importing it does not run."""
    skipped = {}
    source = path.read_bytes()
    lines = source.decode("utf-8", "replace").splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'", "'__main__' == __name__"):
            for statement in node.body:
                for name in bound_names(statement):
                    skipped.setdefault(name, f"line {statement.lineno}: {lines[statement.lineno - 1].strip()}")
    return skipped


def built_method(path, cls, class_name, method):
    """`method` of a `cls()` built here: the check can only call a class's method on an object it
    can make; when the constructor needs data, the adapter in the docs is the way."""
    if not isinstance(cls, type):
        raise LinclfError(f"{path}: {class_name} is a {type(cls).__name__}, not a class: give FILE:FUNCTION, "
                          "or FILE:Class.method for a class")
    if not callable(getattr(cls, method, None)):
        methods = [k for k in dir(cls) if not k.startswith("_") and callable(getattr(cls, k))]
        raise LinclfError(f"{path}: class {class_name} has no method {method!r}" +
                          (f"; it has {', '.join(methods)}" if methods else "; it has no public method"))
    try:
        instance = cls()
    except (Exception, SystemExit) as e:  # noqa: BLE001 (whatever your constructor raises: one line naming it)
        cause = "needs arguments" if isinstance(e, TypeError) and "argument" in str(e) else "failed"
        raise LinclfError(f"{path}:{class_name}.{method}: {class_name}() {cause} ({type(e).__name__}: "
                          f"{' '.join(str(e).split())}), so the check cannot build it: wrap your method in a function "
                          "f(X, Y, net, lam) that sets the weights and calls it (docs/gradcheck.md#classes)") from None
    return getattr(instance, method)


def beside(path, name, required=True):
    """The callable `name` of the file load_function loaded (your forward, ApplyNetwork, beside your
    backward), not loaded again; None when it has none and `required` is False."""
    module = sys.modules[MODULE]
    if not required and not callable(getattr(module, name, None)):
        return None
    return lookup(module, path, name)


def lookup(module, path, name):
    """The module's callable `name`; its absence is one LinclfError line: where the code the check
    did not run sets it, or else the functions the module has."""
    fn = getattr(module, name, None)
    if fn is None and (why := unset(name)):
        raise LinclfError(f"{path}: the check cannot use {name!r}: it is {why}")
    if fn is None:
        defined = sorted(k for k, v in vars(module).items() if callable(v) and getattr(v, "__module__", "") == MODULE)
        raise LinclfError(f"{path} has no function {name!r}" +
                          (f"; it defines {', '.join(defined)}" if defined else "; it defines no function"))
    if not callable(fn):
        raise LinclfError(f"{path}: {name} is a {type(fn).__name__}, not a function")
    return fn


def unset(name):
    """Why the loaded file's `name` is unset, ending with what to do, or None when the check ran
    all the code that sets it."""
    path, skipped, failed = loaded["path"], loaded["skipped"], loaded["failed"]
    if name in failed:
        shown, e = failed[name]
        lacked = e.name if type(e) is NameError else None
        also = f" ({lacked!r} is set only in code the check does not run: {skipped[lacked]})" \
            if lacked in skipped else ""
        fix = f"is it installed for the Python that runs linclf ({sys.executable})?" \
            if isinstance(e, ModuleNotFoundError) else ("make it run on its own (the check runs a notebook's imports, "
                                                        "functions, classes and constants set without calls), or pass "
                                                        "the value as an argument")
        return (f"set in {shown}, but that line failed when the check ran it: {type(e).__name__}: "
                f"{' '.join(str(e).split())}{also}: {fix}")
    if name not in skipped:
        return None
    if path.suffix == ".ipynb":
        return (f"set only in code the check does not run ({skipped[name]}): define it at the top level of a cell, "
                "as a function or as a constant set without calls, or pass it as an argument")
    return (f"set only under {GUARD} ({skipped[name]}), which the check does not run (it imports your file): "
            "define it at the top level of the file (a function, or a constant), or pass it as an argument")


def explain_name_error(exc):
    """For a NameError your function raised while the check ran it: one line saying where the
    loaded file sets that name in code the check did not run, and what to do; None when it does not."""
    name = getattr(exc, "name", None)
    module = sys.modules.get(MODULE)
    if type(exc) is not NameError or name is None or module is None or name in vars(module):
        return None
    why = unset(name)
    return f"your function uses {name!r}, which is {why}" if why else None
