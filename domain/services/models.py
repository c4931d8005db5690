"""Model versions: what the bot answers with, which one is active, and rolling back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from domain.errors import AlreadyExists, Conflict, NotFound, PermissionDenied
from domain.models import Actor, ModelVersion, utcnow
from domain.ports import UnitOfWork, UnitOfWorkFactory

ACTIVE_KEY = "active_model_version"
BASE_KEY = "base_model_version"
BASE_ALIAS = "base"  # names the base version wherever a version is named
SYSTEM_ACTOR_ID = "system"
_HISTORY_LIMIT = 100  # activations looked at when rolling back

log = structlog.get_logger()


def version_name(llm_model: str, memory: str | None) -> str:
    """``llm_model`` for a plain model, ``"llm_model@memory"`` with a memory."""
    return f"{llm_model}@{memory}" if memory else llm_model


class ModelService:
    """Lists, registers and activates model versions.

    The active version is cached in this process: ``active()`` costs nothing after
    the first call, ``activate``/``rollback``/``ensure_base`` refresh the cache, and
    ``refresh()`` re-reads it (for a process that shares storage with others).

    The **base** version is the configured language model on its own, without a
    memory: the one ``ensure_base`` registers. ``base`` (any case) names it in
    ``get`` and ``activate`` — unless a version is really named so.
    """

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Callable[[], datetime] = utcnow) -> None:
        self._uow = uow
        self._clock = clock
        self._active: ModelVersion | None = None

    async def ensure_base(self, llm_model: str) -> ModelVersion:
        """The plain version named ``llm_model`` exists; active if nothing valid is."""
        name = version_name(llm_model, None)
        async with self._uow() as uow:
            version = await uow.models.get(name)
            if version is None:
                version = ModelVersion(name=name, llm_model=llm_model, created_at=self._clock())
                await uow.models.add(version)
                log.info("model_version_registered", version=name)
            if await uow.state.get(BASE_KEY) != name:
                await uow.state.set(BASE_KEY, name)
            active = await self._read_active(uow)
            if active is None:
                await self._set_active(uow, version, SYSTEM_ACTOR_ID)
                active = version
            await uow.commit()
        self._active = active
        return version

    async def base_name(self) -> str | None:
        """The base version's name (None before ``ensure_base`` ever ran)."""
        async with self._uow() as uow:
            return await uow.state.get(BASE_KEY)

    async def active(self) -> ModelVersion:
        """The version answering now (``NotFound`` before any was activated)."""
        if self._active is None:
            return await self.refresh()
        return self._active

    async def refresh(self) -> ModelVersion:
        """Re-read the active version from storage."""
        async with self._uow() as uow:
            active = await self._read_active(uow)
        if active is None:
            raise NotFound(
                "No model version is active yet: configure the language model "
                "or activate a version."
            )
        self._active = active
        return active

    async def get(self, name: str) -> ModelVersion:
        """The version named ``name``; ``base`` is the base version."""
        async with self._uow() as uow:
            return await self._find(uow, name)

    async def all(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        async with self._uow() as uow:
            return await uow.models.all()

    async def register(self, version: ModelVersion) -> ModelVersion:
        """Store a new version (training does this); ``AlreadyExists`` on a clash."""
        async with self._uow() as uow:
            if await uow.models.get(version.name) is not None:
                raise AlreadyExists(
                    f"A model version named {version.name!r} exists already.",
                    name=version.name,
                )
            await uow.models.add(version)
            await uow.commit()
        log.info("model_version_registered", version=version.name, job_id=version.job_id)
        return version

    async def activate(self, name: str, actor: Actor) -> ModelVersion:
        """Answer with ``name`` from now on. Trainers only."""
        _require_trainer(actor, "switch the model version")
        async with self._uow() as uow:
            version = await self._find(uow, name)
            await self._set_active(uow, version, actor.id)
            await uow.commit()
        self._active = version
        log.info("model_version_activated", version=version.name, actor_id=actor.id)
        return version

    async def rollback(self, actor: Actor) -> ModelVersion:
        """Re-activate the version that was active before the current one.

        That is the newest activation naming another version that still exists;
        rolling back twice therefore returns to where you started. Trainers only;
        ``Conflict`` when there is nothing to go back to.
        """
        _require_trainer(actor, "roll back the model version")
        async with self._uow() as uow:
            current = await uow.state.get(ACTIVE_KEY)
            previous: ModelVersion | None = None
            for name in await uow.models.activations(limit=_HISTORY_LIMIT):
                if name == current:
                    continue
                previous = await uow.models.get(name)
                if previous is not None:
                    break
            if previous is None:
                raise Conflict("There is no earlier model version to roll back to.")
            await self._set_active(uow, previous, actor.id)
            await uow.commit()
        self._active = previous
        log.info(
            "model_version_rolled_back", version=previous.name, previous=current, actor_id=actor.id
        )
        return previous

    async def _find(self, uow: UnitOfWork, name: str) -> ModelVersion:
        version = await uow.models.get(name)
        if version is None and name.strip().casefold() == BASE_ALIAS:
            base = await uow.state.get(BASE_KEY)
            version = None if base is None else await uow.models.get(base)
            if version is None:
                raise NotFound("There is no base model version yet: configure the language model.")
        if version is None:
            raise NotFound(
                f"There is no model version named {name!r} (the model list shows them; "
                f"`{BASE_ALIAS}` is the model without any taught memory).",
                name=name,
            )
        return version

    async def _read_active(self, uow: UnitOfWork) -> ModelVersion | None:
        name = await uow.state.get(ACTIVE_KEY)
        return None if name is None else await uow.models.get(name)

    async def _set_active(self, uow: UnitOfWork, version: ModelVersion, actor_id: str) -> None:
        await uow.state.set(ACTIVE_KEY, version.name)
        await uow.models.record_activation(version.name, actor_id, self._clock())


def _require_trainer(actor: Actor, doing: str) -> None:
    if not actor.is_trainer:
        raise PermissionDenied(f"Only trainers can {doing}.")
