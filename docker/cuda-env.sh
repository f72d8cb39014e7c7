#!/usr/bin/env bash
# Source this file to point cotrain at a CUDA PJRT plugin installed by JAX (jax-cuda13-pjrt / jax-cuda12-pjrt) and at
# the nvidia-* CUDA libraries next to it, then run e.g.  bin/cotrain version -backend "$COTRAIN_BACKEND".
# Verified on an NVIDIA H100 80GB (driver 580.159.04) with jax-cuda13-pjrt 0.11.2 (plugin API v0.115) on 2026-11-27.
PY="${PYTHON:-python3}"
[ -x /opt/torch/.venv/bin/python3 ] && [ -z "${PYTHON:-}" ] && PY=/opt/torch/.venv/bin/python3
SP="$("$PY" -c "import jax_plugins; print(list(jax_plugins.__path__)[0].rsplit('/jax_plugins', 1)[0])")" || {
  echo "cuda-env: no jax_plugins package for $PY: install jax with a CUDA PJRT plugin (pip install 'jax[cuda13]')" >&2
  return 1 2>/dev/null || exit 1
}
PLUGIN="$(find "$SP/jax_plugins" -name 'xla_cuda_plugin.so' | head -1)"
[ -n "$PLUGIN" ] || { echo "cuda-env: no xla_cuda_plugin.so under $SP/jax_plugins" >&2; return 1 2>/dev/null || exit 1; }
LD_LIBRARY_PATH="$(ls -d "$SP"/nvidia/*/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}"
export LD_LIBRARY_PATH
# go-xla v0.1.4 would otherwise set a CUDA data dir that does not exist.
export XLA_FLAGS="--xla_gpu_cuda_data_dir=$SP/nvidia ${XLA_FLAGS:-}"
export GOPJRT_CUDA_CHECKS=0 GOPJR_CUDA_CHECKS=0
export GOMLX_NO_AUTO_INSTALL=1
export COTRAIN_BACKEND="xla:$PLUGIN"
echo "cuda-env: COTRAIN_BACKEND=$COTRAIN_BACKEND" >&2
