#!/usr/bin/env bash
# GPU call 4 (2026-12-01 session 3): tests, then Mamba / BERT / BERT-vs-Mamba benches after the elementwise and
# scan-choice changes.
T=build/device/tools/cli/tessera
NCU="ncu --clock-control none"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p $OUT/p $OUT/r
timeout 200 build/device/tests/test_cuda --gtest_brief=1 > $OUT/r/test_cuda.log 2>&1; tail -4 $OUT/r/test_cuda.log
timeout 60 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 300 $T bench classify --device cuda --dtype f16 --shapes 32x256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x2 > $OUT/p/ncu_bert256_sum.txt 2>&1
timeout 60 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel -c 400 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256 --min-reps 1 --warmup 0 --gpu-warmup 0 --peer none --out /tmp/x1 > $OUT/p/ncu_mamba_sum.txt 2>&1
tar -czf $OUT/r/ncu.tar.gz -C $OUT/p ncu_bert256_sum.txt ncu_mamba_sum.txt
timeout 150 $T bench mamba --device cuda --dtype f16 --batch-size 32 --seq-len 256,1024 --min-reps 5 --warmup 2 --gpu-warmup 2 --peer python3 --peer-budget 30 --out $OUT/p/mamba > $OUT/r/mamba.log 2>&1; grep "x (Tessera\|backbone median" $OUT/r/mamba.log
timeout 100 $T bench mamba --device cuda --dtype f16 --batch-size 1 --seq-len 1024,4096 --min-reps 5 --warmup 2 --gpu-warmup 1 --peer none --out $OUT/p/mamba1 > $OUT/r/mamba-b1.log 2>&1; grep "backbone median" $OUT/r/mamba-b1.log
timeout 170 $T bench classify --device cuda --dtype f16 --shapes 32x256,1x128 --min-time 1 --min-reps 10 --warmup 3 --gpu-warmup 3 --peer python3 --peer-compile --peer-timeout 150 --out $OUT/p/classify > $OUT/r/classify.log 2>&1
DEADLINE=240 timeout 250 scripts/gpu_bench.sh $OUT/p/bvm bert-vs-mamba > $OUT/p/bvm.log 2>&1
cp $OUT/p/mamba/*.md $OUT/r/mamba.md; cp $OUT/p/mamba/*.json $OUT/r/mamba.json; cp $OUT/p/classify/*.md $OUT/r/classify.md; cp $OUT/p/classify/*.json $OUT/r/classify.json
cp $OUT/p/bvm/summary.md $OUT/r/bert-vs-mamba-summary.md; cp $OUT/p/bvm/all.tar.gz $OUT/r/bert-vs-mamba-all.tar.gz
(cd $OUT/r && tar -czf extra.tar.gz ncu.tar.gz mamba.log mamba-b1.log classify.log mamba.json classify.json bert-vs-mamba-all.tar.gz && rm -f ncu.tar.gz mamba.log mamba-b1.log classify.log mamba.json classify.json bert-vs-mamba-all.tar.gz)
rm -rf $OUT/p; ls -la $OUT/r; grep -A14 "Tessera / peer" $OUT/r/classify.md | head -16
