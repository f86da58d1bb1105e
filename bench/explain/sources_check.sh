#!/usr/bin/env bash
# Check explain-warning's source citations against another torch and triton than the installed ones,
# without installing or importing them: download the wheels (no dependencies), unpack the files the
# citations name, and run the citation tests with that folder ahead of the installed packages.
#   bash bench/explain/sources_check.sh TORCH_VERSION TRITON_VERSION [WORKDIR]
#   e.g. bash bench/explain/sources_check.sh 2.11.0 3.6.0   (the GPU machine's stack; 2026-12-02, 116 entries: 168 passed, 8 skipped)
set -euo pipefail
TORCH=${1:?torch version}; TRITON=${2:?triton version}; W=${3:-/tmp/gpudiag-sources-$TORCH}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$W/site"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$W" "torch==$TORCH" "triton==$TRITON"
cd "$W/site"
unzip -q -o "$W"/torch-"$TORCH"*.whl 'torch/*.py' 'torch/_inductor/*' 'torch/_dynamo/*' 'torch/cuda/*' \
  'torch/fx/*' 'torch/utils/*' 'torch/backends/*' 'torch/lib/*.so*' "torch-$TORCH.dist-info/*" || true
unzip -q -o "$W"/triton-"$TRITON"*.whl 'triton/*' "triton-$TRITON.dist-info/*" -x 'triton/backends/nvidia/bin/*' \
  'triton/backends/amd/lib/*' || true
cd "$ROOT"
# PYTHONPATH puts the unpacked wheels ahead of the installed torch and triton; `-m` puts the checkout first.
PYTHONPATH="$W/site" python3 -m pytest -q -p no:cacheprovider tests/test_explain_catalog.py \
  tests/test_explain_registry.py -k "source_text or registry"
