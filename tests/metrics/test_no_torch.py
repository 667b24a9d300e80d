"""``metrics`` and ``model_selection`` stay free of the deep-learning stack (STYLE)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sklearn_metarec"
FORBIDDEN = {"torch", "transformers", "skorch", "tensorflow", "jax"}
# First-party subpackages that may import torch.
TORCH_SUBPACKAGES = {"nn", "meta", "_skorch", "recommenders", "text"}


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")


@pytest.mark.parametrize("subpackage", ["metrics", "model_selection"])
def test_modules_do_not_import_torch(subpackage):
    files = sorted((PACKAGE / subpackage).rglob("*.py"))
    assert files
    for path in files:
        for name in imported_modules(path):
            top = name.lstrip(".").split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            sub = name.lstrip(".").removeprefix("sklearn_metarec.").split(".")[0]
            if name.startswith(("sklearn_metarec.", "..")):
                assert sub not in TORCH_SUBPACKAGES, f"{path.name} imports {name}"


def test_using_metrics_and_splitters_loads_no_torch():
    code = (
        "import sys, sklearn_metarec\n"
        "before = 'torch' in sys.modules\n"
        "import pandas as pd\n"
        "from sklearn_metarec.metrics import ndcg_at_k, make_cold_start_scorer\n"
        "from sklearn_metarec.model_selection import ColdStartSplit, MeLUSplit\n"
        "X = pd.DataFrame({'user_id': [1, 1, 2, 2], 'item_id': [1, 2, 1, 2]})\n"
        "list(ColdStartSplit(test_size=1, random_state=0).split(X))\n"
        "ndcg_at_k([1, 0], [0.5, 0.1], users=[1, 1])\n"
        "assert before or 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
