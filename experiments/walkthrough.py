# %%
"""A walk-through of DD2424 Assignment 1 with linclf_torch, as a notebook that is also a script.

Load CIFAR-10, look at it, run the forward pass, compute one gradient by hand next to the
library's, check gradients, train the baseline, draw its curves and class templates, and
compare softmax + cross-entropy with sigmoid + multiple binary cross-entropy. Every number
comes from the library (linclf_torch.nn holds the math); the by-hand gradient is the one
formula this file writes, to compare it with the library's.

The `# %%` lines make cells: VS Code and PyCharm run them as a notebook, and Jupyter opens the
file as one through jupytext. As a notebook it takes its flags from the environment variable
WALKTHROUGH_ARGS (say WALKTHROUGH_ARGS="--quick"), and shows each figure under its cell.
Every figure is also saved as a PNG in --out (its files are replaced on every run, like a
notebook's outputs), with the numbers in results.json. The test suite runs it, cell by
cell, on a tiny synthetic image folder with --quick (tests/test_walkthrough.py).

Command:
    python experiments/walkthrough.py --data-dir PATH --device cpu --threads 1

Measured on a JPEG copy of CIFAR-10 (docs/reproducing.md), CPU, 1 thread (2 cores of an AMD
EPYC shared with another job): wall time 21 s in the script (26.6 s with Python's
start-up), 8.3 s of it training the baseline, 8.2 s MBCE.
    loss at init 2.3973 (ln 10 = 2.3026); by hand vs the library, dW: 2.4e-14
    finite differences, max relative error: W 5.0e-08, b 1.4e-09; gradcheck: all 6 cases pass
    CE    η 0.001  train 45.40%  val 39.31%  test 39.20%  ECE 1.63%  confidence when wrong 34.29%
    MBCE  η 0.01   train 45.97%  val 38.69%  test 38.44%  ECE 9.23%  confidence when wrong 45.36%
docs/walkthrough.md.
"""
import argparse
import math
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from matplotlib.figure import Figure

from linclf_torch import check_gradients
from linclf_torch.cli.exits import exit_codes
from linclf_torch.cli.parse import Parser, add_data_flags
from linclf_torch.data.cifar import load_cifar10
from linclf_torch.data.prepare import prepare, resolve_device
from linclf_torch.figures.calibration import calibration, summary
from linclf_torch.figures.plots import accuracy_figure, curves_figure, probability_histograms, weights_figure
from linclf_torch.files import check_out_dir, save_figure, save_json
from linclf_torch.nn.gradcheck import gradient_errors, max_rel_error
from linclf_torch.nn.models import LinearClassifier
from linclf_torch.runs.run import env_info, run
from linclf_torch.threads import set_threads
from linclf_torch.training.config import TrainConfig

START = time.perf_counter()
IN_NOTEBOOK = "ipykernel" in sys.modules  # Jupyter, VS Code's interactive window
ROOT = Path("..") if IN_NOTEBOOK and Path.cwd().name == "experiments" else Path(".")  # a notebook runs in experiments/

parser = Parser(prog="experiments/walkthrough.py", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
add_data_flags(parser, data_dir=str(ROOT / "data"), device="auto")
parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "walkthrough"),
                    help="folder for the figures and results.json (default: %(default)s)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--quick", action="store_true", help="3 epochs in batches of 10: a tiny run that checks every cell")
parser.add_argument("--no-progress", action="store_true")


def stops():
    """A mistake (a bad flag, no data, ...), a full disk or Ctrl-C as one line and an exit code
    (linclf_torch/cli/exits.py). A notebook has no command line: there the line says where its
    flags come from."""
    now = os.environ.get("WALKTHROUGH_ARGS", "")
    hint = (f" (in a notebook the flags come from WALKTHROUGH_ARGS, now {now!r}: run "
            "`%env WALKTHROUGH_ARGS=--data-dir PATH` in a cell, then the cells from the top)" if IN_NOTEBOOK else "")
    return exit_codes(parser.prog, error_prefix="error", hint=hint)


with stops() as ended:
    args = parser.parse_args(shlex.split(os.environ.get("WALKTHROUGH_ARGS", "")) if IN_NOTEBOOK else None)
    out = check_out_dir(args.out, overwrite=True)
    set_threads(args.threads)
if ended.code:
    sys.exit(ended.code)
out.mkdir(parents=True, exist_ok=True)
numbers = {"command": f"notebook, WALKTHROUGH_ARGS={os.environ.get('WALKTHROUGH_ARGS', '')!r}" if IN_NOTEBOOK
           else shlex.join(["python", parser.prog, *sys.argv[1:]])}


