"""Loading a student's own code (yourgrad/usercode.py, notebook.py): FILE.py, NOTEBOOK.ipynb and
Class.method specs, a top-level failure named by its line, a notebook's definitions run without
its data loading, training and magics, and the names those would have set explained."""
import inspect
import json
import subprocess
import sys

import pytest

from linclf_torch.errors import LinclfError
from linclf_torch.yourgrad.forms import forwards_beside, reads_as_forward
from linclf_torch.yourgrad.usercode import MODULE, beside, explain_name_error, load_function, parse_spec

GUARD_HINT = ('the check imports your file, which runs its top-level code: put the code that loads data or trains '
              'under if __name__ == "__main__":')
ADAPTER_HINT = ("so the check cannot build it: wrap your method in a function f(X, Y, net, lam) that sets the weights "
                "and calls it (docs/gradcheck.md#classes)")


@pytest.fixture(autouse=True)
def fresh_interpreter_state(monkeypatch):
    """Each test's loads put their folder on sys.path and their module in sys.modules: undone after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)


def notebook(path, *cells):
    """Write an nbformat-4 notebook: a string is a code cell, saved as Jupyter does (a list of lines),
    ("markdown", text) a markdown cell, ("string", text) a code cell whose source is one string."""
    def cell(c):
        kind, text = c if isinstance(c, tuple) else ("code", c)
        source = text if kind == "string" else text.splitlines(keepends=True)
        return {"cell_type": "markdown" if kind == "markdown" else "code", "metadata": {}, "source": source,
                **({} if kind == "markdown" else {"execution_count": None, "outputs": []})}
    path.write_text(json.dumps({"cells": [cell(c) for c in cells], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def error_of(path, name):
    with pytest.raises(LinclfError) as e:
        load_function(path, name)
    assert "\n" not in str(e.value)
    return str(e.value)


@pytest.mark.parametrize("spec, name", [("a.py:grads", "grads"), ("nb.ipynb:grads", "grads"),
                                        ("a.py:Net.compute_gradients", "Net.compute_gradients"),
                                        ("nb.ipynb:Net.compute_gradients", "Net.compute_gradients")])
def test_parse_spec_takes_files_notebooks_and_class_methods(tmp_path, spec, name):
    file = tmp_path / spec.partition(":")[0]
    file.write_text("")
    assert parse_spec(f"{tmp_path}/{spec}") == (file, name)


@pytest.mark.parametrize("spec, error", [
    ("a.py", "give your function as FILE.py:FUNCTION, e.g. my_gradients.py:ComputeGradients (a notebook: "
             "a2.ipynb:ComputeGradients; a class's method: a3.py:Network.compute_gradients) (got '{dir}/a.py')"),
    ("a.py:2x", "give your function as FILE.py:FUNCTION"),
    ("a.py:Net.grads.x", "give your function as FILE.py:FUNCTION"),
    ("a.py:Net.", "give your function as FILE.py:FUNCTION"),
    ("a.txt:grads", "{dir}/a.txt is not a Python file (.py) or a notebook (.ipynb); give FILE.py:FUNCTION, e.g."),
    ("absent.ipynb:grads", "{dir}/absent.ipynb: no such file"),
    ("folder.py:grads", "{dir}/folder.py is a folder, not a file"),
])
def test_parse_spec_refuses_in_one_line(tmp_path, spec, error):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "folder.py").mkdir()
    with pytest.raises(LinclfError) as e:
        parse_spec(f"{tmp_path}/{spec}")
    assert error.format(dir=tmp_path) in str(e.value) and "\n" not in str(e.value)


def test_top_level_data_loading_names_its_line_and_the_guard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "a1.py"
    file.write_text("def LoadBatch(filename):\n"
                    "    with open(filename, 'rb') as f:\n"
                    "        return f.read()\n"
                    "\n"
                    "def grads(X, Y, W, b, lam):\n"
                    "    return W, b\n"
                    "\n"
                    "X = LoadBatch('data_batch_1')\n")
    assert error_of(file, "grads") == (
        f"importing {file} failed at line 8 (X = LoadBatch('data_batch_1')), in LoadBatch at line 2 "
        "(with open(filename, 'rb') as f:): FileNotFoundError: [Errno 2] No such file or directory: 'data_batch_1'; "
        + GUARD_HINT)


@pytest.mark.parametrize("source, error", [
    ("import math\nprint(1 / 0)\n", "importing {file} failed at line 2 (print(1 / 0)): ZeroDivisionError: division "
                                    "by zero; " + GUARD_HINT),
    ("import sys\nsys.exit(3)\n", "importing {file} failed at line 2 (sys.exit(3)): SystemExit: 3; " + GUARD_HINT),
    ("def grads(X):\n    return X\nimport not_a_module_here\n",
     "importing {file} failed at line 3 (import not_a_module_here): ModuleNotFoundError: No module named "
     "'not_a_module_here'; is it installed for the Python that runs linclf (" + sys.executable + ")?"),
    ("x = 1\ndef grads(:\n", "importing {file} failed at line 2 (def grads(:): SyntaxError: invalid syntax"),
    ("from broken_helper import grads\n", "importing {file} failed at line 1 (from broken_helper import grads): SyntaxError: "
                                   "invalid syntax (broken_helper.py, line 1); fix {dir}/broken_helper.py, line 1 (def grads(:)"),
    ("import math\nget_ipython().run_line_magic('matplotlib', 'inline')\n",
     "importing {file} failed at line 2 (get_ipython().run_line_magic('matplotlib', 'inline')): NameError: name "
     "'get_ipython' is not defined; this file was exported from a notebook, and get_ipython() exists only inside "
     "Jupyter: give the notebook itself ({dir}/a1.ipynb:grads), or delete the get_ipython() lines"),
])
def test_a_file_whose_import_fails_is_one_line_naming_the_line(tmp_path, source, error):
    (tmp_path / "broken_helper.py").write_text("def grads(:\n")
    file = tmp_path / "a1.py"
    file.write_text(source)
    assert error_of(file, "grads") == error.format(file=file, dir=tmp_path)


def test_a_name_set_only_under_the_main_guard_is_explained(tmp_path):
    file = tmp_path / "a1.py"
    file.write_text("def grads(X):\n    return X * lam\n\n"
                    "if __name__ == '__main__':\n    lam = 0.1\n    print(grads(2))\n")
    fn = load_function(file, "grads")
    with pytest.raises(NameError) as e:
        fn(2)
    assert explain_name_error(e.value) == (
        "your function uses 'lam', which is set only under if __name__ == \"__main__\": (line 5: lam = 0.1), which "
        "the check does not run (it imports your file): define it at the top level of the file (a function, or a "
        "constant), or pass it as an argument")
    with pytest.raises(NameError) as e:
        exec("undefined_anywhere", vars(sys.modules[MODULE]))
    assert explain_name_error(e.value) is None


def a2_notebook(path):
    return notebook(
        path,
        ("markdown", "# Assignment 2\nThe definitions, then the data and the training."),
        "import math\nimport numpy as np\n",                                                     # cell 2
        "%matplotlib inline\n!pip install x\nfrom math import sqrt\nsqrt?\n",                   # cell 3
        "%%time\nfor i in range(3):\n    total = i\n",                                          # cell 4
        "X = np.load('missing.npy')\nopen('ran.txt', 'w').write('the data cell ran')\n"         # cell 5
        "lam_val = pick_lambda(X)\n",
        "for epoch in range(10):\n    W = train(W, X)\n    print(epoch)\n",                     # cell 6
        ("string", "EPS = 1e-8\nK, d = 10, 3072\nSIZES: list = [d, 50, K]\nsoftmax = lambda s: math.exp(s)\n"),
        "def scale(x):\n    return x / (1 + EPS)\n\nscale(3)\n",                                 # cell 8
        "def regularised(x):\n    return x * lam_val\n",                                        # cell 9
        "N = X.shape[1]\n\ndef per_input(x):\n    return x / N\n",                              # cell 10
        "import not_a_module_here as helper\n\ndef helped(x):\n    return helper.f(x)\n",       # cell 11
    )


def test_a_notebook_runs_its_definitions_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = a2_notebook(tmp_path / "a2.ipynb")
    scale = load_function(nb, "scale")
    assert scale(2.0) == 2.0 / (1 + 1e-8)
    module = sys.modules[MODULE]
    assert module.__file__ == str(nb) and sys.path[0] == str(tmp_path)
    assert (module.K, module.d, module.SIZES, module.softmax(0), module.sqrt(4)) == (10, 3072, [3072, 50, 10], 1, 2)
    assert not {"X", "lam_val", "epoch", "W", "total", "i", "N", "helper"} & set(vars(module))
    assert not (tmp_path / "ran.txt").exists()
    assert scale.__code__.co_filename == "a2.ipynb, cell 8"
    assert inspect.getsource(scale) == "def scale(x):\n    return x / (1 + EPS)\n"  # tracebacks show the cell's lines


@pytest.mark.parametrize("function, error", [
    ("regularised", "your function uses 'lam_val', which is set only in code the check does not run (cell 5: "
                    "lam_val = pick_lambda(X)): define it at the top level of a cell, as a function or as a "
                    "constant set without calls, or pass it as an argument"),
    ("per_input", "your function uses 'N', which is set in cell 10: N = X.shape[1], but that line failed when the "
                  "check ran it: NameError: name 'X' is not defined ('X' is set only in code the check does not "
                  "run: cell 5: X = np.load('missing.npy')): make it run on its own (the check runs a notebook's "
                  "imports, functions, classes and constants set without calls), or pass the value as an argument"),
    ("helped", "your function uses 'helper', which is set in cell 11: import not_a_module_here as helper, but that "
               "line failed when the check ran it: ModuleNotFoundError: No module named 'not_a_module_here': "
               f"is it installed for the Python that runs linclf ({sys.executable})?"),
])
def test_a_name_the_notebook_sets_in_code_not_run_is_explained(tmp_path, monkeypatch, function, error):
    monkeypatch.chdir(tmp_path)
    fn = load_function(a2_notebook(tmp_path / "a2.ipynb"), function)
    with pytest.raises(NameError) as e:
        fn(1.0)
    assert explain_name_error(e.value).startswith(error)


def test_a_function_the_notebook_defines_in_code_not_run_is_named(tmp_path):
    nb = notebook(tmp_path / "a2.ipynb", "import math\n", "%%time\ndef grads(X):\n    return X\n",
                  "if True:\n    def other(X):\n        return X\n")
    assert error_of(nb, "grads") == (f"{nb}: the check cannot use 'grads': it is set only in code the check does "
                                     "not run (cell 2: def grads(X):): define it at the top level of a cell, as a "
                                     "function or as a constant set without calls, or pass it as an argument")
    assert "(cell 3: if True:)" in error_of(nb, "other")
    assert error_of(nb, "absent") == f"{nb} has no function 'absent'; it defines no function"


@pytest.mark.parametrize("text, error", [
    (None, "{nb}: cell 3 does not parse, at its line 2 (def grads(X:): SyntaxError: '(' was never closed; "
           "fix that "
           "cell, or delete it (the check runs the definitions of every code cell)"),
    ("{not json", "{nb} is not a notebook: it does not read as JSON (Expecting property name enclosed in double "
                  "quotes: line 1 column 2 (char 1)); open it in Jupyter and save it again"),
    ('{"worksheets": []}', "{nb} holds no cells as a Jupyter notebook (nbformat 4) does: open it in a current "
                           "Jupyter and save it again"),
])
def test_a_notebook_that_cannot_be_read_is_one_line(tmp_path, text, error):
    nb = notebook(tmp_path / "a2.ipynb", ("markdown", "# A2"), "import math\n", "%matplotlib inline\ndef grads(X:\n")
    if text is not None:
        nb.write_text(text)
    assert error_of(nb, "grads") == error.format(nb=nb)


@pytest.mark.parametrize("names, found", [
    (["ApplyNetwork", "BackwardPass", "ComputeCost"], ["ApplyNetwork"]),
    (["apply_network", "Apply2LayerNetwork", "backward_pass"], ["Apply2LayerNetwork", "apply_network"]),
    (["EvaluateClassifier", "ComputeGradients"], ["EvaluateClassifier"]),
    (["forward_backward", "compute_loss"], []),
])
def test_the_forwards_beside_a_notebooks_function_are_those_named_as_a_forward_pass(tmp_path, names, found):
    nb = notebook(tmp_path / "a2.ipynb", "from math import exp as apply_exp\n",
                  *(f"def {name}(X, net):\n    return X\n" for name in names))
    fn = load_function(nb, names[-1])
    assert sorted(forwards_beside(fn)) == sorted(set(found) - {names[-1]})
    assert beside(nb, names[0]).__name__ == names[0] and beside(nb, "ApplyNetwork", required=False) is \
        (sys.modules[MODULE].ApplyNetwork if "ApplyNetwork" in names else None)


@pytest.mark.parametrize("name, reads", [
    ("ApplyNetwork", True), ("apply_layers", True), ("EvaluateClassifier", True), ("evaluate_network", True),
    ("forward", True), ("ForwardPass", True), ("feed_forward", True), ("FORWARD_PASS_BN", True),
    ("BackwardPass", False), ("forward_backward", False), ("evaluate_cost", False), ("ComputeGradients", False),
])
def test_reads_as_forward(name, reads):
    assert reads_as_forward(name) is reads


NET = ("class Net:\n"
       "    def __init__(self{params}):\n"
       "        self.W = {body}\n"
       "    def compute_gradients(self, X, Y):\n"
       "        return X + Y + self.W\n")


@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
def test_a_class_built_without_arguments_gives_its_method(tmp_path, suffix):
    source = NET.format(params="", body="1")
    file = tmp_path / f"a3{suffix}"
    notebook(file, source) if suffix == ".ipynb" else file.write_text(source)
    fn = load_function(file, "Net.compute_gradients")
    assert (fn(2, 3), fn.__name__, fn.__qualname__) == (6, "compute_gradients", "Net.compute_gradients")


@pytest.mark.parametrize("params, body, error", [
    (", X, Y, y, W1, b1, W2, b2, lam, eta", "W1",
     "{file}:Net.compute_gradients: Net() needs arguments (TypeError: Net.__init__() missing 9 required positional "
     "arguments: 'X', 'Y', 'y', 'W1', 'b1', 'W2', 'b2', 'lam', and 'eta'), " + ADAPTER_HINT),
    ("", "open('data_batch_1').read()",
     "{file}:Net.compute_gradients: Net() failed (FileNotFoundError: [Errno 2] No such file or directory: "
     "'data_batch_1'), " + ADAPTER_HINT),
])
def test_a_class_that_cannot_be_built_points_to_the_adapter(tmp_path, monkeypatch, params, body, error):
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "a3.py"
    file.write_text(NET.format(params=params, body=body))
    assert error_of(file, "Net.compute_gradients") == error.format(file=file)


def test_a_class_spec_naming_no_class_or_no_method_is_one_line(tmp_path):
    file = tmp_path / "a3.py"
    file.write_text(NET.format(params="", body="1") + "def grads(X):\n    return X\n")
    assert error_of(file, "Net.grads") == f"{file}: class Net has no method 'grads'; it has compute_gradients"
    assert error_of(file, "grads.x") == (f"{file}: grads is a function, not a class: give FILE:FUNCTION, or "
                                         "FILE:Class.method for a class")
    assert error_of(file, "Network.grads") == f"{file} has no function 'Network'; it defines Net, grads"


def test_loading_a_notebook_imports_no_torch(tmp_path):
    nb = notebook(tmp_path / "a2.ipynb", "def grads(X):\n    return X\n")
    code = ("import sys\nfrom pathlib import Path\nfrom linclf_torch.yourgrad.usercode import load_function\n"
            f"assert load_function(Path({str(nb)!r}), 'grads')(3) == 3\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
