#!/usr/bin/env bash
# Check explain-warning's source citations against another torch and triton than the installed ones,
# without installing or importing them: download the wheels (no dependencies), unpack the files the
# citations name, and run the citation tests with that folder first on sys.path.
#   bash bench/explain_sources_check.sh TORCH_VERSION TRITON_VERSION [WORKDIR]
#   e.g. bash bench/explain_sources_check.sh 2.11.0 3.6.0   (the GPU machine's stack; 2026-12-02, 116 entries: 168 passed, 8 skipped)
set -euo pipefail
TORCH=${1:?torch version}; TRITON=${2:?triton version}; W=${3:-/tmp/gpudiag-sources-$TORCH}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
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
python3 - "$W/site" "$ROOT" <<'PY'
import sys
site, root = sys.argv[1], sys.argv[2]
sys.path[:0] = [site, root]
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", f"{root}/tests/test_explain_catalog.py",
                      f"{root}/tests/test_explain_registry.py", "-k", "source_text or registry"]))
PY
