"""The exceptions a user sees: the CLI turns each into one line and an exit code."""
import signal
import threading


class LinclfError(Exception):
    """A user mistake or an outside fact (bad flag, missing data, corrupt file, full disk): exit 2.

    The message says what is wrong and how to fix it, in one line.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (from `timeout`, `docker stop`, SLURM, systemd) or SIGHUP (the terminal or SSH
    session closed), handled exactly like Ctrl-C.

    A KeyboardInterrupt, so that every place that finishes its epoch's files on Ctrl-C does
    the same here; only the exit code (128 + the signal's number) and the message differ.
    """

    SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @classmethod
    def raise_it(cls, signum, frame):
        """The handler of SIGTERM and SIGHUP."""
        raise cls(signum)

    @classmethod
    def handle(cls):
        """Install the handler (on the main thread, the only one that may); returns what to give
        restore() to put the previous handlers back."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, cls.raise_it) for s in cls.SIGNALS}

    @staticmethod
    def restore(previous):
        for s, handler in previous.items():
            signal.signal(s, handler)

    @staticmethod
    def exit_code(e):
        """128 + the signal's number, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM."""
        return 128 + (e.signum if isinstance(e, Terminated) else signal.SIGINT)

    @staticmethod
    def in_words(e):
        """How the stop is said: "interrupted" (Ctrl-C) or "terminated (SIGTERM)"."""
        return f"terminated ({signal.Signals(e.signum).name})" if isinstance(e, Terminated) else "interrupted"
