"""A stand-in for ``python -m llama_cpp.server``: same options, serves ``GET /v1/models``.

Test-only flags change its behaviour:
  --start-delay S    listen only after S seconds (a model that loads slowly)
  --exit-code N      exit with N right away, before listening (a broken model)
  --ignore-sigterm   keep running on SIGTERM (only SIGKILL stops it)
  --pid-file PATH    write the pid there first thing
  --fail-if-exists P behave like --exit-code 4 when the file P exists (a later start fails)
  --die-mid-answer P answering while the file P does not exist: create it and SIGKILL
                     itself after three pieces of the streamed answer (the next start answers)

``POST /v1/chat/completions`` streams an answer (``echo: <question>``, word by word) as
server-sent events, or returns it whole.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in (
        "--model",
        "--model_alias",
        "--host",
        "--n_ctx",
        "--n_threads",
        "--interrupt_requests",
    ):
        parser.add_argument(option, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--start-delay", type=float, default=0.0)
    parser.add_argument("--exit-code", type=int, default=None)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--pid-file", default=None)
    parser.add_argument("--fail-if-exists", default=None)
    parser.add_argument("--die-mid-answer", default=None)
    args = parser.parse_args()

    if args.pid_file:
        with open(args.pid_file, "w") as out:
            out.write(str(os.getpid()))
    if args.fail_if_exists and os.path.exists(args.fail_if_exists):
        args.exit_code = 4

    print(
        f"fake llama server: model {args.model} threads {args.n_threads} "
        f"interrupt_requests {args.interrupt_requests} port env {os.environ.get('PORT')}",
        flush=True,
    )
    if args.exit_code is not None:
        print("error: failed to load model", file=sys.stderr, flush=True)
        return int(args.exit_code)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(args.start_delay)

    alias = args.model_alias

    def die_mid_answer() -> bool:
        mark = args.die_mid_answer
        if not mark or os.path.exists(mark):
            return False
        with open(mark, "w") as out:
            out.write("killed mid-answer")
        return True

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/v1/models":
                self.send_error(404)
                return
            body = json.dumps(
                {"object": "list", "data": [{"id": alias, "object": "model", "owned_by": "me"}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            question = str(body["messages"][-1]["content"])
            words = f"echo: {question}".split(" ")
            if not body.get("stream"):
                self._json(completion(alias, " ".join(words)))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for index, word in enumerate(words):
                if index == 3 and die_mid_answer():
                    os.kill(os.getpid(), signal.SIGKILL)
                piece = word if index == 0 else " " + word
                self._event(chunk(alias, {"content": piece}, None))
            self._event(chunk(alias, {}, "stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, data: dict[str, object]) -> None:
            self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, data: dict[str, object]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            print("request:", format % args, file=sys.stderr, flush=True)

    try:
        server = ThreadingHTTPServer((args.host, args.port), Handler)
    except OSError as exc:
        print(f"ERROR: [Errno {exc.errno}] {exc.strerror}", file=sys.stderr, flush=True)
        return 1
    print(f"listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


def chunk(model: str, delta: dict[str, str], finish: str | None) -> dict[str, object]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def completion(model: str, text: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


if __name__ == "__main__":
    sys.exit(main())
