"""Error and warning messages name only parameters that exist (issue #19).

Every ``raise SomeError(message)`` and ``warnings.warn(message)`` of the package is
read with :mod:`ast`; the literal text of its message (the constant parts of an
f-string included, the ``{...}`` fields left out) is searched for tokens that name
a parameter:

* ``name=`` (``set inner_lr=...``, ``ColdStartSplit(kind='both')``): always a
  parameter, so it must be one;
* a word in backticks, or a word followed by "parameter" / "argument";
* the subject of a sentence that says what a value must be (``n_query must be an
  int``, ``estimators is empty``);
* any snake_case word (one with an underscore: ``item_features``, ``item_index_``).

The first three kinds must be parameters of a public callable. A snake_case word
may also name another public thing: a fitted attribute (``item_index_``), a public
method (``partial_fit``), a name in an ``__all__`` (``join_text_columns``), the
string default of a public parameter (the column names ``user_id``, ``timestamp``)
or a NumPy dtype (``float32``). What a message writes in quotes is a value
(``'per_tensor'``), a dotted name a path (``torch.Generator``), a tuple in
parentheses the axes of a shape (``(n_users, n_items)``), which the message may then
use (``with n_sizes=3``): none is read as a parameter.

"Public callable": every class and function in the ``__all__`` of the package and of
its user-facing subpackages (``__init__``, public methods and class methods). The
internal layers ``nn`` and ``meta`` have an ``__all__`` of their own; their messages
may also name that API (``meta`` builds on ``nn``).
"""

import ast
import functools
import importlib
import inspect
import re
from pathlib import Path

import numpy as np

import sklearn_metarec

PACKAGE_DIR = Path(sklearn_metarec.__file__).parent
USER_FACING = (
    "sklearn_metarec",
    "sklearn_metarec.baselines",
    "sklearn_metarec.datasets",
    "sklearn_metarec.inspection",
    "sklearn_metarec.metrics",
    "sklearn_metarec.model_selection",
    "sklearn_metarec.pipeline",
    "sklearn_metarec.text",
    "sklearn_metarec.utils",
)
#: Internal layers: a message under ``sklearn_metarec/<layer>/`` may also name the
#: public API of the layers it builds on (imports flow ``nn`` <- ``meta``).
INTERNAL = {"nn": ("nn",), "meta": ("nn", "meta")}

#: Names no rule recognises that messages use legitimately. Keep it short.
ALLOWED = {
    # sklearn's own wording for an array check ("Found array with 0 sample(s)
    # (shape=(0, 2))"), kept so that sklearn's estimator checks match it.
    "shape",
    # The option of accelerate.Accelerator (passed as ``accelerator=``) that
    # _skorch/_accelerate.py refuses for meta-training.
    "mixed_precision",
}

_QUOTED = re.compile(r"'[^'\s]*'|\"[^\"\s]*\"")
_DOTTED = re.compile(r"(?<![\w.])\.?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|(?<!\w)\.\w+")
_ITEM = r"\s*(?:[A-Za-z_]\w*|\{\}|-?\d+|\.\.\.)?\s*"
_TUPLE = re.compile(rf"\((?:{_ITEM},)+{_ITEM}\)")
_STRICT = (
    re.compile(r"\b([A-Za-z_]\w*)=(?!=)"),
    re.compile(r"`+([A-Za-z_]\w*)`+"),
    re.compile(r"\b([A-Za-z_]\w*) (?:parameter|argument)\b"),
    re.compile(r"(?:^|[.;:] )([a-z_][a-z0-9_]*) (?:must|is empty)\b"),
)
_SNAKE = re.compile(r"(?<![\w{])([a-z][a-z0-9]*(?:_[a-z0-9]+)+_?)(?![\w}])")


