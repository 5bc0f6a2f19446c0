"""DD2424 Assignment 2: a two-layer network (3072 → 50, ReLU → 10) with cyclical learning rates.

The assignment's steps, in its order, each on the library's hand-written backward pass:
1. gradient check of the two-layer network against centred differences (float64, reduced
   sizes d = 10, n = 3, m = 6, λ = 0 and 0.01);
2. sanity check: overfit 100 training images (λ = 0, 200 epochs);
3. exercise 3: split a1, η cyclic 1e-5 → 1e-1, n_s = 500, one cycle, λ = 0.01, batch 100;
4. exercise 4: the same with n_s = 800 and three cycles;
5. coarse λ search: all five batches less 5,000 for validation, n_s = 2⌊n / 100⌋, two
   cycles, λ = 10^l with l drawn uniformly in [−5, −1] from --seed (all λ trained at once,
   batched, the metrics read once at the end of each); fine search around the best l
   (l ± 0.5); the three best by validation accuracy;
6. final run: all data less 1,000 for validation, the best λ of both searches, three cycles.
Init W_l ~ N(0, 1/in), b_l = 0 (DD2424's). λ is chosen on validation accuracy; the test set
is evaluated once per trained network.

    python experiments/a2_two_layer.py --data-dir PATH

Evidence: docs/reproducing.md, "DD2424 Assignment 2".
"""
import sys
from dataclasses import replace

import torch

from linclf_torch.cli.experiment import ACCURACY_HEADERS, accuracy_row, script
from linclf_torch.figures.tables import markdown_table, pct
from linclf_torch.grid.search import ranking, run_grid
from linclf_torch.nn import MLPClassifier
from linclf_torch.nn.gradcheck import gradient_errors
from linclf_torch.runs.run import figures, run
from linclf_torch.training.config import TrainConfig

# The assignment's own test accuracies (2019 text / 2026 text) and what students report
ASSIGNMENT = {"exercise 3": "45.85% / 46.29%", "exercise 4": "47.47% / 48.11%", "final": "> 50%"}
STUDENTS = {"final": "51.23–51.87%"}
SEARCH_FLAGS = (("--draws", {"type": int, "default": 10, "help": "λ values per search (default 10)"}),)


