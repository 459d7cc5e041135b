#!/usr/bin/env bash
# Fill each service's vendor/ with boto3 and its dependencies, on the host, so the Docker
# builds need no network: the Dockerfiles copy vendor/ and set PYTHONPATH=/app/vendor.
#
#   stacks/shop/services/vendor.sh            # api/vendor and worker/vendor
#   stacks/shop/services/vendor.sh worker     # just the named services
#
# A vendor/ that already holds boto3 is left alone: delete it to refresh. Wheels are picked
# for Python 3.11 (the images' python3) whatever the host's python3 is; PYTHON=... picks the
# interpreter whose pip does the download.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
[ "$#" -gt 0 ] || set -- api worker

for name in "$@"; do
  dir="$here/$name"
  if [ ! -f "$dir/Dockerfile" ]; then
    echo "vendor.sh: $dir is not a service folder (no Dockerfile)" >&2
    exit 2
  fi
  if [ -f "$dir/vendor/boto3/__init__.py" ]; then
    echo "vendor.sh: $name/vendor already has boto3 (delete it to refresh)"
    continue
  fi
  # Into a scratch folder first, so a failed download never leaves a vendor/ that looks done.
  rm -rf "$dir/vendor.tmp" "$dir/vendor"
  "$python" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
    --root-user-action=ignore --no-compile --python-version 3.11 --only-binary=:all: \
    --target "$dir/vendor.tmp" boto3
  mv "$dir/vendor.tmp" "$dir/vendor"
  packages=("$dir"/vendor/*.dist-info)
  echo "vendor.sh: $name/vendor: boto3 and its dependencies, ${#packages[@]} packages"
done
