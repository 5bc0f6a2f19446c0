"""The forms of a gradient function the check knows, as the course's skeletons write them: how
one is recognised, the arguments it gets and the gradients it returns.

    --layout dd2424 (X (d, n), Y one-hot (K, n), P (K, n), W_l (out, in), b_l (out, 1))
      linear     ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b)          DD2424's older texts
                 BackwardPass(X, Y, P, network, lam) -> {'W': grad_W, 'b': grad_b}, network = {'W': W, 'b': b}
                                                                               the 2026 texts, Assignment 1
      two-layer  BackwardPass(X, Y, fp_data, net, lam) -> grads like net, fp_data = ApplyNetwork(X, net),
                 net = {'W': [W1, W2], 'b': [b1, b2]} (input to output)       the 2026 texts, Assignment 2
                 f(X, Y, net, lam) -> grads like net                          the same without forward data
    --layout torch (X (n, d), y (n,) int64, W_l (out, in), b_l (out,))
      linear     f(X, y, W, b, lam) -> (grad_W, grad_b)
      two-layer  f(X, y, fp_data, net, lam) and f(X, y, net, lam) -> grads like net
A function is recognised by the number of arguments it takes (inspect's bind). A1's two dd2424
forms both take five: check.py tries them on the first case, the one the fourth argument's name
suggests first (network, net, params, model: the dict), and keeps the one that runs.
fp_data is your own forward's result on fresh copies of X and net, whatever your backward needs.
"""
import inspect
import re
from dataclasses import dataclass

import torch

from ..nn.losses import one_hot
from .cases import K

NET = "net = {'W': [W1, W2], 'b': [b1, b2]}"
GRADS = "{'W': [grad_W1, grad_W2], 'b': [grad_b1, grad_b2]}"


class YourFunctionError(ValueError):
    """Your function broke the contract: it raised, fits no form the check knows, or returned
    something other than the form's arrays. The message is one line naming what and on which case."""


@dataclass(frozen=True)
class Form:
    layout: str
    model: str      # "linear" or "two-layer"
    text: str       # as the report says it; FORWARD stands for your forward's name
    arity: int
    net: bool = False      # the parameters in one dict, the gradients returned structured like it
    forward: bool = False  # takes fp_data, your forward's result

    def said(self, forward="ApplyNetwork"):
        return self.text.replace("FORWARD", forward)


FORMS = (
    Form("dd2424", "linear", "ComputeGradients(X, Y, P, W, lam) -> (grad_W, grad_b)", 5),
    Form("dd2424", "linear", "BackwardPass(X, Y, P, network, lam) -> {'W': grad_W, 'b': grad_b}, "
         "network = {'W': W, 'b': b}", 5, net=True),
    Form("torch", "linear", "f(X, y, W, b, lam) -> (grad_W, grad_b)", 5),
    Form("dd2424", "two-layer", f"BackwardPass(X, Y, fp_data, net, lam) -> {GRADS}, fp_data = FORWARD(X, net), "
         f"{NET}", 5, net=True, forward=True),
    Form("dd2424", "two-layer", f"f(X, Y, net, lam) -> {GRADS}, {NET}", 4, net=True),
    Form("torch", "two-layer", f"f(X, y, fp_data, net, lam) -> {GRADS}, fp_data = FORWARD(X, net), {NET}", 5,
         net=True, forward=True),
    Form("torch", "two-layer", f"f(X, y, net, lam) -> {GRADS}, {NET}", 4, net=True),
)
PARAMS = {"linear": ("W", "b"), "two-layer": ("W1", "b1", "W2", "b2")}
DIMS = {"W": ("K", "d"), "b": "K", "W1": ("m", "d"), "b1": "m", "W2": ("K", "m"), "b2": "K"}  # for the messages


def parameters(fn):
    """fn's parameters, or None where it has no signature to read (a builtin or the like)."""
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None


