"""Autocomplete sources: dataset names, job ids, model versions, artifacts, runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

if TYPE_CHECKING:
    from adapters.discord.host import Host

MAX_CHOICES = 25  # Discord's limit


def _choices(items: Iterable[tuple[str, str]], current: str) -> list[app_commands.Choice[str]]:
    """(label, value) pairs matching what was typed: prefix matches first."""
    needle = current.strip().casefold()
    starts: list[app_commands.Choice[str]] = []
    contains: list[app_commands.Choice[str]] = []
    for label, value in items:
        if len(value) > 100:  # Discord cannot carry it; type it instead
            continue
        folded = f"{value} {label}".casefold()
        choice = app_commands.Choice(name=label[:100], value=value)
        if not needle or value.casefold().startswith(needle):
            starts.append(choice)
        elif needle in folded:
            contains.append(choice)
    return (starts + contains)[:MAX_CHOICES]


def _bot(interaction: discord.Interaction[Any]) -> Host:
    bot: Host = interaction.client
    return bot


async def datasets(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    found = await _bot(interaction).services.datasets.all()
    return _choices(((f"{d.name} ({d.example_count})", d.name) for d in found), current)


async def jobs(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    found = await _bot(interaction).services.training.all(limit=50)
    return _choices(
        ((f"{j.id[:8]} · {j.dataset} · {j.status.value}", j.id) for j in found), current
    )


async def versions(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    found = await _bot(interaction).services.models.all()
    return _choices(((v.name, v.name) for v in reversed(found)), current)


async def artifacts(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    found = await _bot(interaction).services.artifacts.all()
    newest = sorted(found, key=lambda a: a.created_at, reverse=True)
    return _choices(((a.name, a.name) for a in newest), current)


async def runs(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    found = await _bot(interaction).services.evaluation.all(limit=25)
    return _choices(
        (
            (f"{r.id[:8]} · {r.model_version} · {r.scores.passed}/{r.scores.cases}", r.id)
            for r in found
        ),
        current,
    )
