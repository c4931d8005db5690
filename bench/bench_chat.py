"""The bot's own overhead around one chat turn, and corrections stored per second.

    .venv/bin/python -m bench.bench_chat [--turns N] [--seconds S]

Everything is the real composition (``app.bootstrap``): SQLite storage in a
temporary data directory, the BM25 example memory, the chat and feedback
services — except the language model, which is an instant in-process stand-in,
so that what is measured is the bot and not the model.

* **Turn overhead** = ``ChatService.answer()`` minus a direct call of the same
  instant model with the same messages, interleaved turn by turn in one process.
  Measured twice: on the base version (no memory) and on a version whose memory
  holds 1,000 examples (retrieval on every turn). History is on (10 turns).
* **Corrections per second**, sustained for ``--seconds``: ``FeedbackService.correct``
  on distinct stored predictions (each is one unit of work: read the prediction,
  store the correction and the dataset example, commit), against the same loop on
  the in-memory fake storage in the same run as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from app.bootstrap import Container, Overrides, bootstrap
from app.logging import configure_logging
from app.settings import Settings
from domain.models import (
    Actor,
    ChatMessage,
    Completion,
    CompletionChunk,
    Example,
    ExampleSource,
    GenerationOptions,
    Place,
    Role,
    Usage,
    new_id,
    utcnow,
)
from domain.services.chat import Question
from tests.fakes.storage import FakeDatabase

TRAINER = Actor(id="bench:trainer", name="trainer", is_trainer=True)
MEMBER = Actor(id="bench:member", name="member")


class InstantChatModel:
    """Answers at once with a fixed text: the model costs (almost) nothing."""

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        return Completion(text="Sure: use /dataset import.", usage=Usage(10, 6))

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        yield CompletionChunk(text="Sure: use /dataset import.", usage=Usage(10, 6))

    async def check(self) -> str | None:
        return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _turns(
    c: Container, llm: InstantChatModel, turns: int
) -> tuple[list[float], list[float]]:
    place = Place(conversation_id=f"bench:{new_id()}")
    bot, direct = [], []
    for i in range(turns):
        question = Question(
            text=f"How do I import dataset number {i % 50}?", author=MEMBER, place=place
        )
        t0 = time.perf_counter()
        prediction = await c.chat.answer(question)
        t1 = time.perf_counter()
        await llm.complete(prediction.context, model="m")
        t2 = time.perf_counter()
        bot.append((t1 - t0) * 1000)
        direct.append((t2 - t1) * 1000)
    return bot, direct


async def _train_memory(c: Container, size: int) -> None:
    await c.datasets.create("bench", TRAINER)
    now = utcnow()
    examples = [
        Example(
            id=new_id(),
            dataset="bench",
            messages=(
                ChatMessage(Role.USER, f"How do I import dataset number {i}? topic {i % 97}"),
            ),
            answer=f"Answer {i}",
            source=ExampleSource.IMPORT,
            created_at=now,
        )
        for i in range(size)
    ]
    async with c.uow() as uow:
        await uow.datasets.add_examples(examples)
        await uow.commit()
    job = await c.training.start(TRAINER, dataset="bench")
    done = await c.training.wait(job.id)
    assert done.model_version, done.error


async def _rate(c: Container, seconds: float) -> tuple[float, float]:
    """Corrections per wall-clock second and per CPU second, inside ``correct`` only.

    The CPU-time rate does not depend on what else the machine is running.
    """
    place = Place(conversation_id="bench:corrections")
    spent = 0.0
    cpu = 0.0
    count = 0
    while spent < seconds:
        batch = [
            (await c.chat.answer(Question(text=f"q{count}-{i}", author=MEMBER, place=place))).id
            for i in range(200)
        ]
        for prediction_id in batch:
            t, p = time.perf_counter(), time.process_time()
            await c.feedback.correct(prediction_id, TRAINER, f"better answer {count}")
            spent += time.perf_counter() - t
            cpu += time.process_time() - p
            count += 1
    return count / spent, count / cpu


async def main(turns: int, seconds: float) -> None:
    llm = InstantChatModel()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))
        c = await bootstrap(settings, Overrides(llm=llm))
        try:
            await _turns(c, llm, 200)  # warm-up: caches, statement compilation
            base_bot, base_direct = await _turns(c, llm, turns)
            await _train_memory(c, 1_000)
            await _turns(c, llm, 50)  # warm-up: memory load
            mem_bot, mem_direct = await _turns(c, llm, turns)
            sqlite_rate = await _rate(c, seconds)
        finally:
            await c.aclose()
        fake = FakeDatabase()
        c = await bootstrap(settings, Overrides(llm=llm, uow=fake.unit_of_work))
        try:
            fake_rate = await _rate(c, min(seconds, 1.0))
        finally:
            await c.aclose()

    print(f"chat turns: {turns} per case, history on; instant model\n")
    print("| case | turn median | turn p99 | model alone median | overhead median | overhead p99 |")
    print("|---|---|---|---|---|---|")
    for name, bot, direct in (
        ("base version (no memory)", base_bot, base_direct),
        ("version with a 1,000-example memory", mem_bot, mem_direct),
    ):
        overhead = [b - d for b, d in zip(bot, direct, strict=True)]
        print(
            f"| {name} | {statistics.median(bot):.3f} ms | {_percentile(bot, 0.99):.3f} ms "
            f"| {statistics.median(direct):.4f} ms | {statistics.median(overhead):.3f} ms "
            f"| {_percentile(overhead, 0.99):.3f} ms |"
        )
    print(f"\ncorrections stored per second (one unit of work each), {seconds:.0f} s sustained:\n")
    print("| storage | corrections/s (wall) | per CPU second | ratio to in-memory (wall) |")
    print("|---|---|---|---|")
    print(
        f"| SQLite file (WAL) | {sqlite_rate[0]:,.0f} | {sqlite_rate[1]:,.0f} "
        f"| {sqlite_rate[0] / fake_rate[0]:.2f} |"
    )
    print(f"| in-memory fake (baseline) | {fake_rate[0]:,.0f} | {fake_rate[1]:,.0f} | 1.00 |")
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    # Production logging (JSON lines, INFO) into a sink: the cost of logging counts.
    with open(os.devnull, "w") as sink:
        configure_logging(level="INFO", fmt="json", stream=sink)
        asyncio.run(main(args.turns, args.seconds))
