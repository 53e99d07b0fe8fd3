#!/usr/bin/env bash
# The quality benchmarks on a lent GPU machine (bertft's `device` tool), all three at once on one GPU.
# Needs, beside the repository (git-ignored, carried as .gpu): .gpu/whl (wheels the machine lacks: transformers,
# datasets, seqeval, ...), .gpu/minilm16 (the embedded MiniLM with its weights stored in fp16 and xz-compressed to
# fit the transfer limit; restored to fp32 here) and .gpu/data/shared_data.tar.xz (../shared/data).
# Results: results/*_gpu.{md,json}, packed with the logs into $OUT/gpu_results.tar.gz.
set -u
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site
mkdir -p /tmp/bench_data /tmp/minilm && tar -C /tmp/bench_data -xJf .gpu/data/shared_data.tar.xz || exit 1
cp .gpu/minilm16/*.* /tmp/minilm/ && rm -f /tmp/minilm/model.safetensors.xz
python3 - <<'PY' || exit 1
import lzma
import torch
from safetensors.torch import load, save_file
with lzma.open(".gpu/minilm16/model.safetensors.xz") as f:
    weights = load(f.read())
save_file({k: v.float() if v.is_floating_point() else v for k, v in weights.items()}, "/tmp/minilm/model.safetensors",
          metadata={"format": "pt"})
import transformers, datasets
print("torch", torch.__version__, torch.cuda.get_device_name(0), "transformers", transformers.__version__,
      "datasets", datasets.__version__, flush=True)
PY
export BERTFT_BENCH_DATA=/tmp/bench_data BERTFT_BENCH_MODEL=/tmp/minilm BERTFT_BENCH_SUFFIX=${BERTFT_BENCH_SUFFIX:-_gpu}
MSRA_LIMIT=${MSRA_LIMIT:-400} OTHER_LIMIT=${OTHER_LIMIT:-450}
pack() { tar -czf "$OUT/gpu_results.tar.gz" results/*"$BERTFT_BENCH_SUFFIX".* outputs/*.log outputs/bench_*/*.log \
  outputs/bench_*/*/trainer_state.json 2>/dev/null; }
mkdir -p outputs
BENCHES=${BENCHES:-msra taipei sarcasm}
MSRA_ARGS="--epochs ${MSRA_EPOCHS:-10} --batch-size 64 --lr ${MSRA_LR:-1.5e-4} --embedding-lr ${MSRA_EMB_LR:-3e-3}"
MSRA_ARGS="$MSRA_ARGS --mlm-warmup-epochs ${MSRA_WARMUP:-0} --bf16"  # bf16 on the GPU, as before
case $BENCHES in *msra*)
( timeout "$MSRA_LIMIT" python3 bench/msra_quality.py $MSRA_ARGS > outputs/msra.log 2>&1 \
  || python3 bench/msra_quality.py --test-only $MSRA_ARGS >> outputs/msra.log 2>&1 ) & ;; esac
case $BENCHES in *taipei*)
( timeout "$OTHER_LIMIT" python3 bench/taipei_qa.py --epochs "${TAIPEI_EPOCHS:-30}" \
    --mlm-warmup-epochs "${TAIPEI_WARMUP:-0}" > outputs/taipei.log 2>&1 ) & ;; esac
case $BENCHES in *warmup*)
( timeout "$OTHER_LIMIT" python3 bench/mlm_warmup_probe.py --epochs "${PROBE_EPOCHS:-10}" --warmup-epochs \
    "${PROBE_WARMUP:-3}" --parallel > outputs/warmup.log 2>&1 ) & ;; esac
case $BENCHES in *sarcasm*)
( timeout "$OTHER_LIMIT" python3 bench/sarcasm_quality.py --configs all > outputs/sarcasm.log 2>&1 ) & ;; esac
while [ "$(jobs -r | wc -l)" -gt 0 ]; do sleep 20; pack; nvidia-smi --query-gpu=utilization.gpu,memory.used \
  --format=csv,noheader; tail -qn1 outputs/bench_*/*.log 2>/dev/null | cut -c1-160; done
wait; pack; ls -la results/*"$BERTFT_BENCH_SUFFIX".* 2>/dev/null; tail -n 5 outputs/*.log
