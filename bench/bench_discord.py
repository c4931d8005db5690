"""The Discord edge under a burst: N ``/ask`` interactions arriving together.

Run: ``.venv/bin/python -m bench.bench_discord [--burst 200] [--rounds 3] [--pairs 2]
[--storage sqlite] [--variants floor,bot]``

The real ``TrainerBot`` with the real domain services (chat on an instant LLM
stand-in, SQLite storage by default) against the local Discord emulator (``bot``), and
discord.py alone as the floor (``floor``: an ``/ask`` that defers and edits, no
services), in the same run, alternating ``--pairs`` times (floor, bot, floor, bot, …)
so that a machine that gets busier mid-run weighs on both alike. The emulator runs in
a child process with its own event loop, so the bot's loop carries only the bot, as in
production. Measured by the emulator, per interaction:

- acknowledgement latency: INTERACTION_CREATE dispatched → the callback received;
- follow-up latency: dispatched → the answer's final state (text and buttons) stored.

Measured in the bot's process: the longest event-loop stall during the burst (a
5 ms ticker's worst lateness). In the emulator's: its own CPU until every interaction
was acknowledged. One warm-up burst runs first and is not reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from adapters.discord import BotServices, DiscordConfig, TrainerBot
from adapters.discord.bot import freeze_startup_objects
from domain.ports import UnitOfWorkFactory
from domain.services.chat import ChatPolicy, ChatService
from domain.services.datasets import DatasetService
from domain.services.evaluation import EvaluationService
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewService
from domain.services.training import TrainingService

WARM_UP = 20


# --------------------------------------------------------------------------- emulator side


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _serve(conn: Connection, users: int) -> None:
    from tests.discord_emulator import DiscordEmulator

    async with DiscordEmulator(heartbeat_interval_ms=10_000) as emulator:
        guild = emulator.add_guild("Bench")
        channel = emulator.add_text_channel(guild, "general")
        members = [emulator.add_member(guild, f"user{i}") for i in range(users)]
        conn.send(
            {
                "api_base": emulator.api_base,
                "gateway_url": emulator.gateway_url,
                "token": emulator.token,
                "guild": guild.id,
            }
        )
        while True:
            order = await asyncio.to_thread(conn.recv)
            if order["op"] == "stop":
                return
            await emulator.wait_for(lambda: emulator.guild_commands(guild), 10)
            conn.send(await _burst(emulator, members, channel, order["n"]))


async def _burst(emulator: Any, members: list[Any], channel: Any, n: int) -> dict[str, Any]:
    """Dispatch ``n`` /ask at once; wait until every one is acknowledged and answered."""
    # The emulator stands in for Discord's servers: keep its own garbage (every record
    # of earlier rounds) out of the measurement.
    gc.collect()
    gc.freeze()
    cpu = time.process_time()
    handles = [
        emulator.invoke_command(
            "ask",
            {"prompt": f"question number {i}: how do I import a dataset?"},
            user=members[i % len(members)],
            channel=channel,
        )
        for i in range(n)
    ]
    dispatched = time.monotonic() - handles[0].record.created
    await emulator.wait_for(lambda: all(h.record.ack_type for h in handles), 60)
    ack_cpu = time.process_time() - cpu
    finals: dict[int, float] = {}
    pending = list(handles)

    def settled() -> bool:
        nonlocal pending
        for handle in pending:
            if (at := _final_at(handle)) is not None:
                finals[handle.record.id] = at
        pending = [h for h in pending if h.record.id not in finals and not h.record.expired]
        return not pending

    await emulator.wait_for(settled, 120)
    return {
        "ack": [h.record.ack_latency for h in handles if h.record.ack_latency],
        "followup": list(finals.values()),
        "expired": sum(1 for h in handles if h.record.expired),
        "dispatched": dispatched,
        "emulator_ack_cpu": ack_cpu,
    }


def _final_at(handle: Any) -> float | None:
    """When the answer got its final state (text and buttons), from the interaction's start."""
    original = handle.record.original
    if original is None:
        return None
    for revision in original.history:
        if revision.components:
            return float(revision.at - handle.record.created)
    return None


