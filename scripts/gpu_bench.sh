#!/usr/bin/env bash
# The GPU benchmarks of issues 4 and 5 in one device call (budgeted to finish in < 10 min): bench classify (BERT-base
# at the shapes against PyTorch eager / SDPA / torch.compile default and reduce-overhead), bench mamba
# (mamba-130m backbone, batch 32, 256..4096 tokens, against transformers' path) and bench bert-vs-mamba (random
# BERT-base vs mamba-130m, batch 32, lengths 256..4096, 256 IMDB samples), each peer on the same GPU in the same run.
#
# Usage, on the GPU machine from the repository root (after scripts/device_bundle here):
#   scripts/gpu_run scripts/gpu_bench.sh "$OUT" [classify] [mamba] [bert-vs-mamba]    (default: all three)
# Environment: TESSERA (default build/device/tools/cli/tessera), DTYPE (f16), PEER (python3; none = no peer),
# PEER_COMPILE (1; 0 skips the torch.compile variants), DEADLINE (seconds for the whole script, default 570).
# Output: OUT/summary.md (every report's tables), OUT/log.txt, OUT/all.tar.gz (everything, re-packed after each
# section so a cut-off run still returns what finished), and the reports themselves under OUT/all/ (too deep and
# too many for the device tool to return one by one).
set -uo pipefail
out=${1:?usage: scripts/gpu_bench.sh OUTDIR [classify] [mamba] [bert-vs-mamba]}
shift
sections=("$@")
((${#sections[@]})) || sections=(classify mamba bert-vs-mamba)
tessera=${TESSERA:-build/device/tools/cli/tessera}
dtype=${DTYPE:-f16}
peer=${PEER:-python3}
deadline=${DEADLINE:-570}
# Nothing outside the GPU machine can be reached: keep transformers/huggingface_hub from trying (and waiting).
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
compile_flag=()
[[ ${PEER_COMPILE:-1} == 1 ]] && compile_flag=(--peer-compile)

mkdir -p "$out/all/reports"
log="$out/log.txt"
summary="$out/summary.md"
: >"$log"
echo "# Tessera GPU benchmarks ($(date -u +%FT%TZ))" >"$summary"

pack() { tar -czf "$out/all.tar.gz" -C "$out" all log.txt summary.md 2>/dev/null; }

{
  echo "== environment"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv 2>&1
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "| transformers", transformers.__version__)' 2>&1
  "$tessera" version 2>&1
} >>"$log"

# run NAME BUDGET_S REPORT... -- COMMAND...: runs COMMAND with at most BUDGET_S seconds (less when the deadline is
# nearer; `timeout` kills the whole process group, peers included), then appends REPORT files to the summary.
run() {
  local name=$1 budget=$2
  shift 2
  local reports=()
  while [[ $1 != -- ]]; do reports+=("$1"); shift; done
  shift
  local left=$((deadline - SECONDS - 10))
  ((budget > left)) && budget=$left
  if ((budget < 30)); then
    echo "== $name: skipped, only ${left}s left of the ${deadline}s deadline" | tee -a "$log" >>"$summary"
    return
  fi
  echo "== $name (budget ${budget}s, t=${SECONDS}s): $*" >>"$log"
  timeout -k 10 "$budget" "$@" >"$out/all/$name.log" 2>&1
  local rc=$?
  cat "$out/all/$name.log" >>"$log"
  echo "== $name: exit $rc at t=${SECONDS}s" >>"$log"
  printf '\n---\n\n# %s (exit %s%s)\n\n' "$name" "$rc" "$( ((rc == 124)) && echo ": killed at its ${budget}s budget")" >>"$summary"
  ((rc != 0)) && { echo '```'; tail -n 15 "$out/all/$name.log"; echo '```'; } >>"$summary"
  for r in "${reports[@]}"; do
    for f in $r; do [[ -f $f ]] && { cat "$f" >>"$summary"; echo >>"$summary"; }; done
  done
  pack
}

for section in "${sections[@]}"; do
  case $section in
    classify)
      # Issue 5's BERT-base shapes; compile modes per shape (dynamic=False), each shape's peer in its own process.
      run classify 280 "$out/all/reports/classify/*.md" -- \
        "$tessera" bench classify --device cuda --dtype "$dtype" --shapes 32x128,32x256,32x512,32x1024,8x4096,1x128 \
        --min-time 1 --min-reps 10 --warmup 3 --gpu-warmup 3 --peer "$peer" "${compile_flag[@]}" --peer-timeout 110 \
        --out "$out/all/reports/classify"
      ;;
    mamba)
      run mamba 140 "$out/all/reports/mamba/*.md" -- \
        "$tessera" bench mamba --device cuda --dtype "$dtype" --batch-size 32 --seq-len 256,512,1024,2048,4096 \
        --min-time 1 --min-reps 2 --warmup 2 --gpu-warmup 3 --peer "$peer" --peer-budget 60 \
        --out "$out/all/reports/mamba"
      ;;
    bert-vs-mamba)
      # No torch.compile peer here (batches of ~40 lengths; the fixed-shape compile comparison is bench classify's).
      run bert-vs-mamba 240 "$out/all/reports/bert-vs-mamba/report.md" -- \
        "$tessera" bench bert-vs-mamba --device cuda --dtype "$dtype" --bert-config base --mamba-config 130m \
        --batch-size 32 --max-length 256,512,1024,2048,4096 --samples 256 --gpu-warmup 3 --peer "$peer" \
        --peer-budget 90 --peer-timeout 150 --out "$out/all/reports/bert-vs-mamba"
      ;;
    *) echo "gpu_bench.sh: unknown section '$section' (classify, mamba, bert-vs-mamba)" | tee -a "$log" ;;
  esac
done
echo "== done at t=${SECONDS}s" >>"$log"
pack
ls -la "$out" "$out/all/reports"/* >>"$log" 2>&1
pack
