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

# llama.cpp is compiled for a portable x86-64 baseline (AVX2, FMA, F16C), not with
# -march=native: a native build uses every instruction the CPU reports, and on machines
# whose CPU reports AMX but whose kernel or sandbox does not grant it, the first answer
# dies with a general protection fault in libggml-cpu. The wheel is built once per
# version and flag set into our own cache (pip's wheel cache does not key on CMAKE_ARGS,
# so a wheel built with other flags could come back from it).
LLAMA_CPP_SPEC="llama-cpp-python>=0.3"
LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
install_llama_cpp() {
    local flags_key wheels
    flags_key="$(printf '%s|%s' "$LLAMA_CPP_SPEC" "$LLAMA_CPP_CMAKE_ARGS" | sha256sum | cut -c1-16)"
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/trainerbot/llama-cpp-wheels/$flags_key"
    if ! compgen -G "$wheels/llama_cpp_python-*.whl" >/dev/null; then
        echo "setup: compiling llama.cpp (portable AVX2 build) into $wheels"
        mkdir -p "$wheels"
        CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" .venv/bin/python -m pip wheel --quiet --no-cache-dir \
            --no-deps -w "$wheels" "$LLAMA_CPP_SPEC"
    fi
    .venv/bin/python -m pip install --quiet --no-deps "$(ls -t "$wheels"/llama_cpp_python-*.whl | head -n 1)"
}

stamp_key="$(cat pyproject.toml | sha256sum | cut -c1-16)-${EXTRAS//,/_}"
stamp=".venv/.installed-$stamp_key"
if [ ! -f "$stamp" ]; then
    echo "setup: installing trainerbot[$EXTRAS] into .venv (first run takes a minute or two)"
    if [[ ",$EXTRAS," == *,local-llm,* ]] && ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
        echo "setup: the local-llm extra compiles llama.cpp from source: about 7 minutes on 2 cores," \
            "once (pip caches the wheel for later installs)"
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [[ ",$EXTRAS," == *,local-llm,* ]] && ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
        install_llama_cpp
    fi
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
