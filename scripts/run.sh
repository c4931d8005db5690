#!/usr/bin/env bash
# Set up and run the bot's main job: on Discord when TRAINERBOT_DISCORD__TOKEN is set
# (in the environment or .env), otherwise the terminal chat. Extra arguments go to
# `trainerbot run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "discord,voice,speech"
exec .venv/bin/trainerbot run "$@"
