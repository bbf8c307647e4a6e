#!/bin/bash
# The transfer experiment on STARLING-100 v2 at 10,000 pre-training and 10,000 target steps (5x the budgets of
# results/transfer-v2, where the TWC training curves were still rising), 5 seeds. Resumable: rerun this script.
cd "$(dirname "$0")/../.." && . .venv/bin/activate
export OMP_NUM_THREADS=1
starling transfer --target starling/TWC-easy-v0 --target starling/TWC-medium-v0 --target starling/TWC-hard-v0 \
  --pretrain-steps 10000 --steps 10000 --seeds 5 --episodes 4 --max-steps 50 --engine native --out results/transfer-v2-10k
