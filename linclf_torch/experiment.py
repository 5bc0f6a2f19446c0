"""What every script in experiments/ shares: its flags, its run folder and its report.md."""
import argparse
import sys
from pathlib import Path

from .errors import LinclfError
from .files import check_out_dir, save_figure, save_json, write_atomic
from .run import env_info


def parser(name, description):
    """The flags every experiment takes; the script adds its own."""
    p = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="data", help="CIFAR-10 folder (see the README's Data section)")
    p.add_argument("--no-verify", action="store_true", help="accept pickles that differ from the official ones")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--out", default=f"experiments/results/{name}", help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny run (a few epochs) to check that everything works")
    p.add_argument("--no-progress", action="store_true")
    return p


def script_main(body, build_parser, argv=None):
    """Parse argv, refuse a non-empty --out early, run body(args); LinclfError -> one line, exit 2."""
    args = build_parser().parse_args(argv)
    try:
        check_out_dir(args.out, args.overwrite)
        body(args)
    except LinclfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def pct(x):
    """A fraction as a percentage with two decimals, for tables."""
    return f"{100 * x:.2f}%"


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_outputs(out, results, report, figures=None, device="cpu"):
    """results.json (with env), report.md and the figures (name -> Figure, saved as PNG, dpi 150)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "results.json", {**results, "env": env_info(device)})
    write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report + "\n"))
    for name, fig in (figures or {}).items():
        save_figure(out / f"{name}.png", fig)
    print(report)
    print(f"wrote {out}/results.json, report.md" + "".join(f", {n}.png" for n in figures or {}))
