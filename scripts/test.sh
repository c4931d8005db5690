#!/usr/bin/env bash
# Set up and run the whole test suite: formatting, lint, types, import contracts,
# then pytest (unit, contract, adapter and end-to-end tests with the real models).
# The local-llm extra is installed too, so the tests against the real embedded llama.cpp
# server run: on a fresh machine compiling it takes about 7 minutes on 2 cores, once
# (pip caches the wheel; reinstalling from the cache takes seconds).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "dev,discord,voice,speech,charts,postgres,local-llm" || exit 1

failed=()
step() {
    local name="$1"; shift
    echo "=== $name: $*"
    if ! "$@"; then failed+=("$name"); fi
}

step format .venv/bin/ruff format --check .
step lint .venv/bin/ruff check .
step types .venv/bin/mypy
step imports .venv/bin/lint-imports

if [ -z "${TRAINERBOT_TEST_POSTGRES_URL:-}" ] && [ -x scripts/start-test-postgres.sh ]; then
    if url="$(bash scripts/start-test-postgres.sh "${TMPDIR:-/tmp}/trainerbot-test-pg")"; then
        export TRAINERBOT_TEST_POSTGRES_URL="$url"
    else
        echo "!!! PostgreSQL could not be started: the PostgreSQL contract tests will be SKIPPED"
    fi
fi

step pytest .venv/bin/pytest -q "$@"

if ((${#failed[@]})); then
    echo "FAILED steps: ${failed[*]}"
    exit 1
fi
echo "all steps passed"
