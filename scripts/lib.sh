# Shared by scripts/reproduce_*.sh (sourced, not run): the knobs every task has, and one function per run.
# Every knob is an environment variable with a default; `-h` on any script prints them.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
DATA_DIR=${DATA_DIR:-$REPO/../shared/data}   # holds msra_ner/, sarcasm/, taipei_qa/ (see README)
OUT_GIVEN=${OUT:+1}
OUT=${OUT:-$REPO/outputs/reproduce}          # one folder per run: $OUT/<task>/<model-slug>/seed<k>/ (--smoke: reproduce_smoke)
SEEDS=${SEEDS:-"13 42 87"}                   # three seeds: mean ± std, and verdicts about the models (one seed: about the runs)
HUB_NAMESPACE=${HUB_NAMESPACE:-}             # --push: models go to $HUB_NAMESPACE/bertft-<task>-<model-slug>
HP_TRIALS=${HP_TRIALS:-0}                    # N > 0: every model (and seed) gets the same N-trial search first
HP_SPACE=${HP_SPACE:-}                       # the search space (JSON file or text); default: the script's own
SMOKE=${SMOKE:-0}
PUSH=${PUSH:-0}
PARALLEL=${PARALLEL:-}                       # --parallel N: up to N runs at once (scripts/run_grid.py)
RAY=${RAY:-}                                 # --ray: each run a Ray task on the cluster RAY_ADDRESS names
export TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false}

common_usage() {
  cat <<USAGE
Options:
  --smoke   tiny subsets and 1 epoch: checks the whole path in minutes (use tiny models, e.g. look-alikes);
            writes to outputs/reproduce_smoke unless OUT is set
  --push    push every fine-tuned model to the Hub as \$HUB_NAMESPACE/bertft-<task>-<model-slug>
  --parallel N
            up to N runs at once, each pinned to its own GPU (CUDA_VISIBLE_DEVICES); without a GPU one at a time.
            The first failed run stops the others and names its log; run the command again to resume
  --ray     each run one Ray task with one GPU, on the cluster RAY_ADDRESS names (unset: a local Ray instance);
            the nodes need this repository, its environment and DATA_DIR at the same paths
  -h        this help
Environment (defaults in brackets):
  DATA_DIR  [$DATA_DIR]
  OUT       [$OUT]
  SEEDS     [$SEEDS]
  LAUNCHER  [accelerate launch when a GPU is visible, else python]: e.g. "accelerate launch --multi_gpu"
  PYTHON    [$PYTHON]
  HUB_NAMESPACE [${HUB_NAMESPACE:-unset}]
  HP_TRIALS [$HP_TRIALS]: N > 0 gives every model (and seed) the same N-trial hyperparameter search on the
            validation split (--hp_search_trials) before its final training; REPORT.md records the budget, the
            space and each model's chosen values. 0: every model trains with the task's one recipe.
  HP_SPACE  [${HP_SPACE:-the default of each script}]: the search space, as --hp_search_space (JSON file or text)
A finished run (run_done.json in its folder) is skipped only when it was made with the same settings (arguments,
model, data content, smoke or not); one made otherwise is refused. An unfinished run resumes from its last checkpoint.
USAGE
}

parse_options() {  # sets SMOKE/PUSH; prints the help (with the script's own text in $USAGE) on -h
  while [ $# -gt 0 ]; do
    case "$1" in
      --smoke) SMOKE=1 ;;
      --push) PUSH=1 ;;
      --ray) RAY=1; PARALLEL=${PARALLEL:-1} ;;
      --parallel=*) PARALLEL=${1#--parallel=} ;;
      --parallel)
        if [ $# -lt 2 ]; then echo "--parallel needs a number of runs at once, e.g. --parallel 4" >&2; exit 2; fi
        PARALLEL=$2; shift ;;
      -h|--help) printf '%s\n\n' "${USAGE:-}"; common_usage; exit 0 ;;
      *) echo "unknown option: $1 (see -h)" >&2; exit 2 ;;
    esac
    shift
  done
  if [ -n "$PARALLEL" ] && ! [[ "$PARALLEL" =~ ^[1-9][0-9]*$ ]]; then
    echo "--parallel must be a number of runs at once (1 or more), got '$PARALLEL'" >&2
    exit 2
  fi
  if [ "$SMOKE" = 1 ] && [ -z "$OUT_GIVEN" ]; then
    OUT=$REPO/outputs/reproduce_smoke  # never mixed with (or taken for) a full run's numbers
  fi
  if ! [[ "$HP_TRIALS" =~ ^[0-9]+$ ]]; then
    echo "HP_TRIALS must be a number of trials (0: no search), got '$HP_TRIALS'" >&2
    exit 2
  fi
  SEARCH_ARGS=()  # the same search for every run of every task
  if [ "$HP_TRIALS" -gt 0 ]; then
    SEARCH_ARGS=(--hp_search_trials "$HP_TRIALS")
    if [ -n "$HP_SPACE" ]; then SEARCH_ARGS+=(--hp_search_space "$HP_SPACE"); fi
  fi
  if [ "$PUSH" = 1 ] && [ -z "$HUB_NAMESPACE" ]; then
    echo "--push needs HUB_NAMESPACE (your Hub user or organisation), e.g. HUB_NAMESPACE=me $0 --push" >&2
    exit 2
  fi
  if [ -z "${LAUNCHER:-}" ]; then
    if "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
      LAUNCHER="$PYTHON -m accelerate.commands.launch"
    else
      LAUNCHER="$PYTHON"
    fi
  fi
}