def _message_parts(node):
    """The literal text of a message expression; ``{}`` for each computed part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        for value in node.values:
            yield value.value if isinstance(value, ast.Constant) else "{}"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        yield from _message_parts(node.left)
        if isinstance(node.op, ast.Add):
            yield from _message_parts(node.right)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        yield from _message_parts(node.func.value)
    else:
        yield "{}"


def _is_warn(call):
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr == "warn" and getattr(func.value, "id", "") == "warnings"
    return isinstance(func, ast.Name) and func.id == "warn"


def _message_calls(tree):
    """``(call, enclosing function or None)`` for every raise and warning."""

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            scope = (
                child
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                else function
            )
            if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call):
                yield child.exc, function
            elif isinstance(child, ast.Call) and _is_warn(child):
                yield child, function
            yield from visit(child, scope)

    yield from visit(tree, None)


def _message_node(call, function):
    """The message argument, following ``msg = ...; raise Error(msg)``."""
    node = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg in ("msg", "message"):
            node = keyword.value
    if isinstance(node, ast.Name) and function is not None:
        assigned = [
            statement.value
            for statement in ast.walk(function)
            if isinstance(statement, ast.Assign)
            and statement.lineno < call.lineno
            and any(getattr(t, "id", None) == node.id for t in statement.targets)
        ]
        if assigned:
            node = assigned[-1]
    return node


def messages(source):
    """``(line, text)`` of every error and warning message in ``source``."""
    found = []
    for call, function in _message_calls(ast.parse(source)):
        node = _message_node(call, function)
        if node is not None:
            found.append((call.lineno, "".join(_message_parts(node))))
    return found


def parameter_tokens(text):
    """``(token, strict)`` for the words of ``text`` that may name a parameter.

    ``strict`` tokens are written as parameters (``name=``, in backticks, ...) and
    must be one; the others are snake_case words that may name any public thing.
    """
    text = _QUOTED.sub("''", text)
    text = _DOTTED.sub("", text)
    # A tuple names the axes of a shape or the members of a pair; the rest of the
    # message may use those names ("(min_n, max_n) ... with min_n <= max_n").
    defined = {name for t in _TUPLE.findall(text) for name in re.findall(r"\w+", t)}
    text = _TUPLE.sub("()", text)
    tokens = {}
    for pattern in _STRICT:
        for match in pattern.finditer(text):
            tokens[match.group(1)] = True
    for match in _SNAKE.finditer(text):
        tokens.setdefault(match.group(1), False)
    return sorted(
        (token, strict) for token, strict in tokens.items() if token not in defined
    )


def _public_callables(module_names):
    """Every class and function in the ``__all__`` of the named modules."""
    found = {}
    for name in module_names:
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found[id(obj)] = obj
    return list(found.values())


def _signature_names(function, names, defaults):
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    for parameter in signature.parameters.values():
        if parameter.name not in ("self", "cls"):
            names.add(parameter.name)
            if isinstance(parameter.default, str):
                defaults.add(parameter.default)


def known_names(module_names):
    """``(parameters, other public names)`` of the public API of ``module_names``."""
    parameters, others = set(), set()
    for name in module_names:
        others.update(importlib.import_module(name).__all__)
    for obj in _public_callables(module_names):
        if inspect.isfunction(obj):
            _signature_names(obj, parameters, others)
            continue
        _signature_names(obj.__init__, parameters, others)
        for attr, member in inspect.getmembers(obj):
            if attr.startswith("_") and attr != "__call__":
                continue
            if isinstance(member, property) or attr.endswith("_"):
                others.add(attr)
            elif callable(member):
                others.add(attr)
                _signature_names(member, parameters, others)
    return parameters, others


def _fitted_attributes():
    """Every ``self.name_ = ...`` of the package: fitted attributes."""
    names = set()
    for path in PACKAGE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and getattr(node.value, "id", None) == "self"
                and node.attr.endswith("_")
                and not node.attr.startswith("_")
            ):
                names.add(node.attr)
    return names


@functools.cache
def _known_in_layer(layer):
    modules = USER_FACING + tuple(
        f"sklearn_metarec.{m}" for m in INTERNAL.get(layer, ())
    )
    parameters, others = known_names(modules)
    return parameters, others | _fitted_attributes()


def _known_for(path):
    """The names a message of the module at ``path`` may use."""
    parts = path.relative_to(PACKAGE_DIR).parts
    return _known_in_layer(parts[0] if parts[0] in INTERNAL else None)


def offenders(source, filename, parameters, others):
    """``(file:line, token, message)`` for each token naming nothing public."""
    found = []
    for line, text in messages(source):
        for token, strict in parameter_tokens(text):
            if token in parameters or token in ALLOWED:
                continue
            if not strict and (token in others or hasattr(np, token)):
                continue
            found.append((f"{filename}:{line}", token, text[:100]))
    return found


def _package_messages():
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name == "conftest.py":
            continue
        yield path, path.read_text(encoding="utf-8")


def test_messages_name_existing_parameters():
    bad, n_messages, n_tokens = [], 0, 0
    for path, source in _package_messages():
        parameters, others = _known_for(path)
        found = messages(source)
        n_messages += len(found)
        n_tokens += sum(len(parameter_tokens(text)) for _, text in found)
        filename = path.relative_to(PACKAGE_DIR.parent).as_posix()
        bad += offenders(source, filename, parameters, others)
    # Not vacuous: the package raises a few hundred messages, and many name one.
    assert n_messages >= 200, n_messages
    assert n_tokens >= 100, n_tokens
    assert not bad, "Messages name things that are not parameters:\n" + "\n".join(
        f"  {where}: {token!r} in {text!r}" for where, token, text in bad
    )


def test_checker_catches_a_planted_bad_message():
    parameters, others = known_names(USER_FACING)
    assert {"inner_lr", "item_features", "items", "n"} <= parameters
    source = """
import warnings

def f(x):
    if x:
        raise ValueError(f"set inner_lr={x} or bogus_lr={x}; see `frobnicate`.")
    msg = f"Name {x!r} in item_cols, or drop it."
    warnings.warn(msg)
    raise TypeError(f"{undefined_name} must be an int; use item_index_.")
"""
    found = offenders(source, "planted.py", parameters, others | {"item_index_"})
    assert [(where, token) for where, token, _ in found] == [
        ("planted.py:6", "bogus_lr"),
        ("planted.py:6", "frobnicate"),
        ("planted.py:8", "item_cols"),
    ]


def test_token_rules():
    assert parameter_tokens("xscale='log' needs sizes; use 'per_tensor'.") == [
        ("xscale", True)
    ]
    assert parameter_tokens("shape (n_users, n_items) of torch.Generator") == []
    assert parameter_tokens("a pair (low_n, high_n) with low_n=1") == []
    assert parameter_tokens("n_query must be >= 1, not n_support.") == [
        ("n_query", True),
        ("n_support", False),
    ]
