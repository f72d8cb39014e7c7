#!/usr/bin/env bash
# GPU benchmark (how the README's GPU figures were measured; run from the repository root with bin/cotrain built —
# for a machine without OpenBLAS, such as the lent GPU machines, build it with `go build -tags noopenblas -o bin/cotrain
# ./cmd/cotrain`: the XLA backend does not use the cpu backend's OpenBLAS kernels):
# Device run: cotrain's XLA backend on the GPU (CUDA PJRT plugin from JAX), the paper-scale benchmark cases, and the
# same network in PyTorch on the same card.
set -x
mkdir -p "${OUT:-/tmp/cotrain-gpu}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
. docker/cuda-env.sh
bin/cotrain version -backend "$COTRAIN_BACKEND" 2>&1 | grep -v "^W1" | tee ${OUT:-/tmp/cotrain-gpu}/version.txt
timeout 330 bin/cotrain bench -backend "$COTRAIN_BACKEND" -cases paper -steps 5 -json ${OUT:-/tmp/cotrain-gpu}/bench-gpu.json 2>&1 | grep -v "^W1\|nvidia/ subdirectory" | tee ${OUT:-/tmp/cotrain-gpu}/bench-gpu.txt
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
timeout 120 $PY docker/torch_bench.py ${OUT:-/tmp/cotrain-gpu}/torch.json 2>&1 | tail -5 | tee ${OUT:-/tmp/cotrain-gpu}/torch.txt
