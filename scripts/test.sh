#!/usr/bin/env bash
# Installs everything the tests need (idempotent: pip and apt-get) and runs the whole suite with the linters.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (the core's, and each plugin's apt.txt); only missing ones are installed.
# The core's: a virtual display, clipboard and keyboard tools, OCR, URL-handler tools and fonts for the desktop
# tests, Chromium for the browser tests (Playwright drives it; its own browser download cannot run here),
# Firefox ESR for the extension's browser tests (WebDriver BiDi, no driver needed), certutil (libnss3-tools) for
# `partnercrmd tls` against real NSS databases, and dunst, a notification service for the approval notification's test.
# openbox: a window manager, so that the capture box's test can prove focus stays in the user's window.
# trayer: an X11 system tray host for the tray icon's test.
# x11-xserver-utils: xrdb, to set Xft.dpi (display scaling) for the screen read's scaled-display test.
APT_PACKAGES=(xvfb xclip xdotool wrk tesseract-ocr xdg-utils desktop-file-utils fonts-dejavu-core fonts-liberation libtk8.6 chromium firefox-esr libnss3-tools dunst openbox trayer x11-xserver-utils)
APT_PACKAGES+=(at-spi2-core dbus-bin python3-gi gir1.2-gtk-3.0 python3-pyqt5)  # focus dialling: a11y bus, GTK and Qt apps
for list in plugins/*/apt.txt; do
    if [ -f "$list" ]; then
        read -r -a listed <<< "$(grep -v '^#' "$list" | tr '\n' ' ')"
        APT_PACKAGES+=("${listed[@]}")
    fi
done
# Node.js and npm build the browser extension (extension/); some Node.js packages ship npm, Debian's does not.
APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The daemon and every add-in distribution under plugins/, each with its test extras.
plugin_args=()
for plugin in plugins/*/; do
    plugin_args+=(-e "${plugin%/}[test]")
done
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test]" "${plugin_args[@]}"

# The browser extension's npm packages (libphonenumber-js, esbuild) at the versions of its package-lock.json.
if [ ! -f extension/node_modules/.package-lock.json ] || ! cmp -s extension/package-lock.json extension/node_modules/.lock-installed; then
    (cd extension && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lock-installed)
fi
# The API explorer's Swagger UI (swagger-ui-dist), pinned by explorer/package-lock.json; --ignore-scripts: its
# dependency's install script would report the install to an analytics service. The built files are committed
# (partnercrmd/static/explorer/, checked against a fresh build by tests/test_api_explorer.py); built here if missing.
if [ ! -f explorer/node_modules/.package-lock.json ] || ! cmp -s explorer/package-lock.json explorer/node_modules/.lock-installed; then
    (cd explorer && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lock-installed)
fi
[ -f partnercrmd/static/explorer/swagger-ui-bundle.js ] || node explorer/build.mjs
# axe-core, pinned by tests/axe/package-lock.json: tests/test_accessibility.py injects it into every page.
if [ ! -f tests/axe/node_modules/.package-lock.json ] || ! cmp -s tests/axe/package-lock.json tests/axe/node_modules/.lock-installed; then
    (cd tests/axe && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lock-installed)
fi

# Plugins whose test servers need more than pip and apt (e.g. a venv of another Python) prepare them here.
for setup in plugins/*/tests/prepare.sh; do
    if [ -f "$setup" ]; then
        bash "$setup"
    fi
done

python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
for plugin in plugins/*/; do
    python3 -m mypy "${plugin%/}"
done
# The code that ships, type-checked as Windows and as macOS see it (sys.platform branches, os/signal/winreg stubs):
# the core package and each plugin's package (their tests, benchmarks and scripts run on Linux only).
for target in win32 darwin; do
    python3 -m mypy --platform "$target" partnercrmd
    for package in plugins/*/partnercrmd_*/__init__.py; do
        python3 -m mypy --platform "$target" "$(dirname "$package")"
    done
done
python3 -m pytest "$@"
