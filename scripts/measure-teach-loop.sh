#!/usr/bin/env bash
# Measure the teach loop on the embedded local LLM with the shipped sample (config/samples/):
# evaluate the base version on the held-back test set, train the `local` backend on the
# sample dataset, evaluate the trained version, compare. Numbers for docs/teach-loop.md.
#
# Needs the local-llm extra (bash scripts/setup.sh dev,local-llm). Usage:
#   bash scripts/measure-teach-loop.sh
# Environment knobs (defaults in brackets):
#   TEMPERATURE [0]   sampling temperature (the bot's own default is 0.3)
#   MAX_TOKENS  [96]  longest answer, in tokens
#   OUT         [var/teach-loop]  where the reports are copied (emptied first)
#   KEEP=1            keep the temporary data directory (its path is printed)
# Every run starts from a fresh temporary data directory, so it is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=config/samples
OUT="${OUT:-var/teach-loop}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/trainerbot-teach-XXXXXX")"
if [[ "${KEEP:-0}" == 1 ]]; then
    echo "data directory: $DATA (kept)"
else
    trap 'rm -rf "$DATA"' EXIT
fi

unset TRAINERBOT_LLM__BASE_URL TRAINERBOT_LLM__MODEL
export TRAINERBOT_DATA_DIR="$DATA" \
    TRAINERBOT_LOCAL_LLM__ENABLED=true \
    TRAINERBOT_EVALUATION__CONCURRENCY=1 \
    TRAINERBOT_LLM__TEMPERATURE="${TEMPERATURE:-0}" \
    TRAINERBOT_LLM__MAX_TOKENS="${MAX_TOKENS:-96}" \
    TRAINERBOT_LLM__TIMEOUT=120 \
    TRAINERBOT_LOG__LEVEL=WARNING \
    COLUMNS=200
tb() { .venv/bin/trainerbot "$@"; }
BASE=local-model # the embedded model's alias (TRAINERBOT_LLM__MODEL's default)

echo "temperature ${TRAINERBOT_LLM__TEMPERATURE}, max tokens ${TRAINERBOT_LLM__MAX_TOKENS}"
tb models pull >/dev/null
tb dataset import bot-help "$SAMPLES/bot-help.jsonl"
tb dataset import bot-help "$SAMPLES/bot-help-topics.json"
tb dataset select bot-help
# (not `tb models list | grep -q`: with pipefail, grep leaving early fails the pipe)
grep -q "$BASE (base)" <<<"$(tb models list)" || { echo "base version $BASE not found" >&2; exit 1; }

run_id() { grep -oE 'Run [0-9a-f]{32}' | head -1 | cut -d' ' -f2; }
started=$EPOCHREALTIME
before_out="$(tb eval run "$SAMPLES/bot-help-tests.jsonl" --version "$BASE" --name before)"
echo "$before_out"
before="$(run_id <<<"$before_out")"
tb train start
after_out="$(tb eval run "$SAMPLES/bot-help-tests.jsonl" --name after)"
echo "$after_out"
after="$(run_id <<<"$after_out")"
compare_out="$(tb eval compare "$before" "$after")"
echo "$compare_out"
awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "evaluate, train, evaluate, compare: %.0f s\n", b - a }'

rm -rf "$OUT" && mkdir -p "$OUT"
report="$(grep -oE 'Report: .*' <<<"$compare_out" | cut -d' ' -f2- | tr -d ',')"
for name in $report; do cp "$DATA/artifacts/$name" "$OUT/"; done
echo "reports copied to $OUT: $report"

# Per-language breakdown from the comparison's JSON report (case names start en- / ru-).
.venv/bin/python - "$OUT" <<'EOF'
import json
import sys
from pathlib import Path

report = json.loads(next(Path(sys.argv[1]).glob("*.json")).read_text(encoding="utf-8"))
print("language  kind      before  after")
for lang in ("en", "ru"):
    for kind in ("expected", "label"):
        cases = [
            c for c in report["cases"]
            if (c["name"] or "").startswith(lang + "-") and c["after"][kind] is not None
        ]
        if not cases:
            continue
        b = sum(c["before"]["passed"] for c in cases)
        a = sum(c["after"]["passed"] for c in cases)
        print(f"{lang:<9} {kind:<9} {b:>2}/{len(cases):<4} {a:>2}/{len(cases)}")
EOF
