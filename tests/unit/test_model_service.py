"""ModelService: base version, activation, rollback, registration."""

from __future__ import annotations

import pytest

from domain.errors import AlreadyExists, Conflict, NotFound, PermissionDenied
from domain.models import Actor, ModelVersion
from domain.services.models import ACTIVE_KEY, ModelService, version_name
from tests.fakes import FakeDatabase
from tests.unit.conftest import FixedClock


@pytest.fixture
def models(db: FakeDatabase, clock: FixedClock) -> ModelService:
    return ModelService(uow=db.unit_of_work, clock=clock)


async def add_versions(models: ModelService, clock: FixedClock, *names: str) -> None:
    for name in names:
        await models.register(
            ModelVersion(name=name, llm_model="llm", created_at=clock(), memory=name)
        )


def test_version_names_join_model_and_memory() -> None:
    assert version_name("qwen", None) == "qwen"
    assert version_name("qwen", "mem-0001") == "qwen@mem-0001"


async def test_ensure_base_creates_and_activates_the_first_model(
    models: ModelService, db: FakeDatabase
) -> None:
    version = await models.ensure_base("qwen")
    assert version.name == "qwen" and version.llm_model == "qwen" and version.memory is None
    assert (await models.active()).name == "qwen"
    assert db.committed.state[ACTIVE_KEY] == "qwen"
    assert db.committed.activations == ["qwen"]


async def test_ensure_base_leaves_an_active_version_active(
    models: ModelService, db: FakeDatabase, trainer: Actor
) -> None:
    await models.ensure_base("qwen")
    await models.ensure_base("qwen")
    await models.ensure_base("llama")
    assert [v.name for v in await models.all()] == ["qwen", "llama"]
    assert (await models.active()).name == "qwen"
    assert db.committed.activations == ["qwen"]


async def test_active_before_any_version_is_not_found(models: ModelService) -> None:
    with pytest.raises(NotFound):
        await models.active()


async def test_activate_switches_the_active_version(
    models: ModelService, clock: FixedClock, trainer: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "llm@m1")
    version = await models.activate("llm@m1", trainer)
    assert version.name == "llm@m1"
    assert (await models.active()).name == "llm@m1"
    assert db.committed.state[ACTIVE_KEY] == "llm@m1"


async def test_activating_a_missing_version_is_not_found_and_changes_nothing(
    models: ModelService, trainer: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    with pytest.raises(NotFound, match="no model version named 'nope'"):
        await models.activate("nope", trainer)
    assert (await models.active()).name == "llm"
    assert db.committed.activations == ["llm"]


async def test_members_cannot_activate_or_roll_back(
    models: ModelService, clock: FixedClock, member: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "llm@m1")
    with pytest.raises(PermissionDenied, match="Only trainers"):
        await models.activate("llm@m1", member)
    with pytest.raises(PermissionDenied):
        await models.rollback(member)
    assert db.committed.state[ACTIVE_KEY] == "llm"


async def test_rollback_returns_to_the_previously_active_version(
    models: ModelService, clock: FixedClock, trainer: Actor
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "v1", "v2")
    await models.activate("v1", trainer)
    await models.activate("v2", trainer)
    assert (await models.rollback(trainer)).name == "v1"
    assert (await models.active()).name == "v1"
    # the version active before v1 is now v2: rolling back again undoes the rollback
    assert (await models.rollback(trainer)).name == "v2"


async def test_rollback_skips_repeats_of_the_current_version(
    models: ModelService, clock: FixedClock, trainer: Actor
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "v1")
    await models.activate("v1", trainer)
    await models.activate("v1", trainer)
    assert (await models.rollback(trainer)).name == "llm"


async def test_rollback_skips_versions_that_no_longer_exist(
    models: ModelService, clock: FixedClock, trainer: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "v1", "v2")
    await models.activate("v1", trainer)
    await models.activate("v2", trainer)
    del db.committed.versions["v1"]  # removed behind the service's back
    assert (await models.rollback(trainer)).name == "llm"


async def test_rollback_without_an_earlier_version_is_a_conflict(
    models: ModelService, trainer: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    with pytest.raises(Conflict, match="no earlier model version"):
        await models.rollback(trainer)
    assert db.committed.activations == ["llm"]


async def test_registering_a_taken_name_is_refused(
    models: ModelService, clock: FixedClock, db: FakeDatabase
) -> None:
    await add_versions(models, clock, "v1")
    with pytest.raises(AlreadyExists):
        await models.register(ModelVersion(name="v1", llm_model="other", created_at=clock()))
    assert db.committed.versions["v1"].llm_model == "llm"


async def test_get_finds_a_version_or_says_it_is_missing(
    models: ModelService, clock: FixedClock
) -> None:
    await add_versions(models, clock, "v1")
    assert (await models.get("v1")).memory == "v1"
    with pytest.raises(NotFound):
        await models.get("v2")


async def test_the_active_version_is_cached_until_refreshed(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    here = ModelService(uow=db.unit_of_work, clock=clock)
    elsewhere = ModelService(uow=db.unit_of_work, clock=clock)  # another process
    await here.ensure_base("llm")
    await add_versions(here, clock, "v1")
    assert (await here.active()).name == "llm"
    await elsewhere.activate("v1", trainer)
    commits = db.commits
    assert (await here.active()).name == "llm"  # served from the cache
    assert (await here.refresh()).name == "v1"
    assert (await here.active()).name == "v1"
    assert db.commits == commits


async def test_ensure_base_activates_the_base_when_the_active_version_is_gone(
    models: ModelService, clock: FixedClock, trainer: Actor, db: FakeDatabase
) -> None:
    await models.ensure_base("llm")
    await add_versions(models, clock, "v1")
    await models.activate("v1", trainer)
    del db.committed.versions["v1"]
    restarted = ModelService(uow=db.unit_of_work, clock=clock)
    await restarted.ensure_base("llm")
    assert (await restarted.active()).name == "llm"


async def test_base_names_the_configured_model_without_memory(
    models: ModelService, clock: FixedClock, trainer: Actor
) -> None:
    assert await models.base_name() is None
    with pytest.raises(NotFound, match="no base model version yet"):
        await models.get("base")
    await models.ensure_base("qwen")
    await add_versions(models, clock, "qwen@m1")
    await models.activate("qwen@m1", trainer)
    assert await models.base_name() == "qwen"
    assert (await models.get("base")).name == "qwen"
    assert (await models.get(" BASE ")).name == "qwen"
    assert (await models.activate("base", trainer)).name == "qwen"
    assert (await models.active()).name == "qwen"


async def test_the_base_follows_the_configured_model_and_a_real_version_named_base_wins(
    models: ModelService, clock: FixedClock, trainer: Actor
) -> None:
    await models.ensure_base("qwen")
    await models.ensure_base("llama")  # the operator configured another model
    assert (await models.get("base")).name == "llama"
    assert (await models.active()).name == "qwen"  # switching the base activates nothing
    await models.register(ModelVersion(name="base", llm_model="base", created_at=clock()))
    assert (await models.get("base")).llm_model == "base"


async def test_a_missing_version_says_where_to_look_and_what_base_means(
    models: ModelService,
) -> None:
    await models.ensure_base("qwen")
    with pytest.raises(NotFound) as caught:
        await models.get("<base version>")
    assert "the model list shows them" in caught.value.user_message
    assert "`base` is the model without any taught memory" in caught.value.user_message
