#!/usr/bin/env bash
# Prepares the real BottleCRM server the tests of partnercrmd-bottlecrm run against (idempotent).
#
# BottleCRM is the PyPI distribution `django-crm`; 1.35 needs Python 3.12 (on 3.11 pip quietly
# picks an ancient 0.9.0 stub instead), so it gets a venv of its own. Its migrations take
# minutes, so they run once here into a SQLite file that every test run copies (milliseconds)
# before it starts the server. Everything goes under one cache directory:
#
#   venv/                                  Python 3.12 with django-crm==$DJANGO_CRM_VERSION
#   site/partnercrmd_test_settings.py      BottleCRM's settings switched to SQLite, no Redis, no mail
#   pristine.sqlite3                       the migrated database: one organisation, one admin user
#   seed.json                              that user's personal access tokens and the organisation key
#   ready                                  written last; names what was prepared
#
# The cache directory is $PARTNERCRMD_TEST_CACHE/bottlecrm (default ~/.cache/partnercrmd-tests);
# the tests read the same place. Set BOTTLECRM_PYTHON to a python3.12 to use that one.
set -euo pipefail

DJANGO_CRM_VERSION="1.35.0"
PREPARED="django-crm==$DJANGO_CRM_VERSION seed-2"
CACHE="${PARTNERCRMD_TEST_CACHE:-$HOME/.cache/partnercrmd-tests}/bottlecrm"
VENV="$CACHE/venv"
SITE="$CACHE/site"
# Fixed, test-only; at least 32 bytes because BottleCRM signs tokens with it (HS256).
export SECRET_KEY="partnercrmd-tests-only-secret-key-0123456789abcdef"

say() { printf 'bottlecrm prepare: %s\n' "$*"; }

if [ -f "$CACHE/ready" ] && [ "$(cat "$CACHE/ready")" = "$PREPARED" ] \
    && [ -f "$CACHE/pristine.sqlite3" ] && [ -f "$CACHE/seed.json" ] \
    && "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    exit 0
fi

is_312() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }

find_python312() {
    local candidate root
    for candidate in "${BOTTLECRM_PYTHON:-}" "$(command -v python3.12 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && is_312 "$candidate"; then echo "$candidate"; return 0; fi
    done
    root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
    for candidate in "$root"/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
        if is_312 "$candidate"; then echo "$candidate"; return 0; fi
    done
    return 1
}

mkdir -p "$CACHE"
if ! is_312 "$VENV/bin/python"; then
    if ! PYTHON312="$(find_python312)"; then
        say "ERROR: no Python 3.12 found. BottleCRM (django-crm $DJANGO_CRM_VERSION) needs Python 3.12;" >&2
        say "install it (e.g. 'pyenv install 3.12') or set BOTTLECRM_PYTHON=/path/to/python3.12, then run again." >&2
        exit 1
    fi
    say "creating a Python 3.12 venv from $PYTHON312"
    rm -rf "$VENV"
    "$PYTHON312" -m venv "$VENV"
fi

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('django-crm') != '$DJANGO_CRM_VERSION')" 2>/dev/null; then
    say "installing django-crm==$DJANGO_CRM_VERSION (about a minute)"
    # (pip's notes about package index folders this machine lacks are left out of the output)
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        "django-crm==$DJANGO_CRM_VERSION" 2>&1 | { grep -v '^WARNING: Location' || true; }
fi

mkdir -p "$SITE"
cat > "$SITE/partnercrmd_test_settings.py" <<'PY'
"""BottleCRM for partnercrmd's tests: its own settings, with SQLite in $BOTTLECRM_DATA, no Redis and no mail."""

import os

from crm.settings import *  # noqa: F403

_DATA = os.environ["BOTTLECRM_DATA"]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(_DATA, "db.sqlite3")}}
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
MEDIA_ROOT = os.path.join(_DATA, "media")
STATIC_ROOT = os.path.join(_DATA, "static")
os.makedirs(STATIC_ROOT, exist_ok=True)
LOGGING["handlers"]["logfile"]["filename"] = os.path.join(_DATA, "server.log")  # noqa: F405
LOGGING["handlers"]["security_audit"]["filename"] = os.path.join(_DATA, "security_audit.log")  # noqa: F405
PY

BUILD="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
export BOTTLECRM_DATA="$BUILD" PYTHONPATH="$SITE" DJANGO_SETTINGS_MODULE="partnercrmd_test_settings"

say "migrating a new SQLite database (once; a few minutes)"
started=$SECONDS
"$VENV/bin/python" -m django migrate --noinput > "$BUILD/migrate.log" 2>&1 || {
    tail -n 30 "$BUILD/migrate.log" >&2
    say "ERROR: migrating BottleCRM's database failed (log above)." >&2
    exit 1
}
say "migrated in $((SECONDS - started)) s"

# One organisation with one admin; a personal access token with every scope and one that may only read.
"$VENV/bin/python" - > "$BUILD/seed.json" <<'PY'
import json
import sys

import django

django.setup()

from common.models import Org, PersonalAccessToken, Profile, User  # noqa: E402

org = Org.objects.create(name="Northwind Traders")
user = User.objects.create_user(email="agent@northwind.example", password="partnercrmd-tests-only")
profile = Profile.objects.create(user=user, org=org, role="ADMIN")
token, _ = PersonalAccessToken.generate(profile, "partnercrmd tests")
read_only, _ = PersonalAccessToken.generate(profile, "partnercrmd tests (read only)", scopes=["contacts:read", "interactions:read"])
json.dump({"org_id": str(org.id), "org_api_key": org.api_key, "token": token, "read_only_token": read_only}, sys.stdout)
PY

cp "$BUILD/db.sqlite3" "$CACHE/pristine.sqlite3.new"
mv "$CACHE/pristine.sqlite3.new" "$CACHE/pristine.sqlite3"
mv "$BUILD/seed.json" "$CACHE/seed.json"
echo "$PREPARED" > "$CACHE/ready"
say "ready in $CACHE"
