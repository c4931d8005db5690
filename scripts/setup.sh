#!/usr/bin/env bash
# Set up everything trainerbot needs on a fresh Debian machine with Python 3.11:
# system packages (as root), the virtualenv in .venv and the Python packages.
# Usage: scripts/setup.sh [EXTRAS]   (default: discord,voice,speech)
# Idempotent: a second run with the same pyproject.toml and extras installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-discord,voice,speech}"

# --- system packages -------------------------------------------------------
system_packages=(libopus0)
# the local-llm extra compiles llama.cpp: a C++ compiler and CMake
[[ ",$EXTRAS," == *,local-llm,* ]] && system_packages+=(g++ make cmake)
# the tests make a self-signed certificate for the early-acknowledgement client's TLS test
[[ ",$EXTRAS," == *,dev,* ]] && system_packages+=(openssl)
need=()
for pkg in "${system_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
    echo "setup: installing Debian packages: ${need[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
fi

# --- Python ------------------------------------------------------------------
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            PYTHON="$candidate"; break
        fi
    done
fi
if [ -z "$PYTHON" ]; then
    echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi

stamp_key="$(cat pyproject.toml | sha256sum | cut -c1-16)-${EXTRAS//,/_}"
stamp=".venv/.installed-$stamp_key"
if [ ! -f "$stamp" ]; then
    echo "setup: installing trainerbot[$EXTRAS] into .venv (first run takes a minute or two)"
    if [[ ",$EXTRAS," == *,local-llm,* ]] && ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
        echo "setup: the local-llm extra compiles llama.cpp from source: about 7 minutes on 2 cores," \
            "once (pip caches the wheel for later installs)"
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
