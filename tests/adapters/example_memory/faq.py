"""A small bilingual community FAQ, and the pieces a training call needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SYSTEM = ChatMessage(Role.SYSTEM, "You are the community's helpful assistant.")


def example(
    n: int,
    prompt: str,
    answer: str,
    *,
    rejected: str | None = None,
    label: str | None = None,
    name: str | None = None,
    source: ExampleSource = ExampleSource.MANUAL,
    history: tuple[ChatMessage, ...] = (),
) -> Example:
    return Example(
        id=f"ex-{n:03d}",
        dataset="faq",
        messages=(*history, ChatMessage(Role.USER, prompt)),
        answer=answer,
        source=source,
        created_at=T0 + timedelta(minutes=n),
        rejected=rejected,
        label=label,
        name=name,
    )


FAQ: tuple[Example, ...] = (
    example(1, "How do I reset my password on the community forum?",
            "Open Settings → Security and choose “Reset password”; a link arrives by e-mail.",
            rejected="You cannot reset it.", source=ExampleSource.CORRECTION),
    example(2, "Which voice channels can I join as a new member?",
            "Every channel under “Lounge” is open to new members; the others unlock at level 5.",
            history=(SYSTEM,)),
    example(3, "What are the rules for posting links?",
            "Links are fine in #resources; shortened links and invites are removed.",
            label="rules", name="rules-links"),
    example(4, "When does the weekly chess tournament start?",
            "Every Saturday at 18:00 UTC in the #chess channel."),
    example(5, "How can I report a message that breaks the rules?",
            "Right-click the message → Apps → Report, or ping @moderators.",
            source=ExampleSource.IMPORT),
    example(6, "Can I change my nickname on the server?",
            "Yes: use /nick, or the server menu → Edit server profile."),
    example(7, "Как подать корректировку в отчёт о расходах?",
            "Откройте отчёт, нажмите «Корректировка» и приложите чек.",
            rejected="Никак.", label="finance"),
    example(8, "Где найти расписание встреч клуба?",
            "Расписание закреплено в канале #встречи и обновляется по понедельникам."),
    example(9, "Как получить роль тренера?",
            "Напишите модераторам: роль тренера выдают после десяти исправленных ответов.",
            history=(SYSTEM, ChatMessage(Role.USER, "Привет!"),
                     ChatMessage(Role.ASSISTANT, "Здравствуйте! Чем помочь?"))),
    example(10, "Почему бот не отвечает в голосовом канале?",
            "Бот говорит только после команды /join; проверьте, что у него есть право говорить."),
    example(11, "Сколько стоит подписка на премиум?",
            "Премиум стоит 300 рублей в месяц; оплата в разделе «Подписки».",
            source=ExampleSource.IMPORT),
    example(12, "Можно ли выгрузить датасет в формате JSONL?",
            "Да: /dataset export, формат sft или dpo."),
    example(13, "What is 3 x 3?", "9", label="math", name="arith-1"),
    example(14, "Who won the 2024 summer coding jam?",
            "Team Aurora won the 2024 jam with their voice-controlled synthesizer."),
)  # fmt: skip


@dataclass
class Progress:
    """A ``ProgressReporter`` that records what it is told."""

    calls: list[tuple[float, str]] = field(default_factory=list)

    async def __call__(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))

    @property
    def fractions(self) -> list[float]:
        return [f for f, _ in self.calls]


def make_job(job_id: str = "job-1", *, examples: int = len(FAQ)) -> TrainingJob:
    return TrainingJob(
        id=job_id,
        dataset="faq",
        backend="local",
        status=JobStatus.RUNNING,
        created_by=Actor("u1", "Trainer", is_trainer=True),
        created_at=T0,
        example_count=examples,
    )


BASE = ModelVersion(name="qwen2.5", llm_model="qwen2.5", created_at=T0)


def visible(root: Path) -> list[str]:
    """Everything in the memory root except the name reservations."""
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.name != ".reserved")
