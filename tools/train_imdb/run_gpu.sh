#!/usr/bin/env bash
# Trains both embedded IMDB classifiers on one GPU (two processes side by side: the models are small and their
# steps leave the GPU mostly idle) and evaluates each on the full test split with PyTorch.
#   tools/train_imdb/run_gpu.sh DATA OUT
# DATA holds train.jsonl.gz and test.jsonl.gz (test is read by evaluate.py only, after model selection). The
# tokenizers are the ones shipped in models/. OUT receives, flat (a GPU call returns at most 8 files):
#   {bert,mamba}.safetensors        the selected classifiers (f16)
#   {bert,mamba}.pre.safetensors    the pre-trained LMs (bf16): pass them back with BERT_INIT / MAMBA_INIT to
#                                   resume in a later call (set the LM phase's minutes to 0 to fine-tune only)
#   results.tar.gz                  configs, JSON-lines logs, test evaluations, stdout of both runs
# Time caps (minutes) come from the environment; the defaults fit one 10-minute GPU call.
set -uo pipefail
DATA=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=/tmp/train_imdb
mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
init() { [[ -n ${1:-} ]] && echo "--init $1"; }
train_bert() {
  timeout "${BERT_TIMEOUT:-520}" python3 "$HERE/train_bert.py" --data "$DATA" \
    --vocab "$ROOT/models/imdb-bert-small/vocab.txt" --out "$W/bert" --log "$W/bert.log.jsonl" \
    --mlm-minutes "${BERT_MLM_MINUTES:-4.9}" --ft-minutes "${BERT_FT_MINUTES:-2.6}" \
    --pretrained-out "$OUT/bert.pre.safetensors" $(init "${BERT_INIT:-}") ${BERT_ARGS:-} &&
    cp "$W/bert/model.safetensors" "$OUT/bert.safetensors" &&
    timeout "${EVAL_TIMEOUT:-90}" python3 "$HERE/evaluate.py" --model "$W/bert" --data "$DATA" --out "$W/bert.eval.json"
}
train_mamba() {
  timeout "${MAMBA_TIMEOUT:-520}" python3 "$HERE/train_mamba.py" --data "$DATA" \
    --tokenizer "$ROOT/models/imdb-mamba-small/tokenizer.json" --out "$W/mamba" --log "$W/mamba.log.jsonl" \
    --lm-minutes "${MAMBA_LM_MINUTES:-3.6}" --ft-minutes "${MAMBA_FT_MINUTES:-3.9}" \
    --pretrained-out "$OUT/mamba.pre.safetensors" $(init "${MAMBA_INIT:-}") ${MAMBA_ARGS:-} &&
    cp "$W/mamba/model.safetensors" "$OUT/mamba.safetensors" &&
    timeout "${EVAL_TIMEOUT:-90}" python3 "$HERE/evaluate.py" --model "$W/mamba" --data "$DATA" --fast-scan \
      --out "$W/mamba.eval.json"
}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
train_bert >"$W/bert.out" 2>&1 &
B=$!
train_mamba >"$W/mamba.out" 2>&1 &
M=$!
wait $B || echo "bert failed (rc $?)"
wait $M || echo "mamba failed (rc $?)"
for m in bert mamba; do [[ -f $W/$m/config.json ]] && cp "$W/$m/config.json" "$W/$m.config.json"; done
tar -czf "$OUT/results.tar.gz" -C "$W" $(cd "$W" && ls *.out *.jsonl *.json 2>/dev/null)
tail -n 3 "$W/bert.out" "$W/mamba.out"
cat "$W"/*.eval.json 2>/dev/null
ls -la "$OUT"
