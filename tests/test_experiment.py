"""The scaffolding every experiment script uses."""
from linclf_torch.cli.experiment import script
from linclf_torch.errors import LinclfError
from linclf_torch.figures.tables import markdown_table, pct


def test_markdown_table_and_percentages():
    assert markdown_table(["a", "b"], [[1, pct(0.39204)]]) == "| a | b |\n|---|---|\n| 1 | 39.20% |"


def test_script_refuses_a_non_empty_out_and_turns_errors_into_exit_2(tmp_path, capsys):
    (tmp_path / "old.json").write_text("keep")
    ran = []
    record = script("x", "test", ("--flag", {"type": int, "default": 3}))(lambda args, exp: ran.append(args))
    assert record(["--out", str(tmp_path)]) == 2
    assert ran == [] and "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "old.json").read_text() == "keep"

    def fails(args, exp):
        raise LinclfError("--eta must be > 0")
    assert script("x", "test")(fails)(["--out", str(tmp_path / "new")]) == 2
    assert capsys.readouterr().err == "error: --eta must be > 0\n"
    assert record(["--out", str(tmp_path / "new"), "--quick"]) == 0
    assert ran[0].quick and ran[0].flag == 3
    assert record(["--out", str(tmp_path / "new"), "--flag", "x"]) == 2  # a usage mistake is one line too
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: argument --flag: invalid int value")


def test_a_script_stopped_by_ctrl_c_says_so_in_one_line(tmp_path, capsys):
    def interrupted(args, exp):
        raise KeyboardInterrupt
    assert script("x", "test")(interrupted)(["--out", str(tmp_path / "new")]) == 130
    assert capsys.readouterr().err == "experiments/x.py: interrupted; no results were written\n"
