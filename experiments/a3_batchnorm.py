"""DD2424 Assignment 3: k-layer networks with batch normalisation, trained with cyclical learning rates.

The assignment's steps, in its order, each on the library's hand-written backward pass:
1. gradient check of the k-layer network against centred differences (float64, d = 10,
   n = 7): 2, 3 and 4 layers without batch norm, 2 and 3 layers with it (batch statistics,
   the cost model.cost), λ = 0;
2. 3 layers [50, 50] and 9 layers [50, 30, 20, 20, 10, 10, 10, 10], with and without batch
   norm: He init, batch 100, η cyclic 1e-5 → 1e-1 with n_s = 5⌊n / 100⌋ = 2,250, two cycles,
   λ = 0.005, all five batches less 5,000 for validation, shuffled every epoch;
3. λ search for the 3-layer network with batch norm: coarse, λ = 10^l with l drawn uniformly
   in [−5, −1] from --seed, two cycles each, ranked by validation accuracy; fine, l drawn in
   [l₁ − 0.5, l₁ + 0.5] around the coarse best; the final run, three cycles with the best λ
   of both searches;
4. sensitivity to initialisation: every weight ~ N(0, σ²), σ = 1e-1, 1e-3, 1e-4, with and
   without batch norm, n_s = 2⌊n / 100⌋ = 900, two cycles, λ = 0.005.
λ is chosen on validation accuracy; the test set is evaluated once per trained network and
chooses nothing.

    python experiments/a3_batchnorm.py --data-dir PATH

Evidence: docs/reproducing.md, "DD2424 Assignment 3" (seed 0, 2 cores of an AMD EPYC, torch
2.14.1, 276 s: test 53.24% for 3 layers with batch norm, 51.74% for 9, 53.76% after the λ search).
"""
import sys
from dataclasses import replace

import torch
from matplotlib.figure import Figure

from linclf_torch.cli.experiment import ACCURACY_HEADERS, accuracy_row, script
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.grid.search import ranking, run_grid
from linclf_torch.nn import MLPClassifier
from linclf_torch.nn.gradcheck import gradient_errors
from linclf_torch.runs.run import run
from linclf_torch.training.config import TrainConfig

# The assignment's test accuracies and what students report, beside ours in the table
ASSIGNMENT = {"3 layers": "≈ 52%", "3 layers, BN": "53.5–53.8%"}
STUDENTS = {"3 layers, BN": "51.45–53.76%", "9 layers": "32–48%", "9 layers, BN": "44–51.8%",
            "final, BN": "52.6–53.9%"}
STUDENTS_3BN = "antolu 53.55%, chris4540 52.08%, mhagglun 52.44%, ttperr 51.45%, oStglnd 53.76%"
SHALLOW, DEEP = (50, 50), (50, 30, 20, 20, 10, 10, 10, 10)
SIGMAS = (1e-1, 1e-3, 1e-4)
CHECKS = [(2, False), (3, False), (4, False), (2, True), (3, True)]  # (layers, batch norm)
FLAGS = (("--draws", {"type": int, "default": 8, "help": "λ values of the coarse search (default 8)"}),
         ("--fine-draws", {"type": int, "default": 6, "help": "λ values of the fine search (default 6)"}))


def gradient_check(seed, d=10, n=7, K=10):
    """Largest error per parameter of the k-layer gradients against centred differences.

    A bias before a batch norm has the true gradient 0 (μ_l absorbs it): a relative error of
    two rounding noises means nothing, so its row gives the largest absolute difference.
    """
    g = torch.Generator().manual_seed(seed)
    rows = []
    for layers, batchnorm in CHECKS:
        hidden = (8, 6, 5)[:layers - 1]
        model = MLPClassifier(d, hidden, K, init="he", batchnorm=batchnorm, generator=g, dtype=torch.float64)
        for name, p in model.params.items():  # zero biases and γ = 1 hide a wrong backward
            if not name.startswith("W"):
                model.params[name] = p + 0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64)
        X, y = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(K, (n,), generator=g)
        for name, e in gradient_errors(model, X, y).items():
            zero = batchnorm and name[0] == "b" and name[1:].isdigit() and int(name[1:]) < layers
            rows.append({"layers": layers, "batchnorm": batchnorm, "parameter": name,
                         "error": "max abs difference (true gradient 0)" if zero else "max relative",
                         "value": e["max_abs"] if zero else e["max_rel"], "norm_rel": None if zero else e["norm_rel"]})
    return rows


