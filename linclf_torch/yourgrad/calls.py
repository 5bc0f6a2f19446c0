"""Calling your function: its arguments as torch tensors or numpy arrays, fresh for every call,
what it raises said in one line with what it was called with, and its results as tensors.

This module imports no numpy: arrays are converted with Tensor.numpy() and torch.as_tensor.
"""
import types
import warnings

import torch


class YourFunctionError(ValueError):
    """Your function broke the contract: it raised, fits no form the check knows, or returned
    something other than its gradients. The message is one line naming what and on which case."""


def as_arrays(value, numpy):
    """value with its tensors as numpy arrays when `numpy`, through dicts (of their own type), lists, tuples
    and SimpleNamespace objects."""
    if isinstance(value, torch.Tensor):
        return value.numpy() if numpy else value
    if isinstance(value, dict):
        return type(value)({k: as_arrays(v, numpy) for k, v in value.items()})
    if isinstance(value, types.SimpleNamespace):  # a network held as an object's attributes (the RNN's)
        return types.SimpleNamespace(**as_arrays(vars(value), numpy))
    if isinstance(value, (list, tuple)):
        return type(value)(as_arrays(v, numpy) for v in value)
    return value


def as_tensor(value, what, name, case):
    """A returned array as a float64 CPU tensor: from a torch tensor or a numpy array, nothing else."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
    elif hasattr(value, "__array_interface__"):  # a numpy array (numpy itself is not imported here)
        try:
            t = torch.as_tensor(value)
        except TypeError as e:
            raise YourFunctionError(f"{name}'s {what} is an array torch cannot read ({e}) (case {case.name})") from None
    else:
        raise YourFunctionError(f"{name}'s {what} is a {type(value).__name__}, not a torch tensor or numpy array "
                                f"(case {case.name})")
    if not t.is_floating_point():
        raise YourFunctionError(f"{name}'s {what} holds {t.dtype} values, not floating-point numbers "
                                f"(case {case.name})")
    return t.double()


def said(e):
    """An exception in one line: its type and message."""
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


def shape(v):
    """An argument in a few characters: its shape, a number, or its structure."""
    if hasattr(v, "shape"):
        return str(tuple(v.shape))
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {shape(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(shape(x) for x in v) + "]"
    return repr(v) if isinstance(v, (int, float)) else type(v).__name__


def hint(e, args):
    """What to look at, by the kind of error your function raised."""
    if isinstance(e, KeyError):
        nets = [a for a in args if isinstance(a, dict)]
        keys = "; ".join(", ".join(map(repr, n)) for n in nets)
        return (f"it looked up {e.args[0]!r} where the dict has {keys}: the check also gives net with flat keys "
                "(W1, b1, …) and keyed by layer index (docs/gradcheck.md#the-forms-it-knows)") if nets else ""
    if isinstance(e, (TypeError, AttributeError)):
        return "numpy code given tensors, or the other way? see --arrays"
    if isinstance(e, (ValueError, RuntimeError, IndexError)):
        return "shapes that do not fit: is the layout right? dd2424: X (d, n), one image per column; torch: X (n, d)"
    return ""


def invoke(fn, args, name, case, explain=None):
    """fn(*args); its exception, if any, as a YourFunctionError of one line saying what fn was
    called with and a hint that fits the error, the exception its __cause__. explain(e) may
    say more about a NameError (usercode: a name your notebook sets only in code not run)."""
    try:
        with warnings.catch_warnings():  # numpy's "overflow encountered in exp": the report says it better
            warnings.simplefilter("ignore")
            return fn(*args)
    except (Exception, SystemExit) as e:  # any bug of yours: said in one line, with its case
        kind = "numpy arrays" if any(type(a).__module__ == "numpy" for a in args) else "torch tensors"
        called = f"{name}({', '.join(shape(a) for a in args)}) with {kind}"
        more = (explain(e) if explain and isinstance(e, NameError) else None) or hint(e, args)
        raise YourFunctionError(f"{name} raised {said(e)} on case {case.name}, called as {called}"
                                + (f" ({more})" if more else "")) from e


def numpy_only(fn):
    """Whether fn's module imports numpy and not torch (the modules among its globals)."""
    imported = {v.__name__.partition(".")[0] for v in getattr(fn, "__globals__", {}).values()
                if isinstance(v, types.ModuleType)}
    return "numpy" in imported and "torch" not in imported
