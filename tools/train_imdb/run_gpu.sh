#!/usr/bin/env bash
# Trains both embedded IMDB classifiers on one GPU (in parallel) and evaluates them on the full test split with
# PyTorch. DATA holds train/test.jsonl.gz, TOK the two tokenizers; results go to OUT/{bert,mamba}/.
#   tools/train_imdb/run_gpu.sh DATA TOK OUT
set -euo pipefail
DATA=$1 TOK=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
W=/tmp/train_imdb
mkdir -p "$W" "$OUT/bert" "$OUT/mamba"
export PYTHONUNBUFFERED=1
python3 "$HERE/train_bert.py" --data "$DATA" --vocab "$TOK/bert-base-uncased/vocab.txt" --out "$W/bert" \
  --mlm-minutes "${BERT_MLM_MINUTES:-3}" --ft-minutes "${BERT_FT_MINUTES:-3}" > "$W/bert.log" 2>&1 &
B=$!
python3 "$HERE/train_mamba.py" --data "$DATA" --tokenizer "$TOK/gpt-neox-20b/tokenizer.json" --out "$W/mamba" \
  --lm-minutes "${MAMBA_LM_MINUTES:-2.5}" --ft-minutes "${MAMBA_FT_MINUTES:-4}" > "$W/mamba.log" 2>&1 &
M=$!
wait $B || { tail -20 "$W/bert.log"; exit 1; }
wait $M || { tail -20 "$W/mamba.log"; exit 1; }
tail -3 "$W/bert.log" "$W/mamba.log"
python3 "$HERE/evaluate.py" --model "$W/bert" --data "$DATA" --out "$OUT/bert/test_eval.json" &
python3 "$HERE/evaluate.py" --model "$W/mamba" --data "$DATA" --out "$OUT/mamba/test_eval.json" &
wait
for m in bert mamba; do
  cp "$W/$m/config.json" "$W/$m/model.safetensors" "$OUT/$m/"
  cp "$W/$m.work/train_log.jsonl" "$OUT/$m/"
done
ls -la "$OUT"/*
