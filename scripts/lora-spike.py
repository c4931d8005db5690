"""Spike: LoRA on the embedded model, end to end on the CPU, each step timed.

The path a ``lora`` training backend would take (docs/lora.md), measured:

1. ``load``    — the base weights and the tokenizer from the bot's own GGUF
                 (``transformers`` dequantises it to float32), and the chat template
                 compared with the one in the GGUF's metadata;
2. ``train``   — a ``peft`` LoRA on a handful of rows of config/samples/bot-help.jsonl,
                 loss on the answer tokens only, the adapter saved (safetensors);
3. ``convert`` — the adapter to GGUF with llama.cpp's ``convert_lora_to_gguf.py``
                 (from the llama-cpp-python source distribution's vendored llama.cpp);
4. ``serve``   — the embedded server (``python -m llama_cpp.server``) started twice on
                 127.0.0.1, without and with ``--lora_path``; the trained questions and
                 a control asked at temperature 0; the prompt llama.cpp renders compared
                 token by token with the one trained on;
5. ``answers`` — (not run by default) the PyTorch model with the adapter, before
                 conversion, answering the same questions greedily: tells what training
                 learned apart from what conversion and llama.cpp's arithmetic changed.

Each step runs in its own child process, so its wall time and peak RSS are its own
(``os.wait4``; for the servers, ``VmHWM`` read from /proc before they are stopped).

Run it with a Python that has the ``lora`` packages (torch CPU build, transformers,
peft, gguf, sentencepiece) — not the bot's venv — and point ``--server-python`` at the
bot's venv, which has ``llama-cpp-python[server]``::

    python3 -m venv /tmp/lora-venv
    /tmp/lora-venv/bin/pip install torch==2.13.0      # the CPU build (see docs/lora.md)
    /tmp/lora-venv/bin/pip install transformers peft gguf sentencepiece numpy
    TRAINERBOT_DATA_DIR=/tmp/lora-data .venv/bin/trainerbot models pull
    .venv/bin/pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d /tmp/sd
    tar xzf /tmp/sd/llama_cpp_python-0.3.36.tar.gz -C /tmp/sd
    /tmp/lora-venv/bin/python scripts/lora-spike.py \\
        --gguf /tmp/lora-data/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --llama-cpp /tmp/sd/llama_cpp_python-0.3.36/vendor/llama.cpp \\
        --server-python .venv/bin/python --work /tmp/lora-spike

It writes ``results.json`` and ``results.md`` (the table) into ``--work`` and prints
the table. ``--steps load,train`` runs only some steps (later steps read what earlier
ones left in ``--work``); the default is ``load,train,convert,serve``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "config" / "samples" / "bot-help.jsonl"
SYSTEM_PROMPT = (  # app/settings.py DEFAULT_SYSTEM_PROMPT: what the bot sends
    "You are trainerbot, a helpful assistant in a Discord community. "
    "Answer clearly and briefly, in the language of the question. "
    "When examples of good answers are given, follow them."
)
CONTROL = "What is the capital of France?"
STEPS = ("load", "train", "convert", "serve", "answers")


def messages_for(prompt: str, answer: str | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
    if answer is not None:
        msgs.append({"role": "assistant", "content": answer})
    return msgs


def read_rows(count: int) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in SAMPLES.read_text("utf-8").splitlines() if line]
    if count < 1 or count > len(rows):
        raise SystemExit(f"--examples must be between 1 and {len(rows)} (rows in {SAMPLES})")
    return rows[:count]


# --------------------------------------------------------------------------- steps


def load_base(args: argparse.Namespace, times: dict[str, float]) -> tuple[Any, Any]:
    """The tokenizer and the float32 model from the GGUF; ``times`` gets each part's seconds."""
    t = time.perf_counter()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    times["import_seconds"] = round(time.perf_counter() - t, 1)
    gguf = Path(args.gguf)
    t = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    times["tokenizer_seconds"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    times["model_seconds"] = round(time.perf_counter() - t, 1)
    return tok, model


def step_load(args: argparse.Namespace) -> dict[str, Any]:
    import gguf as gguf_pkg
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    times: dict[str, float] = {}
    tok, model = load_base(args, times)
    seconds = time.perf_counter() - started
    work = Path(args.work)
    base_dir = work / "base-config"
    tok.save_pretrained(base_dir)
    # what convert_lora_to_gguf.py's --base reads. A config built from a GGUF names no
    # architecture (the converter picks its model class by that name) and carries
    # quantization_config {"quant_method": "gguf"}, which the converter refuses
    # ("Quant method is not yet supported"): the adapter is float, so drop it.
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["architectures"] = [type(model).__name__]
    (base_dir / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    reader = gguf_pkg.GGUFReader(args.gguf)
    field = reader.fields["tokenizer.chat_template"]
    gguf_template = bytes(field.parts[field.data[0]]).decode("utf-8")
    params = sum(p.numel() for p in model.parameters())
    return {
        "seconds": round(seconds, 1),
        **times,
        "tie_word_embeddings": bool(model.config.tie_word_embeddings),
        "dtype": str(next(model.parameters()).dtype),
        "parameters": params,
        "chat_template_same_as_gguf": tok.chat_template == gguf_template,
        "base_config_dir": str(base_dir),
    }


def encode_example(tok: Any, prompt: str, answer: str) -> tuple[list[int], list[int]]:
    """Token ids and labels: -100 (no loss) on everything but the answer and its end."""
    head = tok.apply_chat_template(messages_for(prompt), tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(messages_for(prompt, answer), tokenize=False)
    if not full.startswith(head):
        raise SystemExit("the chat template does not extend the prompt with the answer")
    # Qwen's template ends an assistant turn with "<|im_end|>\n": learn "<|im_end|>", so
    # the model stops; the newline after it is not part of the answer.
    tail = full[len(head) :].rstrip("\n")
    head_ids = tok(head, add_special_tokens=False)["input_ids"]
    tail_ids = tok(tail, add_special_tokens=False)["input_ids"]
    return head_ids + tail_ids, [-100] * len(head_ids) + tail_ids


def step_train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    times: dict[str, float] = {}
    tok, model = load_base(args, times)
    load_seconds = time.perf_counter() - t0
    rows = read_rows(args.examples)
    encoded = [encode_example(tok, r["prompt"], r["completion"]) for r in rows]
    work = Path(args.work)
    # the exact prompt the serve step compares llama.cpp's rendering with
    (work / "trained-prompts.json").write_text(
        json.dumps(
            [
                {
                    "prompt": r["prompt"],
                    "answer": r["completion"],
                    "rendered": tok.apply_chat_template(
                        messages_for(r["prompt"]), tokenize=False, add_generation_prompt=True
                    ),
                    "ids": ids[: next(i for i, x in enumerate(labels) if x != -100)],
                }
                for r, (ids, labels) in zip(rows, encoded, strict=True)
            ],
            ensure_ascii=False,
            indent=1,
        ),
        "utf-8",
    )
    config = LoraConfig(
        r=args.rank,
        lora_alpha=2 * args.rank,
        lora_dropout=0.0,
        target_modules=args.targets.split(","),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model.train()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    losses: list[float] = []
    tokens = 0
    answer_tokens = 0
    step_seconds: list[float] = []
    train_started = time.perf_counter()
    train_cpu_started = time.process_time()  # all threads of this process
    for epoch in range(args.epochs):
        epoch_losses = []
        for ids, labels in encoded:  # batch of one: no padding, exact token counts
            s = time.perf_counter()
            out = model(
                input_ids=torch.tensor([ids]),
                labels=torch.tensor([labels]),
            )
            out.loss.backward()
            optim.step()
            optim.zero_grad(set_to_none=True)
            step_seconds.append(time.perf_counter() - s)
            epoch_losses.append(out.loss.item())
            print(
                f"step {len(step_seconds)}: loss {epoch_losses[-1]:.4f}, "
                f"{len(ids)} tokens in {step_seconds[-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            tokens += len(ids)
            answer_tokens += sum(1 for x in labels if x != -100)
        mean = sum(epoch_losses) / len(epoch_losses)
        losses.append(round(mean, 4))
        print(f"epoch {epoch + 1}/{args.epochs}: mean loss {mean:.4f}", file=sys.stderr, flush=True)
    train_seconds = time.perf_counter() - train_started
    train_cpu_seconds = time.process_time() - train_cpu_started
    adapter_dir = work / "adapter"
    s = time.perf_counter()
    model.save_pretrained(adapter_dir)
    save_seconds = time.perf_counter() - s
    adapter_bytes = sum(f.stat().st_size for f in adapter_dir.iterdir() if f.is_file())
    return {
        "load_seconds": round(load_seconds, 1),
        **times,
        "examples": len(rows),
        "epochs": args.epochs,
        "steps": len(step_seconds),
        "threads": args.threads,
        "rank": args.rank,
        "targets": args.targets,
        "lr": args.lr,
        "trainable_parameters": trainable,
        "tokens_per_epoch": sum(len(i) for i, _ in encoded),
        "answer_tokens_per_epoch": sum(sum(1 for x in lab if x != -100) for _, lab in encoded),
        "train_seconds": round(train_seconds, 1),
        "tokens_per_second": round(tokens / train_seconds, 1),
        # less dependent on what else runs on the machine than tokens per wall second
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "tokens_per_cpu_second": round(tokens / train_cpu_seconds, 2),
        "answer_tokens_per_second": round(answer_tokens / train_seconds, 2),
        "first_step_seconds": round(step_seconds[0], 2),
        "median_step_seconds": round(sorted(step_seconds)[len(step_seconds) // 2], 2),
        "loss_by_epoch": losses,
        "save_seconds": round(save_seconds, 2),
        "adapter_dir": str(adapter_dir),
        "adapter_bytes": adapter_bytes,
    }


def step_convert(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    llama_cpp = Path(args.llama_cpp)
    out = work / "adapter.gguf"
    env = dict(os.environ)
    # the vendored gguf-py matches the converter; put it before any installed gguf
    env["PYTHONPATH"] = os.pathsep.join([str(llama_cpp / "gguf-py"), env.get("PYTHONPATH", "")])
    cmd = [
        sys.executable,
        str(llama_cpp / "convert_lora_to_gguf.py"),
        "--base",
        str(work / "base-config"),
        "--outfile",
        str(out),
        "--outtype",
        args.outtype,
        str(work / "adapter"),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    (work / "convert.log").write_text(proc.stdout + proc.stderr, "utf-8")
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise SystemExit("convert_lora_to_gguf.py failed:\n" + "\n".join(tail))
    return {
        "seconds": round(seconds, 1),
        "outtype": args.outtype,
        "adapter_gguf": str(out),
        "adapter_gguf_bytes": out.stat().st_size,
        "command": " ".join(cmd),
    }


def step_answers(args: argparse.Namespace) -> dict[str, Any]:
    """Greedy answers of the trained PyTorch model (base + adapter, before conversion),
    to tell a conversion or serving difference from what training itself learned."""
    import torch
    from peft import PeftModel

    torch.set_num_threads(args.threads)
    times: dict[str, float] = {}
    tok, model = load_base(args, times)
    work = Path(args.work)
    model = PeftModel.from_pretrained(model, work / "adapter")
    model.eval()
    trained = json.loads((work / "trained-prompts.json").read_text("utf-8"))
    questions = [t["prompt"] for t in trained] + [CONTROL]
    answers = []
    started = time.perf_counter()
    new_tokens = 0
    with torch.no_grad():
        for q in questions:
            ids = tok.apply_chat_template(
                messages_for(q), add_generation_prompt=True, return_tensors="pt"
            )
            if not isinstance(ids, torch.Tensor):  # transformers 5 returns a BatchEncoding
                ids = ids["input_ids"]
            out = model.generate(ids, max_new_tokens=args.max_new_tokens, do_sample=False)
            gen = out[0, ids.shape[1] :]
            new_tokens += int(gen.shape[0])
            answers.append(tok.decode(gen, skip_special_tokens=True).strip())
    return {
        **times,
        "generation_tokens_per_second": round(new_tokens / (time.perf_counter() - started), 1),
        "answers": [{"question": q, "answer": a} for q, a in zip(questions, answers, strict=True)],
    }


# ----------------------------------------------------------------------- serving


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = round(int(value.split()[0]) / 1024, 1)  # kB → MB
    return out


def post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def serve_once(args: argparse.Namespace, lora: Path | None, questions: list[str]) -> dict[str, Any]:
    port = free_port()
    cmd = [
        args.server_python,
        "-m",
        "llama_cpp.server",
        "--model",
        args.gguf,
        "--model_alias",
        "local-model",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        str(args.threads),
    ]
    if lora is not None:
        cmd += ["--lora_path", str(lora)]
    log = Path(args.work) / ("server-lora.log" if lora else "server-base.log")
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:  # poll /v1/models with a bounded deadline
            if proc.poll() is not None:
                raise SystemExit(f"the server exited while loading; see {log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer within 180 s; see {log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        ready = time.perf_counter() - started
        after_start = proc_status(proc.pid)
        answers = []
        gen_started = time.perf_counter()
        completion_tokens = 0
        for q in questions:
            body = {
                "model": "local-model",
                "messages": messages_for(q),
                "temperature": 0,
                "max_tokens": 64,
                "seed": 0,
            }
            data = post_json(f"http://127.0.0.1:{port}/v1/chat/completions", body, 120)
            answers.append(data["choices"][0]["message"]["content"].strip())
            completion_tokens += int(data["usage"]["completion_tokens"])
        gen_seconds = time.perf_counter() - gen_started
        after_answers = proc_status(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {
        "ready_seconds": round(ready, 1),
        "memory_after_start_mb": after_start,
        "memory_after_answers_mb": after_answers,
        "generation_tokens_per_second": round(completion_tokens / gen_seconds, 1),
        "answers": answers,
    }


def rendered_by_llama_cpp(args: argparse.Namespace) -> dict[str, Any]:
    """How the server would render the trained prompts: its own chat-format choice."""
    code = r"""
import json, sys
from llama_cpp import Llama, llama_chat_format
llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
items = json.loads(open(sys.argv[2], encoding="utf-8").read())
eos = llm._model.token_get_text(llm.token_eos())
bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
fmt = llama_chat_format.Jinja2ChatFormatter(
    template=llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
out = []
for it in items:
    msgs = json.loads(it["messages"])
    prompt = fmt(messages=msgs).prompt
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    out.append({"rendered": prompt, "ids": ids})
print(json.dumps({"chat_format": llm.chat_format, "items": out}))
"""
    work = Path(args.work)
    trained = json.loads((work / "trained-prompts.json").read_text("utf-8"))
    req = work / "render-request.json"
    req.write_text(
        json.dumps(
            [
                {"messages": json.dumps(messages_for(t["prompt"]), ensure_ascii=False)}
                for t in trained
            ]
        ),
        "utf-8",
    )
    proc = subprocess.run(
        [args.server_python, "-c", code, args.gguf, str(req)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    same_text = all(
        g["rendered"] == t["rendered"] for g, t in zip(got["items"], trained, strict=True)
    )
    same_ids = all(g["ids"] == t["ids"] for g, t in zip(got["items"], trained, strict=True))
    return {"server_chat_format": got["chat_format"], "same_text": same_text, "same_ids": same_ids}


def step_serve(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    trained = json.loads((work / "trained-prompts.json").read_text("utf-8"))
    questions = [t["prompt"] for t in trained] + [CONTROL]
    template = rendered_by_llama_cpp(args)
    base = serve_once(args, None, questions)
    lora = serve_once(args, work / "adapter.gguf", questions)
    rows = []
    for i, q in enumerate(questions):
        expected = trained[i]["answer"] if i < len(trained) else None
        rows.append(
            {
                "question": q,
                "expected": expected,
                "base": base["answers"][i],
                "lora": lora["answers"][i],
                "lora_exact": expected is not None and lora["answers"][i] == expected,
                "base_exact": expected is not None and base["answers"][i] == expected,
            }
        )
    for side in (base, lora):
        del side["answers"]
    return {
        "template": template,
        "base_server": base,
        "lora_server": lora,
        "answers": rows,
        "lora_exact_answers": sum(r["lora_exact"] for r in rows),
        "base_exact_answers": sum(r["base_exact"] for r in rows),
        "trained_questions": len(trained),
    }


# ---------------------------------------------------------------------- driver

RUNNERS = {
    "load": step_load,
    "train": step_train,
    "convert": step_convert,
    "serve": step_serve,
    "answers": step_answers,
}


def run_child(step: str, argv: list[str], work: Path) -> dict[str, Any]:
    """Run one step in a child process; its wall time and peak RSS (children included)."""
    out = work / f"{step}.json"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, __file__, "--child", step, *argv])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    if os.waitstatus_to_exitcode(status) != 0 or not out.exists():
        raise SystemExit(f"step {step} failed (exit {os.waitstatus_to_exitcode(status)})")
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    result["wall_seconds"] = round(wall, 1)
    # ru_maxrss of the child (its largest descendant for convert/serve: the servers'
    # own VmHWM is in the serve result)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
    # the machine's 1-minute load before and after: other work on the 2 cores slows a step
    result["load_average"] = [round(load_before, 2), round(load_after, 2)]
    return result


def table(results: dict[str, Any]) -> str:
    lines = ["| step | wall s | peak RSS MB | what |", "|---|---:|---:|---|"]
    if "load" in results:
        r = results["load"]
        lines.append(
            f"| load base from GGUF | {r['wall_seconds']} | {r['peak_rss_mb']} | "
            f"from_pretrained {r['seconds']} s, {r['parameters']:,} params {r['dtype']}; "
            f"chat template = GGUF's: {r['chat_template_same_as_gguf']} |"
        )
    if "train" in results:
        r = results["train"]
        lines.append(
            f"| train LoRA | {r['wall_seconds']} | {r['peak_rss_mb']} | "
            f"{r['examples']} examples × {r['epochs']} epochs = {r['steps']} steps, "
            f"{r['threads']} threads, r={r['rank']} on {r['targets']}; "
            f"{r['tokens_per_second']} tok/s ({r['answer_tokens_per_second']} answer tok/s), "
            f"{r['train_seconds']} s training; loss by epoch {r['loss_by_epoch']}; "
            f"adapter {r['adapter_bytes']:,} B |"
        )
    if "convert" in results:
        r = results["convert"]
        lines.append(
            f"| convert to GGUF | {r['wall_seconds']} | {r['peak_rss_mb']} | "
            f"{r['outtype']}, {r['adapter_gguf_bytes']:,} B |"
        )
    if "serve" in results:
        r = results["serve"]
        b, lo = r["base_server"], r["lora_server"]
        lines.append(
            f"| serve base | {b['ready_seconds']} | {b['memory_after_answers_mb'].get('VmHWM')} | "
            f"{b['generation_tokens_per_second']} tok/s; RSS after answers "
            f"{b['memory_after_answers_mb']} |"
        )
        lines.append(
            f"| serve base + LoRA | {lo['ready_seconds']} | "
            f"{lo['memory_after_answers_mb'].get('VmHWM')} | "
            f"{lo['generation_tokens_per_second']} tok/s; RSS after answers "
            f"{lo['memory_after_answers_mb']} |"
        )
        lines.append("")
        lines.append(
            f"Trained answers reproduced exactly: base {r['base_exact_answers']}/"
            f"{r['trained_questions']}, with the adapter {r['lora_exact_answers']}/"
            f"{r['trained_questions']}. Template: {r['template']}."
        )
        lines.append("")
        lines.append("| question | expected | base | base + LoRA |")
        lines.append("|---|---|---|---|")
        for a in r["answers"]:
            cells = [a["question"], a["expected"] or "(control)", a["base"], a["lora"]]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            )
    if "answers" in results:
        r = results["answers"]
        lines.append("")
        lines.append(
            f"PyTorch base + adapter, greedy, before conversion "
            f"({r['generation_tokens_per_second']} tok/s):"
        )
        lines.append("")
        lines.append("| question | answer |")
        lines.append("|---|---|")
        for a in r["answers"]:
            cells = [a["question"], a["answer"]]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gguf", required=True, help="the embedded model's GGUF file")
    p.add_argument("--llama-cpp", help="the vendored llama.cpp folder (for convert)")
    p.add_argument("--server-python", help="a Python with llama-cpp-python[server] (for serve)")
    p.add_argument("--work", required=True, help="folder for the adapter, logs and results")
    p.add_argument("--steps", default=",".join(STEPS[:4]))
    p.add_argument("--examples", type=int, default=8)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--max-new-tokens", type=int, default=40, help="for the answers step")
    p.add_argument("--outtype", default="f16", choices=["f32", "f16", "bf16", "q8_0"])
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not Path(args.gguf).is_file():
        raise SystemExit(f"--gguf {args.gguf}: no such file (run `trainerbot models pull`)")
    if args.child:
        result = RUNNERS[args.child](args)
        (work / f"{args.child}.json").write_text(json.dumps(result, ensure_ascii=False), "utf-8")
        return
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise SystemExit(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")
    if "convert" in steps and not args.llama_cpp:
        raise SystemExit("--llama-cpp is needed for convert (the vendored llama.cpp folder)")
    if "serve" in steps and not args.server_python:
        raise SystemExit("--server-python is needed for serve (the bot's venv python)")
    argv = [a for a in sys.argv[1:]]
    results_file = work / "results.json"
    results: dict[str, Any] = (
        json.loads(results_file.read_text("utf-8")) if results_file.exists() else {}
    )
    for step in steps:
        print(f"== {step}", file=sys.stderr, flush=True)
        results[step] = run_child(step, argv, work)
        results_file.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    md = table(results)
    (work / "results.md").write_text(md + "\n", "utf-8")
    print(md)


if __name__ == "__main__":
    main()
