#!/usr/bin/env bash
# Builds the Tryton database the tests copy for every server they start: trytond-admin with the party
# module takes several seconds, so it runs once per trytond version and the file is cached under
# ${XDG_CACHE_HOME:-~/.cache}/partnercrmd-tests/tryton/<trytond version>/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
python3 tryton_testserver.py prepare
