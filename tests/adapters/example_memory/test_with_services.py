"""The real backend and memory behind the domain services: train, activate, answer."""

from __future__ import annotations

from pathlib import Path

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend
from domain.models import Actor, Dataset, JobStatus, Place
from domain.services.chat import ChatPolicy, ChatService, Question
from domain.services.models import ModelService
from domain.services.training import TrainingService
from tests.adapters.example_memory.faq import FAQ, T0
from tests.fakes import FakeChatModel, FakeDatabase
from tests.fakes.llm import taught_entries


async def test_a_trained_memory_gives_the_chat_its_demonstrations(
    root: Path, backend: LocalTrainingBackend, memory: HybridExampleMemory
) -> None:
    db = FakeDatabase()
    async with db.unit_of_work() as uow:
        await uow.datasets.add(Dataset(name="faq", created_at=T0))
        await uow.datasets.add_examples(FAQ)
        await uow.commit()
    models = ModelService(uow=db.unit_of_work)
    await models.ensure_base("qwen2.5")
    trainer = Actor("t1", "Trainer", is_trainer=True)
    training = TrainingService(
        uow=db.unit_of_work, backends={"local": backend}, models=models, progress_interval=0
    )
    try:
        job = await training.start(trainer, dataset="faq")
        done = await training.wait(job.id)
    finally:
        await training.aclose()
    assert done.status is JobStatus.SUCCEEDED, done.error
    assert done.model_version == "qwen2.5@mem-0001"
    assert (await models.active()).memory == "mem-0001"

    llm = FakeChatModel()
    chat = ChatService(
        uow=db.unit_of_work,
        llm=llm,
        models=models,
        policy=ChatPolicy(system_prompt="Be helpful.", demonstrations=2),
        memory=memory,
    )
    prediction = await chat.answer(
        Question(
            text="Как сделать корректировки в отчетах о расходах?",
            author=Actor("m1", "Member"),
            place=Place(conversation_id="c1"),
        )
    )
    shown = [entry["answer"] for entry in taught_entries(prediction.context)]
    assert FAQ[6].answer in shown  # the Russian expense-report example, found by its stem
