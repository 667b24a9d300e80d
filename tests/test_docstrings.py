"""Every public class and function documents a runnable Examples section.

The names checked are those of every public module's ``__all__``: the package and
each module under it whose dotted path has no part starting with an underscore
(``sklearn_metarec.metrics``, ``sklearn_metarec.meta``, ``sklearn_metarec.demo``, ...).
A name re-exported by several modules is checked once, under the first module that
exports it. Constants (``__version__``, tuples of option names) are not checked.

"Runnable" means an ``Examples`` section (numpydoc heading) with at least one
``>>>`` line: pytest collects those as doctests (``--doctest-modules`` in
``pyproject.toml``), so they run with the test suite.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import sklearn_metarec

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}\s*$", re.MULTILINE)


def public_modules():
    """The package and its modules without a private part in their dotted path."""
    names = [sklearn_metarec.__name__]
    for info in pkgutil.walk_packages(
        sklearn_metarec.__path__, prefix=f"{sklearn_metarec.__name__}."
    ):
        parts = info.name.split(".")[1:]
        if any(part.startswith("_") for part in parts) or parts[-1] == "conftest":
            continue
        names.append(info.name)
    return sorted(names)


def public_objects():
    """``(qualified name, object)`` for every class and function in an ``__all__``."""
    seen = set()
    out = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{module_name}.{name}", obj))
    return out


def examples_section(docstring):
    """The text of the ``Examples`` section of a numpydoc docstring, or None."""
    if not docstring:
        return None
    text = inspect.cleandoc(docstring)
    headings = list(_SECTION.finditer(text))
    for index, heading in enumerate(headings):
        if heading.group(1).strip() == "Examples":
            end = headings[index + 1].start() if index + 1 < len(headings) else None
            return text[heading.end() : end]
    return None


# Every public name, with no exception list: a new public name needs its examples.
PUBLIC = public_objects()


def test_public_names_are_found():
    names = {name for name, _ in PUBLIC}
    assert "sklearn_metarec.MetaCFRecommender" in names
    assert "sklearn_metarec.metrics.ndcg_at_k" in names


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_docstring_has_runnable_examples(name, obj):
    # The object's own docstring: a class must not pass on its parent's examples.
    section = examples_section(obj.__doc__)
    assert section is not None, f"{name} has no Examples section in its docstring"
    assert ">>>" in section, f"The Examples section of {name} has no >>> line"


def test_examples_section_parser():
    doc = """Summary.

    Parameters
    ----------
    x : int

    Examples
    --------
    >>> 1 + 1
    2

    See Also
    --------
    other
    """
    assert examples_section(doc).strip() == ">>> 1 + 1\n2"
    assert examples_section("Summary.\n\nNotes\n-----\nNone.") is None
    assert examples_section(None) is None
