"""Retrieval latency of the example memory at 100,000 examples.

    .venv/bin/python -m bench.bench_retrieval [--examples N] [--queries N] [--seed S]

Builds a memory through the real ``LocalTrainingBackend`` from seeded synthetic
English/Russian support questions, then times ``HybridExampleMemory.search(k=4)``
(BM25 alone, no vectors)
per query next to calling bm25s directly on the same index with the same terms
(interleaved query by query, so both see the same machine noise).

The questions are filled from templates with Zipf-weighted slots (a product,
a feature, an action, an error code …), so a few words are common and most are
rare; Russian features come with their case forms, and each query asks for a
known example with another template — other word forms, which only stemming
matches.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bm25s

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend, Tokenizer, retrieval
from adapters.example_memory.layout import INDEX_DIR
from adapters.example_memory.reader import load_memory
from adapters.example_memory.retrieval import INLINE_WORK
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

# --------------------------------------------------------------------------- synthetic data


def _words(text: str) -> list[str]:
    return text.split()


def _forms(text: str) -> list[list[str]]:
    return [w.split("/") for w in text.split()]


def _gerund(verb: str) -> str:
    if verb.endswith("e"):
        return verb[:-1] + "ing"
    return verb + ("ting" if verb == "reset" else "ing")


_SYLLABLES = _words("ka lo mi ne ro tu va xi ze bra cor dun fel gar hol jin kor lum mar nor pax")
EN_FEATURES = _words(
    "password account invoice report dashboard backup export printer router firewall "
    "calendar notification subscription license plugin driver server database cache token "
    "webhook channel role permission playlist keyboard microphone speaker camera battery screen "
    "font theme language timezone payment refund order shipment coupon cart profile avatar "
    "folder attachment archive template spreadsheet chart widget sensor thermostat alarm"
)
EN_ACTIONS = [
    (v, _gerund(v))
    for v in _words(
        "reset export delete restore configure rename share sync install update disable "
        "enable connect migrate schedule encrypt print upload download verify"
    )
]
EN_SYMPTOMS = [
    "crashes", "freezes", "disconnects", "stops responding", "shows a blank page",
    "loses its settings", "runs slowly", "duplicates entries", "times out", "overheats",
]  # fmt: skip
RU_FEATURES = _forms(  # nominative/genitive/accusative/prepositional
    "пароль/пароля/пароль/пароле отчет/отчета/отчет/отчете счет/счета/счет/счете "
    "корректировка/корректировки/корректировку/корректировке "
    "подписка/подписки/подписку/подписке лицензия/лицензии/лицензию/лицензии "
    "принтер/принтера/принтер/принтере роутер/роутера/роутер/роутере "
    "календарь/календаря/календарь/календаре уведомление/уведомления/уведомление/уведомлении "
    "платеж/платежа/платеж/платеже возврат/возврата/возврат/возврате заказ/заказа/заказ/заказе "
    "доставка/доставки/доставку/доставке профиль/профиля/профиль/профиле "
    "папка/папки/папку/папке вложение/вложения/вложение/вложении "
    "таблица/таблицы/таблицу/таблице камера/камеры/камеру/камере "
    "батарея/батареи/батарею/батарее клавиатура/клавиатуры/клавиатуру/клавиатуре "
    "шрифт/шрифта/шрифт/шрифте расписание/расписания/расписание/расписании "
    "датчик/датчика/датчик/датчике сервер/сервера/сервер/сервере драйвер/драйвера/драйвер/драйвере"
)
RU_ACTIONS = _forms(  # infinitive/action noun/past tense
    "сбросить/сброс/сбросил выгрузить/выгрузка/выгрузил удалить/удаление/удалил "
    "восстановить/восстановление/восстановил настроить/настройка/настроил "
    "переименовать/переименование/переименовал синхронизировать/синхронизация/синхронизировал "
    "установить/установка/установил обновить/обновление/обновил отключить/отключение/отключил "
    "подключить/подключение/подключил перенести/перенос/перенес распечатать/печать/распечатал "
    "загрузить/загрузка/загрузил проверить/проверка/проверил отменить/отмена/отменил"
)
RU_SYMPTOMS = [
    "зависает", "вылетает", "не отвечает", "теряет настройки", "работает медленно",
    "показывает пустую страницу", "дублирует записи", "отклоняет вход", "перегревается",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Slots:
    russian: bool
    product: str
    feature: int
    action: int
    symptom: int
    code: int
    template: int


class Generator:
    def __init__(self, seed: int, *, products: int = 3_000) -> None:
        self.rng = random.Random(seed)
        names: set[str] = set()
        while len(names) < products:
            parts = self.rng.choices(_SYLLABLES, k=self.rng.randint(2, 4))
            names.add("".join(parts).capitalize())
        self.products = sorted(names)
        self.rng.shuffle(self.products)

    def _zipf(self, n: int) -> int:  # rank r with weight ~ 1/(r+1)
        return min(n - 1, int((n + 1) ** self.rng.random()) - 1)

    def slots(self) -> Slots:
        ru = self.rng.random() < 0.5
        return Slots(
            russian=ru,
            product=self.products[self._zipf(len(self.products))],
            feature=self._zipf(len(RU_FEATURES if ru else EN_FEATURES)),
            action=self._zipf(len(RU_ACTIONS if ru else EN_ACTIONS)),
            symptom=self.rng.randrange(len(RU_SYMPTOMS if ru else EN_SYMPTOMS)),
            code=self.rng.randint(100, 99_999),
            template=self.rng.randrange(4),
        )

    def paraphrase_template(self, s: Slots) -> int:
        return (s.template + 1 + self.rng.randrange(3)) % 4


def question(s: Slots, template: int) -> str:
    if s.russian:
        nom, gen, acc, _ = RU_FEATURES[s.feature]
        inf, noun, past = RU_ACTIONS[s.action]
        sym = RU_SYMPTOMS[s.symptom]
        return [
            f"Как {inf} {acc} в {s.product}? Ошибка {s.code}.",
            f"После того как я {past} {acc}, {s.product} {sym}. Код {s.code}",
            f"Где в {s.product} {noun} {gen}? Пишет ошибку {s.code}",
            f"Почему {nom} в {s.product} {sym}, если нужно {inf} {acc}? ({s.code})",
        ][template]
    feature, (verb, ing), sym = EN_FEATURES[s.feature], EN_ACTIONS[s.action], EN_SYMPTOMS[s.symptom]
    return [
        f"How do I {verb} the {feature} in {s.product}? I get error {s.code}.",
        f"{s.product} {sym} when I try {ing} my {feature} (error {s.code})",
        f"Is there a way of {ing} {feature}s in {s.product}? Code {s.code} appears.",
        f"Why does {s.product} fail to {verb} a {feature}? It says {s.code}.",
    ][template]


def answer(s: Slots) -> str:
    if s.russian:
        nom, _, _, prep = RU_FEATURES[s.feature]
        return (
            f"Откройте {s.product}, раздел «{nom}», пункт «{RU_ACTIONS[s.action][1]}». Ошибка "
            f"{s.code} значит, что данные о {prep} устарели: обновите страницу и повторите."
        )
    feature, verb = EN_FEATURES[s.feature], EN_ACTIONS[s.action][0]
    return (
        f"Open {s.product}, go to Settings → {feature} and choose {verb}. Error {s.code} "
        f"means the {feature} data is stale: refresh and try again."
    )


def make_examples(gen: Generator, n: int) -> tuple[list[Example], list[Slots]]:
    now = datetime.now(UTC)
    examples, slots = [], []
    for i in range(n):
        s = gen.slots()
        examples.append(
            Example(
                id=f"ex{i:06d}",
                dataset="bench",
                messages=(ChatMessage(Role.USER, question(s, s.template)),),
                answer=answer(s),
                source=ExampleSource.IMPORT,
                created_at=now,
                rejected="I don't know." if i % 10 == 0 else None,
            )
        )
        slots.append(s)
    return examples, slots


# --------------------------------------------------------------------------- measuring


def summary(ms: list[float]) -> str:
    qs = statistics.quantiles(ms, n=100)
    return f"p50 {qs[49]:.3f} ms | p99 {qs[98]:.3f} ms | mean {statistics.fmean(ms):.3f} ms"


async def main(n_examples: int, n_queries: int, seed: int) -> None:
    gen = Generator(seed)
    examples, slots = make_examples(gen, n_examples)
    picks = gen.rng.sample(range(n_examples), n_queries)
    queries = [question(slots[i], gen.paraphrase_template(slots[i])) for i in picks]
    now = datetime.now(UTC)
    job = TrainingJob(
        id="bench", dataset="bench", backend="local", status=JobStatus.RUNNING,
        created_by=Actor("bench", "bench", is_trainer=True), created_at=now,
        example_count=n_examples,
    )  # fmt: skip
    base = ModelVersion(name="base", llm_model="base", created_at=now)
    reports: list[float] = []

    async def report(fraction: float, message: str) -> None:
        reports.append(fraction)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        backend = LocalTrainingBackend(root=root, vectors=False)  # BM25 only: see bench_paraphrase
        t0 = time.perf_counter()
        outcome = await backend.train(job, examples, base=base, report=report)
        build_s = time.perf_counter() - t0
        await backend.aclose()
        assert outcome.memory is not None
        memory = HybridExampleMemory(root=root, vectors=False)
        t0 = time.perf_counter()
        await memory.search(outcome.memory, queries[0], k=4)
        load_ms = (time.perf_counter() - t0) * 1000
        direct = bm25s.BM25.load(root / outcome.memory / INDEX_DIR, show_progress=False)
        tokenizer = Tokenizer()
        terms = [tokenizer.query_terms(q) for q in queries]
        opened = load_memory(root, outcome.memory, tokenizer=tokenizer.description)
        offloaded = sum(opened.cost(opened.term_ids(t)) > INLINE_WORK for t in terms)
        ids = [opened.term_ids(t) for t in terms]
        del opened
        ours: list[float] = []
        theirs: list[float] = []
        scoring: list[float] = []
        hits = 0
        for _ in range(2):  # warm-up, then the measured round
            ours, theirs, scoring, hits = [], [], [], 0
            for q, t, t_ids, i in zip(queries, terms, ids, picks, strict=True):
                t0 = time.perf_counter()
                found = await memory.search(outcome.memory, q, k=4)
                t1 = time.perf_counter()
                direct.retrieve([t], k=4, show_progress=False, n_threads=0)
                t2 = time.perf_counter()
                if t_ids:
                    direct.get_scores_from_ids(t_ids)
                t3 = time.perf_counter()
                ours.append((t1 - t0) * 1000)
                theirs.append((t2 - t1) * 1000)
                scoring.append((t3 - t2) * 1000)
                hits += any(r.example.id == examples[i].id for r in found)
        pooled: list[float] = []
        retrieval.INLINE_WORK = -1  # every search through the worker pool, for comparison
        try:
            for q in queries:
                t0 = time.perf_counter()
                await memory.search(outcome.memory, q, k=4)
                pooled.append((time.perf_counter() - t0) * 1000)
        finally:
            retrieval.INLINE_WORK = INLINE_WORK
        await memory.aclose()
    print(f"examples {n_examples:,}, queries {n_queries}, seed {seed}")
    print(f"build (LocalTrainingBackend.train): {build_s:.2f} s, {len(reports)} progress reports")
    print(f"first search (loads the memory): {load_ms:.0f} ms")
    print(f"HybridExampleMemory.search(k=4): {summary(ours)}")
    print(f"bm25s retrieve, same terms:    {summary(theirs)}")
    print(f"bm25s scoring only (get_scores_from_ids, no top-k): {summary(scoring)}")
    print(
        f"overhead: mean ×{statistics.fmean(ours) / statistics.fmean(theirs):.2f}, "
        f"p50 ×{statistics.median(ours) / statistics.median(theirs):.2f}"
    )
    print(f"searches heavy enough for the pool: {offloaded} of {n_queries}")
    print(f"HybridExampleMemory.search, all in the pool: {summary(pooled)}")
    print(f"paraphrase found its source example in the top 4: {hits / n_queries:.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20_240_917)
    args = parser.parse_args()
    asyncio.run(main(args.examples, args.queries, args.seed))
