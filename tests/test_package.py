"""The package's shape: nn/ stands alone on torch, the parts import one way without a cycle,
and no exported name hides a module."""
import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import linclf_torch

PACKAGE = Path(linclf_torch.__file__).parent
NN = PACKAGE / "nn"
# The floors, lowest first: a module may import its own package and the floors below its own.
FLOORS = [{"linclf_torch", "linclf_torch.errors", "linclf_torch.files", "linclf_torch.progress",
           "linclf_torch.threads", "linclf_torch.courselayout"},
          {"linclf_torch.nn"},
          {"linclf_torch.yourgrad", "linclf_torch.data", "linclf_torch.figures"},
          {"linclf_torch.training"},
          {"linclf_torch.runs"},
          {"linclf_torch.grid"},
          {"linclf_torch.cli"},
          {"linclf_torch.__main__"}]


def module_files():
    """{module name: file} for every module and package of linclf_torch."""
    return {".".join(("linclf_torch", *f.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): f
            for f in sorted(PACKAGE.rglob("*.py"))}


def imports(name, file, modules):
    """The linclf_torch modules that importing `name` runs: every import statement in the file,
    at module level or inside a function, relative or absolute; `from P import x` is P's
    __init__ and, where x is a module, x itself; and the packages above each of them."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
            while target := target.rpartition(".")[0]:  # importing a.b.c runs a/__init__ and a/b/__init__ first
                if target in modules and not name.startswith(target + "."):  # but not those above this module: running already
                    found.add(target)
    found.discard(name)
    return found


def import_graph():
    modules = module_files()
    return {name: imports(name, file, modules) for name, file in modules.items()}


def floor(name):
    for level, names in enumerate(FLOORS):
        ancestors = {name.rsplit(".", k)[0] for k in range(1, name.count("."))}  # a subpackage's module: its packages'
        if name in names or ancestors & names:
            return level
    raise AssertionError(f"{name} is on no floor: add it to FLOORS")


def test_no_import_cycle_among_the_packages_modules():
    """Depth-first search of the import graph (function-level imports included): no cycle."""
    graph, state, path = import_graph(), {}, []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for other in sorted(graph[name]):
            assert state.get(other) != "open", "import cycle: " + " -> ".join(path[path.index(other):] + [other])
            if other not in state:
                visit(other)
        path.pop()
        state[name] = "done"
    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_imports_run_down_the_floors():
    """A module imports its own package and the floors below it, never one above or beside:
    front ends -> grid -> runs -> training -> data, figures, yourgrad -> nn -> the root modules."""
    for name, targets in import_graph().items():
        top = ".".join(name.split(".")[:2])  # its package on a floor (yourgrad for yourgrad.families.linear)
        package = top if (PACKAGE / top.removeprefix("linclf_torch.")).is_dir() else "linclf_torch"
        for target in targets:
            if package != "linclf_torch" and (target == package or target.startswith(package + ".")):
                continue  # within its own package
            if target == "linclf_torch":
                continue  # the root's __init__ imports nothing of the package
            assert floor(target) < floor(name) or (floor(name) == 0 and floor(target) == 0), \
                f"{name} imports {target}, which is not on a floor below it"


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "linclf_torch.cli.commands" in graph["linclf_torch.cli.parse"]  # inside main()
    assert "linclf_torch.figures.plots" in graph["linclf_torch.runs.run"]  # from ..figures.plots import ... in figures()
    assert "linclf_torch.data" in graph["linclf_torch.training.config"]  # from ..data import SPLITS


def test_nn_holds_no_checker_module():
    """Checking a student's gradient lives in yourgrad/, beside the core, not inside it."""
    assert {f.stem for f in NN.glob("*.py")} == {"__init__", "layers", "losses", "models", "mlp", "conv", "convnet",
                                                 "rnn", "sampling", "optim", "schedules", "gradcheck"}
    assert {f.stem for f in (PACKAGE / "yourgrad").glob("*.py")} >= {"engine", "report", "mistakes", "usercode"}


def test_nn_imports_only_torch_the_standard_library_and_itself():
    """Every import statement in nn/*.py names torch, a standard-library module, or a sibling in nn/."""
    files = sorted(NN.glob("*.py"))
    assert {f.stem for f in files} >= {"__init__", "layers", "losses", "models", "optim", "schedules", "gradcheck"}
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1:  # from .layers import ...: inside nn/
                    continue
                assert node.level == 0, f"{f.name}:{node.lineno} imports from outside nn/"
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root == "torch" or root in sys.stdlib_module_names, f"{f.name}:{node.lineno} imports {root}"


def test_nn_runs_copied_out_of_the_package():
    """nn/ loaded as a top-level package of its own: a fresh interpreter trains a step with it
    and has imported nothing of linclf_torch."""
    code = (f"import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('nn_alone', {str(NN / '__init__.py')!r}, "
            f"submodule_search_locations=[{str(NN)!r}])\n"
            "nn = importlib.util.module_from_spec(spec); sys.modules['nn_alone'] = nn; spec.loader.exec_module(nn)\n"
            "import nn_alone.layers, nn_alone.losses, nn_alone.schedules, nn_alone.gradcheck, torch\n"
            "model = nn.LinearClassifier(5, 3, generator=torch.Generator().manual_seed(0))\n"
            "X, y = torch.randn(4, 5), torch.tensor([0, 1, 2, 0])\n"
            "nn.SGD(model.params, 0.1).step(model.gradients(X, y))\n"
            "print(sorted(m for m in sys.modules if m.startswith('linclf_torch')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=NN.parent.parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_name_in_the_package_hides_a_module():
    """After importing every module, P.<name> is the module P.<name> wherever one exists, in the
    root package and in each subpackage (the root's _API names included)."""
    packages = [linclf_torch]
    for info in pkgutil.walk_packages(linclf_torch.__path__, "linclf_torch."):
        if info.name != "linclf_torch.__main__":
            module = importlib.import_module(info.name)
            if info.ispkg:
                packages.append(module)
    for package in packages:
        for info in pkgutil.iter_modules(package.__path__):
            attribute = getattr(package, info.name, None)
            assert attribute is None or attribute is sys.modules[f"{package.__name__}.{info.name}"], info.name
    assert not set(linclf_torch._API) & {info.name for info in pkgutil.iter_modules(linclf_torch.__path__)}
