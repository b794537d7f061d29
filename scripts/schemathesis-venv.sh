#!/usr/bin/env bash
# Schemathesis (the OpenAPI fuzzer the API's conformance test runs), in .venv-schemathesis (or
# SLUICE_SCHEMATHESIS_VENV), from test/api-fuzz/requirements.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/python-venv.sh" "${SLUICE_SCHEMATHESIS_VENV:-$root/.venv-schemathesis}" "$root/test/api-fuzz/requirements.txt"
