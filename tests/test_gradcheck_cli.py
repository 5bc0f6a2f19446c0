"""`linclf gradcheck FILE.py:FUNCTION`: exit 0 when every case passes, 1 when a gradient is wrong,
2 with one line for a mistake in the command, the file or the function's contract."""
import re
import subprocess
import sys

import pytest
import torch

from helpers import ENV, ROOT
from linclf_torch.cli.parse import main
from linclf_torch.yourgrad.report import TOL

RIGHT = """
def grads(X, y, W, b, lam):
    n = X.shape[0]
    G = (X @ W.T + b).softmax(1)
    G[range(n), y] -= 1
    return G.T @ X / n + 2 * lam * W, G.sum(0) / n
"""


@pytest.fixture(autouse=True)
def threads_restored():
    """The command sets one thread for the process; the other tests keep their own."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def gradcheck(spec, *flags):
    return main(["gradcheck", str(spec), *(flags or ("--layout", "torch"))])


def rounding_masked(text):
    """text with each error below the pass tolerance replaced by "(rounding)".

    Such an error is rounding: a right float64 formula differs from the reference only there,
    and its digits depend on the order of the sums, which depends on the CPU's vector kernels
    (3.6e-16 with AVX2 is 5.0e-16 with AVX-512). A wrong formula's error, 1e-2 to 1 relative,
    is stable to the two digits printed, so those are still compared.
    """
    return re.sub(r"\d\.\de[+-]\d\d", lambda m: "(rounding)" if float(m[0]) < TOL else m[0], text)


def test_the_readme_examples(capsys, monkeypatch):
    """The numpy examples, given no flag but --layout, are called with numpy arrays: the right
    one passes, the wrong one fails with its mistake named, and docs/gradcheck.md quotes the
    wrong one's output as the command prints it, but for the digits of rounding."""
    monkeypatch.chdir(ROOT)
    assert gradcheck("experiments/examples/gradients_right.py:ComputeGradients", "--layout", "dd2424") == 0
    assert capsys.readouterr().out.endswith("PASS: all 6 cases\n")
    assert gradcheck("experiments/examples/gradients_wrong.py:ComputeGradients", "--layout", "dd2424") == 1
    out = capsys.readouterr().out
    assert "(layout dd2424, loss CE, numpy arrays)" in out
    assert "- grad_W, cases 2, 3, 5, 6: your grad_W equals the reference with λW in place of 2λW" in out
    assert out.endswith("FAIL: 4 of 6 cases\n")
    quoted = "\n".join(f"    {line}".rstrip() for line in out.splitlines())  # a Markdown code block
    page = (ROOT / "docs" / "gradcheck.md").read_text()
    assert rounding_masked(quoted) in rounding_masked(page), "docs/gradcheck.md: paste the wrong example's output again"


def test_a_right_file_and_its_sibling_imports(tmp_path, capsys):
    """The file's folder is on sys.path while it is imported, as with `python FILE.py`."""
    (tmp_path / "helper.py").write_text(RIGHT)
    (tmp_path / "mine.py").write_text("from helper import grads\n")
    assert gradcheck(f"{tmp_path / 'mine.py'}:grads") == 0
    out = capsys.readouterr().out
    assert f"Your gradients: {tmp_path / 'mine.py'}:grads (layout torch, loss CE, torch tensors)" in out


