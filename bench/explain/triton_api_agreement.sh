#!/usr/bin/env bash
# Check gpudiag/explain/data/triton_api.toml against real Triton releases: for each version, install
# that Triton alone into a scratch folder (no dependencies, nothing else touched), put it first on
# PYTHONPATH and run tests/test_explain_triton_api.py, whose agreement test imports every module of
# the data and checks each name's presence against what the data says for that release.
# Usage (repository root): bash bench/explain/triton_api_agreement.sh [VERSION ...]   (default: every release in the data)
set -u
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  mapfile -t versions < <(python3 -c "
import tomllib; print('\n'.join(tomllib.load(open('gpudiag/explain/data/triton_api.toml', 'rb'))['releases']))")
fi
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
echo "# $(date -Is) $(python3 --version) on $(uname -m)"
for v in "${versions[@]}"; do
  rm -rf "${site:?}"/*
  if ! python3 -m pip install -q --no-deps --target "$site" "triton==$v" >/dev/null 2>&1; then
    echo "$v: no wheel for this Python"
    continue
  fi
  got=$(PYTHONPATH="$site:." python3 -c "from gpudiag.explain import triton_api as t; print(t.installed())")
  res=$(PYTHONPATH="$site:." python3 -m pytest -q -p no:cacheprovider tests/test_explain_triton_api.py 2>&1 | tail -1)
  echo "$v (imported $got): $res"
done
