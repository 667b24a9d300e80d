"""Shared helpers for benchmark scripts: machine description and docs/benchmarks.md.

Each benchmark owns one named section of ``docs/benchmarks.md`` delimited by
``<!-- section:NAME -->`` / ``<!-- /section:NAME -->`` markers and rewrites only that
section, so scripts can run in any order without clobbering each other.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import resource
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every figure on this page is written by a script under `benchmarks/`; the "
    "section heading names the command. Numbers are measured, never edited by "
    "hand.\n"
)


def machine() -> str:
    """One line describing this machine (CPU count, memory, Python, torch)."""
    try:
        import torch

        torch_version = torch.__version__
        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        torch_version, threads = "n/a", 0
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except OSError:  # pragma: no cover
        pass
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPU cores ({cpu}){mem}, Python {platform.python_version()},"
        f" torch {torch_version} ({threads} threads), {platform.system()}"
    )


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, title: str, command: str, body: str) -> Path:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    today = _dt.date.today().isoformat()
    block = (
        f"<!-- section:{name} -->\n## {title}\n\n"
        f"Command: `{command}`  \nDate: {today}  \nMachine: {machine()}\n\n"
        f"{body.rstrip()}\n<!-- /section:{name} -->\n"
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(
        rf"<!-- section:{re.escape(name)} -->.*?<!-- /section:{re.escape(name)} -->\n",
        re.S,
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    DOC.write_text(text)
    return DOC


def markdown_table(rows: list[dict], floatfmt: str = ".4f") -> str:
    """Render a list of dicts (same keys) as a GitHub markdown table."""
    if not rows:
        return "(no rows)\n"
    keys = list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"
