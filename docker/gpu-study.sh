#!/usr/bin/env bash
# The gpu scale's study on one lent GPU (README "The study on a GPU"): run from the repository root. It needs
# bin/cotrain (or .gpu/cotrain.xz) built here with cgo for linux/amd64 and `-tags noopenblas` (the GPU machines have
# no OpenBLAS), JAX's CUDA PJRT plugin on that machine (docker/cuda-env.sh finds it) and Fashion-MNIST: the Debian
# package, $COTRAIN_FASHION_MNIST, or .gpu/fmnist/*.xz (the first 48,000 training images and the test set, as the
# scale uses them). Everything it measures lands in $OUT: the card, the study's log, `cotrain status`, and the scale's
# cache without checkpoints and arrays (gpu-cache.tar.gz; unpack it in the repository root).
# Without a GPU it runs the same steps on the CPU backend (to check this script; the study itself takes hours there);
# SCALE=smoke runs them at the smoke scale (TestGPUStudyScriptOnCPU). The pack holds what the committed cache keeps
# (.gitignore): no checkpoints, no recording or MTL targets (remade on demand), no locks; the next grant continues
# from it, training again a model whose checkpoint a stage still to run needs.
set -u
OUT="${OUT:-/tmp/cotrain-gpu}"
mkdir -p "$OUT"
PY=python3; [ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3
BIN=bin/cotrain
if [ -f .gpu/cotrain.xz ]; then
  "$PY" -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' .gpu/cotrain.xz /tmp/cotrain
  chmod +x /tmp/cotrain && BIN=/tmp/cotrain
fi
if [ -d .gpu/fmnist ] && [ -z "${COTRAIN_FASHION_MNIST:-}" ]; then
  mkdir -p /tmp/fmnist
  "$PY" - <<'PYEOF' || exit 1
import glob, gzip, lzma, os
for f in glob.glob(".gpu/fmnist/*.xz"):
    name = os.path.basename(f)[:-3] + ".gz"
    with gzip.open("/tmp/fmnist/" + name, "wb", compresslevel=1) as w:
        w.write(lzma.open(f).read())
PYEOF
  export COTRAIN_FASHION_MNIST=/tmp/fmnist
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  . docker/cuda-env.sh || exit 1
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$OUT/gpu-use.csv" &
  trap 'kill %1 2>/dev/null' EXIT
else
  COTRAIN_BACKEND=cpu
fi
"$BIN" version -backend "$COTRAIN_BACKEND" 2>&1 | grep -v "^W1" | tee "$OUT/version.txt"
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
start=$(date +%s)
limit="${STUDY_TIMEOUT:-480}"
SCALE="${SCALE:-gpu}"
only=(); [ -n "${ONLY:-}" ] && only=(-only "$ONLY") # e.g. ONLY=eval/baseline/seed1: that stage and its inputs
timeout "$limit" "$BIN" reproduce -scale "$SCALE" -backend "$COTRAIN_BACKEND" -jobs "${JOBS:-4}" "${only[@]}" > "$OUT/reproduce.log" 2>&1
rc=$?
echo "reproduce -jobs ${JOBS:-4}: rc $rc after $(( $(date +%s) - start )) s" | tee -a "$OUT/reproduce.log"
left=$(( limit - ($(date +%s) - start) ))
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$left" -gt 120 ]; then # stages side by side failed: one at a time
  timeout "$left" "$BIN" reproduce -scale "$SCALE" -backend "$COTRAIN_BACKEND" -jobs 1 "${only[@]}" >> "$OUT/reproduce.log" 2>&1
  echo "reproduce -jobs 1: rc $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/reproduce.log"
fi
grep -v "^W1\|nvidia/ subdirectory" "$OUT/reproduce.log" | tail -40
"$BIN" status -scale "$SCALE" > "$OUT/status.txt" 2>&1; tail -3 "$OUT/status.txt"
tar czf "$OUT/gpu-cache.tar.gz" --exclude='*.ckpt' --exclude='*.lock' --exclude="data/cache/$SCALE/v1sim" \
  --exclude="data/cache/$SCALE/targets" "data/cache/$SCALE"
ls -la "$OUT"