def takes(fn, count):
    """Whether fn can be called with `count` positional arguments."""
    try:
        inspect.signature(fn).bind(*range(count))
    except ValueError:  # no signature: it may
        return True
    except TypeError:
        return False
    return True


def fitting(fn, layout, model, name):
    """The forms of (layout, model) that fn can be called as, most likely first; a YourFunctionError
    naming every form the layout knows when fn takes as many arguments as none of them."""
    forms = [f for f in FORMS if f.layout == layout and f.model == model and takes(fn, f.arity)]
    if not forms:
        params = parameters(fn) or {}
        known = "; ".join(f.said() + (" (--model two-layer)" if f.model == "two-layer" else "")
                          for f in FORMS if f.layout == layout)
        raise YourFunctionError(f"{name}({', '.join(params)}) fits no form the check knows for --layout {layout} "
                                f"--model {model}; the forms it knows with --layout {layout}: {known}")
    names = list(parameters(fn) or ())
    dict_named = len(names) > 3 and re.search("net|param|model|theta", names[3], re.IGNORECASE) is not None
    return sorted(forms, key=lambda f: f.net != dict_named)


def arguments(form, X, y, model):
    """The form's arguments for one case, fresh copies of the model's parameters; a forward
    form's without fp_data, which call() puts third once your forward has made it."""
    dd2424 = form.layout == "dd2424"
    Ws = [model.params[w].clone() for w, _ in model.layers]                   # (out, in) each
    bs = [model.params[b].clone() for _, b in model.layers]                   # (out,) each
    if dd2424:
        bs = [b[:, None] for b in bs]                                         # (out, 1) each
    if form.net:
        params = [{"W": Ws, "b": bs}] if form.model == "two-layer" else [{"W": Ws[0], "b": bs[0]}]
    else:
        params = [Ws[0]] if dd2424 else [Ws[0], bs[0]]
    if not dd2424:
        return [X.clone(), y.clone(), *params, model.lam]
    data = [X.T.contiguous(), one_hot(y, K, X.dtype).T.contiguous()]          # (d, n), (K, n)
    if form.model == "linear":
        S = model.scores(X)                                                   # (n, K)
        P = torch.softmax(S, dim=1) if model.loss_name == "ce" else torch.sigmoid(S)  # (n, K)
        data.append(P.T.contiguous())                                         # (K, n)
    return [*data, *params, model.lam]


def as_arrays(value, numpy):
    """value with its tensors as numpy arrays when `numpy`, through dicts and lists."""
    if isinstance(value, torch.Tensor):
        return value.numpy() if numpy else value
    if isinstance(value, dict):
        return {k: as_arrays(v, numpy) for k, v in value.items()}
    if isinstance(value, list):
        return [as_arrays(v, numpy) for v in value]
    return value


def gradients(form, out, name, case):
    """Your function's result as its gradients in PARAMS' order, or a YourFunctionError."""
    if not form.net:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise YourFunctionError(f"{name} returned a {type(out).__name__}; it must return two arrays, "
                                    f"(grad_W, grad_b) (case {case.name})")
        return list(out)
    two = form.model == "two-layer"
    want = GRADS if two else "{'W': grad_W, 'b': grad_b}"
    if (not isinstance(out, dict) or not {"W", "b"} <= out.keys()
            or two and not all(isinstance(out[k], (list, tuple)) and len(out[k]) == 2 for k in "Wb")):
        what = f"a dict with keys {sorted(out)}" if isinstance(out, dict) else f"a {type(out).__name__}"
        raise YourFunctionError(f"{name} returned {what}; it must return {want}, structured like the "
                                f"parameters it gets (case {case.name})")
    return [out["W"][0], out["b"][0], out["W"][1], out["b"][1]] if two else [out["W"], out["b"]]


def as_tensor(value, what, name, case):
    """A returned gradient as a CPU tensor: from a torch tensor or a numpy array, nothing else."""
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