def show(name, fig):
    """Save the figure as out/name.png; in a notebook, also show it here."""
    path = out / f"{name}.png"
    save_figure(path, fig)
    if IN_NOTEBOOK:
        from IPython.display import Image, display
        display(Image(filename=str(path)))
    print(f"wrote {path}")


# %% [markdown]
# ## 1. Load CIFAR-10
# 60,000 colour images of 32×32 pixels in 10 classes. Split a1, as DD2424: 10,000 images to
# train on, 10,000 to validate, the 10,000 test images. Each image becomes a row of
# d = 3×32×32 = 3072 numbers, standardized with the training split's mean and std.

# %%
with stops() as ended:
    raw = load_cifar10(args.data_dir, cache_dir=args.cache_dir or "auto", verify=not args.no_verify,
                       progress=not args.no_progress)
if ended.code:
    sys.exit(ended.code)
device = resolve_device(args.device)
data = prepare(raw, split="a1", flip=False, device=device)
n, d = data.X_train.shape
K = len(data.classes)
print(f"X_train {tuple(data.X_train.shape)}, X_val {tuple(data.X_val.shape)}, X_test {tuple(data.X_test.shape)}; "
      f"{K} classes: {', '.join(data.classes)}")
print(f"standardized: mean {data.X_train.mean():.3f}, std {data.X_train.std():.3f}")

# %% [markdown]
# ## 2. Look at the images
# Eight training images of each class (the raw uint8 pixels, before standardizing).

# %%
per_class = 8
grid = torch.full((K, per_class, 3, 32, 32), 255, dtype=torch.uint8)   # white where a class has fewer
for k in range(K):
    images = raw.train_images[raw.train_labels == k][:per_class]        # (≤8, 3, 32, 32)
    grid[k, :len(images)] = images
mosaic = grid.permute(0, 3, 1, 4, 2).reshape(K * 32, per_class * 32, 3)  # rows of classes, (H, W, RGB)
fig = Figure(figsize=(per_class * 0.75 + 1.5, K * 0.75), layout="constrained")
ax = fig.subplots()
ax.imshow(mosaic.numpy())
ax.set(xticks=[], yticks=[32 * k + 16 for k in range(K)], yticklabels=data.classes)
show("images", fig)

# %% [markdown]
# ## 3. The forward pass
# A linear classifier S = X Wᵀ + b with W (K, d) ~ N(0, 0.01²) and b = 0, as DD2424
# initialises it, and P = softmax(S). At that initialisation every class gets about 1/K, so
# the cross-entropy loss is about ln K = 2.303.

# %%
model = LinearClassifier(d, K, generator=torch.Generator().manual_seed(args.seed), device=device)
scores = model.scores(data.X_train[:5])                                # (5, K)
P = torch.softmax(scores, dim=1)                                      # (5, K)
print("P for the first 5 training images, a row each:", *(" ".join(f"{p:.3f}" for p in row) for row in P.tolist()),
      sep="\n")
loss, cost, acc = model.evaluate(data.X_train, data.y_train)
print(f"loss at init {loss:.4f} (ln K = {math.log(K):.4f}), training accuracy {acc:.4f} (chance: {1 / K})")
numbers["init"] = {"loss": loss.item(), "ln_K": math.log(K), "train_acc": acc.item()}

# %% [markdown]
# ## 4. One gradient by hand
# The gradient of J = (1/n) Σᵢ −log Pᵢ,yᵢ + λ‖W‖² written as its formula, dS = (P − Y)/n,
# dW = dSᵀX + 2λW, db = Σᵢ dSᵢ, in the layout `linclf gradcheck --layout torch` takes,
# next to the library's LinearClassifier.gradients on 100 training images, in float64.

# %%
def my_gradients(X, y, W, b, lam):
    """dJ/dW (K, d) and dJ/db (K,) for X (n, d), y (n,), W (K, d), b (K,)."""
    Y = torch.nn.functional.one_hot(y, W.shape[0]).to(X.dtype)       # (n, K)
    dS = (torch.softmax(X @ W.T + b, dim=1) - Y) / len(y)              # (n, K)
    return dS.T @ X + 2 * lam * W, dS.sum(0)                           # (K, d), (K,)


X64, y100 = data.X_train[:100].double(), data.y_train[:100]             # (100, d), (100,)
model64 = LinearClassifier(d, K, lam=0.1, generator=torch.Generator().manual_seed(args.seed), device=device,
                           dtype=torch.float64)
