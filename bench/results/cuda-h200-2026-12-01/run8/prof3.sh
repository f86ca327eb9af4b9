#!/usr/bin/env bash
# GPU call 3 (2026-12-01 session 3): full tests, then Mamba and BERT benches with peers (compile peers included).
T=build/device/tools/cli/tessera
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p $OUT/p
timeout 200 build/device/tests/test_cuda --gtest_brief=1 > $OUT/p/test_cuda.log 2>&1; tail -4 $OUT/p/test_cuda.log
timeout 150 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256,1024 --min-reps 5 --warmup 2 --gpu-warmup 2 --peer python3 --peer-budget 30 --out $OUT/p/mamba > $OUT/p/mamba.log 2>&1; tail -12 $OUT/p/mamba.log
DEADLINE=280 timeout 290 scripts/gpu_bench.sh $OUT/p/b classify > $OUT/p/gpu_bench.log 2>&1
mkdir -p $OUT/r; cp $OUT/p/mamba/*.md $OUT/r/mamba.md; cp $OUT/p/mamba/*.json $OUT/r/mamba.json; cp $OUT/p/test_cuda.log $OUT/p/mamba.log $OUT/r/
cp $OUT/p/b/summary.md $OUT/r/classify-summary.md 2>/dev/null; cp $OUT/p/b/all.tar.gz $OUT/r/classify-all.tar.gz 2>/dev/null
rm -rf $OUT/p; ls -la $OUT/r; grep -A12 "Tessera / peer" $OUT/r/classify-summary.md | head -40
