"""Finish a Lambda zip built by `zappa package`: valid bytecode in, unused translations out.

    python3.11 deploy/finish_package.py build/.partial-wildrydes-dev.zip

1. Bytecode. Zappa leaves __pycache__ out (zappa_settings.json "exclude"), and what it would
   ship is stale anyway: it writes every zip entry with a 1980 timestamp, so the unzipped
   sources never match the mtime a timestamp-based .pyc records, and Python recompiles
   every module on every cold start (in memory: /var/task is read-only). Compiling here,
   from the zip's own sources, with --invalidation-mode unchecked-hash gives .pyc files that
   Python loads without comparing them with their source: right for an artefact nobody
   edits in place. It must run with the runtime's Python minor version (3.11).
2. Translations. Django and its apps ship ~100 languages of .mo catalogs (3 MB zipped).
   Wild Rydes speaks LANGUAGE_CODE (en-us) only, with no LocaleMiddleware, so only the
   English catalogs are kept (Django refuses to start without the default language's).
3. Heavy imports off the cold path, in the zip's copies of four dependencies. Each patch
   matches the exact lines it replaces and fails the build if an upgrade changes them;
   behaviour is unchanged, only when a module loads moves (bench/lambda_bench.py measures
   each: docs/benchmarks.md).
   - zappa/utilities.py imports boto3 and botocore at the top for the deploy-time
     event-source classes only (type hints, `except botocore.exceptions.ClientError` in
     code the function never runs): they become lazy modules (importlib.util.LazyLoader),
     loaded on first use, e.g. when the app first talks to SNS or S3.
   - Zappa's handler.py (and zappa/handler.py) imports tarfile for slim_handler only (off
     here): imported where it is used.
   - werkzeug/__init__.py imports its development server (http.server, email, ...) and
     test client for the `werkzeug.run_simple` and `werkzeug.Client` shortcuts; Zappa's
     handler needs werkzeug.wrappers (and werkzeug.test's run_wsgi_app, which
     Response.from_app imports on the first request). The shortcuts stay, loaded on first
     access (PEP 562).
   - rest_framework/compat.py imports django.contrib.postgres (so psycopg, ~0.1 s) to map
     PostgreSQL-only model fields in ModelSerializer, and pyyaml for the OpenAPI YAML
     renderer. django.contrib.postgres is imported as before when the project uses it (in
     INSTALLED_APPS, or a PostgreSQL database: psycopg is loaded by then anyway), not on a
     SQLite database, where no model can have such a field (tests/deploy checks none does);
     pyyaml becomes a lazy module.
   - drf_spectacular/plumbing.py imports rest_framework.test (so django.test and unittest)
     for the mock request it builds while generating the schema: imported there.
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


def replace_once(name: str, source: str, old: str, new: str) -> str:
    if source.count(old) != 1:
        raise SystemExit(
            f"finish_package: {name} no longer reads as expected ({old.strip()[:60]!r}); "
            "review its lazy-import patch in deploy/finish_package.py"
        )
    return source.replace(old, new)


def zappa_handler(source: str, name: str = "handler.py") -> str:
    source = replace_once(name, source, "\nimport tarfile\n", "\n")
    old = '            with tarfile.open(fileobj=archive_on_s3["Body"], mode="r|gz") as t:\n'
    return replace_once(name, source, old, "            import tarfile\n\n" + old)


def werkzeug_init(source: str) -> str:
    old = (
        "from .serving import run_simple as run_simple\n"
        "from .test import Client as Client\n"
        "from .wrappers import Request as Request\n"
        "from .wrappers import Response as Response\n"
    )
    if source != old:
        raise SystemExit(
            "finish_package: werkzeug/__init__.py no longer reads as expected; "
            "review its lazy-import patch in deploy/finish_package.py"
        )
    return """from .wrappers import Request as Request
from .wrappers import Response as Response


# deploy/finish_package.py: the development server and the test client on first use.
def __getattr__(name):
    if name == "run_simple":
        from .serving import run_simple

        return run_simple
    if name == "Client":
        from .test import Client

        return Client
    raise AttributeError(f"module 'werkzeug' has no attribute {name!r}")
"""


def drf_compat(source: str) -> str:
    name = "rest_framework/compat.py"
    source = replace_once(
        name,
        source,
        """try:
    from django.contrib.postgres import fields as postgres_fields
except ImportError:
    postgres_fields = None
""",
        """# deploy/finish_package.py: only where the project uses PostgreSQL (psycopg is loaded
# then anyway); on SQLite no model can have these fields.
def _uses_postgres():
    from django.conf import settings

    try:
        return "django.contrib.postgres" in settings.INSTALLED_APPS or any(
            "postgres" in database.get("ENGINE", "") for database in settings.DATABASES.values()
        )
    except Exception:  # settings not configured: do as DRF does
        return True


postgres_fields = None
if _uses_postgres():
    try:
        from django.contrib.postgres import fields as postgres_fields
    except ImportError:
        postgres_fields = None
""",
    )
    return replace_once(
        name,
        source,
        """try:
    import yaml
except ImportError:
    yaml = None
""",
        """# deploy/finish_package.py: loaded on first use (the OpenAPI YAML renderer).
def _lazy_yaml():
    import importlib.util
    import sys

    if "yaml" in sys.modules:
        return sys.modules["yaml"]
    spec = importlib.util.find_spec("yaml")
    if spec is None:
        return None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["yaml"] = module
    spec.loader.exec_module(module)
    return module


yaml = _lazy_yaml()
""",
    )


def spectacular_plumbing(source: str) -> str:
    name = "drf_spectacular/plumbing.py"
    source = replace_once(name, source, "from rest_framework.test import APIRequestFactory\n", "")
    old = "    request = getattr(APIRequestFactory(), method.lower())(path=path)\n"
    new = "    from rest_framework.test import APIRequestFactory\n\n" + old
    return replace_once(name, source, old, new)


# Zip entry -> its patch (see 3. above).
PATCHES = {
    ZAPPA_UTILITIES: lazy_boto3,
    "handler.py": zappa_handler,
    "zappa/handler.py": lambda source: zappa_handler(source, "zappa/handler.py"),
    "werkzeug/__init__.py": werkzeug_init,
    "rest_framework/compat.py": drf_compat,
    "drf_spectacular/plumbing.py": spectacular_plumbing,
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
    if sys.version_info[:2] != (3, 11):
        print("finish_package: run with Python 3.11, the Lambda runtime's version")
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