dW, db = my_gradients(X64, y100, model64.params["W"], model64.params["b"], model64.lam)
library = model64.gradients(X64, y100)
by_hand = {"W": max_rel_error(dW, library["W"]), "b": max_rel_error(db, library["b"])}
print(f"by hand vs LinearClassifier.gradients, max relative error: dW {by_hand['W']:.1e}, db {by_hand['b']:.1e}")
numbers["by_hand_max_rel_error"] = by_hand

# %% [markdown]
# ## 5. The gradient check
# Two checks. The reports': the library's analytic gradient against centered differences
# (J(θ + h) − J(θ − h)) / 2h, h = 1e-6, on the first 3 images' first 10 dimensions, as in the
# reports. Then *your* function (here my_gradients) against the library's on DD2424's cases,
# which `linclf gradcheck FILE.py:FUNCTION` runs from the command line; it names the mistake
# when a gradient is wrong in a known way (docs/gradcheck.md).

# %%
small = LinearClassifier(10, K, lam=0.1, generator=torch.Generator().manual_seed(args.seed), device=device,
                         dtype=torch.float64)
errors = gradient_errors(small, data.X_train[:3, :10].double(), data.y_train[:3])
for name, e in errors.items():
    print(f"{name}: max relative error {e['max_rel']:.1e}, norm-wise {e['norm_rel']:.1e} (finite differences)")
report = check_gradients(my_gradients, "linear", layout="torch", loss="ce")
print(report)
numbers["finite_differences"] = errors
numbers["gradcheck_passed"] = report.passed

# %% [markdown]
# ## 6. Train the baseline
# DD2424's setting 2: mini-batch gradient descent, η = 0.001, λ = 0, batches of 100 in order,
# 40 epochs, loss and accuracy on the full training and validation sets after every epoch.

# %%
cfg = TrainConfig(eta=0.001, lam=0.0, batch_size=100, epochs=40, seed=args.seed, device=args.device)
if args.quick:
    cfg = replace(cfg, batch_size=10, epochs=3)
baseline, model = run(cfg, data, progress=not args.no_progress)
final = baseline["final"]
print(f"train acc {final['train_acc']:.4f}, val acc {final['val_acc']:.4f}, test acc {final['test_acc']:.4f} "
      f"({baseline['wall_time_s']:.1f} s of training)")
numbers["baseline"] = baseline

# %% [markdown]
# ## 7. Curves and class templates
# Loss and accuracy per epoch; each row of W reshaped to a 32×32 colour image: what the
# classifier looks for in each class.

# %%
show("curves", curves_figure(baseline["history"], title="CE"))
show("accuracy", accuracy_figure(baseline["history"], title="CE"))
show("weights", weights_figure(model.params["W"], data.classes, data.image_shape))

# %% [markdown]
# ## 8. Softmax + CE against sigmoid + MBCE
# MBCE treats each class as its own yes/no question, p = σ(s), and its gradient carries a
# 1/K: the reports raise η tenfold for it. Same data, same epochs; the probability each model
# gives the true class of the test images, for right and wrong predictions.

# %%
mbce_cfg = replace(cfg, loss="mbce", eta=10 * cfg.eta)
mbce, mbce_model = run(mbce_cfg, data, progress=not args.no_progress)
rows, panels = [], {}
for name, results, m in (("CE", baseline, model), ("MBCE", mbce, mbce_model)):
    cal = calibration(m.scores(data.X_test), data.y_test, results["config"]["loss"])
    s = summary(cal)
    results["calibration"] = s
    panels[f"{name}: {'softmax(s)_y' if name == 'CE' else 'σ(s_y)'}"] = (cal["p_true"], cal["correct"])
    rows.append(f"{name:5} η {results['config']['eta']:<6} train {results['final']['train_acc']:.4f}  "
                f"val {results['final']['val_acc']:.4f}  test {results['final']['test_acc']:.4f}  "
                f"ECE {s['ece']:.4f}  confidence when wrong {s['mean_confidence_wrong']:.4f}")
print("\n".join(rows))
show("ce_vs_mbce", probability_histograms(panels))
numbers["mbce"] = mbce

# %% [markdown]
# ## Numbers
# Everything printed above, in results.json.

# %%
numbers["wall_time_s"] = time.perf_counter() - START
numbers["env"] = env_info(device)
save_json(out / "results.json", numbers)
print(f"wrote {out / 'results.json'}; {numbers['wall_time_s']:.0f} s in all")
