"""Progress for people and for logs: an animated tqdm bar on a terminal or in a notebook, plain
lines elsewhere.

When stderr is not a terminal (CI, `nohup`, a SLURM job, `> log 2>&1`), a bar's redraws
would land in the log as hundreds of carriage-return lines. There, `bar` returns `LogLines`
instead: one line per `set_postfix` (the trainer calls it once per epoch, with the epoch's
cost and validation accuracy) and one line when the work is done. A notebook's stderr is no
terminal either, but it redraws a carriage return in place: there the bar is tqdm's text bar,
one line per training run instead of one per epoch.
"""
import sys
import time


def bar(iterable=None, *, desc, enabled=True, total=None, initial=0, unit="it"):
    """tqdm(iterable, ...) on a terminal or in a notebook, LogLines in a log, a silent LogLines
    when not enabled."""
    if enabled and (sys.stderr.isatty() or "ipykernel" in sys.modules):
        from tqdm import tqdm  # the text bar: tqdm.auto's notebook widget needs ipywidgets
        return tqdm(iterable, desc=desc, total=total, initial=initial, unit=unit)
    return LogLines(iterable, desc=desc, total=total, initial=initial, unit=unit, enabled=enabled)


class LogLines:
    """The part of tqdm's interface that linclf uses, written as whole lines to stderr."""

    def __init__(self, iterable=None, *, desc, total=None, initial=0, unit="it", enabled=True):
        self.iterable, self.desc, self.unit, self.enabled = iterable, desc, unit, enabled
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.n = self.initial = initial  # initial: items done before (a resumed run's epochs)
        self.start = self.last = time.perf_counter()

    def __iter__(self):
        for item in self.iterable:
            self.n += 1  # counts the item being worked on: set_postfix then names it
            yield item

    def update(self, n=1):
        self.n += n

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:  # a failure says its own one line
            self.close()

    def set_postfix(self, **values):
        now = time.perf_counter()
        fields = "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items())
        self._line(f"{self.unit} {self.n}{self._of()}  {fields}  {now - self.last:.1f} s")
        self.last = now

    def close(self):
        done = f"{self.n}{self._of()} {self.unit}s"
        if self.initial:  # resumed: name the items this session did, whose time this is
            first, of = self.initial + 1, self._of().replace("/", " of ")
            done = f"{self.unit} {first}{of}" if self.n == first else f"{self.unit}s {first}–{self.n}{of}"
        self._line(f"{done} done in {time.perf_counter() - self.start:.1f} s")

    def _of(self):
        return f"/{self.total}" if self.total is not None else ""

    def _line(self, text):
        if self.enabled:
            print(f"{self.desc}: {text}", file=sys.stderr, flush=True)
