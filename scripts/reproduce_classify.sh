#!/usr/bin/env bash
# News Headlines Sarcasm (v1) with BERT, ALBERT and RoBERTa: one fine-tuning per model and seed on a seeded
# stratified 80/10/10 split that every model shares.
set -euo pipefail
USAGE="Usage: scripts/reproduce_classify.sh [--smoke] [--push] [-h]
Fine-tunes each model of CLASSIFY_MODELS on \$DATA_DIR/sarcasm/Sarcasm_Headlines_Dataset.json (is_sarcastic,
headline). Knobs (environment):
  CLASSIFY_MODELS [google-bert/bert-base-uncased albert/albert-base-v2 FacebookAI/roberta-base]
  CLASSIFY_EPOCHS [4]  CLASSIFY_LR [5e-5]  CLASSIFY_BATCH [32]  CLASSIFY_EXTRA_ARGS []"
source "$(dirname "$0")/lib.sh"

CLASSIFY_MODELS=${CLASSIFY_MODELS:-"google-bert/bert-base-uncased albert/albert-base-v2 FacebookAI/roberta-base"}
CLASSIFY_EPOCHS=${CLASSIFY_EPOCHS:-4}     # results/sarcasm.md recipe
CLASSIFY_LR=${CLASSIFY_LR:-5e-5}
CLASSIFY_BATCH=${CLASSIFY_BATCH:-32}
CLASSIFY_EXTRA_ARGS=${CLASSIFY_EXTRA_ARGS:-}

parse_options "$@"
DATA="$DATA_DIR/sarcasm/Sarcasm_Headlines_Dataset.json"
require_file "$DATA"
args=(--train_file "$DATA" --text_column_name headline --label_column_name is_sarcastic
      --rename_labels 0=serious,1=sarcastic --do_train --do_eval --do_predict
      --learning_rate "$CLASSIFY_LR" --per_device_train_batch_size "$CLASSIFY_BATCH" --max_seq_length 128
      --logging_steps 50 $(shared_recipe accuracy))
if [ "$SMOKE" = 1 ]; then
  args+=(--num_train_epochs 1 --max_train_samples 400 --max_eval_samples 100 --max_predict_samples 100
         --logging_steps 5)
else
  args+=(--num_train_epochs "$CLASSIFY_EPOCHS")
fi
# shellcheck disable=SC2206
args+=($CLASSIFY_EXTRA_ARGS)

run_all classify run_classify.py "$CLASSIFY_MODELS" "${args[@]}"
