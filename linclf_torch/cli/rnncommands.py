"""`linclf rnn` and `linclf sample` once rnnflags.py has validated them (this imports torch).

Exit codes as `linclf train`'s: 0 done, 2 a mistake in the command or its files, 3 the training
diverged (model.pt keeps the last finite record), 130 / 143 interrupted (the folder keeps the
last record; `linclf rnn --resume DIR` continues it).
"""
import sys
import time
from pathlib import Path

import torch

from ..data.prepare import resolve_device
from ..data.text import load_text
from ..errors import Terminated
from ..runs.folder import RunFolder, written
from ..runs.results import training_time
from ..runs.rnn_checkpoint import read_rnn_checkpoint, sample_text
from ..runs.rnn_run import open_resumed, run_rnn
from ..threads import set_threads, threads_in_words
from .rnnflags import rnn_given


def rnn_command(args, cfg):
    if args.resume is None:  # created and locked before the text loads; removed again if nothing is written
        folder = RunFolder(args.out or Path("runs") / time.strftime("rnn-%Y%m%d-%H%M%S"), overwrite=args.overwrite,
                           command="linclf rnn")
        folder.open()
        checkpoint, threads = None, args.threads
    else:
        folder, cfg, checkpoint, threads = open_resumed(args.resume, rnn_given(args), args.threads)
    try:
        set_threads(threads)
        if checkpoint is None:
            text = load_text(cfg.text, args.data_dir)
        else:  # the file the run read (tiny Shakespeare's in its data folder), unless --text names it anew
            text = load_text(args.text or checkpoint["text"]["path"], args.data_dir)
        results, _ = run_rnn(cfg, text, folder, progress=not args.no_progress, checkpoint=checkpoint)
    except KeyboardInterrupt as e:  # runs.run.Interrupted
        done, out = getattr(e, "results", {}).get("updates_completed", 0), folder.path
        kept = (f"{out} keeps update {done}; continue with `linclf rnn --resume {out}`" if done
                else "no record was reached, nothing was written")
        print(f"linclf: {Terminated.in_words(getattr(e, 'signal', e))}: {kept}", file=sys.stderr)
        return Terminated.exit_code(getattr(e, "signal", e))
    finally:
        folder.close()
    out = folder.path
    if results["status"] == "diverged":
        done = results["updates_completed"]
        print(f"linclf: training diverged: the loss or a parameter became NaN or inf by update "
              f"{results['diverged_update']}; {out}/results.json says so"
              + (f" and model.pt keeps update {done}" if done else "") + "; try a smaller --eta (or --clip 5)",
              file=sys.stderr)
        return 3
    best = results["best"]
    print(f"smooth loss {results['history'][-1]['smooth_loss']:.4f} after {results['updates_completed']} updates, "
          f"best {best['smooth_loss']:.4f} at update {best['update']} ({training_time(results, checkpoint)} on "
          f"{results['env']['device_name']}, {threads_in_words(results['env']['threads'])})")
    print(f"wrote {out}/: {', '.join(written(out))}")
    return 0


def sample_command(args, _):
    set_threads(1)  # one character at a time: small products, fastest on one thread
    cfg, checkpoint = read_rnn_checkpoint(args.run)
    device = resolve_device(args.device)
    chars = checkpoint["text"]["chars"]
    saved = (checkpoint["best"] or {}).get("params", checkpoint["params"])
    params = {k: v.to(device) for k, v in saved.items()}
    start = args.start if args.start is not None else checkpoint["text"].get("first", chars[0])
    generator = torch.Generator().manual_seed(args.seed)
    print(sample_text(params, chars, args.length, generator, start=start, temperature=args.temperature,
                      top_p=args.top_p))
    return 0
