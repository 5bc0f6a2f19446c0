"""cli/exits.py: what stops a front end becomes one line and an exit code, the same for `linclf`,
the scripts in experiments/ and the walk-through."""
import errno
import signal

import pytest

from linclf_torch.cli.exits import exit_codes
from linclf_torch.errors import LinclfError, Terminated


@pytest.mark.parametrize("stop, code, line", [
    (LinclfError("no data\nin PATH"), 2, "x: error: no data in PATH"),
    (OSError(errno.EACCES, "Permission denied", "out"), 2, "x: error: "),
    (KeyboardInterrupt(), 130, "x: interrupted; note"),
    (Terminated(signal.SIGTERM), 143, "x: terminated (SIGTERM); note"),
])
def test_a_stop_is_one_line_and_an_exit_code(capsys, stop, code, line):
    with exit_codes("x", stopped_note="; note") as ended:
        raise stop
    err = capsys.readouterr().err
    assert ended.code == code and err.startswith(line) and err.count("\n") == 1


def test_the_block_returns_its_own_code_and_the_handlers_come_back(capsys):
    before = signal.getsignal(signal.SIGTERM)

    def main():
        with exit_codes("x", error_prefix="error", hint=" (a hint)") as ended:
            assert signal.getsignal(signal.SIGTERM) == Terminated.raise_it
            return 0
        return ended.code
    assert main() == 0 and signal.getsignal(signal.SIGTERM) == before
    with exit_codes("x", error_prefix="error", hint=" (a hint)") as ended:
        raise LinclfError("bad")
    assert ended.code == 2 and capsys.readouterr().err == "error: bad (a hint)\n"
    assert signal.getsignal(signal.SIGTERM) == before
    with pytest.raises(ZeroDivisionError), exit_codes("x"):  # a bug keeps its traceback
        raise ZeroDivisionError
