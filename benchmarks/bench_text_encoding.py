"""Encoding speed, memory and cache effect of the text encoders on the ML-1M catalogue.

The 3,883 MovieLens-1M movies are encoded as two catalogues of texts, built with
``join_text_columns``:

- ``title + genres``: "Toy Story (1995). Genres: Animation, Children's, Comedy";
- ``full text``: title, genres, director, actors and plot (MeLU extra information),
  about 150 tokens on average, truncated at ``max_length=256``.

Each ``TransformerTextEncoder`` case runs in a fresh Python subprocess, so that its
peak RSS is its own: load the model, encode the catalogue (timed; the best of three
runs when no disk cache is involved), then encode it again with a fresh ``clone``
of the encoder, which must hit the shared in-memory cache (target: under 5% of the
first encode). A last case starts another process
on the disk cache (``cache_dir``) written by the previous one. ``TfidfSVDEncoder``
(fit + transform) is timed for reference. The process only uses what torch gives it
(no thread count is set).

Usage::

    python benchmarks/bench_text_encoding.py [--data-home PATH]

``--data-home`` defaults to ``$SKLEARN_METAREC_SHARED_DATA`` or ``shared/data`` beside
the repository. The table is printed and written to the ``text_encoding`` section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[4])
from sklearn.base import clone
from bench_text_encoding import load_catalogue
from sklearn_metarec.text import TransformerTextEncoder, TfidfSVDEncoder

case, data_home, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3] or None
repeats = int(sys.argv[5])
texts = load_catalogue(data_home)[case.split(":")[0]]
result = {"n_texts": len(texts), "load_avg": os.getloadavg()[0]}

def best_of(encode):
    # Fastest of `repeats` runs (wall clock), with the CPU seconds of that run.
    runs = []
    for _ in range(repeats):
        TransformerTextEncoder.clear_cache()
        wall, cpu = time.perf_counter(), time.process_time()
        out = encode()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    result["encode_s"], result["encode_cpu_s"] = min(runs)
    return out

if case.endswith(":tfidf"):
    best_of(lambda: TfidfSVDEncoder(64, random_state=0).fit_transform(texts))
else:
    encoder = TransformerTextEncoder(cache_dir=cache_dir)
    start = time.perf_counter()
    loaded = encoder._loaded_model()
    result["load_s"] = time.perf_counter() - start
    lengths = [len(ids) for ids in loaded.tokenizer(
        list(texts), truncation=True, max_length=encoder.max_length)["input_ids"]]
    result["mean_tokens"] = sum(lengths) / len(lengths)
    first = best_of(lambda: encoder.fit_transform(texts))
    start = time.perf_counter()
    second = clone(encoder).fit_transform(texts)
    result["cached_s"] = time.perf_counter() - start
    assert (first == second).all()
result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def load_catalogue(data_home) -> dict:
    """Texts of the 3,883 ML-1M movies: ``{"titles": Series, "full": Series}``."""
    import pandas as pd

    from sklearn_metarec.text import join_text_columns

    data_home = Path(data_home)
    movies = []
    with open(data_home / "ml-1m" / "movies.dat", encoding="latin-1") as f:
        for line in f:
            item_id, title, genres = line.rstrip("\r\n").split("::")
            movies.append((int(item_id), title, genres))
    frame = pd.DataFrame(movies, columns=["item_id", "title", "genres"])
    extra = {}
    path = data_home / "ml-1m-melu-extrainfo" / "movies_extrainfos.dat"
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\r\n").split("::")
            extra[int(fields[0])] = [
                None if v in ("", "N/A") else v
                for v in (fields[6], fields[8], fields[9])
            ]
    columns = ["director", "actors", "plot"]
    rows = [extra.get(i, [None, None, None]) for i in frame["item_id"]]
    frame = frame.join(pd.DataFrame(rows, columns=columns, index=frame.index))
    frame = frame.set_index("item_id")
    return {
        "titles": join_text_columns(frame, ["title", "genres"]),
        "full": join_text_columns(frame, ["title", "genres", *columns]),
    }


def run_child(case: str, data_home: str, cache_dir: str = "", repeats: int = 1) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            case,
            data_home,
            cache_dir,
            str(REPO / "benchmarks"),
            str(repeats),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    default_home = os.environ.get(
        "SKLEARN_METAREC_SHARED_DATA", str(REPO.parent / "shared" / "data")
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", default=default_home)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import markdown_table, write_section

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache_dir:
        # (texts, encoder, case, cache_dir, repeats): runs that write or read the
        # disk cache cannot be repeated (a repeat would read the disk cache).
        cases = [
            ("title + genres", "TransformerTextEncoder", "titles", "", 3),
            ("full text", "TransformerTextEncoder", "full", cache_dir, 1),
            ("full text", "same, new process, disk cache", "full", cache_dir, 1),
            ("title + genres", "TfidfSVDEncoder", "titles:tfidf", "", 3),
            ("full text", "TfidfSVDEncoder", "full:tfidf", "", 3),
        ]
        neural_s = {}
        for texts, encoder, case, cache, repeats in cases:
            r = run_child(case, args.data_home, cache, repeats)
            row = {
                "texts": texts,
                "encoder": encoder,
                "n": str(r["n_texts"]),
                "mean tokens": f"{r['mean_tokens']:.0f}" if "mean_tokens" in r else "",
                "load s": f"{r['load_s']:.2f}" if "load_s" in r else "",
                "encode s": f"{r['encode_s']:.2f}",
                "encode CPU s": f"{r['encode_cpu_s']:.2f}",
                "items/s": f"{r['n_texts'] / r['encode_s']:.0f}",
                "clone re-encode s": f"{r['cached_s']:.3f}" if "cached_s" in r else "",
                "cached / neural encode": "",
                "peak RSS MiB": f"{r['peak_rss_mib']:.0f}",
                "load avg": f"{r['load_avg']:.1f}",
            }
            if "cached_s" in r:
                if "disk" in encoder:  # the first encode here was a disk read
                    row["cached / neural encode"] = (
                        f"{100 * r['encode_s'] / neural_s[texts]:.2f}% (disk), "
                        f"{100 * r['cached_s'] / neural_s[texts]:.2f}% (memory)"
                    )
                else:
                    neural_s[texts] = r["encode_s"]
                    row["cached / neural encode"] = (
                        f"{100 * r['cached_s'] / r['encode_s']:.2f}%"
                    )
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = markdown_table(rows)
    load_after = os.getloadavg()[0]
    body = (
        "`TransformerTextEncoder()` (all-MiniLM-L6-v2 from the offline package, "
        "mean pooling, max_length 256, batches of 64 texts and at most 2,048 "
        "padded tokens, CPU) on the 3,883 MovieLens-1M "
        "movies; each row is a fresh process. *encode s* (wall clock; the best of "
        "3 runs where the row can be repeated, with the CPU seconds of that run) "
        "excludes the model load (*load s*). *clone re-encode* encodes the same "
        "catalogue again with "
        "`sklearn.base.clone(encoder)`: every vector comes from the in-memory "
        "cache shared across instances (target < 5% of the first encode). The "
        "disk-cache row starts a new process whose memory cache is empty: its "
        "*encode s* reads the SQLite cache written by the row above (the model is "
        "loaded only to count tokens, outside the timing). `TfidfSVDEncoder` "
        "(64 components) is fit and applied for reference. Other processes share "
        "this machine's cores: *load avg* is the 1-minute load average when the "
        f"row started ({load_before:.1f} before the first, {load_after:.1f} after "
        "the last); with a load above the core count, wall times are inflated.\n\n"
        + table
    )
    print()
    print(table)
    write_section(
        "text_encoding",
        "Text encoding (ML-1M catalogue)",
        "python benchmarks/bench_text_encoding.py",
        body,
    )


if __name__ == "__main__":
    main()