@pytest.mark.parametrize("spec, flags, error", [
    ("experiments/examples/gradients_right.py:ComputeGradients", ("--layout", "dd2424", "--arrays", "torch"),
     "raised TypeError: sum() got an unexpected keyword argument 'axis'"),
    ("{file}:grads", ("--layout", "torch", "--numpy"), "raised AttributeError: 'numpy.ndarray' object has no "
     "attribute 'softmax'"),
    ("{file}:grads", ("--layout", "torch", "--arrays", "numpy"), "with numpy arrays (numpy code given tensors, or the "
     "other way? see --arrays)"),
])
def test_arrays_forced_are_used(tmp_path, capsys, monkeypatch, spec, flags, error):
    """--arrays torch|numpy (or --numpy) calls the function with those, even where the other would work."""
    monkeypatch.chdir(ROOT)
    (tmp_path / "mine.py").write_text(RIGHT)
    assert gradcheck(spec.format(file=tmp_path / "mine.py"), *flags) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("source, spec, error", [
    (RIGHT, "{file}", "give your function as FILE.py:FUNCTION, e.g. my_gradients.py:ComputeGradients"),
    (RIGHT, "{file}:2x", "give your function as FILE.py:FUNCTION"),
    (None, "{dir}/absent.py:grads", "absent.py: no such file"),
    (None, "{dir}:grads", "is not a Python file (.py)"),
    (None, "{dir}/work.ipynb:grads", "work.ipynb: no such file"),
    ("def grads(:\n", "{file}:grads", "importing {file} failed at line 1 (def grads(:): SyntaxError: invalid syntax"),
    ("import sys\nsys.exit(3)\n", "{file}:grads", "importing {file} failed at line 2 (sys.exit(3)): SystemExit: 3; "
     "the check imports your file, which runs its top-level code: put the code that loads data or trains under "
     'if __name__ == "__main__":'),
    ("1 / 0\n", "{file}:grads", "importing {file} failed at line 1 (1 / 0): ZeroDivisionError: division by zero; "
     "the check imports your file"),
    (RIGHT, "{file}:grad", "{file} has no function 'grad'; it defines grads"),
    ("grads = 3\n", "{file}:grads", "{file}: grads is a int, not a function"),
    ("def grads(X, y, W, b, lam):\n    return X[7]\n", "{file}:grads",
     "{file}:grads raised IndexError: index 7 is out of bounds for dimension 0 with size 3 on case d=10 n=3 λ=0 "
     "(the reports'), called as {file}:grads((3, 10), (3,), (10, 10), (10,), 0.0) with torch tensors (shapes that do "
     "not fit: is the layout right? dd2424: X (d, n), one image per column; torch: X (n, d))"),
    ("def grads(X, y, W, b, lam):\n    return W.transposed(), b\n", "{file}:grads",
     "{file}:grads raised AttributeError: 'Tensor' object has no attribute 'transposed' on case d=10 n=3 λ=0 "
     "(the reports'), called as {file}:grads((3, 10), (3,), (10, 10), (10,), 0.0) with torch tensors (numpy code "
     "given tensors, or the other way? see --arrays) (nor with the 1 other ways tried, e.g. AttributeError: "
     "'numpy.ndarray' object has no attribute 'transposed')"),
    ("def grads(X, y, W, b, lam):\n    return W.T[:3], b\n", "{file}:grads",
     "{file}:grads's grad_W has shape (3, 10); the torch layout wants (10, 10) on case d=10 n=3 λ=0 "
     "(the reports') (is --layout right?)"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, source, spec, error):
    file = tmp_path / "mine.py"
    if source is not None:
        file.write_text(source)
    spec = spec.format(file=file, dir=tmp_path)
    assert gradcheck(spec) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("linclf: error: ") and captured.err.count("\n") == 1, captured.err
    assert error.format(file=file) in captured.err


def test_parsing_and_file_errors_import_no_torch(tmp_path):
    """--help and a missing file answer before torch is imported."""
    code = ("import sys\nfrom linclf_torch.cli.parse import main\n"
            "try:\n    main(['gradcheck', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            f"assert main(['gradcheck', {str(tmp_path / 'absent.py:f')!r}, '--layout', 'dd2424']) == 2\n"
            "assert main(['gradcheck', 'x.py:f', '--layout', 'sideways']) == 2\n"
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    assert "its top-level code runs: your own code, run with your permissions" in " ".join(done.stdout.split())
    assert "argument --layout: invalid choice: 'sideways'" in done.stderr


def test_the_users_open_files_and_atexit_handlers_get_pythons_clean_up(tmp_path):
    """The command ends with Python's ordinary exit: a log the user's file left open,
    buffered, and its atexit handler are still written at the end."""
    (tmp_path / "mine.py").write_text(RIGHT + """
import atexit
log = open("log.txt", "w")  # never closed, block-buffered: only Python's clean-up writes it
log.write("imported\\n")
atexit.register(lambda: open("atexit.txt", "w").write("ran"))
""")
    done = subprocess.run([sys.executable, "-m", "linclf_torch", "gradcheck", "mine.py:grads", "--layout", "torch"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "log.txt").read_text() == "imported\n" and (tmp_path / "atexit.txt").read_text() == "ran"


def test_the_a2_examples(capsys, monkeypatch):
    """A2's numpy examples, BackwardPass with ApplyNetwork from the same file: the right one passes,
    the wrong one's mistakes are named by layer, and docs/gradcheck.md quotes its output."""
    monkeypatch.chdir(ROOT)
    flags = ("--layout", "dd2424", "--model", "two-layer")
    assert gradcheck("experiments/examples/a2_right.py:BackwardPass", *flags) == 0
    assert capsys.readouterr().out.endswith("PASS: all 6 cases\n")
    assert gradcheck("experiments/examples/a2_wrong.py:BackwardPass", *flags) == 1
    out = capsys.readouterr().out
    assert "fp_data = ApplyNetwork(X, net)" in out.splitlines()[1]
    assert "- grad_W1, every case: your grad_W1 equals the reference without the ReLU's mask [h > 0]" in out
    assert "- grad_W2, cases 2, 3, 5, 6: your grad_W2 equals the reference without the 2λW2 term" in out
    quoted = "\n".join(f"    {line}".rstrip() for line in out.splitlines())
    page = (ROOT / "docs" / "gradcheck.md").read_text()
    assert rounding_masked(quoted) in rounding_masked(page), "docs/gradcheck.md: paste a2_wrong.py's output again"


FORWARD = """
import torch

def forward(X, net):
    return (X @ net["W"][0].T + net["b"][0]).clamp(min=0)

def backward(X, y, h, net, lam):
    (W1, W2), (b1, b2) = net["W"], net["b"]
    G = (h @ W2.T + b2).softmax(1)
    G[range(len(y)), y] -= 1
    G = G / len(y)
    dh = G @ W2 * (h > 0)
    return {"W": [dh.T @ X + 2 * lam * W1, G.T @ h + 2 * lam * W2], "b": [dh.sum(0), G.sum(0)]}
"""


@pytest.mark.parametrize("flags, code, said", [
    (("--forward", "forward"), 0, "PASS: all 6 cases"),
    (("--model", "two-layer", "--forward", "forward"), 0, "PASS: all 6 cases"),
    (("--model", "two-layer"), 0, "fp_data = forward(X, net)"),  # the one function named as a forward pass
    (("--forward", "ApplyNetwork"), 2, "has no function 'ApplyNetwork'; it defines backward, forward"),
    (("--model", "batchnorm", "--forward", "forward"), 2, "--forward is for the network families"),
    (("--model", "linear"), 2, "backward raised TypeError: "),  # called as the linear f(X, y, W, b, lam)
])
def test_the_model_and_forward_flags(tmp_path, capsys, flags, code, said):
    """--forward names the forward (and implies --model two-layer); without it, the one function
    beside the backward whose name reads as a forward pass."""
    (tmp_path / "mine.py").write_text(FORWARD)
    assert gradcheck(f"{tmp_path / 'mine.py'}:backward", "--layout", "torch", *flags) == code
    captured = capsys.readouterr()
    assert said in (captured.out if code == 0 else captured.err)
    assert code == 0 or captured.err.count("\n") == 1
