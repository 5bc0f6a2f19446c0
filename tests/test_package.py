"""The package's shape: nn/ stands alone on torch, and no exported name hides a module."""
import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import linclf_torch

NN = Path(linclf_torch.__file__).parent / "nn"


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
    """After importing every module, linclf_torch.<name> is the module <name> wherever one exists."""
    for info in pkgutil.walk_packages(linclf_torch.__path__, "linclf_torch."):
        if info.name != "linclf_torch.__main__":
            importlib.import_module(info.name)
    for info in pkgutil.iter_modules(linclf_torch.__path__):
        attribute = getattr(linclf_torch, info.name, None)
        assert attribute is None or attribute is sys.modules[f"linclf_torch.{info.name}"], info.name
