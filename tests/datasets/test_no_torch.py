"""``sklearn_metarec.datasets`` stays free of the deep-learning stack (STYLE)."""

import ast
import subprocess
import sys
from pathlib import Path

import sklearn_metarec.datasets

FORBIDDEN = {"torch", "transformers", "skorch", "tensorflow", "jax"}
# First-party subpackages that may import torch; datasets must not reach them.
TORCH_SUBPACKAGES = {"nn", "meta", "_skorch", "recommenders", "text"}


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            yield prefix + (node.module or "")


def test_datasets_modules_do_not_import_torch():
    folder = Path(sklearn_metarec.datasets.__file__).parent
    files = sorted(folder.rglob("*.py"))
    assert files
    for path in files:
        for name in imported_modules(path):
            top = name.lstrip(".").split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if name.startswith("sklearn_metarec.") or name.startswith(".."):
                sub = name.lstrip(".").removeprefix("sklearn_metarec.").split(".")[0]
                assert sub not in TORCH_SUBPACKAGES, f"{path.name} imports {name}"


def test_using_datasets_loads_no_torch():
    code = (
        "import sys, sklearn_metarec\n"
        "before = 'torch' in sys.modules\n"
        "from sklearn_metarec.datasets import load_movielens_small, make_interactions\n"
        "load_movielens_small(); make_interactions(random_state=0)\n"
        "assert before or 'torch' not in sys.modules, 'datasets imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
