#!/usr/bin/env bash
# The whole reproduction: MSRA NER, Sarcasm and Taipei QA with three model families each, then REPORT.md.
set -euo pipefail
USAGE="Usage: scripts/reproduce_report.sh [--smoke] [--push] [--parallel N] [--ray] [-h]
Runs scripts/reproduce_ner.sh, reproduce_classify.sh and reproduce_qa_label.sh with the same options, then
scripts/build_report.py, which writes \$OUT/REPORT.md and one PNG chart per task. With --parallel or --ray the
runs of all three tasks form one grid, run as the options below say. Each task script's -h lists
its own knobs (NER_MODELS, CLASSIFY_MODELS, QA_MODELS, epochs, learning rates)."
source "$(dirname "$0")/lib.sh"
parse_options "$@"
here=$(dirname "$0")
if [ -n "$PARALLEL" ]; then
  GRID_FILE=$(mktemp "${TMPDIR:-/tmp}/bertft-grid.XXXXXX")
  export GRID_FILE  # the task scripts add their runs to it; they are run below, all together
fi
for task in ner classify qa_label; do
  OUT="$OUT" bash "$here/reproduce_$task.sh" "$@"
done
if [ -n "$PARALLEL" ]; then
  run_grid "$GRID_FILE"
  rm -f "$GRID_FILE"
fi
"$PYTHON" "$REPO/scripts/build_report.py" --out "$OUT"
