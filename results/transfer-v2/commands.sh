#!/bin/bash
# The transfer experiment on STARLING-100 v2, 5 seeds (resumable: rerun this script).
cd "$(dirname "$0")/../.." && . .venv/bin/activate
export OMP_NUM_THREADS=1
starling transfer --target starling/TWC-easy-v0 --target starling/TWC-medium-v0 --target starling/TWC-hard-v0 \
  --pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 --max-steps 50 --engine native --out results/transfer-v2
starling transfer --target starling/ScienceWorld-v0 --target-kwargs '{"starling/ScienceWorld-v0": {"task": "boil"}}' \
  --pretrain-steps 3000 --steps 600 --seeds 5 --episodes 1 --max-steps 50 --engine native --out results/transfer-v2
starling transfer --target starling/ZMachine-v0 \
  --pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 --max-steps 50 --engine native --out results/transfer-v2
for task in find-living-thing power-component; do
  starling transfer --target starling/ScienceWorld-v0 --target-kwargs "{\"starling/ScienceWorld-v0\": {\"task\": \"$task\"}}" \
    --pretrain-steps 3000 --steps 600 --seeds 5 --episodes 1 --max-steps 50 --engine native --out results/transfer-v2
done
