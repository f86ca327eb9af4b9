#!/usr/bin/env bash
# GPU call 2 (2026-12-01 session 3): tests + benches after the norm kernel rewrite, mixed add, conv+SiLU.
T=build/device/tools/cli/tessera
NCU="ncu --clock-control none"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p $OUT/p
timeout 200 build/device/tests/test_cuda --gtest_brief=1 > $OUT/p/test_cuda.log 2>&1; tail -3 $OUT/p/test_cuda.log
timeout 100 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 400 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x1 > $OUT/p/ncu_mamba_sum.txt 2>&1
timeout 100 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 300 $T bench classify --device cuda --dtype f16 --shapes 32x256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x2 > $OUT/p/ncu_bert256_sum.txt 2>&1
timeout 60 $NCU -k regex:norm_warp -s 3 -c 1 --set detailed $T bench classify --device cuda --dtype f16 --shapes 32x256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x3 > $OUT/p/ncu_norm.txt 2>&1
timeout 90 python3 .carry-m5/torch_prof.py > $OUT/p/torch_prof.txt 2>&1
timeout 150 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256,1024 --min-reps 5 --warmup 2 --gpu-warmup 2 --peer python3 --peer-budget 30 --out $OUT/p/mamba > $OUT/p/mamba.log 2>&1
timeout 200 $T bench classify --device cuda --dtype f16 --shapes 32x128,32x256,32x512,32x1024,8x4096 --min-time 1 --min-reps 10 --warmup 3 --gpu-warmup 3 --peer python3 --peer-timeout 100 --out $OUT/p/classify > $OUT/p/classify.log 2>&1
cp $OUT/p/mamba/*.md $OUT/p/mamba.md 2>/dev/null; cp $OUT/p/classify/*.md $OUT/p/classify.md 2>/dev/null
cp $OUT/p/mamba/*.json $OUT/p/mamba.json 2>/dev/null; cp $OUT/p/classify/*.json $OUT/p/classify.json 2>/dev/null
rm -rf $OUT/p/mamba $OUT/p/classify
ls -la $OUT/p
