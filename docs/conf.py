"""Sphinx configuration: autodoc + autosummary + numpydoc + sphinx-gallery.

Build with ``make docs`` or ``sphinx-build -W -b html docs docs/_build/html``. The
build is offline: no intersphinx, no remote images; the gallery runs on CPU.
"""

import os
import re
import sys
import warnings
from importlib.util import find_spec
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # document the checkout, installed or not

import sklearn_metarec

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# -- Project ---------------------------------------------------------------------
project = "sklearn-metarec"
author = "sklearn-metarec developers"
copyright = "sklearn-metarec developers, BSD-3-Clause"
release = sklearn_metarec.__version__
version = ".".join(release.split(".")[:2])

# -- General ---------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
if find_spec("myst_parser") is not None:
    extensions.append("myst_parser")
    source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
    myst_heading_anchors = 3
else:  # benchmarks.rst shows the Markdown file as text
    source_suffix = {".rst": "restructuredtext"}

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*/*.py",
    "auto_examples/**/*.zip",
    "auto_examples/**/*.json",
    "auto_examples/**/*.md5",
    "auto_examples/**/*.codeobj.json",
    "auto_examples/**/*.pickle",
]
if find_spec("myst_parser") is not None:
    exclude_patterns.append("benchmarks.rst")
else:
    exclude_patterns.append("benchmarks.md")
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"
add_function_parentheses = False

# No network: intersphinx is deliberately not enabled, and nothing is fetched.
# Cross-references to numpy / scikit-learn objects render as plain text.

# -- autodoc / autosummary / numpydoc ----------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autoclass_content = "class"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False

# -- sphinx-gallery ----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    # Getting started first; the evaluation examples, which build on the others,
    # last. Every folder of examples/ must be listed.
    "subsection_order": [
        "../examples/quickstart",
        "../examples/serving",
        "../examples/text",
        "../examples/evaluation",
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_metarec",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_metarec": None},
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "plot_gallery": "True",
    "show_memory": False,
    "min_reported_time": 1,
}

# -- HTML --------------------------------------------------------------------------
html_title = f"sklearn-metarec {release}"
html_static_path = ["_static"]
html_show_sourcelink = False
if find_spec("pydata_sphinx_theme") is not None:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_prev_next": False,
        "github_url": None,
        "icon_links": [],
        "navbar_end": ["theme-switcher", "navbar-icon-links"],
        "secondary_sidebar_items": ["page-toc"],
        "header_links_before_dropdown": 6,
    }
else:
    html_theme = "alabaster"

# Matplotlib in the gallery must not open windows or warn about the backend.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)


# -- Docstring clean-up ------------------------------------------------------------
_FOREIGN_ROLE = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*(?:<[^>]*>)?`")
_SHAPE = re.compile(r"of shape \(([^)`]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[,\s]|$)")


def _clean_docstring(app, what, name, obj, options, lines):
    """Make docstrings build offline with warnings as errors.

    - Methods inherited from scikit-learn (``get_params``, ``score``, ``set_output``,
      metadata routing) cite labels of scikit-learn's own documentation
      (``:ref:`metadata_routing```, ``:term:``...), which do not exist here without
      intersphinx: keep their text, drop the link.
    - A shape such as ``(n_components_, n_terms)`` names a fitted attribute; reST would
      read ``n_components_`` as a hyperlink reference: escape its underscore.
    """
    module = getattr(obj, "__module__", None) or ""
    foreign = not module.startswith("sklearn_metarec")
    for index, line in enumerate(lines):
        if foreign:
            line = _FOREIGN_ROLE.sub(
                lambda m: f"*{m.group(1) or 'see scikit-learn'}*", line
            )
        line = _SHAPE.sub(
            lambda m: "of shape (" + _TRAILING_UNDERSCORE.sub(r"\\_", m.group(1)) + ")",
            line,
        )
        lines[index] = line


def setup(app):
    app.connect("autodoc-process-docstring", _clean_docstring)
