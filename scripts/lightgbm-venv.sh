#!/usr/bin/env bash
# The LightGBM trainer's virtual environment, .venv-lightgbm (or SLUICE_LIGHTGBM_VENV), from
# trainers/lightgbm/requirements.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/python-venv.sh" "${SLUICE_LIGHTGBM_VENV:-$root/.venv-lightgbm}" "$root/trainers/lightgbm/requirements.txt"
