"""The scaffolding every experiment script uses."""
from linclf_torch.errors import LinclfError
from linclf_torch.experiment import parser, script_main
from linclf_torch.tables import markdown_table, pct


def test_markdown_table_and_percentages():
    assert markdown_table(["a", "b"], [[1, pct(0.39204)]]) == "| a | b |\n|---|---|\n| 1 | 39.20% |"


def test_script_main_refuses_a_non_empty_out_and_turns_errors_into_exit_2(tmp_path, capsys):
    (tmp_path / "old.json").write_text("keep")
    ran = []
    assert script_main(ran.append, lambda: parser("x", "test"), ["--out", str(tmp_path)]) == 2
    assert ran == [] and "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "old.json").read_text() == "keep"

    def fails(args):
        raise LinclfError("--eta must be > 0")
    assert script_main(fails, lambda: parser("x", "test"), ["--out", str(tmp_path / "new")]) == 2
    assert capsys.readouterr().err == "error: --eta must be > 0\n"
    assert script_main(ran.append, lambda: parser("x", "test"), ["--out", str(tmp_path / "new"), "--quick"]) == 0
    assert ran[0].quick
