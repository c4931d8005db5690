"""Taught facts asked in other words: retrieval recall and answers, BM25 vs hybrid.

    .venv/bin/python -m bench.bench_paraphrase [--no-e2e] [--time-limit S] [--out F.json]

Data: ``bench/data/paraphrase_facts.jsonl`` (see ``bench/data/README.md``):
invented server facts, each taught as one question and asked as paraphrases,
and control questions about nothing taught.

Retrieval (always): a memory of the facts plus ``--filler`` synthetic support
questions (``bench.bench_retrieval``'s generator) is built through the real
``LocalTrainingBackend``; each paraphrase is searched (k=4) by BM25 alone
(``HybridExampleMemory(vectors=False)``, what a format-1 memory gets) and by
the hybrid retriever. Reported: recall@1 and @4, controls with a hit above the
close-match threshold and with any hit at all, search time. Latency is also
measured at ``--big`` examples; embedding that many fillers would take half
an hour here, so their vectors are the small memory's filler vectors with
noise (cosine ~0.95 to the original) — the facts' vectors are real.

End to end (unless ``--no-e2e``; needs the ``local-llm`` extra): the embedded
llama.cpp server answers every paraphrase and control through the real
``ChatService.answer_once`` (so the prompt is whatever ``domain/prompting.py``
builds) at temperature 0, with the base version (no memory), BM25 only and
hybrid. A paraphrase passes when the answer holds every ``require`` phrase; a
control is polluted when it holds any ``forbid`` phrase (``domain.scoring``'s
whole-phrase match).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend
from adapters.example_memory.embedding import E5Embedder
from adapters.example_memory.layout import passage_text
from adapters.example_memory.retrieval import CLOSE_MATCH, SIMILARITY_FLOOR
from bench.bench_retrieval import Generator, make_examples
from domain.models import (
    Actor,
    ChatMessage,
    Example,
    ExampleSource,
    JobStatus,
    ModelVersion,
    Role,
    TrainingJob,
)
from domain.scoring import has_phrase

DATA = Path(__file__).parent / "data" / "paraphrase_facts.jsonl"
MODELS = Path(__file__).resolve().parents[1] / "config" / "models.toml"
K = 4


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    lang: str
    question: str
    answer: str
    require: tuple[str, ...]
    paraphrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    lang: str
    question: str
    forbid: tuple[str, ...]


def load(path: Path) -> tuple[list[Fact], list[Control]]:
    facts, controls = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "control" in row:
            controls.append(Control(row["id"], row["lang"], row["control"], tuple(row["forbid"])))
        else:
            facts.append(
                Fact(
                    row["id"],
                    row["lang"],
                    row["question"],
                    row["answer"],
                    tuple(row["require"]),
                    tuple(row["paraphrases"]),
                )
            )
    return facts, controls


def fact_examples(facts: Sequence[Fact]) -> list[Example]:
    now = datetime.now(UTC)
    return [
        Example(
            id=f"fact-{f.id}",
            dataset="bench",
            messages=(ChatMessage(Role.USER, f.question),),
            answer=f.answer,
            source=ExampleSource.MANUAL,
            created_at=now,
        )
        for f in facts
    ]


def filler_examples(n: int, seed: int) -> list[Example]:
    return make_examples(Generator(seed), n)[0] if n else []


class NoisyFiller:
    """The real embedder for the facts; for filler texts, known vectors with noise."""

    def __init__(self, real: E5Embedder, pool: np.ndarray, fillers: set[str], seed: int) -> None:
        self._real, self._pool, self._fillers = real, pool, fillers
        self._rng = np.random.default_rng(seed)
        self.dim = real.dim

    @property
    def description(self) -> str:
        return self._real.description

    def _embed(self, texts: Sequence[str], real: Any) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        mine = [i for i, t in enumerate(texts) if t in self._fillers]
        rest = [i for i, t in enumerate(texts) if t not in self._fillers]
        if rest:
            out[rest] = real([texts[i] for i in rest])
        if mine:
            base = self._pool[self._rng.integers(0, self._pool.shape[0], len(mine))]
            noisy = base + 0.33 * self._rng.normal(size=base.shape) / np.sqrt(self.dim)
            out[mine] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        return out

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._real.queries)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._real.passages)


async def build(root: Path, examples: Sequence[Example], embedder: Any = None) -> str:
    now = datetime.now(UTC)
    job = TrainingJob(
        id=f"bench-{len(examples)}", dataset="bench", backend="local", status=JobStatus.RUNNING,
        created_by=Actor("bench", "bench", is_trainer=True), created_at=now,
        example_count=len(examples),
    )  # fmt: skip
    backend = LocalTrainingBackend(root=root, embedder=embedder)

    async def report(fraction: float, message: str) -> None:
        pass

    try:
        outcome = await backend.train(
            job, examples, base=ModelVersion("base", "base", now), report=report
        )
    finally:
        await backend.aclose()
    assert outcome.memory is not None
    return outcome.memory


def pct(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def retrieval_round(
    root: Path, name: str, facts: Sequence[Fact], controls: Sequence[Control]
) -> dict[str, Any]:
    """Recall, controls and search times of BM25 alone and hybrid on one memory."""
    result: dict[str, Any] = {}
    for mode, memory in (
        ("bm25", HybridExampleMemory(root=root, vectors=False)),
        ("hybrid", HybridExampleMemory(root=root)),
    ):
        try:
            await memory.search(name, "warm up", k=K)
            at1 = at4 = asked = 0
            per_lang: dict[str, list[int]] = {}
            ms: list[float] = []
            own_similarity: list[float] = []
            for fact in facts:
                for question in fact.paraphrases:
                    t0 = time.perf_counter()
                    found = await memory.search(name, question, k=K)
                    ms.append((time.perf_counter() - t0) * 1000)
                    ids = [r.example.id for r in found]
                    want = f"fact-{fact.id}"
                    asked += 1
                    at1 += bool(ids) and ids[0] == want
                    at4 += want in ids
                    per_lang.setdefault(fact.lang, [0, 0])
                    per_lang[fact.lang][0] += want in ids
                    per_lang[fact.lang][1] += 1
                    own_similarity += [
                        r.similarity for r in found if r.example.id == want and r.similarity
                    ]
            close = any_hit = 0
            control_best: list[float] = []
            for control in controls:
                found = await memory.search(name, control.question, k=K)
                facts_found = [r for r in found if r.example.id.startswith("fact-")]
                any_hit += bool(facts_found)
                best = max((r.similarity or 0.0 for r in facts_found), default=0.0)
                control_best.append(best)
                close += best >= CLOSE_MATCH
            result[mode] = {
                "recall_at_1": at1 / asked,
                "recall_at_4": at4 / asked,
                "recall_at_4_by_language": {k: v[0] / v[1] for k, v in per_lang.items()},
                "paraphrases": asked,
                "controls": len(controls),
                "controls_with_a_fact_hit": any_hit,
                "controls_with_a_close_fact_hit": close,
                "search_ms_p50": pct(ms, 50),
                "search_ms_p99": pct(ms, 99),
                "own_similarity_min": min(own_similarity, default=None),
                "control_best_similarity_max": max(control_best, default=None),
            }
        finally:
            await memory.aclose()
    return result


def embed_ms(embedder: E5Embedder, questions: Sequence[str]) -> dict[str, float]:
    embedder.query("warm up")
    ms = []
    for q in questions:
        t0 = time.perf_counter()
        embedder.query(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return {"p50": pct(ms, 50), "p99": pct(ms, 99)}


# --------------------------------------------------------------------------- end to end


async def end_to_end(
    root: Path,
    name: str,
    facts: Sequence[Fact],
    controls: Sequence[Control],
    *,
    data_dir: Path,
    max_tokens: int,
    deadline: float,
    modes: Sequence[str] = ("base", "bm25", "hybrid"),
) -> dict[str, Any]:
    os.environ["TRAINERBOT_DATA_DIR"] = str(data_dir)
    os.environ["TRAINERBOT_LLM__TEMPERATURE"] = "0"
    os.environ["TRAINERBOT_LLM__MAX_TOKENS"] = str(max_tokens)
    from adapters.llama_server import missing_server_packages
    from adapters.model_files import load_manifest, pull_model
    from app.bootstrap import Overrides, bootstrap
    from app.settings import Settings

    missing = missing_server_packages()
    if missing:
        return {"skipped": f"the local-llm extra is not installed (missing: {missing})"}
    settings = Settings()
    entry = load_manifest(MODELS).get(settings.local_llm.model)
    pull_model(entry, settings.models_dir)
    out: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0}
    runs: list[tuple[str, str | None, bool]] = [
        ("base", None, False), ("bm25", name, False), ("hybrid", name, True),
    ]  # fmt: skip
    for mode, memory_name, vectors in [run for run in runs if run[0] in modes]:
        memory = HybridExampleMemory(root=root, vectors=vectors)
        container = await bootstrap(settings, Overrides(memory=memory), recover_jobs=False)
        try:
            version = ModelVersion(mode, settings.llm.model, datetime.now(UTC), memory=memory_name)
            passed: dict[str, list[int]] = {}
            failures: list[dict[str, str]] = []
            polluted = 0
            timed_out = False
            for fact in facts:
                for question in fact.paraphrases:
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    answer, _ = await container.chat.answer_once(question, version=version)
                    ok = all(has_phrase(answer, p) for p in fact.require)
                    passed.setdefault(fact.lang, [0, 0])
                    passed[fact.lang][0] += ok
                    passed[fact.lang][1] += 1
                    if not ok and mode != "base":
                        failures.append({"question": question, "answer": answer[:200]})
            polluted_cases = []
            for control in controls:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                answer, _ = await container.chat.answer_once(control.question, version=version)
                if any(has_phrase(answer, p) for p in control.forbid):
                    polluted += 1
                    polluted_cases.append({"question": control.question, "answer": answer[:200]})
            total = [sum(v[0] for v in passed.values()), sum(v[1] for v in passed.values())]
            out[mode] = {
                "paraphrases_passed": total[0],
                "paraphrases": total[1],
                "pass_rate": total[0] / total[1] if total[1] else None,
                "by_language": {k: v[0] / v[1] for k, v in passed.items()},
                "controls_polluted": polluted,
                "controls": len(controls),
                "polluted": polluted_cases,
                "timed_out": timed_out,
            }
            if mode != "base":
                out[mode]["failures"] = failures
        finally:
            await container.aclose()
            await memory.aclose()
    return out


# --------------------------------------------------------------------------- main


def show(report: dict[str, Any]) -> None:
    for size, rows in report["retrieval"].items():
        print(f"\n{size} examples (k={K})")
        print(
            "mode    recall@1 recall@4 (en / ru)     controls: any fact hit / close  "
            "search p50 / p99 ms"
        )
        for mode in ("bm25", "hybrid"):
            r = rows[mode]
            lang = r["recall_at_4_by_language"]
            print(
                f"{mode:7} {r['recall_at_1']:7.1%} {r['recall_at_4']:8.1%} "
                f"({lang.get('en', 0):.0%} / {lang.get('ru', 0):.0%})       "
                f"{r['controls_with_a_fact_hit']:2d}/{r['controls']} / "
                f"{r['controls_with_a_close_fact_hit']}/{r['controls']}"
                f"                  {r['search_ms_p50']:.2f} / {r['search_ms_p99']:.2f}"
            )
    e = report["embedding_ms"]
    print(f"\nquery embedding alone: p50 {e['p50']:.1f} ms, p99 {e['p99']:.1f} ms")
    e2e = report.get("e2e")
    if e2e and "skipped" not in e2e:
        print(f"\nend to end (temperature 0, max {e2e['max_tokens']} tokens)")
        print("mode    paraphrases answered (en / ru)   controls polluted")
        base = (e2e["base"]["pass_rate"] or 0.0) if "base" in e2e else 0.0
        for mode in [m for m in ("base", "bm25", "hybrid") if m in e2e]:
            r = e2e[mode]
            lang = r["by_language"]
            ratio = f" ×{r['pass_rate'] / base:.1f} vs base" if base and mode != "base" else ""
            print(
                f"{mode:7} {r['paraphrases_passed']}/{r['paraphrases']} ({r['pass_rate']:.0%}; "
                f"{lang.get('en', 0):.0%} / {lang.get('ru', 0):.0%}){ratio}   "
                f"{r['controls_polluted']}/{r['controls']}"
                + (" (time limit hit)" if r["timed_out"] else "")
            )
    elif e2e:
        print(f"\nend to end skipped: {e2e['skipped']}")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + args.time_limit
    facts, controls = load(args.data)
    taught = fact_examples(facts)
    report: dict[str, Any] = {
        "facts": len(facts), "paraphrases": sum(len(f.paraphrases) for f in facts),
        "controls": len(controls), "similarity_floor": SIMILARITY_FLOOR,
        "close_match": CLOSE_MATCH, "retrieval": {},
    }  # fmt: skip
    real = E5Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        small_root = Path(tmp) / "small"
        fillers = filler_examples(args.filler, args.seed)
        rng = random.Random(args.seed)
        small = [*fillers, *taught]
        rng.shuffle(small)
        t0 = time.perf_counter()
        small_name = await build(small_root, small)
        report["build_s_small"] = time.perf_counter() - t0
        print(f"built {len(small)} examples in {report['build_s_small']:.0f} s", file=sys.stderr)
        report["retrieval"][str(len(small))] = await retrieval_round(
            small_root, small_name, facts, controls
        )
        report["embedding_ms"] = embed_ms(
            E5Embedder(threads=1), [q for f in facts for q in f.paraphrases]
        )
        if args.big:
            pool = real.queries([e.prompt for e in fillers[:1_000]]) if fillers else None
            if pool is not None:
                big_fillers = filler_examples(args.big - len(taught), args.seed + 1)
                texts = {e.prompt for e in big_fillers} | {passage_text(e) for e in big_fillers}
                stand_in = NoisyFiller(real, pool, texts, args.seed)
                big = [*big_fillers, *taught]
                rng.shuffle(big)
                big_root = Path(tmp) / "big"
                big_name = await build(big_root, big, embedder=stand_in)
                report["retrieval"][str(len(big))] = await retrieval_round(
                    big_root, big_name, facts, controls
                )
        if args.e2e:
            report["e2e"] = await end_to_end(
                small_root, small_name, facts, controls,
                data_dir=Path(tmp) / "data", max_tokens=args.max_tokens, deadline=deadline,
                modes=args.modes.split(","),
            )  # fmt: skip
    report["seconds"] = time.monotonic() - started
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--filler", type=int, default=1_000, help="synthetic examples")
    parser.add_argument("--big", type=int, default=100_000, help="examples, latency round; 0: skip")
    parser.add_argument("--e2e", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--modes", default="base,bm25,hybrid", help="end-to-end rounds, comma-separated"
    )
    parser.add_argument("--time-limit", type=float, default=1_800, help="seconds; e2e stops asking")
    parser.add_argument("--seed", type=int, default=20_261_207)
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    show(result)
    if args.out:
        args.out.write_text(
            json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"\nwrote {args.out}")
