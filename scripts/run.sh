#!/usr/bin/env bash
# Set up and run the bot's main job: on Discord when TRAINERBOT_DISCORD__TOKEN is set
# (in the environment or .env), otherwise the terminal chat. Extra arguments go to
# `trainerbot run`.
# Without a language model endpoint (TRAINERBOT_LLM__BASE_URL, in the environment or .env)
# the bot answers with the embedded local LLM: the first run installs the local-llm extra
# (compiling llama.cpp takes about 7 minutes on 2 cores, once) and pulls its model (a few
# seconds, once); later runs start right away.
set -euo pipefail
cd "$(dirname "$0")/.."

# A setting from the environment, else from .env (last assignment wins), else empty.
setting() {
    local name="$1" value="${!1:-}"
    if [ -z "$value" ] && [ -f .env ]; then
        value="$(sed -n "s/^[[:space:]]*${name}=//p" .env | tail -n 1 | tr -d "\"' \r")"
    fi
    printf '%s' "$value"
}

extras="discord,voice,speech,charts"
local_llm=0
if [ -z "$(setting TRAINERBOT_LLM__BASE_URL)" ] && [ "$(setting TRAINERBOT_LOCAL_LLM__ENABLED)" != "false" ]; then
    extras="$extras,local-llm"
    local_llm=1
fi
bash scripts/setup.sh "$extras"
if ((local_llm)); then
    .venv/bin/trainerbot models pull || echo "run: the embedded model could not be pulled (see above)"
fi
exec .venv/bin/trainerbot run "$@"
