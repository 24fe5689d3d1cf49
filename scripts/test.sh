#!/usr/bin/env bash
# Installs everything the tests need (idempotent: pip and apt-get) and runs the whole suite with the linters.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use; only missing ones are installed.
APT_PACKAGES=()
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test]" -e plugins/partnercrmd-json-directory

python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 -m pytest "$@"
