#!/usr/bin/env bash
# Check gpudiag/explain/data/<package>_api.toml against real releases: for each version, install that
# release alone into a scratch folder (no dependencies, nothing else touched), put it first on
# PYTHONPATH and run the agreement test of tests/test_explain_api_history.py, which imports every
# module of the data and checks each name's presence against what the data says for that release.
# Usage (repository root): bash bench/explain/api_agreement.sh triton|torch [VERSION ...]
#   (default: every release in the data; torch wheels are 0.6-1 GB each, so name a few)
set -u
package=${1:?triton or torch}
shift
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  mapfile -t versions < <(python3 -c "
import tomllib; print('\n'.join(tomllib.load(open('gpudiag/explain/data/${package}_api.toml', 'rb'))['releases']))")
fi
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
echo "# $(date -Is) $(python3 --version) on $(uname -m): $package"
for v in "${versions[@]}"; do
  rm -rf "${site:?}"/*
  if ! python3 -m pip install -q --no-deps --target "$site" "$package==$v" >/dev/null 2>&1; then
    echo "$v: no wheel for this Python"
    continue
  fi
  got=$(PYTHONPATH="$site:." python3 -c "from gpudiag.explain import api_history as a; print(a.installed('$package'))")
  res=$(PYTHONPATH="$site:." python3 -m pytest -q -p no:cacheprovider tests/test_explain_api_history.py \
        -k "agrees and $package" 2>&1 | tail -1)
  echo "$v (imported $got): $res"
done
