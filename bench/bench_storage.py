"""Storage overhead per chat turn and per correction, against the in-memory fake.

Run: ``.venv/bin/python -m bench.bench_storage [--seconds 3] [--turns 2000] [--postgres URL]``

(a) chat turn: one unit of work doing ``predictions.recent(conversation, 10)`` +
    ``predictions.add`` + ``commit`` on a SQLite file already holding a few
    thousand predictions; median and p99 of the whole round.
(b) corrections: one unit of work per correction (``predictions.get`` +
    ``feedback.add_correction`` + ``datasets.get`` + ``datasets.add_examples`` +
    ``commit``), as many as fit in ``--seconds``; units of work per second.

Rows: ``SqlStorage`` on SQLite (the adapter), the in-memory fake (same-run
baseline), the same repositories on SQLAlchemy's asyncio engine with aiosqlite
(the design the adapter does not use; only when aiosqlite is installed, which
trainerbot itself does not need: ``pip install aiosqlite``), and the chat turn
written with the ORM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from adapters.storage_sql import SqlStorage, SqlUnitOfWork
from adapters.storage_sql.async_backend import AsyncBackend
from adapters.storage_sql.migrate import upgrade_to_head
from domain.models import (
    Actor,
    ChatMessage,
    Correction,
    Dataset,
    Example,
    ExampleSource,
    Place,
    Prediction,
    Role,
    Usage,
    new_id,
    utcnow,
)
from domain.ports import UnitOfWork, UnitOfWorkFactory
from tests.fakes.storage import FakeDatabase

Factory = UnitOfWorkFactory
CONVERSATIONS = 50
SEEDED = 4_000
HISTORY = 10
ALICE = Actor(id="1001", name="alice")
TRAINER = Actor(id="1002", name="trainer", is_trainer=True)


def prediction(conversation: str, n: int) -> Prediction:
    question = f"question {n}: how do I import a dataset from a CSV file?"
    return Prediction(
        id=new_id(),
        conversation_id=conversation,
        prompt=question,
        context=(
            ChatMessage(Role.SYSTEM, "You are a helpful assistant for our community."),
            ChatMessage(Role.USER, question),
        ),
        answer="Use /dataset import with the file attached. " * 4,
        model_version="qwen2.5@mem-3",
        latency_ms=812.5,
        usage=Usage(prompt_tokens=120, completion_tokens=60),
        author=ALICE,
        place=Place(conversation, guild_id="1", channel_id="2"),
        created_at=utcnow(),
    )


async def seed(factory: Factory) -> list[str]:
    ids = []
    async with factory() as uow:
        await uow.datasets.add(Dataset("corrections", utcnow(), "trainer corrections"))
        for n in range(SEEDED):
            p = prediction(f"channel-{n % CONVERSATIONS}", n)
            await uow.predictions.add(p)
            ids.append(p.id)
        await uow.commit()
    return ids


async def chat_turns(factory: Factory, turns: int) -> list[float]:
    times = []
    for n in range(turns):
        conversation = f"channel-{n % CONVERSATIONS}"
        p = prediction(conversation, n)
        start = time.perf_counter()
        async with factory() as uow:
            await uow.predictions.recent(conversation, HISTORY)
            await uow.predictions.add(p)
            await uow.commit()
        times.append(time.perf_counter() - start)
    return times


async def corrections(factory: Factory, ids: list[str], seconds: float) -> tuple[float, float]:
    """Corrections per second of wall time, and per second of this process's CPU time."""
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        async with factory() as uow:
            p = await uow.predictions.get(ids[done % len(ids)])
            assert p is not None
            example = Example(
                id=new_id(),
                dataset="corrections",
                messages=(ChatMessage(Role.USER, p.prompt),),
                answer="the corrected answer",
                source=ExampleSource.CORRECTION,
                created_at=utcnow(),
                rejected=p.answer,
            )
            await uow.feedback.add_correction(
                Correction(
                    id=new_id(),
                    prediction_id=p.id,
                    author=TRAINER,
                    corrected_answer=example.answer,
                    example_id=example.id,
                    dataset="corrections",
                    created_at=utcnow(),
                )
            )
            assert await uow.datasets.get("corrections") is not None
            await uow.datasets.add_examples([example])
            await uow.commit()
        done += 1
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


