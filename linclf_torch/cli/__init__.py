"""The `linclf` command and the experiment scripts' front end: thin argparse, no logic of its own.

    parse.py       the flags, validated before torch is imported; main() and command()
    commands.py    what each command does once parsed (imports torch and the library)
    experiment.py  the flags, data and output folder every script in experiments/ shares
    exits.py       how every front end ends: a mistake, a full disk or a stop signal as one line and an exit code
The top floor: may import every package below it (runs, grid, training, data, figures,
yourgrad, nn and the root modules); nothing in the library imports it. parse.py imports
no torch, so that `linclf --help` answers at once.
"""