def _emulator_process(conn: Connection, users: int) -> None:
    asyncio.run(_serve(conn, users))


# --------------------------------------------------------------------------- bot side


class LoopLag:
    """The worst lateness of a ``tick``-second sleep: how long the loop was blocked."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.perf_counter() - started - self.tick)

    async def stop(self) -> float:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        return self.worst


async def _storage(kind: str, folder: Path) -> tuple[UnitOfWorkFactory, Any]:
    if kind == "memory":
        from tests.fakes import FakeDatabase

        return FakeDatabase().unit_of_work, None
    from adapters.storage_sql import SqlStorage

    storage = SqlStorage(f"sqlite:///{folder / 'bench.db'}")
    await storage.migrate()
    return storage.unit_of_work, storage


def _slow_model(seconds: float) -> Any:
    """The instant stand-in, taking ``seconds`` before each answer (``--model-seconds``)."""
    from tests.fakes import FakeChatModel

    class SlowModel(FakeChatModel):
        async def stream(self, messages: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(seconds)
            async for chunk in super().stream(messages, **kwargs):
                yield chunk

    return SlowModel()


async def _services(uow: UnitOfWorkFactory, folder: Path, model_seconds: float) -> BotServices:
    from adapters.artifacts_fs import FileSystemArtifactStore
    from tests.fakes import FakeChatModel, FakeExampleMemory, FakeTrainingBackend, inline_offload

    models = ModelService(uow=uow)
    await models.ensure_base("bench-model")
    memory = FakeExampleMemory()
    chat = ChatService(
        uow=uow,
        # instant: the bot's own overhead is what is measured (unless --model-seconds)
        llm=_slow_model(model_seconds) if model_seconds > 0 else FakeChatModel(),
        models=models,
        memory=memory,
        policy=ChatPolicy(system_prompt="You are a helpful assistant."),
    )
    artifacts = FileSystemArtifactStore(folder / "artifacts")
    return BotServices(
        chat=chat,
        feedback=FeedbackService(uow=uow),
        review=ReviewService(uow=uow, offload=inline_offload),
        datasets=DatasetService(uow=uow, artifacts=artifacts, offload=inline_offload),
        training=TrainingService(
            uow=uow, backends={"local": FakeTrainingBackend("local")}, models=models
        ),
        evaluation=EvaluationService(uow=uow, chat=chat, models=models, artifacts=artifacts),
        models=models,
        artifacts=artifacts,
    )


def _row(name: str, result: dict[str, Any], lag: float, cpu: float) -> str:
    ack = [x * 1000 for x in result["ack"]]
    follow = [x * 1000 for x in result["followup"]]
    return (
        f"| {name} | {len(ack)} | {statistics.median(ack):.0f} | {_percentile(ack, 0.99):.0f} "
        f"| {max(ack):.0f} | {statistics.median(follow):.0f} | {_percentile(follow, 0.99):.0f} "
        f"| {lag * 1000:.0f} | {cpu * 1000 / max(1, len(ack)):.1f} | {result['expired']} "
        f"| {result['dispatched'] * 1000:.0f} "
        f"| {result['emulator_ack_cpu'] * 1000 / max(1, len(ack)):.2f} |"
    )


def _baseline_bot(config: DiscordConfig) -> Any:
    """discord.py alone: an /ask that defers and fills the answer, no services (the floor)."""
    import discord
    from discord.ext import commands

    from adapters.discord.bot import build_intents, use_endpoints

    use_endpoints(config.api_base, config.gateway_url)

    class Floor(commands.Bot):
        async def setup_hook(self) -> None:
            @self.tree.command(name="ask", description="Ask")
            async def ask(interaction: discord.Interaction, prompt: str) -> None:
                await interaction.response.defer(thinking=True)
                await interaction.edit_original_response(content=f"echo: {prompt}", view=_view())

            guild = discord.Object(id=config.dev_guild_id or 0)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    def _view() -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        for label in ("up", "down", "fix"):
            view.add_item(
                discord.ui.Button(label=label, custom_id=f"floor:{label}:{time.time_ns()}")
            )
        return view

    return Floor(
        command_prefix="!",
        intents=build_intents(config),
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )


VARIANTS = {
    "floor": "discord.py alone: defer, then edit (no services)",
    "bot": "TrainerBot as configured by default",
}


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_variant(
    variant: str, burst: int, rounds: int, storage_kind: str, model_seconds: float = 0.0
) -> list[float]:
    """One bot against a fresh emulator; prints a table, returns each round's ack p99 (ms)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_emulator_process, args=(theirs, burst), daemon=True)
    child.start()
    p99s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        info = await asyncio.to_thread(ours.recv)
        uow, storage = await _storage(storage_kind, folder)
        services = await _services(uow, folder, model_seconds)
        config = DiscordConfig(
            token=info["token"],
            dev_guild_id=info["guild"],
            chat_cooldown=0.0,
            api_base=info["api_base"],
            gateway_url=info["gateway_url"],
            guild_ready_timeout=0.05,
        )
        floor = variant == "floor"
        bot = _baseline_bot(config) if floor else TrainerBot(services=services, config=config)
        runner = asyncio.create_task(bot.start(config.token))
        await asyncio.wait_for(bot.wait_until_ready(), 20)
        if not floor:
            await freeze_startup_objects()  # as run_discord does
        slow = f"; the model takes {model_seconds:g} s" if model_seconds and not floor else ""
        print(f"\n{burst} /ask at once — {VARIANTS[variant]}; storage: {storage_kind}{slow}\n")
        print(
            "| round | acked | ack p50 ms | ack p99 ms | ack max ms | follow-up p50 ms "
            "| follow-up p99 ms | max loop block ms | bot CPU ms / interaction | expired "
            "| emulator dispatch ms | emulator CPU ms / interaction until acked |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for number in range(rounds + 1):
            size = WARM_UP if number == 0 else burst
            lag = LoopLag()
            cpu = time.process_time()
            ours.send({"op": "burst", "n": size})
            result = await asyncio.to_thread(ours.recv)
            cpu = time.process_time() - cpu
            worst = await lag.stop()
            if number:
                print(_row(str(number), result, worst, cpu), flush=True)
                p99s.append(_percentile([x * 1000 for x in result["ack"]], 0.99))
        print(f"\npeak RSS of the bench process so far: {_peak_rss_mb():.0f} MB")
        ours.send({"op": "stop"})
        await bot.close()
        with suppress(Exception):
            await asyncio.wait_for(runner, 5)
        await services.training.aclose()
        if storage is not None:
            await storage.aclose()
    child.join(10)
    return p99s


async def run(
    burst: int,
    rounds: int,
    pairs: int,
    storage_kind: str,
    variants: list[str],
    model_seconds: float = 0.0,
) -> None:
    p99s: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(pairs):
        for variant in variants:
            p99s[variant] += await run_variant(variant, burst, rounds, storage_kind, model_seconds)
    print("\n| variant | rounds | ack p99 ms, median of rounds | ratio to the floor |")
    print("|---|---|---|---|")
    reference = statistics.median(p99s["floor"]) if "floor" in p99s else None
    for variant, values in p99s.items():
        median = statistics.median(values)
        ratio = f"{median / reference:.2f}" if reference else "—"
        print(f"| {variant} | {len(values)} | {median:.0f} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="bursts per bot start")
    parser.add_argument("--pairs", type=int, default=2, help="times each variant is started")
    parser.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument(
        "--model-seconds",
        type=float,
        default=0.0,
        help="the bot's model takes this long per answer (the load row: 2)",
    )
    parser.add_argument(
        "--variants",
        default="floor,bot",
        help="comma-separated, run one after the other: " + ", ".join(VARIANTS),
    )
    args = parser.parse_args()
    from app.logging import configure_logging

    with open(os.devnull, "w") as sink:  # the bot logs as in production (JSON at INFO)
        configure_logging(level="INFO", fmt="json", stream=sink)
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = set(variants) - set(VARIANTS)
        if unknown:
            parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
        asyncio.run(
            run(args.burst, args.rounds, args.pairs, args.storage, variants, args.model_seconds)
        )


if __name__ == "__main__":
    main()