model_slug() {  # google-bert/bert-base-chinese -> bert-base-chinese
  local name=${1%/}
  name=${name##*/}
  printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '-'
}

run_dir() {  # run_dir TASK MODEL SEED: the folder of one run
  printf '%s' "$OUT/$1/$(model_slug "$2")/seed$3"
}

require_file() {
  if [ ! -f "$1" ]; then
    echo "missing data file $1: set DATA_DIR to the folder holding it (see README, 'Reproducing the report')." >&2
    exit 2
  fi
}

# run_one TASK SCRIPT MODEL SEED ARGS...: one fine-tuning in $OUT/TASK/<slug>/seed<SEED>, skipped when finished.
# The first finished run of a task leaves its split in $OUT/TASK/split_ids.json; later runs reuse it.
run_one() {
  local task=$1 script=$2 model=$3 seed=$4
  shift 4
  local slug dir split_args=() push_args=() repo=""
  slug=$(model_slug "$model")
  dir=$(run_dir "$task" "$model" "$seed")
  if [ -f "$OUT/$task/split_ids.json" ]; then split_args=(--split_file "$OUT/$task/split_ids.json"); fi
  local record=("$script" "$model" "$seed" "$SMOKE" "$@")
  local verdict=0
  "$PYTHON" "$REPO/scripts/run_record.py" check "$dir" -- "${record[@]}" || verdict=$?
  if [ "$verdict" = 0 ]; then
    echo "[$task] $model seed $seed: finished earlier with the same settings, skipped ($dir)"
    return 0
  elif [ "$verdict" = 2 ]; then
    exit 2
  fi
  mkdir -p "$dir"
  if [ "$PUSH" = 1 ]; then
    repo="$HUB_NAMESPACE/bertft-$task-$slug"
    push_args=(--push_to_hub --hub_model_id "$repo")
  fi
  echo "[$task] $model seed $seed -> $dir"
  local start=$SECONDS
  # shellcheck disable=SC2086  # LAUNCHER is a command line
  if ! $LAUNCHER "$REPO/$script" --model_name_or_path "$model" --seed "$seed" --output_dir "$dir" \
      "${split_args[@]}" "$@" "${push_args[@]}" >>"$dir/run.log" 2>&1; then
    echo "FAILED: [$task] $model seed $seed. Last lines of $dir/run.log:" >&2
    tail -n 25 "$dir/run.log" >&2
    exit 1
  fi
  if [ ! -f "$OUT/$task/split_ids.json" ] && [ -f "$dir/split_ids.json" ]; then
    cp "$dir/split_ids.json" "$OUT/$task/split_ids.json"
  fi
  "$PYTHON" "$REPO/scripts/run_record.py" write "$dir" "$task" "$repo" "$((SECONDS - start))" -- "${record[@]}"
  echo "[$task] $model seed $seed: done in $((SECONDS - start)) s"
}

# The training settings every task shares (AdamW, weight decay 0.01, 6% warm-up, best epoch on validation).
# Usage: args=(... $(shared_recipe METRIC)) (unquoted on purpose: one word per flag).
shared_recipe() {
  printf '%s ' --weight_decay 0.01 --warmup_steps 0.06 --eval_strategy epoch --save_strategy epoch \
    --save_total_limit 1 --load_best_model_at_end --metric_for_best_model "$1" --disable_tqdm true
}

# run_all TASK SCRIPT "MODELS" ARGS...: run_one for every model and every seed; with --parallel, each run goes to the
# grid GRID_FILE (reproduce_report.sh collects all tasks' runs there first) and the grid is run here unless a caller
# collects it.
run_all() {
  local task=$1 script=$2 models=$3 model seed own_grid=""
  shift 3
  if [ -n "$PARALLEL" ] && [ -z "${GRID_FILE:-}" ]; then
    own_grid=1
    GRID_FILE=$(mktemp "${TMPDIR:-/tmp}/bertft-grid.XXXXXX")
  fi
  for model in $models; do
    for seed in $SEEDS; do
      if [ -n "${GRID_FILE:-}" ]; then
        "$PYTHON" "$REPO/scripts/run_grid.py" add --log "$(run_dir "$task" "$model" "$seed")/run.log" "$GRID_FILE" \
          -- "$task" "$script" "$model" "$seed" "$@" "${SEARCH_ARGS[@]}"
      else
        run_one "$task" "$script" "$model" "$seed" "$@" "${SEARCH_ARGS[@]}"
      fi
    done
  done
  if [ -n "$own_grid" ]; then
    run_grid "$GRID_FILE"
  fi
}

# run_grid GRID: every run of GRID, up to $PARALLEL at once (scripts/run_grid.py), with this script's settings.
run_grid() {
  local ray_args=()
  if [ -n "$RAY" ]; then ray_args=(--ray); fi
  OUT="$OUT" SMOKE="$SMOKE" PUSH="$PUSH" HUB_NAMESPACE="$HUB_NAMESPACE" PYTHON="$PYTHON" \
    "$PYTHON" "$REPO/scripts/run_grid.py" run "$1" --parallel "$PARALLEL" "${ray_args[@]}"
}
