#!/usr/bin/env bash
# Taipei QA (question -> responsible department, 149 answers) with BERT and the "tiny" ALBERT/RoBERTa of the
# original report, 30 epochs as it trained, a prompt template, and the report's three questions answered by every model.
set -euo pipefail
USAGE="Usage: scripts/reproduce_qa_label.sh [--smoke] [--push] [-h]
Fine-tunes each model of QA_MODELS on \$DATA_DIR/taipei_qa/Taipei_QA_new.txt and answers the three questions of
the original report. Knobs (environment):
  QA_MODELS [google-bert/bert-base-chinese voidful/albert_chinese_tiny hfl/rbt3]
  QA_EPOCHS [30]  QA_LR [1e-4]  QA_BATCH [32]  QA_TEMPLATE [department]  QA_EXTRA_ARGS []"
source "$(dirname "$0")/lib.sh"

QA_MODELS=${QA_MODELS:-"google-bert/bert-base-chinese voidful/albert_chinese_tiny hfl/rbt3"}
QA_EPOCHS=${QA_EPOCHS:-30}              # the original report's 30 epochs
QA_LR=${QA_LR:-1e-4}                    # results/taipei_qa.md recipe
QA_BATCH=${QA_BATCH:-32}
QA_TEMPLATE=${QA_TEMPLATE:-department}  # 問題：{question} 請問負責的單位是？
QA_EXTRA_ARGS=${QA_EXTRA_ARGS:-}
QA_SPLIT_FILE=${QA_SPLIT_FILE:-$REPO/results/taipei_qa_split_ids.json}
QUESTIONS=("為何路邊停車格有編號的要收費，無編號的不用收費"
           "債權人可否向稅捐稽徵處申請查調債務人之財產、所得資料，應去往何處"
           "想做大腸癌篩檢，不知如何辦理")

parse_options "$@"
DATA="$DATA_DIR/taipei_qa/Taipei_QA_new.txt"
require_file "$DATA"
args=(--train_file "$DATA" --prompt_template "$QA_TEMPLATE" --do_train --do_eval --do_predict
      --learning_rate "$QA_LR" --per_device_train_batch_size "$QA_BATCH" --max_seq_length 128
      --logging_steps 50 $(shared_recipe accuracy)
      --questions "${QUESTIONS[@]}" --top_k 3)
if [ "$SMOKE" = 1 ]; then
  args+=(--num_train_epochs 1 --max_train_samples 600 --max_eval_samples 150 --max_predict_samples 150
         --logging_steps 5)
else
  mkdir -p "$OUT/qa_label"
  [ -f "$OUT/qa_label/split_ids.json" ] || cp "$QA_SPLIT_FILE" "$OUT/qa_label/split_ids.json"
  args+=(--num_train_epochs "$QA_EPOCHS")
fi
# shellcheck disable=SC2206
args+=($QA_EXTRA_ARGS)

run_all qa_label run_qa_label.py "$QA_MODELS" "${args[@]}"
