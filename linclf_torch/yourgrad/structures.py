"""The structures students keep a network's parameters in, and the gradients they return.

The check gives your function `net` in one of these, trying them in this order (flat keys
first when your code names one, e.g. net['W1']), and keeps the first your function runs with:
    lists     {'W': [W1, W2], 'b': [b1, b2]}            the 2026 skeletons'
    indexed   {'W': {0: W1, 1: W2}, 'b': {0: b1, 1: b2}}  dicts keyed by layer index
    flat      {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}   looked up in any case, with or without '_'
A family's groups say which names exist: {"W": ["W1", "W2"], "b": ["b1", "b2"]} (a list: one
per layer), or {"W": "W", "b": "b"} (one array: A1's network, the RNN's U, W, V, b, c).
Gradients are taken back in any of these structures, with keys as given or prefixed (grad_W1,
dW1, gW1), or as a tuple or list in the library's order (grad_W1, grad_b1, grad_W2, grad_b2),
or one dict among other values (a cost, say) in a tuple.
"""
VARIANTS = ("lists", "indexed", "flat")


def plain(key):
    """A key as compared: lower case, without '_'."""
    return str(key).replace("_", "").lower()


class AnyKeyDict(dict):
    """A dict whose keys are found in any case and with or without '_': net['w1'] is net['W1']."""

    def __missing__(self, key):
        for k in self.keys():
            if plain(k) == plain(key):
                return dict.__getitem__(self, k)
        raise KeyError(key)

    def __contains__(self, key):
        return any(plain(k) == plain(key) for k in self.keys())

    def get(self, key, default=None):
        return self[key] if key in self else default  # noqa: SIM401 (dict.get would not look in any case)


def flat_names(groups):
    """{flat key as course code writes it: library key}, layer by layer: {'W1': 'W1', 'b1': 'b1', 'W2': …}."""
    singles = {group: keys for group, keys in groups.items() if isinstance(keys, str)}
    layered = [(l, f"{group}{l}", key) for group, keys in groups.items() if not isinstance(keys, str)
               for l, key in enumerate(keys, start=1)]
    return {**singles, **{name: key for _, name, key in sorted(layered, key=lambda t: t[0])}}


def variants(groups, hints):
    """The structures to try, most likely first: one when no group has layers; flat first when
    the code's strings (forms.strings) name a flat key."""
    if all(isinstance(keys, str) for keys in groups.values()):
        return ("lists",)
    flat = {plain(k) for k in flat_names(groups)} - {plain(g) for g in groups}
    if flat & {plain(h) for h in hints}:
        return ("flat", "lists", "indexed")
    return VARIANTS


def build(groups, value, variant):
    """net in `variant`, value(library key) giving each array."""
    if variant == "flat":
        return AnyKeyDict({name: value(key) for name, key in flat_names(groups).items()})
    net = {}
    for group, keys in groups.items():
        if isinstance(keys, str):
            net[group] = value(keys)
        elif variant == "indexed":
            net[group] = {l: value(key) for l, key in enumerate(keys)}
        else:
            net[group] = [value(key) for key in keys]
    return net


def written(groups, variant):
    """net as the report writes it in `variant`: {'W': [W1, W2], 'b': [b1, b2]}, …"""
    if variant == "flat":
        return "{" + ", ".join(f"'{name}': {name}" for name in flat_names(groups)) + "}"
    def one(group, keys):
        if isinstance(keys, str):
            return f"'{group}': {group}"
        names = [f"{group}{l}" for l in range(1, len(keys) + 1)]
        if variant == "indexed":
            return f"'{group}': {{" + ", ".join(f"{i}: {n}" for i, n in enumerate(names)) + "}"
        return f"'{group}': [" + ", ".join(names) + "]"
    return "{" + ", ".join(one(g, ks) for g, ks in groups.items()) + "}"


def unprefixed(key, known):
    """key without a gradient prefix (grad_, grad, d, g), when what is left is a known name."""
    k = plain(key)
    for prefix in ("grad", "d", "g", ""):
        if k.startswith(prefix) and k[len(prefix):] in known:
            return k[len(prefix):]
    return None


def taken(out, groups, keys):
    """Your returned gradients as {library key: array}, from any structure above; None when
    `out` is none of them (the caller says what it was)."""
    if isinstance(out, (list, tuple)):
        dicts = [v for v in out if isinstance(v, dict)]
        if len(dicts) == 1 and len(out) > 1:
            return taken(dicts[0], groups, keys)
        layered = [g for g, ks in groups.items() if not isinstance(ks, str)]
        if layered and len(out) == len(groups) and all(isinstance(v, (list, tuple)) for v in out):
            return taken(dict(zip(groups, out)), groups, keys)
        return dict(zip(keys, out)) if len(out) == len(keys) else None
    if not isinstance(out, dict):
        return None
    flat = {plain(name): key for name, key in flat_names(groups).items()}
    layered = {plain(g): ks for g, ks in groups.items() if not isinstance(ks, str)}
    found = {}
    for k, v in out.items():
        name = unprefixed(k, flat.keys() | layered.keys())
        if name in layered and isinstance(v, (list, tuple)) and len(v) == len(layered[name]):
            found.update(zip(layered[name], v))
        elif name in layered and isinstance(v, dict) and len(v) == len(layered[name]):
            found.update(zip(layered[name], (v[i] for i in sorted(v))))
        elif name in flat:
            found[flat[name]] = v
    return found if set(found) >= set(keys) else None
