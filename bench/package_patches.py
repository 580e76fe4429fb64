"""What each of deploy/finish_package.py's patches to third-party source saves on the
PostgreSQL cold start (issue 19: a patch stays only where the cold start loses more than 5%
without it).

    .venv/bin/python bench/package_patches.py [--cold-runs 9]

The package (build/wildrydes-dev.zip) is unpacked once, then copied once per patch with that
file put back as the dependency ships it (from .venv-lambda, compiled as the package's
bytecode is). Every copy, and the package as built, is started as Lambda starts a function
(bench/lambda_bench.py run_runtime: awslambdaric, spawn to the first answer of
POST /api/unicorn-applications/ on a throwaway PostgreSQL), interleaved; medians of the
process's CPU time and of the wall time.
"""

import argparse
import contextlib
import importlib.util
import py_compile
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy"))

import finish_package  # noqa: E402

from bench import lambda_bench as bench  # noqa: E402

SITE = next((ROOT / ".venv-lambda" / "lib").glob("python3.*/site-packages"))  # the package's
# Zip entry -> where the unpatched file comes from (Zappa copies its handler to the root).
ORIGINALS = {name: SITE / name for name in finish_package.PATCHES}
# The patches still applied. Measured with this script at ea046c1 and removed (each under 5%):
# Zappa's handler.py (tarfile), werkzeug/__init__.py, rest_framework/compat.py and
# drf_spectacular/plumbing.py (figures in docs/benchmarks.md).
GROUPS = {
    "zappa: lazy boto3 (zappa/utilities.py)": ["zappa/utilities.py"],
}


def unpatched_copy(task: Path, into: Path, names: list[str]) -> Path:
    shutil.copytree(task, into, symlinks=True)
    for name in names:
        target = into / name
        target.write_text(ORIGINALS[name].read_text())
        py_compile.compile(
            str(target),
            cfile=importlib.util.cache_from_source(str(target)),
            dfile=f"/var/task/{name}",
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    return into


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-runs", type=int, default=9)
    args = parser.parse_args(argv)
    root = bench.scratch()
    try:
        task, runtime = bench.unpack(bench.package(False), root)
        variants = {"as built (all patches)": task}
        for i, (label, names) in enumerate(GROUPS.items()):
            variants[f"without {label}"] = unpatched_copy(task, root / f"task-{i}", names)
        base = bench.child_env()
        results = {label: [] for label in variants}
        with contextlib.ExitStack() as stack:
            env = {**base, **stack.enter_context(bench.database_env("postgres", root))}
            bench.run_child("django", task, runtime, {**env, "BENCH_SETUP": "1"}, 0)
            for folder in variants.values():  # warm the page cache once
                bench.run_runtime("django", folder, runtime, env, 0)
            for _ in range(args.cold_runs):
                for label, folder in variants.items():
                    results[label].append(bench.run_runtime("django", folder, runtime, env, 0))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures = {
        label: {
            "cpu_ms": statistics.median(r["cold_cpu"] for r in runs) * 1000,
            "wall_ms": statistics.median(r["cold"] for r in runs) * 1000,
        }
        for label, runs in results.items()
    }
    built = figures["as built (all patches)"]
    for label, f in figures.items():
        f["cpu_loss_pct"] = (f["cpu_ms"] / built["cpu_ms"] - 1) * 100
        f["wall_loss_pct"] = (f["wall_ms"] / built["wall_ms"] - 1) * 100
        print(
            f"{label:60} CPU {f['cpu_ms']:6.0f} ms ({f['cpu_loss_pct']:+5.1f}%)  "
            f"wall {f['wall_ms']:6.0f} ms ({f['wall_loss_pct']:+5.1f}%)"
        )
    return figures


if __name__ == "__main__":
    main()