async def orm_chat_turns(url: str, turns: int) -> list[float]:
    """The chat turn through the ORM (a mapped class over the same table)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, registry

    from adapters.storage_sql import mapping
    from adapters.storage_sql.tables import predictions

    class PredictionRow:
        pass

    registry().map_imperatively(PredictionRow, predictions)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA synchronous = NORMAL"))
    times = []
    for n in range(turns):
        conversation = f"channel-{n % CONVERSATIONS}"
        p = prediction(conversation, n)
        start = time.perf_counter()
        with Session(engine) as session:
            rows = session.scalars(
                select(PredictionRow)
                .where(predictions.c.conversation_id == conversation)
                .where(predictions.c.forgotten.is_(False))
                .order_by(predictions.c.created_at.desc(), predictions.c.seq.desc())
                .limit(HISTORY)
            ).all()
            columns = predictions.c.keys()
            for r in reversed(rows):
                mapping.prediction_of(SimpleNamespace(_mapping={c: getattr(r, c) for c in columns}))
            row = PredictionRow()
            for key, value in mapping.prediction_params(p).items():
                setattr(row, key, value)
            row.forgotten = False  # type: ignore[attr-defined]
            session.add(row)
            session.commit()
        times.append(time.perf_counter() - start)
    engine.dispose()
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def summary(times: list[float]) -> tuple[str, str]:
    ordered = sorted(times)
    return ms(statistics.median(ordered)), ms(ordered[int(len(ordered) * 0.99) - 1])


def aiosqlite_installed() -> bool:
    try:
        import aiosqlite  # noqa: F401  (only the row of the design not taken needs it)
    except ImportError:
        return False
    return True


def row(name: str, median: str, p99: str, rate: tuple[float, float] | None) -> str:
    wall, cpu = ("—", "—") if rate is None else (f"{rate[0]:,.0f}", f"{rate[1]:,.0f}")
    return f"| {name} | {median} | {p99} | {wall} | {cpu} |"


async def run(seconds: float, turns: int, postgres: str | None) -> str:
    load_before = os.getloadavg()[0]
    lines = [
        "| storage | chat turn median (ms) | chat turn p99 (ms) "
        "| corrections / s | corrections / CPU-s |",
        "|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        # the adapter on a SQLite file
        storage = SqlStorage(f"sqlite:///{tmp}/bench.db")
        await storage.migrate()
        ids = await seed(storage.unit_of_work)
        await chat_turns(storage.unit_of_work, 200)  # warm caches
        med, p99 = summary(await chat_turns(storage.unit_of_work, turns))
        rate = await corrections(storage.unit_of_work, ids, seconds)
        lines.append(row("SqlStorage, SQLite file (WAL)", med, p99, rate))
        await storage.aclose()

        # the same-run baseline
        fake = FakeDatabase()
        ids = await seed(fake.unit_of_work)
        med, p99 = summary(await chat_turns(fake.unit_of_work, turns))
        rate = await corrections(fake.unit_of_work, ids, seconds)
        lines.append(row("in-memory fake (baseline)", med, p99, rate))

        # the rejected design: SQLAlchemy asyncio engine + aiosqlite, same repositories
        if not aiosqlite_installed():
            lines.append(
                row("same Core code on asyncio engine + aiosqlite", "not installed", "—", None)
            )
        else:
            url = make_url(f"sqlite+aiosqlite:///{tmp}/aiosqlite.db")
            backend = AsyncBackend(url, pre_ping=False)
            await backend.migrate(upgrade_to_head)

            def aio_uow() -> UnitOfWork:
                return SqlUnitOfWork(backend.session())

            ids = await seed(aio_uow)
            med, p99 = summary(await chat_turns(aio_uow, max(turns // 4, 100)))
            rate = await corrections(aio_uow, ids, seconds)
            lines.append(row("same Core code on asyncio engine + aiosqlite", med, p99, rate))
            await backend.aclose()

        # the ORM, for the chat turn (sync session on the same kind of file)
        orm_path = Path(tmp) / "orm.db"
        orm_storage = SqlStorage(f"sqlite:///{orm_path}")
        await orm_storage.migrate()
        await seed(orm_storage.unit_of_work)
        await orm_storage.aclose()
        med, p99 = summary(await orm_chat_turns(f"sqlite:///{orm_path}", turns))
        lines.append(row("ORM session (chat turn only), SQLite file", med, p99, None))

    if postgres:
        pg = SqlStorage(postgres)
        await pg.migrate()
        ids = await seed(pg.unit_of_work)
        await chat_turns(pg.unit_of_work, 200)
        med, p99 = summary(await chat_turns(pg.unit_of_work, turns))
        rate = await corrections(pg.unit_of_work, ids, seconds)
        lines.append(row("SqlStorage, PostgreSQL on 127.0.0.1", med, p99, rate))
        await pg.aclose()
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)"
    return "\n".join([*lines, "", f"Load average: {load}."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per corrections run")
    parser.add_argument("--turns", type=int, default=2000, help="chat turns measured")
    parser.add_argument("--postgres", help="also measure SqlStorage on this (empty) database")
    args = parser.parse_args()
    print(asyncio.run(run(args.seconds, args.turns, args.postgres)))


if __name__ == "__main__":
    main()
