"""The API reference lists every public name, and only names that exist.

Reads ``docs/api.rst`` as text (no Sphinx needed): entries are the lines of
``autosummary`` blocks, qualified by the ``currentmodule`` above them, plus
``py:data`` / ``autoclass`` / ``autofunction`` directives.
"""

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api.rst"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

PUBLIC_MODULES = [
    "sklearn_metarec",
    "sklearn_metarec.baselines",
    "sklearn_metarec.pipeline",
    "sklearn_metarec.text",
    "sklearn_metarec.datasets",
    "sklearn_metarec.model_selection",
    "sklearn_metarec.metrics",
    "sklearn_metarec.inspection",
    "sklearn_metarec.utils",
]

_DIRECTIVE = re.compile(
    r"^\.\. (?:py:)?(?:data|autoclass|autofunction|autodata)::\s*(\S+)"
)
_CURRENT = re.compile(r"^\.\. (?:py:)?currentmodule::\s*(\S+)")


def documented_names(text):
    """Fully qualified names listed in an API reference page."""
    names = set()
    module = None
    in_autosummary = False
    for line in text.splitlines():
        stripped = line.strip()
        if match := _CURRENT.match(line):
            module, in_autosummary = match.group(1), False
            continue
        if line.startswith(".. autosummary::"):
            in_autosummary = True
            continue
        if in_autosummary:
            if not stripped or stripped.startswith(":"):
                continue  # blank line or an option such as :toctree:
            if not line.startswith((" ", "\t")):
                in_autosummary = False  # the block ended
            else:
                names.add(_qualify(stripped, module))
                continue
        if match := _DIRECTIVE.match(line):
            names.add(_qualify(match.group(1), module))
    return names


def _qualify(name, module):
    name = name.lstrip("~")
    if module is None or name.startswith("sklearn_metarec"):
        return name
    return f"{module}.{name}"


@pytest.fixture(scope="module")
def api_names():
    return documented_names(API.read_text(encoding="utf-8"))


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(module_name, api_names):
    module = importlib.import_module(module_name)
    public = getattr(module, "__all__", None)
    assert public is not None, f"{module_name} has no __all__"
    missing = [n for n in public if f"{module_name}.{n}" not in api_names]
    assert not missing, (
        f"docs/api.rst does not list {missing} from {module_name}.__all__; add them "
        "to the module's autosummary block."
    )


def test_every_documented_name_exists(api_names):
    stale = []
    for qualified in sorted(api_names):
        module_name, _, name = qualified.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            stale.append(qualified)
            continue
        if name not in getattr(module, "__all__", ()) or not hasattr(module, name):
            stale.append(qualified)
    assert not stale, f"docs/api.rst lists names that are not public: {stale}"


def test_documented_names_parser():
    text = """
.. currentmodule:: pkg.sub

.. autosummary::
   :toctree: generated/
   :template: class.rst

   Alpha
   beta

Some text mentioning Gamma.

.. py:data:: __version__

.. currentmodule:: pkg

.. autosummary::

   delta
"""
    assert documented_names(text) == {
        "pkg.sub.Alpha",
        "pkg.sub.beta",
        "pkg.sub.__version__",
        "pkg.delta",
    }


def test_gallery_layout():
    """sphinx-gallery needs a README.rst in the gallery and in each of its folders."""
    assert (EXAMPLES / "README.rst").is_file()
    folders = [p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders
    for folder in folders:
        assert (folder / "README.rst").is_file(), f"{folder} has no README.rst"
        scripts = sorted(folder.glob("plot_*.py"))
        assert scripts, f"{folder} has no plot_*.py example"
        for script in scripts:
            source = script.read_text(encoding="utf-8")
            compile(source, str(script), "exec")
            assert source.lstrip().startswith('"""'), f"{script} needs a docstring"


@pytest.mark.slow
def test_docs_build_with_warnings_as_errors(tmp_path):
    """The Sphinx build (gallery included) passes with -W; CI runs it."""
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("numpydoc")
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            "docs",
            str(tmp_path / "html"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
