"""Voice reply latency: from the end of an answer's first sentence to its first Opus packet.

    .venv/bin/python -m bench.bench_voice [--runs N] [--token-ms MS] [--output FILE]

The real ``TrainerBot`` with the ``VoiceCog`` (real Piper voice, real libopus, real
discord.py voice client) joins a voice channel of the local Discord emulator (REST,
gateway and the voice side: voice websocket + UDP, decrypting and decoding every
packet). A member in that channel runs ``/ask``; the chat model streams a two-sentence
answer token by token (``--token-ms`` apart, 40 ms ≈ the 25 tokens/s of the local
model, with the sentence's full stop as its own token, as LLM tokenizers emit it).

Measured per run (the latency is split into: **cut**, the first sentence's "." → the
cutter releasing the first piece; **synth**, that piece → ``VoiceClient.play`` (Piper,
resampling, framing); **send**, ``play`` → the first packet at the emulator):
- **latency**: from the moment the model yields the first sentence's final "." to the
  arrival of the first audio packet at the emulator's UDP endpoint. It includes waiting
  for the next token (the cutter needs it to know the sentence ended), Piper
  synthesizing the sentence, resampling, the player thread starting, Opus encoding,
  encryption and the UDP hop.
- **baseline**: Piper synthesizing the same sentence directly (``PiperVoice.synthesize``,
  same voice files, same process, just before the run), i.e. the part no pipeline
  can avoid when it speaks whole sentences. (A first sentence longer than 40 characters
  with a comma is spoken from its first clause, so its latency can be below this.)

Bot and emulator share one event loop (as in the tests), so the packet arrival time
also carries the emulator's own scheduling delay: the numbers are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import discord
import structlog

from adapters.discord import BotServices, DiscordConfig, TrainerBot
from adapters.discord.voice import SpeechFile, Utterance, VoiceCog, VoiceConfig
from adapters.speech_piper import PiperTextToSpeech, packaged_voice, to_wav_bytes
from domain.models import ChatMessage, CompletionChunk, GenerationOptions
from domain.services.chat import ChatPolicy, ChatService
from domain.services.datasets import DatasetService
from domain.services.evaluation import EvaluationService
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.training import TrainingService

FIRST_SENTENCES = [
    "Sure, the meeting starts at ten tomorrow morning.",
    "The capital of France is Paris.",
    "Yes, you can reset your password from the settings page.",
    "Good question, and the short answer is no.",
    "The new model version was trained on two hundred examples.",
    "Hello there, nice to hear from you again.",
    "Python lists keep their items in the order you add them.",
    "That depends on how many people will join the call.",
    "The support dataset grew by two hundred examples this week, so the new version "
    "answers most product questions correctly.",
    "If you want to reset your password, open the settings page and choose security.",
]
SECOND = " I can tell you more if you like."


def tokens(text: str) -> list[str]:
    """LLM-like tokens: words with their leading space, punctuation on its own."""
    out: list[str] = []
    for i, word in enumerate(text.split(" ")):
        lead = "" if i == 0 else " "
        if word[-1:] in ".,?!":
            out += [lead + word[:-1], word[-1]]
        else:
            out.append(lead + word)
    return out


class PacedChatModel:
    """A chat model streaming a known answer at a steady token rate; it records when
    the first sentence's full stop was yielded."""

    def __init__(self, token_s: float) -> None:
        self.token_s = token_s
        self.answer = ""
        self.first_sentence_end: float | None = None

    async def complete(self, messages: Sequence[ChatMessage], **_: Any) -> Any:
        raise NotImplementedError

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        first_end = len(tokens(self.answer.split(SECOND)[0])) - 1
        for index, token in enumerate(tokens(self.answer)):
            await asyncio.sleep(self.token_s)
            if index == first_end:
                self.first_sentence_end = time.perf_counter()
            yield CompletionChunk(text=token)
        yield CompletionChunk(text="")

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


