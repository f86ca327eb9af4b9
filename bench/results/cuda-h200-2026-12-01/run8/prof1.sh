#!/usr/bin/env bash
# Profiling call 1 (2026-12-01 session 3): per-kernel times of Tessera BERT/Mamba and torch BERT, scan/flash details.
T=build/device/tools/cli/tessera
NCU="ncu --clock-control none"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p $OUT/p
timeout 60 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256,1024 --min-reps 5 --warmup 2 --gpu-warmup 2 --peer none --out $OUT/p/mamba > $OUT/p/mamba.log 2>&1
timeout 60 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256 --min-reps 2 --warmup 1 --gpu-warmup 1 --peer none --profile --out $OUT/p/mamba_prof > $OUT/p/mamba_prof.log 2>&1
timeout 120 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 400 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x1 > $OUT/p/ncu_mamba_sum.txt 2>&1
timeout 120 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 300 $T bench classify --device cuda --dtype f16 --shapes 32x256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x2 > $OUT/p/ncu_bert256_sum.txt 2>&1
timeout 120 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 300 $T bench classify --device cuda --dtype f16 --shapes 8x4096 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x3 > $OUT/p/ncu_bert4096_sum.txt 2>&1
timeout 90 $NCU -k regex:scan_sequential -s 30 -c 1 --set detailed --section WarpStateStats --section SchedulerStats --section InstructionStats $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x4 > $OUT/p/ncu_scan.txt 2>&1
timeout 90 $NCU -k regex:flash -s 12 -c 1 --set detailed --section WarpStateStats --section SchedulerStats $T bench classify --device cuda --dtype f16 --shapes 8x4096 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x5 > $OUT/p/ncu_flash.txt 2>&1
timeout 120 python3 .carry-m5/torch_prof.py > $OUT/p/torch_prof.txt 2>&1
ls -la $OUT/p
