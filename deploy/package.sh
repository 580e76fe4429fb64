#!/usr/bin/env bash
# `make package`: build the Lambda zip for a stage with Zappa, without deploying it.
#
#   deploy/package.sh [STAGE]        (default: dev) -> build/wildrydes-STAGE.zip
#   ZAPPA_SETTINGS_FILE=build/zappa_settings.STAGE.json deploy/package.sh STAGE   (make deploy)
#
# Zappa zips the *active* virtualenv, so it runs from its own one, .venv-lambda, holding only
# requirements/deploy.txt (production dependencies + zappa); the dev tools in .venv never
# get near the package. The virtualenv is rebuilt from scratch only when that lock changes
# (a leftover package from an older lock would otherwise be zipped too).
# zappa_settings.json drops what the running Lambda does not need (Zappa's own CLI
# dependencies, boto3 which Lambda provides, tests, caches); deploy/finish_package.py then
# adds .pyc files compiled from the zip's own sources (unchecked-hash: always valid) and
# drops the translations of languages the site does not speak.
#
# `make deploy STAGE=...` (deploy/stage.py) ships exactly this file with `-z` (without it
# Zappa would build another zip, without bytecode).
#
# The zip ships exactly the hash-checked wheels uv installed here ("use_precompiled_packages":
# false: Zappa would otherwise re-download compiled wheels from PyPI unchecked, and silently
# keep the local ones when that fails). So the build host must match Lambda's python3.12
# x86_64: Linux x86_64 with Python 3.12 (CI, or a python:3.12 container on a Mac); the dev
# virtualenv (.venv) may stay on 3.11.
# uv is the dev virtualenv's (`make package` bootstraps it from requirements/uv.txt), or UV=...
# Needs network to PyPI (or the index in UV_DEFAULT_INDEX) when the lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

STAGE="${1:-dev}"
VENV=.venv-lambda
LOCK=requirements/deploy.txt
STAMP="$VENV/.installed-lock"
UV="${UV:-.venv/bin/uv}"
OUTPUT="build/wildrydes-$STAGE.zip"
PARTIAL="build/.partial-wildrydes-$STAGE.zip"

if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then
  echo "package.sh: build on Linux x86_64 (Lambda's platform), e.g. in a python:3.12 container:" >&2
  echo "  docker run --rm -v \"\$PWD\":/src -w /src python:3.12 make package" >&2
  exit 1
fi

find_python() {
  local candidate
  # pyenv's shims answer only for the selected versions: its builds are looked at directly.
  for candidate in "${PYTHON:-}" python3.12 python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "package.sh: Python 3.12 is needed (the Lambda runtime is python3.12); set PYTHON=..." >&2
  return 1
}

# One build at a time per checkout (`make test` may build while you `make package`).
mkdir -p build
exec 9>build/.package.lock
command -v flock >/dev/null && flock 9

python="$(find_python)"
wanted="$("$python" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$LOCK")"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  echo "==> $VENV: installing $LOCK"
  if [ ! -x "$UV" ]; then
    echo "package.sh: no uv at $UV: run \`make package\` (it bootstraps .venv/bin/uv) or set UV=..." >&2
    exit 1
  fi
  rm -rf "$VENV"
  "$python" -m venv --without-pip "$VENV"  # the lock pins pip (Zappa needs it)
  # Compiled wheels only up to Amazon Linux 2023's glibc 2.34 (the python3.12 runtime), not
  # the build host's newer glibc (what pip's _manylinux.py hook did; the same files installed).
  # No bytecode: Zappa leaves it out of the zip (finish_package.py compiles the zip's own
  # sources), and zappa itself ran only ~1 s CPU faster with it, what compiling it costs.
  "$UV" pip sync --python "$VENV/bin/python" --python-platform x86_64-manylinux_2_34 \
    --require-hashes --quiet "$LOCK"
  echo "$wanted" >"$STAMP"
else
  echo "==> $VENV: up to date with $LOCK"
fi

# Zappa packages the virtualenv named by VIRTUAL_ENV (what `activate` would set).
export VIRTUAL_ENV="$PWD/$VENV"
export PATH="$VIRTUAL_ENV/bin:$PATH"
unset PYTHONHOME

# Zappa copies the project and the virtualenv (thousands of small files) to a temporary
# folder before zipping it: on a RAM disk that takes seconds instead of a minute.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi

# The stage's Zappa settings: rendered by deploy/stage.py from zappa_settings.json's "base",
# the account and the stack's outputs (`make deploy` passes them); without them, rendered
# offline from the names alone (the package tests' stand-in account, no AWS call).
SETTINGS="${ZAPPA_SETTINGS_FILE:-}"
if [ -z "$SETTINGS" ]; then
  SETTINGS="build/zappa_settings.$STAGE.offline.json"
  "$python" deploy/stage.py settings "$STAGE" --offline >"$SETTINGS"
fi

# Nothing to do when the zip was built from these same inputs, by content (the lock, these
# settings, the project's files, package.sh and finish_package.py among them): the rule is
# deploy/stage.py's package_is_fresh (the package tests use it too).
stage_py() {
  "$python" -c 'import sys; sys.path[:0] = ["deploy"]; import stage
from pathlib import Path
sys.exit(getattr(stage, sys.argv[1])(*map(Path, sys.argv[2:])) is False)' "$@"
}
if [ -z "${PACKAGE_REBUILD:-}" ] && stage_py package_is_fresh "$OUTPUT" "$SETTINGS"; then
  echo "==> $OUTPUT: up to date (built from these same sources and settings); PACKAGE_REBUILD=1 forces"
  exit 0
fi

echo "==> zappa package $STAGE ($SETTINGS)"
stage_py forget_package_inputs "$OUTPUT"
rm -f "$PARTIAL"
zappa package "$STAGE" -s "$SETTINGS" -o "$PARTIAL" --disable_progress
# Bytecode Python can use on Lambda (halves the cold start), minus unused translations.
"$VENV/bin/python" deploy/finish_package.py "$PARTIAL"
mv -f "$PARTIAL" "$OUTPUT"  # readers never see a half-written zip
stage_py record_package_inputs "$OUTPUT" "$SETTINGS"

"$VENV/bin/python" - "$OUTPUT" <<'PY'
import os
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as zf:
    entries = zf.infolist()
print(
    f"==> {sys.argv[1]}: {os.path.getsize(sys.argv[1]) / 2**20:.1f} MiB zipped, "
    f"{sum(e.file_size for e in entries) / 2**20:.1f} MiB unzipped, {len(entries)} files"
)
PY