async def _services(llm: PacedChatModel, folder: Path) -> BotServices:
    from adapters.artifacts_fs import FileSystemArtifactStore
    from tests.fakes import FakeDatabase, FakeTrainingBackend, inline_offload

    uow = FakeDatabase().unit_of_work
    models = ModelService(uow=uow)
    await models.ensure_base("bench-model")
    chat = ChatService(uow=uow, llm=llm, models=models, policy=ChatPolicy())  # type: ignore[arg-type]
    artifacts = FileSystemArtifactStore(folder / "artifacts")
    return BotServices(
        chat=chat,
        feedback=FeedbackService(uow=uow),
        datasets=DatasetService(uow=uow, artifacts=artifacts, offload=inline_offload),
        training=TrainingService(
            uow=uow, backends={"local": FakeTrainingBackend("local")}, models=models
        ),
        evaluation=EvaluationService(uow=uow, chat=chat, models=models, artifacts=artifacts),
        models=models,
        artifacts=artifacts,
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _raw_piper_seconds(voice: Any, sentence: str) -> float:
    started = time.perf_counter()
    for _chunk in voice.synthesize(sentence):
        pass
    return time.perf_counter() - started


async def run(
    runs: int, token_s: float, release_after: float | None = 2.0
) -> tuple[list[float], list[float], list[str], list[tuple[float, float, float]]]:
    from piper import PiperVoice

    from tests.discord_emulator import DiscordEmulator, point_discord_at
    from tests.discord_emulator.voice import VoiceServer, route_voice_websocket

    raw_voice = PiperVoice.load(str(packaged_voice()))
    tts = PiperTextToSpeech(preload=True, release_memory_after=release_after)
    await tts.start()
    llm = PacedChatModel(token_s)
    latencies: list[float] = []
    baselines: list[float] = []
    said: list[str] = []
    parts: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        services = await _services(llm, Path(folder))
        async with DiscordEmulator(heartbeat_interval_ms=10_000) as emulator:
            voice_server = VoiceServer().attach(emulator)
            guild = emulator.add_guild("Bench")
            text = emulator.add_text_channel(guild, "general")
            lounge = emulator.add_voice_channel(guild, "Lounge")
            member = emulator.add_member(guild, "listener")
            emulator.set_voice_state(member, lounge)
            async with voice_server:
                with point_discord_at(emulator), route_voice_websocket(voice_server):
                    config = DiscordConfig(
                        token=emulator.token,
                        dev_guild_id=guild.id,
                        chat_cooldown=0.0,
                        guild_ready_timeout=0.05,
                        stream_interval=1.0,
                    )
                    bot = TrainerBot(
                        services=services,
                        config=config,
                        extra_cogs=[
                            lambda b: VoiceCog(
                                b,
                                tts,
                                speech_file=SpeechFile(to_wav_bytes, "speech.wav"),
                                config=VoiceConfig(),
                            )
                        ],
                    )
                    runner = asyncio.create_task(bot.start(emulator.token))
                    await asyncio.wait_for(bot.wait_until_ready(), 15)
                    spoken: list[Utterance] = []
                    listen = bot.answer_listeners[0]

                    def recording(user: Any, guild: Any) -> Any:
                        utterance = listen(user, guild)
                        if isinstance(utterance, Utterance):
                            spoken.append(utterance)
                        return utterance

                    bot.answer_listeners[0] = recording
                    await emulator.invoke_command("join", user=member, channel=text).response(
                        timeout=15
                    )
                    await voice_server.wait_for(lambda: voice_server.live(), timeout=10)
                    for index in range(runs + 1):  # the first run warms up
                        sentence = FIRST_SENTENCES[index % len(FIRST_SENTENCES)]
                        baseline = _raw_piper_seconds(raw_voice, sentence)
                        llm.answer, llm.first_sentence_end = sentence + SECOND, None
                        before = len(voice_server.packets)
                        handle = emulator.invoke_command(
                            "ask", {"prompt": f"question {index}"}, user=member, channel=text
                        )

                        def first_audio(before: int = before) -> Any:
                            fresh = voice_server.packets[before:]
                            return next((p for p in fresh if not p.silence_marker), None)

                        packet = await voice_server.wait_for(first_audio, timeout=20)
                        await handle.response(timeout=20)
                        await voice_server.wait_for(  # this answer's playback ended
                            lambda first=packet: any(
                                p.silence_marker and p.arrived > first.arrived
                                for p in voice_server.packets[-5:]
                            ),
                            timeout=30,
                        )
                        await voice_server.wait_for_silence(quiet=0.5)
                        assert llm.first_sentence_end is not None
                        if index == 0:
                            continue
                        utterance = spoken[-1]
                        assert utterance.playback_started is not None
                        end = llm.first_sentence_end
                        latencies.append(packet.arrived - end)
                        baselines.append(baseline)
                        said.append(sentence)
                        parts.append(
                            (
                                utterance.sentence_times[0] - end,
                                utterance.playback_started - utterance.sentence_times[0],
                                packet.arrived - utterance.playback_started,
                            )
                        )
                    await bot.close()
                    with suppress(asyncio.CancelledError, discord.DiscordException):
                        await asyncio.wait_for(runner, 5)
    await tts.aclose()
    return latencies, baselines, said, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--token-ms", type=float, default=40.0)
    parser.add_argument(
        "--keep-voice-memory",
        action="store_true",
        help="PiperTextToSpeech(release_memory_after=None) instead of the default 2 s",
    )
    parser.add_argument("--output", type=Path, default=None, help="append a markdown table")
    args = parser.parse_args()
    logging.getLogger("discord").setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    load = os.getloadavg()
    latencies, baselines, said, parts = asyncio.run(
        run(args.runs, args.token_ms / 1000, None if args.keep_voice_memory else 2.0)
    )
    ms = [x * 1000 for x in latencies]
    base = [x * 1000 for x in baselines]
    overhead = [m - b for m, b in zip(ms, base, strict=True)]
    lines = [
        f"`python -m bench.bench_voice --runs {args.runs} --token-ms {args.token_ms:g}"
        f"{' --keep-voice-memory' if args.keep_voice_memory else ''}` — "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "",
        "| run | first sentence | latency ms | = cut | + synth | + send | raw Piper ms |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| {i + 1} | {s} | {m:.0f} | {p[0] * 1000:.0f} | {p[1] * 1000:.0f} "
            f"| {p[2] * 1000:.0f} | {b:.0f} |"
            for i, (s, m, b, p) in enumerate(zip(said, ms, base, parts, strict=True))
        ),
        "",
        f"latency p50 **{statistics.median(ms):.0f} ms**, p90 **{_percentile(ms, 0.9):.0f} ms** "
        f"(max {max(ms):.0f}); raw Piper p50 {statistics.median(base):.0f} ms, "
        f"p90 {_percentile(base, 0.9):.0f} ms; "
        f"latency minus raw Piper p50 {statistics.median(overhead):.0f} ms; "
        f"load average before/after {load[0]:.1f}/{os.getloadavg()[0]:.1f}",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output is not None:
        with args.output.open("a", encoding="utf-8") as out:
            out.write(report + "\n\n")


if __name__ == "__main__":
    main()
