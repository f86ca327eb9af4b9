#!/usr/bin/env bash
# Trains both embedded IMDB classifiers on one GPU (in parallel) and evaluates them on the full test split with
# PyTorch. DATA holds train/test.jsonl.gz, TOK the two tokenizers. OUT receives (flat, 8 files):
# {bert,mamba}.{config.json,safetensors,log.jsonl,eval.json}. Phase time caps come from the environment.
#   tools/train_imdb/run_gpu.sh DATA TOK OUT
set -euo pipefail
DATA=$1 TOK=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
W=/tmp/train_imdb
mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1
train_bert() {
  timeout "${BERT_TIMEOUT:-500}" python3 "$HERE/train_bert.py" --data "$DATA" --vocab "$TOK/bert-base-uncased/vocab.txt" \
    --out "$W/bert" --log "$OUT/bert.log.jsonl" --mlm-minutes "${BERT_MLM_MINUTES:-4.8}" --ft-minutes "${BERT_FT_MINUTES:-2.5}"
  cp "$W/bert/config.json" "$OUT/bert.config.json"
  cp "$W/bert/model.safetensors" "$OUT/bert.safetensors"
  timeout "${EVAL_TIMEOUT:-100}" python3 "$HERE/evaluate.py" --model "$W/bert" --data "$DATA" --out "$OUT/bert.eval.json"
}
train_mamba() {
  timeout "${MAMBA_TIMEOUT:-520}" python3 "$HERE/train_mamba.py" --data "$DATA" --tokenizer "$TOK/gpt-neox-20b/tokenizer.json" \
    --out "$W/mamba" --log "$OUT/mamba.log.jsonl" --lm-minutes "${MAMBA_LM_MINUTES:-2.3}" --ft-minutes "${MAMBA_FT_MINUTES:-4.8}"
  cp "$W/mamba/config.json" "$OUT/mamba.config.json"
  cp "$W/mamba/model.safetensors" "$OUT/mamba.safetensors"
  timeout "${EVAL_TIMEOUT:-100}" python3 "$HERE/evaluate.py" --model "$W/mamba" --data "$DATA" --fast-scan --out "$OUT/mamba.eval.json"
}
train_bert > "$W/bert.out" 2>&1 &
B=$!
train_mamba > "$W/mamba.out" 2>&1 &
M=$!
wait $B || echo "bert failed"
wait $M || echo "mamba failed"
tail -n 4 "$W/bert.out" "$W/mamba.out"
ls -la "$OUT"
