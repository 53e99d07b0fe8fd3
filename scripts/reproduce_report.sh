#!/usr/bin/env bash
# The whole reproduction: MSRA NER, Sarcasm and Taipei QA with three model families each, then REPORT.md.
set -euo pipefail
USAGE="Usage: scripts/reproduce_report.sh [--smoke] [--push] [-h]
Runs scripts/reproduce_ner.sh, reproduce_classify.sh and reproduce_qa_label.sh with the same options, then
scripts/build_report.py, which writes \$OUT/REPORT.md and one PNG chart per task. Each task script's -h lists
its own knobs (NER_MODELS, CLASSIFY_MODELS, QA_MODELS, epochs, learning rates)."
source "$(dirname "$0")/lib.sh"
parse_options "$@"
here=$(dirname "$0")
for task in ner classify qa_label; do
  bash "$here/reproduce_$task.sh" "$@"
done
"$PYTHON" "$REPO/scripts/build_report.py" --out "$OUT"
