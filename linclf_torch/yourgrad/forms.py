"""The forms of a gradient function: the arguments it takes, in order, by role, and how one is
recognised.

A Form is a tuple of roles, as the course's skeletons name the arguments:
    X, Y, y, P    the data: X (d, n) and Y (K, n) one-hot in the dd2424 layout, X (n, d) and
                  y (n,) int64 in the torch layout; P the probabilities (K, n) or (n, K)
    fp            your forward's result, fp_data = FORWARD(X, net): whatever it returns (the
                  whole, or the element of its tuple your backward takes)
    fp*           the elements of your forward's tuple, spread: backward(X, Y, P, H, net, lam)
                  for P, H = FORWARD(X, net)
    net           the parameters in one structure (structures.py); W, b: A1's two arrays
    lam           λ, a float
    G, S, mu, v   batch norm's backward alone: the gradient at Ŝ, the input, its mean and variance
A function fits a form when it takes exactly as many required positional parameters as the
form has roles: optional parameters (a keyword with a default) never change the form. A family
(families/) lists its forms, most likely first.
"""
import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class Form:
    roles: tuple    # e.g. ("X", "Y", "fp", "net", "lam")
    layout: str     # "dd2424" or "torch"
    text: str       # as the report says it; FORWARD stands for your forward's name

    def said(self, forward="ApplyNetwork"):
        return self.text.replace("FORWARD", forward)

    @property
    def forward(self):
        """The role your forward's result takes, or None."""
        return next((r for r in self.roles if r in ("fp", "fp*")), None)


def required_names(fn):
    """The names of fn's required positional parameters, or None without a signature to read."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in positional and p.default is inspect.Parameter.empty]


def required(fn):
    """(required positional parameters, whether it takes *args) of fn; (None, True) without a signature."""
    names = required_names(fn)
    if names is None:
        return None, True
    star = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
    return len(names), star


def fits(fn, form):
    """Whether fn takes as many required arguments as the form has roles (fp*: two or more for it)."""
    count, star = required(fn)
    if count is None or star:
        return count is None or count <= len(form.roles)
    return count > len(form.roles) if form.forward == "fp*" else count == len(form.roles)


def signature(fn, name):
    """'name(a, b, c)' as fn declares it, for the messages."""
    try:
        return f"{name}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return f"{name}(...)"


def reads_as_forward(name):
    """ApplyNetwork, apply_network, Apply2LayerNetwork, EvaluateClassifier, ForwardPass, feed_forward, forward, …;
    never a backward."""
    n = name.lower().replace("_", "")
    return (("forward" in n and "back" not in n) or n.startswith("apply") or
            (n.startswith("evaluate") and ("classifier" in n or "network" in n)))


def forwards_beside(fn, arguments=2):
    """The functions defined beside fn (in its module or notebook) that read as a forward pass: the
    name says so, and it takes as many required arguments as the family's forward, FORWARD(X, net)'s two."""
    module = getattr(fn, "__module__", None)
    found = {name: v for name, v in getattr(fn, "__globals__", {}).items()
             if inspect.isfunction(v) and v.__module__ == module and v is not fn and reads_as_forward(name)
             and required(v)[0] == arguments}
    return dict(sorted(found.items()))


def strings(fn):
    """The string constants in fn's code, nested functions' included ('W1' where it reads net['W1']):
    what orders the structures tried (structures.py); read from the code, so notebooks' functions too."""
    found, codes = set(), [getattr(fn, "__code__", None)]
    while codes:
        code = codes.pop()
        for c in getattr(code, "co_consts", ()):
            if isinstance(c, str):
                found.add(c)
            elif inspect.iscode(c):
                codes.append(c)
    return found
