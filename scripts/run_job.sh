#!/usr/bin/env bash
# One run of a reproduction grid (scripts/run_grid.py): what run_all does for one (task, model, seed), with the
# settings (OUT, SMOKE, PUSH, HUB_NAMESPACE, PYTHON, LAUNCHER) taken from the environment the grid runner passes.
# Usage: scripts/run_job.sh TASK SCRIPT MODEL SEED ARGS...
set -euo pipefail
source "$(dirname "$0")/lib.sh"
parse_options
run_one "$@"
