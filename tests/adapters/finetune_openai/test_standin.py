"""The stand-in checks training files roughly as OpenAI does (the SDK sees real 400s)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from tests.adapters.finetune_openai.conftest import API_KEY
from tests.standins.finetune_server import FineTuneStandin

SFT = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]}\n'
)
DPO = (
    b'{"input": {"messages": [{"role": "user", "content": "hi"}]}, '
    b'"preferred_output": [{"role": "assistant", "content": "hello"}], '
    b'"non_preferred_output": [{"role": "assistant", "content": "go away"}]}\n'
)


@pytest.fixture
async def client(standin: FineTuneStandin) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=standin.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


async def upload(client: openai.AsyncOpenAI, data: bytes) -> str:
    return (await client.files.create(file=("t.jsonl", data), purpose="fine-tune")).id


@pytest.mark.parametrize(
    ("data", "kind", "lines"), [(SFT * 3, "sft", 3), (DPO + b"\n" + DPO, "dpo", 2)]
)
async def test_well_formed_chat_and_preference_files_are_accepted(
    standin: FineTuneStandin, client: openai.AsyncOpenAI, data: bytes, kind: str, lines: int
) -> None:
    file_id = await upload(client, data)

    assert (standin.files[file_id].kind, standin.files[file_id].lines) == (kind, lines)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"prompt": "hi", "completion": "hey"}\n', "Line 1: expected a JSON object"),
        (SFT + b"not json\n", "Line 2: expected a JSON object"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}\n', "Line 1"),
        (SFT + DPO, "Mixed record formats"),
        (b"\n\n", "The file is empty"),
        (b"\xff\xfe", "Must be UTF-8"),
    ],
)
async def test_malformed_training_files_are_refused_with_a_400(
    standin: FineTuneStandin, client: openai.AsyncOpenAI, data: bytes, reason: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await upload(client, data)

    assert caught.value.code == "invalid_file_format"
    assert reason in str(caught.value.body)
    assert standin.files == {}


async def test_a_dpo_job_on_a_chat_file_fails_while_validating(
    standin: FineTuneStandin, client: openai.AsyncOpenAI
) -> None:
    file_id = await upload(client, SFT)
    job = await client.fine_tuning.jobs.create(
        model="standin-model", training_file=file_id, method={"type": "dpo"}
    )

    job = await client.fine_tuning.jobs.retrieve(job.id)

    assert job.status == "failed" and job.error is not None
    assert "does not match the dpo method" in job.error.message
