#!/usr/bin/env bash
# MSRA NER with BERT, ALBERT and RoBERTa (the original report's NER table): one fine-tuning per model and seed,
# scored on the full-length MSRA test file (nothing truncated).
set -euo pipefail
USAGE="Usage: scripts/reproduce_ner.sh [--smoke] [--push] [-h]
Fine-tunes each model of NER_MODELS on MSRA (\$DATA_DIR/msra_ner/train.txt minus lemonhu's 3,000 validation
sentences; test.txt scored in full). Knobs (environment):
  NER_MODELS  [google-bert/bert-base-chinese voidful/albert_chinese_base hfl/chinese-roberta-wwm-ext]
  NER_EPOCHS [3]  NER_LR [1e-4]  NER_BATCH [32]  NER_MAX_SEQ_LENGTH [128]  NER_EXTRA_ARGS []"
source "$(dirname "$0")/lib.sh"

NER_MODELS=${NER_MODELS:-"google-bert/bert-base-chinese voidful/albert_chinese_base hfl/chinese-roberta-wwm-ext"}
NER_EPOCHS=${NER_EPOCHS:-3}          # results/msra.md recipe
NER_LR=${NER_LR:-1e-4}
NER_BATCH=${NER_BATCH:-32}
NER_MAX_SEQ_LENGTH=${NER_MAX_SEQ_LENGTH:-128}
NER_EXTRA_ARGS=${NER_EXTRA_ARGS:-}
NER_SPLIT_FILE=${NER_SPLIT_FILE:-$REPO/results/msra_split_ids.json}  # lemonhu/NER-BERT-pytorch validation split

parse_options "$@"
require_file "$DATA_DIR/msra_ner/train.txt"
require_file "$DATA_DIR/msra_ner/test.txt"
args=(--train_file "$DATA_DIR/msra_ner/train.txt" --test_file "$DATA_DIR/msra_ner/test.txt"
      --do_train --do_eval --do_predict --learning_rate "$NER_LR" --per_device_train_batch_size "$NER_BATCH"
      --max_seq_length "$NER_MAX_SEQ_LENGTH" --logging_steps 100 $(shared_recipe f1))
if [ "$SMOKE" = 1 ]; then
  args+=(--num_train_epochs 1 --max_train_samples 300 --max_eval_samples 80 --max_predict_samples 80
         --max_seq_length 64 --logging_steps 5)
else
  mkdir -p "$OUT/ner"
  [ -f "$OUT/ner/split_ids.json" ] || cp "$NER_SPLIT_FILE" "$OUT/ner/split_ids.json"
  args+=(--num_train_epochs "$NER_EPOCHS")
fi
# shellcheck disable=SC2206  # extra arguments are split on spaces on purpose
args+=($NER_EXTRA_ARGS)

run_all ner run_ner.py "$NER_MODELS" "${args[@]}"