def assignment_figure(history, title):
    """The assignment's figure: cost, loss and accuracy against update steps, training and validation."""
    fig = Figure(figsize=(10.5, 3.2), layout="constrained")
    steps = [r["step"] for r in history]
    for ax, key, label in zip(fig.subplots(1, 3), ("cost", "loss", "acc"), ("cost", "loss", "accuracy")):
        ax.plot(steps, [r[f"train_{key}"] for r in history], label="training")
        ax.plot(steps, [r[f"val_{key}"] for r in history], label="validation")
        ax.set(xlabel="update step", title=label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def sensitivity_figure(runs):
    """Training and validation loss against update steps, one panel per σ, with and without batch norm."""
    fig = Figure(figsize=(10.5, 3.4), layout="constrained")
    for ax, sigma in zip(fig.subplots(1, len(SIGMAS), sharey=True), SIGMAS):
        for bn, color in ((False, "tab:red"), (True, "tab:blue")):
            history = runs[sensitivity_name(sigma, bn)]["history"]
            steps = [r["step"] for r in history]
            label = "with BN" if bn else "without BN"
            ax.plot(steps, [r["train_loss"] for r in history], color=color, label=f"{label}, training")
            ax.plot(steps, [r["val_loss"] for r in history], color=color, linestyle="--",
                    label=f"{label}, validation")
        ax.set(xlabel="update step", ylabel="loss", title=f"σ = {sigma:g}")
        ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def search_figure(searches):
    """Validation accuracy against l = log10 λ, coarse and fine search."""
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.subplots()
    for stage, marker in (("coarse", "o"), ("fine", "x")):
        ax.plot([r[0] for r in searches[stage]], [100 * r[2]["final"]["val_acc"] for r in searches[stage]],
                marker, label=stage)
    ax.set(xlabel="l = log₁₀ λ", ylabel="validation accuracy (%)", title="λ search, 3 layers with BN")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def sensitivity_name(sigma, batchnorm):
    return f"σ = {sigma:g}{', BN' if batchnorm else ''}"


def search(base, data, ls, progress):
    """Train λ = 10^l for every l, all at once (run_grid stacks them); (l, λ, results)
    ranked by validation accuracy."""
    configs = [replace(base, lam=10.0 ** l) for l in ls]
    results, _ = run_grid(configs, data, progress=progress)
    return [(ls[i], configs[i].lam, results[i]) for i in ranking(results)]


def targets(runs):
    """The acceptance targets of this reproduction, each (target, measured, met)."""
    test = {name: r["final"]["test_acc"] for name, r in runs.items()}
    s_plain, s_bn = test[sensitivity_name(1e-4, False)], test[sensitivity_name(1e-4, True)]
    return [("3 layers, BN, λ = 0.005: test ≥ 52.0%", pct(test["3 layers, BN"]), test["3 layers, BN"] >= 0.52),
            ("9 layers, BN: test ≥ 49.5%", pct(test["9 layers, BN"]), test["9 layers, BN"] >= 0.495),
            ("9 layers: BN above no BN", f"{pct(test['9 layers, BN'])} vs {pct(test['9 layers'])}",
             test["9 layers, BN"] > test["9 layers"]),
            ("σ = 1e-4 without BN: test ≤ 15%", pct(s_plain), s_plain <= 0.15),
            ("σ = 1e-4 with BN: test ≥ 45%", pct(s_bn), s_bn >= 0.45)]


@script("a3_batchnorm", __doc__, *FLAGS)
def main(args, exp):
    quick, progress = args.quick, not args.no_progress
    n_val, batch = (20, 10) if quick else (5000, 100)
    shallow, deep = ((6, 5), (6, 5, 5, 4, 4, 4, 4, 4)) if quick else (SHALLOW, DEEP)
    data = exp.data("full", n_val)
    n = len(data.y_train)
    ns_main, ns_sens = (n // batch,) * 2 if quick else (5 * (n // batch), 2 * (n // batch))  # 2,250 and 900
    net = TrainConfig(model="mlp", hidden=shallow, init="he", batch_size=batch, split="full", n_val=n_val,
                      shuffle=True, eta_cycle=f"cyclic:1e-5:1e-1:{ns_main}", cycles=2, lam=0.005, seed=args.seed,
                      device=args.device)
    runs, figs = {}, {}

    def train(name, cfg):
        print(f"{name}: {len(cfg.hidden) + 1} layers, λ {cfg.lam:.3g}, init {cfg.init}, {cfg.eta_cycle}, "
              f"{cfg.cycles} cycles")
        results, _ = run(cfg, data, progress=progress)
        runs[name] = results
        return results

    print("1. gradient check")
    check_rows = gradient_check(args.seed)

    print("2. 3 and 9 layers, with and without batch norm")
    for hidden, layers in ((shallow, "3 layers"), (deep, "9 layers")):
        for bn in (False, True):
            name = f"{layers}{', BN' if bn else ''}"
            r = train(name, replace(net, hidden=hidden, batchnorm=bn))
            figs[f"{layers.replace(' ', '')}{'_bn' if bn else ''}_curves"] = assignment_figure(
                r["history"], f"{name}: λ = {net.lam:g}, n_s = {ns_main}, two cycles")

    print("3. λ search, 3 layers with batch norm")
    base = replace(net, batchnorm=True, records_per_cycle=0)  # ranked on the final validation accuracy
    rng = torch.Generator().manual_seed(args.seed)
    coarse_draws, fine_draws = (2, 2) if quick else (args.draws, args.fine_draws)
    coarse = search(base, data, (-5 + 4 * torch.rand(coarse_draws, generator=rng, dtype=torch.float64)).tolist(),
                    progress)
    best_l = coarse[0][0]
    fine = search(base, data, (best_l - 0.5 + torch.rand(fine_draws, generator=rng, dtype=torch.float64)).tolist(),
                  progress)
    l_final, lam_final, _ = max(coarse[:1] + fine[:1], key=lambda r: r[2]["final"]["val_acc"])
    r = train("final, BN", replace(net, batchnorm=True, cycles=3, lam=lam_final))
    figs["final_curves"] = assignment_figure(r["history"], f"final, BN: λ = {lam_final:.3g}, three cycles")
    figs["lambda_search"] = search_figure({"coarse": coarse, "fine": fine})

    print("4. sensitivity to initialisation")
    for sigma in SIGMAS:
        for bn in (False, True):
            train(sensitivity_name(sigma, bn), replace(net, init=f"normal:{sigma:g}", batchnorm=bn,
                                                       eta_cycle=f"cyclic:1e-5:1e-1:{ns_sens}"))
    figs["sensitivity_loss"] = sensitivity_figure(runs)

    gc_rows = [[r["layers"], "yes" if r["batchnorm"] else "no", r["parameter"], r["error"], f"{r['value']:.1e}",
                "—" if r["norm_rel"] is None else f"{r['norm_rel']:.1e}"] for r in check_rows]
    main_names = ["3 layers", "3 layers, BN", "9 layers", "9 layers, BN", "final, BN"]
    rows = [[name, len(runs[name]["config"]["hidden"]) + 1, runs[name]["config"]["cycles"],
             f"{runs[name]['config']['lam']:.3g}", *accuracy_row(runs[name]["final"]), ASSIGNMENT.get(name, ""),
             STUDENTS.get(name, ""), f"{runs[name]['wall_time_s']:.0f} s"] for name in main_names]
    sens_rows = [[f"{sigma:g}", "yes" if bn else "no", *accuracy_row(r["final"]),
                  f"{r['history'][-1]['train_loss']:.3f}", f"{r['wall_time_s']:.0f} s"]
                 for sigma in SIGMAS for bn in (False, True) for r in [runs[sensitivity_name(sigma, bn)]]]
    search_rows = [[stage, i + 1, f"{l:.3f}", f"{lam:.2e}", pct(r["final"]["val_acc"]), pct(r["final"]["train_acc"])]
                   for stage, ranked in (("coarse", coarse), ("fine", fine)) for i, (l, lam, r) in enumerate(ranked)]
    target_rows = targets(runs)
    report = "\n\n".join([
        f"# DD2424 A3: k-layer networks with batch normalisation (seed {args.seed}{', QUICK' if quick else ''})",
        "## Gradient check (float64, d = 10, n = 7, K = 10, λ = 0): the library's gradient against centred "
        "differences\n\nThe largest error over each parameter's entries. A bias b_l before a batch norm has the "
        "true gradient 0 (the batch mean absorbs it): its row gives the largest absolute difference, not a "
        "relative error (a ratio of two rounding noises).",
        markdown_table(["layers", "BN", "parameter", "error", "value", "norm-wise relative"], gc_rows),
        f"## Training runs (He init, batch {batch}, η cyclic 1e-5 → 1e-1, n_s = {ns_main}, {n} training images)",
        markdown_table(["run", "layers", "cycles", "λ", *ACCURACY_HEADERS, "assignment: test", "students: test",
                       "training time"], rows),
        f"Students, 3 layers with BN: {STUDENTS_3BN}.",
        f"## λ search, 3 layers with BN (two cycles, n_s = {ns_main}), ranked by validation accuracy",
        markdown_table(["search", "rank", "l", "λ = 10^l", "val acc", "train acc"], search_rows),
        f"Final λ = {lam_final:.3e} (l = {l_final:.3f}), the best validation accuracy of both searches; the "
        "final run trains three cycles with it.",
        f"## Sensitivity to initialisation: every weight ~ N(0, σ²), 3 layers, n_s = {ns_sens}, two cycles, "
        f"λ = {net.lam:g}",
        markdown_table(["σ", "BN", *ACCURACY_HEADERS, "final train loss", "training time"], sens_rows),
        "Assignment and students: without BN the network stays at chance (10%) for small σ; with BN it trains.",
        "## Acceptance targets",
        markdown_table(["target", "measured", "met"], [[t, m, "yes" if ok else "no"] for t, m, ok in target_rows]),
    ])
    results = {"gradient_check": check_rows, "runs": runs,
               "searches": {stage: [{"l": l, "lam": lam, **r} for l, lam, r in ranked]
                            for stage, ranked in (("coarse", coarse), ("fine", fine))},
               "final_lam": lam_final, "final_l": l_final,
               "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in target_rows]}
    exp.write(results, report, figs, data.X_train.device)


if __name__ == "__main__":
    sys.exit(main())
