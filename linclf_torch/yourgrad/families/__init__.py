"""The families of gradient functions the check knows, one module each: its cases, its
reference (the library's own model), its forms, what it fits (batch norm's ε) and its mistakes.

A family module defines
    FORMS       the forms.Form its functions take, most likely first
    CASES       its cases; problem(case, loss, seed) -> a problem.Problem for one
    HOW         how to find a mistake the check does not know
    diagnose(report, problems, given, fitted, form)   names the mistakes of the failing gradients
and may define OPTIONS (the names of check_gradients' keyword options it takes, passed to
problem() and cases(**options)), forms(fn) (its forms for this function, e.g. bound by the
parameters' names), forward_roles(forward) and FORWARD_ARGUMENTS (the arguments of your forward,
("X", "net") and 2 by default), fit(problem, given) -> {name: value} with said_fit(fitted) (the nuisance it fits on
the first case, e.g. {"eps": ε}) and variants(layout, hints) (the argument variants to try;
by default the structures of `net`, structures.py; a variant that is more than net's structure
is read by the family's Problem: net, names, written, said, problem.py). docs/development.md:
adding a family.
"""
from . import batchnorm, conv, k_layer_bn, linear, rnn, two_layer

FAMILIES = {"linear": linear, "two-layer": two_layer, "batchnorm": batchnorm, "k-layer-bn": k_layer_bn,
            "conv": conv, "rnn": rnn}