def gradient_check(seed):
    """Max relative and norm-wise errors of the two-layer gradient against centred differences."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for lam in (0.0, 0.01):
        model = MLPClassifier(10, (6,), 10, lam=lam, init="dd2424", generator=g, dtype=torch.float64)
        for name in ("b1", "b2"):  # non-zero biases: zeros hide a wrong backward
            model.params[name] = torch.randn(model.params[name].shape, generator=g, dtype=torch.float64) * 0.1
        X, y = torch.randn(3, 10, generator=g, dtype=torch.float64), torch.randint(10, (3,), generator=g)
        rows += [[lam, name, f"{e['max_rel']:.1e}", f"{e['norm_rel']:.1e}"]
                 for name, e in gradient_errors(model, X, y).items()]
    return rows


def search(base, data, ls, progress):
    """Train λ = 10^l for every l at once (batched); (l, λ, results) ranked by validation accuracy."""
    configs = [replace(base, lam=10.0 ** l) for l in ls]
    results, _ = run_grid(configs, data, progress=progress)
    return [(ls[i], configs[i].lam, results[i]) for i in ranking(results)]


@script("a2_two_layer", __doc__, *SEARCH_FLAGS)
def main(args, exp):
    quick, progress = args.quick, not args.no_progress
    n_val_search, n_val_final = (20, 10) if quick else (5000, 1000)
    batch = 10 if quick else 100
    net = TrainConfig(model="mlp", hidden=(6,) if quick else (50,), init="dd2424", batch_size=batch, seed=args.seed,
                      device=args.device)
    runs, figs = {}, {}

    def train(name, cfg, data):
        print(f"{name}: λ {cfg.lam:.3g}, {cfg.eta_cycle if cfg.cycles else f'η {cfg.eta}'}, "
              f"{f'{cfg.cycles} cycles' if cfg.cycles else f'{cfg.epochs} epochs'}")
        results, model = run(cfg, data, progress=progress)
        runs[name] = results
        for kind, fig in figures(True, results["history"], model, data, cfg).items():
            figs[f"{name.replace(' ', '')}_{kind}"] = fig
        return results

    print("1. gradient check")
    check_rows = gradient_check(args.seed)

    a1 = exp.data("a1")
    few = replace(a1, X_train=a1.X_train[:100], y_train=a1.y_train[:100])
    overfit = train("overfit", replace(net, lam=0.0, eta=0.01, batch_size=10, epochs=20 if quick else 200), few)

    ns3, ns4 = (5, 8) if quick else (500, 800)
    train("exercise 3", replace(net, eta_cycle=f"cyclic:1e-5:1e-1:{ns3}", cycles=1, lam=0.01), a1)
    train("exercise 4", replace(net, eta_cycle=f"cyclic:1e-5:1e-1:{ns4}", cycles=3, lam=0.01), a1)

    full = exp.data("full", n_val_search)
    n_s = 2 * (len(full.y_train) // batch)
    base = replace(net, split="full", n_val=n_val_search, eta_cycle=f"cyclic:1e-5:1e-1:{n_s}", cycles=2,
                   records_per_cycle=0)  # a search ranks on the final validation accuracy: read once, at the end
    rng = torch.Generator().manual_seed(args.seed)
    draws = 2 if quick else args.draws
    coarse = search(base, full, (-5 + 4 * torch.rand(draws, generator=rng, dtype=torch.float64)).tolist(), progress)
    best_l = coarse[0][0]
    fine = search(base, full, (best_l - 0.5 + torch.rand(draws, generator=rng, dtype=torch.float64)).tolist(),
                  progress)
    l_final, lam_final, _ = max(coarse[:1] + fine[:1], key=lambda r: r[2]["final"]["val_acc"])

    final_data = exp.data("full", n_val_final)
    n_s_final = 2 * (len(final_data.y_train) // batch)
    train("final", replace(net, split="full", n_val=n_val_final, eta_cycle=f"cyclic:1e-5:1e-1:{n_s_final}",
                           cycles=3, lam=lam_final), final_data)

    rows = [[name, r["config"]["eta_cycle"], r["config"]["cycles"], f"{r['config']['lam']:.3g}",
             *accuracy_row(r["final"]), ASSIGNMENT.get(name, ""), STUDENTS.get(name, ""), f"{r['wall_time_s']:.0f} s"]
            for name, r in runs.items() if name != "overfit"]
    search_rows = [[stage, i + 1, f"{l:.3f}", f"{lam:.2e}", pct(r["final"]["val_acc"]), pct(r["final"]["train_acc"])]
                   for stage, ranked in (("coarse", coarse), ("fine", fine))
                   for i, (l, lam, r) in enumerate(ranked[:3])]
    o = overfit["final"]
    report = "\n\n".join([
        f"# DD2424 A2: two-layer network, cyclical learning rates (seed {args.seed}{', QUICK' if quick else ''})",
        "## Gradient check (float64, d = 10, n = 3, m = 6): the library's gradient against centred differences",
        markdown_table(["λ", "parameter", "max relative error", "norm-wise"], check_rows),
        f"## Sanity check: 100 training images, λ = 0, η = 0.01, {overfit['epochs_completed']} epochs\n\n"
        f"training accuracy {pct(o['train_acc'])}, training loss {overfit['history'][-1]['train_loss']:.4f}",
        "## Training runs",
        markdown_table(["run", "η", "cycles", "λ", *ACCURACY_HEADERS, "assignment: test", "students: test",
                        "training time"], rows),
        f"## λ search (n_s = {n_s}, two cycles, {len(full.y_train)} training images): the three best of each",
        markdown_table(["search", "rank", "l", "λ = 10^l", "val acc", "train acc"], search_rows),
        f"Final λ = {lam_final:.3e} (l = {l_final:.3f}), the best validation accuracy of both searches.",
    ])
    results = {"gradient_check": check_rows, "runs": runs,
               "searches": {stage: [{"l": l, "lam": lam, **r} for l, lam, r in ranked]
                            for stage, ranked in (("coarse", coarse), ("fine", fine))},
               "final_lam": lam_final, "final_l": l_final}
    exp.write(results, report, figs, a1.X_train.device)


if __name__ == "__main__":
    sys.exit(main())
