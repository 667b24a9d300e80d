"""Imports flow one way (STYLE.md "Layout"): checked by reading every import."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_metarec"

# subpackage -> top-level modules it must not import (directly or via our layers).
FORBIDDEN = {
    "nn": {"sklearn", "skorch"},
    "meta": {"sklearn", "skorch"},
    "datasets": {"torch", "skorch", "transformers"},
    "metrics": {"torch", "skorch", "transformers"},
    "model_selection": {"torch", "skorch", "transformers"},
    "inspection": {"torch", "skorch", "transformers"},
}
# subpackage -> our own subpackages it must not import (one-way layering).
FORBIDDEN_INTERNAL = {
    "utils": {"nn", "meta", "_skorch", "recommenders", "baselines", "text"},
    "nn": {"meta", "_skorch", "recommenders", "baselines", "utils", "text"},
    "meta": {"_skorch", "recommenders", "baselines", "utils", "text"},
    "_skorch": {"recommenders", "baselines"},
    "datasets": {"nn", "meta", "_skorch", "recommenders", "text"},
    "metrics": {"nn", "meta", "_skorch", "recommenders", "text"},
    "model_selection": {"nn", "meta", "_skorch", "recommenders", "text"},
    "inspection": {"nn", "meta", "_skorch", "recommenders", "text"},
}


def _imports(path: Path):
    """(top-level external module, first-party subpackage) pairs imported by a file."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], _first_party(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative import: resolve against the file's package.
                base = list(rel.parent.parts)[: len(rel.parent.parts) - node.level + 1]
                module = ".".join(
                    ["sklearn_metarec", *base, *(node.module or "").split(".")]
                )
                names = (
                    [module]
                    if node.module
                    else [f"{module}.{a.name}".replace("..", ".") for a in node.names]
                )
                for name in names:
                    yield "sklearn_metarec", _first_party(name.rstrip("."))
            else:
                yield node.module.split(".")[0], _first_party(node.module)


def _first_party(module: str):
    parts = module.split(".")
    if parts[0] == "sklearn_metarec" and len(parts) > 1:
        return parts[1]
    return None


def _files(sub):
    return sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("sub", sorted(set(FORBIDDEN) | set(FORBIDDEN_INTERNAL)))
def test_imports_flow_one_way(sub):
    bad = []
    for path in _files(sub):
        for external, internal in _imports(path):
            if external in FORBIDDEN.get(sub, set()):
                bad.append(f"{path.relative_to(PACKAGE)} imports {external}")
            if internal in FORBIDDEN_INTERNAL.get(sub, set()):
                bad.append(
                    f"{path.relative_to(PACKAGE)} imports sklearn_metarec.{internal}"
                )
    assert not bad, "\n".join(bad)


def test_private_sklearn_imports_live_in_one_module():
    allowed = PACKAGE / "utils" / "_sklearn.py"
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if path == allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and (module == "sklearn" or module.startswith("sklearn.")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private or "._" in module:
                    bad.append(f"{path.relative_to(PACKAGE)}: from {module} import")
    assert not bad, "\n".join(bad)
