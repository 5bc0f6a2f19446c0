"""How every front end ends: `linclf`, the scripts in experiments/ and the walk-through.

    with exit_codes("linclf") as ended:
        ...                  # parse, load, train
        return 0             # the block's own exit code, when it gets that far
    return ended.code        # what stopped it: 2, 130, 143, ...

Inside the block SIGTERM and SIGHUP raise errors.Terminated (a KeyboardInterrupt, as Ctrl-C
is); at its end the previous handlers are back. What stops the block becomes one line on
stderr and ended.code:
    LinclfError               "{prog}: error: {message}{hint}" on one line, code 2
    OSError                   the same with files.os_error_message (a folder we may not read
                              or write: an outside fact, not a bug to trace back), code 2
    BrokenPipeError           `... | head`: the reader left; nothing more is said, code 141
    KeyboardInterrupt         "{prog}: interrupted" or "terminated (SIGTERM)", then stopped_note;
                              128 + the signal's number (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
Anything else (a bug) goes on up with its traceback; so does SystemExit (--help).
"""
import contextlib
import os
import sys

from ..errors import LinclfError, Terminated
from ..files import os_error_message


class Ended:
    """What exit_codes yields: .code, 0 until something stops the block."""
    code = 0


@contextlib.contextmanager
def exit_codes(prog, *, error_prefix=None, hint="", stopped_note=""):
    """Run the block with stop signals handled; turn what stops it into one line and an exit code.

    prog: the front end's name, as its interrupted line begins; error_prefix: what begins an
    error's line (default "{prog}: error"); hint: words added to every error line (the
    walk-through's in a notebook); stopped_note: words after the interrupted line.
    """
    ended, previous = Ended(), Terminated.handle()
    error_prefix = f"{prog}: error" if error_prefix is None else error_prefix
    try:
        yield ended
    except LinclfError as e:
        print(f"{error_prefix}: {' '.join(str(e).splitlines())}{hint}", file=sys.stderr)
        ended.code = 2
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes stdout at exit)
        ended.code = 128 + 13  # SIGPIPE
    except OSError as e:
        print(f"{error_prefix}: {os_error_message(e)}{hint}", file=sys.stderr)
        ended.code = 2
    except KeyboardInterrupt as e:
        stop = getattr(e, "signal", e)  # runs.run.Interrupted carries the signal that stopped it
        print(f"{prog}: {Terminated.in_words(stop)}{stopped_note}", file=sys.stderr)
        ended.code = Terminated.exit_code(stop)
    finally:
        Terminated.restore(previous)
