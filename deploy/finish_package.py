"""Finish a Lambda zip built by `zappa package`: valid bytecode in, unused translations out.

    python3.12 deploy/finish_package.py build/.partial-wildrydes-dev.zip

1. Bytecode. Zappa leaves __pycache__ out (zappa_settings.json "exclude"), and what it would
   ship is stale anyway: it writes every zip entry with a 1980 timestamp, so the unzipped
   sources never match the mtime a timestamp-based .pyc records, and Python recompiles
   every module on every cold start (in memory: /var/task is read-only). Compiling here,
   from the zip's own sources, with --invalidation-mode unchecked-hash gives .pyc files that
   Python loads without comparing them with their source: right for an artefact nobody
   edits in place. It must run with the runtime's Python minor version (3.12).
2. Translations. Django and its apps ship ~100 languages of .mo catalogs (3 MB zipped).
   Wild Rydes speaks LANGUAGE_CODE (en-us) only, with no LocaleMiddleware, so only the
   English catalogs are kept (Django refuses to start without the default language's).
3. boto3 off the cold path, in the zip's copy of zappa/utilities.py, which imports boto3 and
   botocore at the top for the deploy-time event-source classes only (type hints, `except
   botocore.exceptions.ClientError` in code the function never runs): they become lazy
   modules (importlib.util.LazyLoader), loaded on first use, e.g. when the app first talks
   to SNS or S3. The patch matches the exact lines it replaces and fails the build if an
   upgrade changes them. Patches to Zappa's handler (tarfile), werkzeug (its dev server),
   DRF's compat (django.contrib.postgres, pyyaml) and drf-spectacular (django.test) were
   removed: each saved under 5% of the PostgreSQL cold start (bench/package_patches.py,
   docs/benchmarks.md).
"""

import compileall
import os
import py_compile
import re
import sys
import tempfile
import zipfile
from pathlib import Path

LAMBDA_TASK_ROOT = "/var/task"
EPOCH = (1980, 1, 1, 0, 0, 0)  # what Zappa writes; keeps the zip reproducible
KEPT_LANGUAGES = ("en",)  # and their regional variants (en_GB, ...): settings.LANGUAGE_CODE
LOCALE_FILE = re.compile(r"(^|/)locale/([^/]+)/LC_MESSAGES/")
ZAPPA_UTILITIES = "zappa/utilities.py"
EAGER_BOTO3 = "\nimport boto3\nimport botocore\n"
LAZY_BOTO3 = """
# deploy/finish_package.py: boto3 and botocore on first use, not on every cold start.
def _lazy_module(name):
    if name in sys.modules:
        return sys.modules[name]
    import importlib.util

    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


boto3 = _lazy_module("boto3")
botocore = _lazy_module("botocore")
"""


def lazy_boto3(source: str) -> str:
    """zappa/utilities.py with boto3 and botocore loaded lazily (see 3. above)."""
    if source.count(EAGER_BOTO3) != 1 or source.startswith(("from __future__", '"""')):
        raise SystemExit(
            f"finish_package: {ZAPPA_UTILITIES} no longer imports boto3 as expected; "
            "review the lazy-import patch in deploy/finish_package.py"
        )
    # Annotations such as `session: boto3.Session` must not load boto3 when defined.
    return "from __future__ import annotations\n" + source.replace(EAGER_BOTO3, LAZY_BOTO3)


# Zip entry -> its patch (see 3. above).
PATCHES = {
    # Without it the PostgreSQL cold start costs 17.6% more CPU (566 vs 481 ms, 2026-12-06).
    ZAPPA_UTILITIES: lazy_boto3,
}


def patch_tree(root: Path) -> None:
    """Apply PATCHES to an unzipped package (the bench uses it to measure them)."""
    for name, patch in PATCHES.items():
        path = root / name
        path.write_text(patch(path.read_text()))


def unused_translation(name: str) -> bool:
    match = LOCALE_FILE.search(name)
    return bool(match) and match[2].split("_")[0] not in KEPT_LANGUAGES


def finish(path: Path) -> dict:
    stats = {"pyc_files": 0, "pyc_bytes": 0, "dropped_files": 0, "dropped_bytes": 0, "patched": []}
    rebuilt = path.with_name(path.name + ".finishing")
    with (
        tempfile.TemporaryDirectory(prefix="wildrydes-pyc-") as tmp,
        zipfile.ZipFile(path) as zf,
        zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as out,
    ):
        names = set(zf.namelist())
        zf.extractall(tmp, members=[n for n in names if n.endswith(".py")])
        for info in zf.infolist():
            if unused_translation(info.filename):
                stats["dropped_files"] += 1
                stats["dropped_bytes"] += info.file_size
                continue
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            copy.external_attr = info.external_attr
            data = zf.read(info)
            if info.filename in PATCHES:
                data = PATCHES[info.filename](data.decode()).encode()
                (Path(tmp) / info.filename).write_bytes(data)  # compiled below
                stats["patched"].append(info.filename)
            out.writestr(copy, data)
        # The bytecode goes beside the sources, into the zip, whatever the caller's
        # PYTHONPYCACHEPREFIX says (the package tests give their build one: no .pyc shipped);
        # compileall's workers are new interpreters, which read it from the environment.
        os.environ.pop("PYTHONPYCACHEPREFIX", None)
        sys.pycache_prefix = None
        ok = compileall.compile_dir(
            tmp,
            quiet=1,
            workers=0,
            stripdir=tmp,
            prependdir=LAMBDA_TASK_ROOT,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            print("finish_package: some modules did not compile; they ship as source only")
        missing = set(PATCHES) - set(stats["patched"])
        if missing:
            raise SystemExit(f"finish_package: not in the zip, so not patched: {sorted(missing)}")
        for pyc in sorted(Path(tmp).rglob("__pycache__/*.pyc")):
            name = str(pyc.relative_to(tmp))
            if name in names:
                continue
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = pyc.read_bytes()
            out.writestr(info, data)
            stats["pyc_files"] += 1
            stats["pyc_bytes"] += len(data)
    os.replace(rebuilt, path)
    return stats


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 12):
        print("finish_package: run with Python 3.12, the Lambda runtime's version")
        return 1
    path = Path(argv[0])
    stats = finish(path)
    print(
        f"==> {stats['pyc_files']} unchecked-hash .pyc files added "
        f"({stats['pyc_bytes'] / 2**20:.1f} MiB), {stats['dropped_files']} unused translation "
        f"files dropped ({stats['dropped_bytes'] / 2**20:.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
