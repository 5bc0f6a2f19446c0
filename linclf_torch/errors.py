"""The exceptions a user sees: the CLI turns each into one line and an exit code."""
import signal


class LinclfError(Exception):
    """A user mistake or an outside fact (bad flag, missing data, corrupt file, full disk): exit 2.

    The message says what is wrong and how to fix it, in one line.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (sent by `timeout`, `docker stop`, SLURM, systemd), handled exactly like Ctrl-C.

    A KeyboardInterrupt, so that every place that finishes its epoch's files on Ctrl-C does
    the same on SIGTERM; only the exit code (128 + 15) and the word in the message differ.
    """

    @staticmethod
    def raise_it(signum, frame):
        """The SIGTERM handler (signal.signal(SIGTERM, Terminated.raise_it))."""
        raise Terminated()

    @staticmethod
    def exit_code(e):
        """130 for Ctrl-C, 143 for SIGTERM: 128 + the signal's number, as a shell reports it."""
        return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)

    @staticmethod
    def describe(e):
        return "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
