#!/usr/bin/env bash
# Creates (or refreshes) a Python virtual environment from a pinned requirements file:
#   scripts/python-venv.sh VENV_DIR REQUIREMENTS_FILE
# It is rebuilt only when that file changes (a hash is kept in the venv); pip keeps its downloads in
# ~/.cache/pip, so a rebuild on the same machine is offline-fast.
set -euo pipefail
venv="$1"
requirements="$2"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "creating $venv from $requirements" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r "$requirements"
echo "$want" >"$venv/.requirements-sha256"
