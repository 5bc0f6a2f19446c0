"""--threads N|auto: how many CPU threads PyTorch uses, the same flag for `linclf` and experiments/.

PyTorch's default is one thread per core. On a machine that also runs something else, that
is a trap: every multithreaded op waits for its slowest thread, and a thread whose core
another process holds stalls the whole op (measured: 7x slower with one of 2 cores busy).
`auto` (the default) therefore counts the cores that other processes left idle while this
one started (importing torch: a second or more) and takes that many threads, at least one
and at most PyTorch's default.
The count is chosen once per process and recorded in results.json; `--resume` reuses a
run's count, since it changes float summation order.
docs/performance.md: "Threads".

Imports no torch at module level: the CLI parses its flags before importing torch, and this
module's import time starts the measurement.
"""
import argparse
import math
import os
import resource
import time

from .errors import LinclfError

MIN_WINDOW_S = 0.3  # the shortest measurement of the other processes' load


def _cpu_seconds():
    """(wall clock, CPU seconds busy on the whole machine or None, CPU seconds of this process
    and of its children that ended)."""
    busy = None
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
        ticks = [int(v) for v in fields[1:]]
        busy = (sum(ticks[:3]) + sum(ticks[5:8])) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    except (OSError, ValueError, IndexError):
        pass
    own = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]  # CHILDREN: ended
    return time.monotonic(), busy, sum(r.ru_utime + r.ru_stime for r in own)


_START = _cpu_seconds()
_chosen = None


def usable_cores():
    """The cores this process may run on (its CPU affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def others_load(start, end):
    """How many cores' worth of CPU other processes used between two _cpu_seconds() readings."""
    (t0, busy0, own0), (t1, busy1, own1) = start, end
    if busy0 is None or busy1 is None or t1 <= t0:
        try:
            return os.getloadavg()[0]  # no /proc/stat (macOS): the 1-minute load average
        except (AttributeError, OSError):
            return 0.0  # Windows: nothing to go by
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)


def auto_threads(cores, others, torch_default):
    """The idle cores, rounded to the nearest whole core: at least 1, at most torch's default."""
    return max(1, min(torch_default, math.floor(cores - others + 0.5)))


def threads_value(text):
    """argparse type of --threads: 'auto' or an integer ≥ 1."""
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r} (a number of threads, or auto)") from None
    if n < 1:  # not an ArgumentTypeError: argparse would prefix "argument --threads: " to the same words
        raise LinclfError(f"--threads must be ≥ 1 (got {n})")
    return n


def add_threads_flag(p, resume=False):
    p.add_argument("--threads", type=threads_value, metavar="N|auto",
                   help="CPU threads for torch: N, or auto: as many as the cores other processes leave idle "
                        f"(default: auto{'; with --resume, the run' + chr(39) + 's' if resume else ''}; "
                        "see docs/performance.md, Threads)")


def set_threads(n):
    """torch.set_num_threads for the whole process: a number, or None / 'auto' (see the module docstring).

    Returns the number of threads in use.
    """
    global _chosen
    import torch
    if n is None or n == "auto":
        if _chosen is None:
            wait = MIN_WINDOW_S - (time.monotonic() - _START[0])
            if wait > 0:  # torch was imported before this module: measure a short while now
                time.sleep(wait)
            others = others_load(_START, _cpu_seconds())
            _chosen = auto_threads(usable_cores(), others, torch.get_num_threads())
        n = _chosen
    elif type(n) is not int or n < 1:
        raise LinclfError(f"--threads must be ≥ 1 or auto (got {n})")
    torch.set_num_threads(n)
    return n


def threads_in_words(n):
    """'1 thread', '2 threads': for the lines that report a run."""
    return f"{n} thread{'' if n == 1 else 's'}"
