"""--threads: how many CPU threads PyTorch uses, the same flag for `linclf` and experiments/.

PyTorch's default is one thread per core. On a small machine shared with other jobs, fewer
can be much faster: an op split across threads waits for its slowest thread, and a thread
whose core another process holds stalls it (README: "Performance").
"""
import torch

from .errors import LinclfError


def add_threads_flag(p):
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice, one per core; "
                   "on a shared or small machine fewer can be much faster)")


def set_threads(n):
    """torch.set_num_threads(n) for the whole process; None keeps PyTorch's default."""
    if n is None:
        return
    if n < 1:
        raise LinclfError(f"--threads must be ≥ 1 (got {n})")
    torch.set_num_threads(n)
