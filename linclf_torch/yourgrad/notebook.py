"""A Jupyter notebook's definitions, run as a module: what `linclf gradcheck NOTEBOOK.ipynb:FUNCTION` checks.

A notebook mixes definitions (imports, functions, classes, constants) with code that loads data,
trains and plots. The check needs only the first: running the rest would load CIFAR-10 and train
for minutes before any gradient is compared, or stop on a data file that is not there. So each
code cell is parsed, its IPython-only lines (magics, shell commands, help) are dropped, and of its
top-level statements only the definitions run, one at a time, in the notebook's order. The names
that the code not run would set are remembered, with where, so that a function needing one of
them can be told why it is unset (usercode.explain_name_error). The .ipynb file is JSON: reading
it needs no Jupyter. Imports no torch.
"""
import ast
import json
import linecache
import re

from ..errors import LinclfError

# A line only IPython understands: a line magic or shell command, bare or assigned (`%matplotlib
# inline`, `!pip install x`, `files = !ls`), or help (`np.dot?`, `??np.dot`).
IPYTHON_LINE = re.compile(r"\s*(?:[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*)?[%!]|\s*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)


def code_cells(path):
    """[(cell number, source)] for the notebook's code cells, numbered as its cells are, markdown
    ones included, from 1. A file that is not an nbformat-4 notebook is one LinclfError line."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [(number, cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"]))
                for number, cell in enumerate(cells, 1) if cell.get("cell_type") == "code"]
    except ValueError as e:  # bad JSON or UTF-8
        raise LinclfError(f"{path} is not a notebook: it does not read as JSON ({' '.join(str(e).split())}); "
                          "open it in Jupyter and save it again") from None
    except (KeyError, TypeError, AttributeError):
        raise LinclfError(f"{path} holds no cells as a Jupyter notebook (nbformat 4) does: open it in a current "
                          "Jupyter and save it again") from None


def python_of(source):
    """The cell as Python, each IPython-only line replaced by `pass` at its indentation so that
    line numbers hold; None for a cell magic (`%%time`, `%%bash`: the whole cell is IPython's).
    A cell that parses is left as it is: a line that only looks like a magic may continue an expression."""
    if source.lstrip().startswith("%%"):
        return None
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        return "\n".join(line[:len(line) - len(line.lstrip())] + "pass" if IPYTHON_LINE.match(line) else line
                         for line in source.splitlines())


def calls(node):
    """Whether evaluating `node` calls anything; a lambda's body does not run when it is defined."""
    if isinstance(node, ast.Call):
        return True
    if isinstance(node, ast.Lambda):
        return any(calls(d) for d in node.args.defaults + node.args.kw_defaults if d is not None)
    return any(calls(child) for child in ast.iter_child_nodes(node))


def is_definition(statement):
    """Imports, functions, classes, and constants set without a call (`EPS = 1e-8`, `SIZES = [d, 50, K]`):
    what the check runs. An assignment with a call in it may load data or train, so it is left out."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    return isinstance(statement, (ast.Assign, ast.AnnAssign)) and not calls(statement)


def bound_names(node):
    """The module-level names a top-level statement binds when it runs: assignment, for, with and
    except targets, imports, definitions, in nested blocks too, but not the names inside a
    function, class, lambda or comprehension, which are their own."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [alias.asname or alias.name for alias in node.names if alias.name != "*"]
    if isinstance(node, NEW_SCOPES):
        return []
    own = [node.id] if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) else \
        [node.name] if isinstance(node, ast.ExceptHandler) and node.name else []
    return own + [name for child in ast.iter_child_nodes(node) for name in bound_names(child)]


def run_definitions(path, namespace):
    """Run the notebook's definitions in `namespace` (a module's dict), cell by cell.

    Returns (skipped, failed): {name: "cell N: its statement's first line"} for the names only code
    not run binds, and {name: (that, the exception)} for those of definitions that raised (an import
    of a missing module, a constant computed from a skipped name): a notebook's one broken
    definition need not stop the check of another function.
    A cell that does not parse is one LinclfError line.
    """
    skipped, failed = {}, {}
    for number, source in code_cells(path):
        python = python_of(source)
        run = python is not None
        if not run:  # a cell magic's body, for the names it binds
            python = python_of(source.lstrip().partition("\n")[2]) or ""
        where = f"{path.name}, cell {number}"  # what a traceback through the cell's code names
        try:
            statements = ast.parse(python, where).body
        except SyntaxError as e:
            if not run:
                continue
            raise LinclfError(f"{path}: cell {number} does not parse, at its line {e.lineno} "
                              f"({(e.text or '').strip()}): SyntaxError: {e.msg}; fix that cell, or delete it "
                              "(the check runs the definitions of every code cell)") from None
        lines = python.splitlines()
        linecache.cache[where] = (len(python), None, [line + "\n" for line in lines], where)  # for tracebacks
        for statement in statements:
            shown = f"cell {number}: {lines[statement.lineno - 1].strip()}"
            if not (run and is_definition(statement)):
                for name in bound_names(statement):
                    skipped.setdefault(name, shown)
                continue
            try:
                exec(compile(ast.Module([statement], type_ignores=[]), where, "exec"), namespace)
            except (Exception, SystemExit) as e:  # noqa: BLE001 (remembered, said if the name is needed)
                e.__traceback__ = None  # its frames hold the namespace: only the exception is needed
                for name in bound_names(statement):
                    failed[name] = (shown, e)
            else:
                for name in bound_names(statement):
                    failed.pop(name, None)
    return skipped, failed
