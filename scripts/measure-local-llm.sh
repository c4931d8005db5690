#!/usr/bin/env bash
# Measure the embedded local LLM on this machine: `models pull` (first and second time),
# server start-up, time to first token, tokens/s and the server's memory.
# Needs the local-llm extra (bash scripts/setup.sh dev,local-llm). Usage:
#   bash scripts/measure-local-llm.sh [MAX_TOKENS] [N_THREADS]   (default 128 and 0: one per CPU)
# Numbers for docs/local-llm.md. Uses a temporary data directory; removes it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_TOKENS="${1:-128}"
N_THREADS="${2:-0}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/trainerbot-measure-XXXXXX")"
trap 'rm -rf "$DATA"' EXIT
export TRAINERBOT_DATA_DIR="$DATA" TRAINERBOT_LOG__LEVEL=WARNING
unset TRAINERBOT_LLM__BASE_URL

for round in first second; do
    start=$EPOCHREALTIME
    .venv/bin/trainerbot models pull >/dev/null
    awk -v a="$start" -v b="$EPOCHREALTIME" -v r="$round" \
        'BEGIN { printf "models pull (%s time): %.2f s\n", r, b - a }'
done

.venv/bin/python - "$MAX_TOKENS" "$N_THREADS" <<'EOF'
import asyncio
import sys
import time
from pathlib import Path

from adapters.llama_server import LlamaServer, LlamaServerConfig
from adapters.llm_openai import OpenAIChatModel
from app.logging import configure_logging
from app.settings import Settings
from domain.models import ChatMessage, GenerationOptions, Role

MAX_TOKENS = int(sys.argv[1])
N_THREADS = int(sys.argv[2])
QUESTION = [
    ChatMessage(role=Role.SYSTEM, content="You are a helpful assistant."),
    ChatMessage(role=Role.USER, content="Explain in a few sentences what a Discord bot is."),
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    settings = Settings()
    configure_logging(level="WARNING", fmt="console")
    model = settings.models_dir / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    config = LlamaServerConfig(model_path=model, model_alias="local-model", n_threads=N_THREADS)
    server = LlamaServer(config=config)
    print(f"threads: {config.threads}")
    started = time.perf_counter()
    await server.start()
    print(f"server start-up (spawn to healthy): {time.perf_counter() - started:.2f} s")
    assert server.pid is not None
    print(f"server memory after start: {rss_mb(server.pid):.0f} MB RSS")
    llm = OpenAIChatModel(base_url=server.base_url, api_key="", timeout=120, max_retries=0)
    options = GenerationOptions(temperature=0.0, max_tokens=MAX_TOKENS)
    try:
        for attempt in ("cold", "warm"):
            # llama.cpp's server streams one token per piece and reports no usage there
            sent = time.perf_counter()
            first = None
            pieces = 0
            async for chunk in llm.stream(QUESTION, model="local-model", options=options):
                if chunk.text:
                    first = first or time.perf_counter()
                    pieces += 1
            done = time.perf_counter()
            assert first is not None
            rate = (pieces - 1) / (done - first) if pieces > 1 else float("nan")
            print(
                f"{attempt} stream: first token {first - sent:.2f} s, {pieces} pieces, "
                f"{rate:.1f} tokens/s after the first"
            )
        sent = time.perf_counter()
        whole = await llm.complete(QUESTION, model="local-model", options=options)
        seconds = time.perf_counter() - sent
        print(
            f"whole answer: {whole.usage.completion_tokens} tokens in {seconds:.2f} s "
            f"({whole.usage.completion_tokens / seconds:.1f} tokens/s, prompt included)"
        )
        print(f"server memory after generating: {rss_mb(server.pid):.0f} MB RSS")
    finally:
        await llm.aclose()
        await server.aclose()


asyncio.run(main())
EOF
