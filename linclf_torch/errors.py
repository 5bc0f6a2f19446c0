"""The one exception type a user sees: the CLI prints its message on one line and exits 2."""


class LinclfError(Exception):
    """A user mistake or an outside fact (bad flag, missing data, corrupt file).

    The message says what is wrong and how to fix it, in one line.
    """
