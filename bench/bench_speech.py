"""Local speech: the adapters against the libraries they wrap, same run, same models.

    .venv/bin/python -m bench.bench_speech [--repeats N] [--part transcription|memory|speech]
        [--clips 5,10,30] [--malloc-arenas N] [--memory-runs N] [--cache-dir DIR]
        [--output FILE]

``--part`` (repeatable) runs only those parts, ``--clips`` only those clip lengths:
on a shared machine, keep each run short. The process limits glibc's malloc arenas
to ``--malloc-arenas`` first, as the bot does at start (0: glibc's default).

1. Transcription: ``FasterWhisperSpeechToText.transcribe`` (OGG/Opus bytes in → text
   out) next to ``WhisperModel.transcribe`` on the same bytes (same model files, int8,
   2 threads, beam 5, VAD on), interleaved and alternating which goes first, for 5 s,
   10 s and 30 s clips of Piper speech; language detected and fixed ("en").
2. Peak RSS of fresh processes holding the Whisper model and one Piper voice after a
   30 s transcription and a paragraph of speech, one after the other and at the same
   time; with glibc's default malloc arenas and with ``--malloc-arenas`` (default: the
   bot's ``TRAINERBOT_WORKERS__MALLOC_ARENAS``), ``--memory-runs`` times each.
3. Speech: from a reply's text to its first 20 ms 48 kHz stereo frame
   (``PiperTextToSpeech.synthesize`` + the voice playback's ``FrameCutter``) next to Piper directly
   (``PiperVoice.synthesize`` + soxr); real-time factor over a paragraph.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soxr
import structlog

from adapters.discord.voice.frames import DISCORD_RATE, FRAME_BYTES, FrameCutter
from adapters.speech_piper import (
    PiperTextToSpeech,
    packaged_voice,
    to_ogg_opus_bytes,
)
from adapters.speech_whisper import FasterWhisperSpeechToText, assemble_whisper_base
from app.malloc import limit_malloc_arenas
from app.settings import WorkerSettings
from domain.models import Audio, Speech

PARAGRAPH = (
    "Good morning, and thank you for joining the weekly community call. "
    "Today we will talk about the new training datasets, the voice features and the "
    "plans for next month. First, the datasets. Members sent more than two hundred "
    "corrections last week, and most of them were about product names and opening hours. "
    "We merged them into the support dataset and started a new training job on Tuesday. "
    "The evaluation shows that the answers improved on almost every test case. "
    "Second, the voice features. The bot can now listen to voice messages and answer "
    "them, and it can speak its answers in a voice channel while it writes them. "
    "Please try it and tell us what sounds wrong. "
    "Finally, next month we want to add more languages and a better way to review "
    "corrections before they are used for training. Thank you, and see you next week."
)
REPLY = (
    "Sure, here is a short summary of what changed this week. "
    "The support dataset grew by two hundred examples, and a new model version is active."
)
CLIP_SECONDS = (5, 10, 30)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def paired(ours: list[float], theirs: list[float]) -> str:
    """Median of the per-round ratios, and the ratio of the best runs."""
    per_round = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    return f"{per_round:.3f} / {min(ours) / min(theirs):.3f}"


def make_clip(speeches: list[Speech], seconds: float) -> bytes:
    rate = speeches[0].sample_rate
    pcm = b"".join(s.pcm for s in speeches)
    while len(pcm) < seconds * rate * 2:
        pcm += pcm
    clip = pcm[: int(seconds * rate) * 2]
    return to_ogg_opus_bytes([Speech(pcm=clip, sample_rate=rate, text="")])


async def bench_transcription(
    cache_dir: Path, repeats: int, speeches: list[Speech], clips: tuple[int, ...]
) -> list[str]:
    from faster_whisper import WhisperModel

    model_dir = assemble_whisper_base(cache_dir)
    stt = FasterWhisperSpeechToText(cache_dir=cache_dir, model_dir=model_dir, preload=True)
    started = time.perf_counter()
    await stt.start()
    adapter_load = time.perf_counter() - started
    direct = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)

    def run_direct(data: bytes, language: str | None) -> str:
        segments, _ = direct.transcribe(
            io.BytesIO(data), language=language, vad_filter=True, beam_size=5
        )
        return " ".join(s.text.strip() for s in segments)

    rows = [
        "| clip | language | adapter median (best) | direct median (best) "
        "| overhead ratio: per-round median / best | CPU-time ratio "
        "| adapter RTF median (best) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for seconds in clips:
        data = make_clip(speeches, seconds)
        for language in (None, "en"):
            ours: list[float] = []
            theirs: list[float] = []
            ours_cpu: list[float] = []
            theirs_cpu: list[float] = []
            await stt.transcribe(Audio(data), language=language)  # warm both paths
            run_direct(data, language)
            for round_ in range(repeats):
                for which in (0, 1) if round_ % 2 == 0 else (1, 0):
                    t0, c0 = time.perf_counter(), time.process_time()
                    if which == 0:
                        await stt.transcribe(Audio(data), language=language)
                        ours.append(time.perf_counter() - t0)
                        ours_cpu.append(time.process_time() - c0)
                    else:
                        run_direct(data, language)
                        theirs.append(time.perf_counter() - t0)
                        theirs_cpu.append(time.process_time() - c0)
            rows.append(
                f"| {seconds} s | {language or 'detected'} "
                f"| {median_ms(ours):,.0f} ms ({min(ours) * 1000:,.0f}) "
                f"| {median_ms(theirs):,.0f} ms ({min(theirs) * 1000:,.0f}) "
                f"| {paired(ours, theirs)} "
                f"| {statistics.median(ours_cpu) / statistics.median(theirs_cpu):.3f} "
                f"| {statistics.median(ours) / seconds:.3f} ({min(ours) / seconds:.3f}) |"
            )
            print(rows[-1], flush=True)
    await stt.aclose()
    rows.append("")
    rows.append(
        f"Model load through the adapter (assembled, verified cache): {adapter_load:.2f} s."
    )
    return rows


async def bench_speech(repeats: int) -> list[str]:
    from piper import PiperVoice

    tts = PiperTextToSpeech(preload=True)
    await tts.start()
    voice = PiperVoice.load(packaged_voice())

    async def adapter_first_frame() -> float:
        t0 = time.perf_counter()
        elapsed = 0.0
        framer = FrameCutter()
        async for speech in tts.synthesize(REPLY):
            frames = framer.feed(speech.pcm, speech.sample_rate)
            if not elapsed:
                elapsed = time.perf_counter() - t0
                assert frames and len(frames[0]) == FRAME_BYTES
        return elapsed  # the rest is consumed so no work spills into the next round

    def direct_first_frame() -> float:
        t0 = time.perf_counter()
        elapsed = 0.0
        for chunk in voice.synthesize(REPLY):
            out = soxr.resample(chunk.audio_int16_array, chunk.sample_rate, DISCORD_RATE)
            frame = np.repeat(out[:960], 2).astype("<i2").tobytes()
            if not elapsed:
                elapsed = time.perf_counter() - t0
                assert len(frame) == FRAME_BYTES
        return elapsed

    async def adapter_paragraph() -> tuple[float, float]:
        t0 = time.perf_counter()
        audio = sum([len(s.pcm) / 2 / s.sample_rate async for s in tts.synthesize(PARAGRAPH)])
        return time.perf_counter() - t0, audio

    def direct_paragraph() -> tuple[float, float]:
        t0 = time.perf_counter()
        audio = sum(
            len(c.audio_int16_bytes) / 2 / c.sample_rate for c in voice.synthesize(PARAGRAPH)
        )
        return time.perf_counter() - t0, audio

    await adapter_first_frame()
    direct_first_frame()
    ours_first: list[float] = []
    theirs_first: list[float] = []
    ours_rtf: list[float] = []
    theirs_rtf: list[float] = []
    audio_seconds = 0.0
    for round_ in range(repeats * 3):
        if round_ % 2 == 0:
            ours_first.append(await adapter_first_frame())
            theirs_first.append(direct_first_frame())
        else:
            theirs_first.append(direct_first_frame())
            ours_first.append(await adapter_first_frame())
    for round_ in range(repeats):
        if round_ % 2 == 0:
            ours, audio_seconds = await adapter_paragraph()
            theirs, _ = direct_paragraph()
        else:
            theirs, _ = direct_paragraph()
            ours, audio_seconds = await adapter_paragraph()
        ours_rtf.append(ours / audio_seconds)
        theirs_rtf.append(theirs / audio_seconds)
    await tts.aclose()
    first_sentence = REPLY.split(". ")[0] + "."
    return [
        "| measure | adapter median (best) | Piper directly median (best) "
        "| ratio: per-round median / best |",
        "|---|---:|---:|---:|",
        f"| first sentence ({len(first_sentence)} chars) → first 20 ms 48 kHz frame "
        f"| {median_ms(ours_first):.0f} ms ({min(ours_first) * 1000:.0f}) "
        f"| {median_ms(theirs_first):.0f} ms ({min(theirs_first) * 1000:.0f}) "
        f"| {paired(ours_first, theirs_first)} |",
        f"| paragraph ({audio_seconds:.1f} s of speech), real-time factor "
        f"| {statistics.median(ours_rtf):.3f} ({min(ours_rtf):.3f}) "
        f"| {statistics.median(theirs_rtf):.3f} ({min(theirs_rtf):.3f}) "
        f"| {paired(ours_rtf, theirs_rtf)} |",
    ]


def peak_mb() -> float:
    """This process's own peak RSS (VmHWM).

    Not ``ru_maxrss``: on Linux that keeps the parent's high-water mark across
    fork + exec, so a child of a big process would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def rss_child(cache_dir: Path) -> None:
    """Runs in a fresh process: load both models, use them, report the peak RSS.

    First one thing at a time (speak, pause, transcribe), as a bot mostly works;
    then the worst case, a 30 s transcription while an answer is being spoken.
    """
    stt = FasterWhisperSpeechToText(cache_dir=cache_dir, preload=True)
    await stt.start()  # first: its load peak is the largest transient
    tts = PiperTextToSpeech(preload=True)
    await tts.start()
    loaded = peak_mb()
    speeches = [s async for s in tts.synthesize(PARAGRAPH)]
    clip = make_clip(speeches, 30)
    await asyncio.sleep(2.5)  # the voice's working memory is released after 2 s idle
    transcript = await stt.transcribe(Audio(clip))
    sequential = peak_mb()

    async def speak() -> None:
        async for _ in tts.synthesize(PARAGRAPH):
            pass

    await asyncio.gather(stt.transcribe(Audio(clip)), speak())
    together = peak_mb()
    await asyncio.gather(tts.aclose(), stt.aclose())
    report = {
        "loaded": loaded,
        "sequential": sequential,
        "together": together,
        "words": len(transcript.text.split()),
    }
    print(json.dumps(report))


def run_rss_child(cache_dir: Path, malloc_arenas: int) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_speech",
            "--rss-child",
            "--cache-dir",
            str(cache_dir),
            "--malloc-arenas",
            str(malloc_arenas),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def measure_rss(cache_dir: Path, malloc_arenas: int, runs: int) -> list[str]:
    """Fresh processes with glibc's default arenas and with the configured limit, alternating.

    The concurrent step depends on which of Piper's sentences meets which of Whisper's
    encoder passes, so it is run several times.
    """
    configs = [("glibc default (8 per core)", 0)]
    if malloc_arenas > 0:
        configs.append((f"{malloc_arenas} (`TRAINERBOT_WORKERS__MALLOC_ARENAS`)", malloc_arenas))
    reports: dict[int, list[dict[str, float]]] = {arenas: [] for _, arenas in configs}
    for _ in range(runs):
        for _, arenas in configs:
            reports[arenas].append(run_rss_child(cache_dir, arenas))
    lines = [
        "Peak RSS (VmHWM) of a fresh process holding Whisper base int8 and the Piper voice "
        f"(target ≤ 600 MB); {runs} runs each, alternating: median (min–max):",
        "",
        "| malloc arenas | after loading both (Whisper first) | speak a paragraph, pause, "
        "transcribe 30 s | transcribe 30 s while speaking the paragraph |",
        "|---|---:|---:|---:|",
    ]

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} MB ({min(values):.0f}–{max(values):.0f})"

    for label, arenas in configs:
        runs_of = reports[arenas]
        lines.append(
            f"| {label} | {cell([r['loaded'] for r in runs_of])} "
            f"| **{cell([r['sequential'] for r in runs_of])}** "
            f"| **{cell([r['together'] for r in runs_of])}** |"
        )
    lines += ["", f"(The paragraph is {len(PARAGRAPH)} characters, 44 s of speech.)"]
    return lines


def environment() -> list[str]:
    import av
    import ctranslate2
    import faster_whisper
    import onnxruntime

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average at start {load[0]:.2f}"
        + (" (other work was running: timings are noisy)." if load[0] > 1.0 else "."),
        f"- faster-whisper {faster_whisper.__version__}, CTranslate2 {ctranslate2.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, PyAV {av.__version__}, soxr {soxr.__version__}.",
    ]


PARTS = ("transcription", "memory", "speech")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--part", action="append", choices=PARTS, help="run only this part (repeatable)"
    )
    parser.add_argument(
        "--clips",
        default=",".join(map(str, CLIP_SECONDS)),
        help="clip lengths in seconds for the transcription part, e.g. 30",
    )
    parser.add_argument(
        "--malloc-arenas",
        type=int,
        default=WorkerSettings().malloc_arenas,
        help="glibc malloc arenas, as TRAINERBOT_WORKERS__MALLOC_ARENAS (0: glibc's default)",
    )
    parser.add_argument(
        "--memory-runs", type=int, default=3, help="fresh processes per memory configuration"
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit_malloc_arenas(args.malloc_arenas)  # as the bot does at start
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.rss_child:
        await rss_child(args.cache_dir)
        return
    parts = args.part or list(PARTS)
    clips = tuple(int(c) for c in args.clips.split(","))

    lines = ["# Speech benchmarks", "", "    .venv/bin/python -m bench.bench_speech", ""]
    lines += environment()
    lines.append(f"- glibc malloc arenas: {args.malloc_arenas or 'default (8 per core)'}.")
    if "memory" in parts:  # first: a fresh process, before this one is busy
        memory = measure_rss(args.cache_dir, args.malloc_arenas, args.memory_runs)
    if "transcription" in parts:
        tts = PiperTextToSpeech()
        speeches = [s async for s in tts.synthesize(PARAGRAPH)]
        await tts.aclose()
        lines += ["", "## Transcription (OGG/Opus bytes in → text out)", ""]
        lines += await bench_transcription(args.cache_dir, args.repeats, speeches, clips)
    if "memory" in parts:
        lines += ["", "## Memory", ""]
        lines += memory
    if "speech" in parts:
        lines += ["", "## Speech (Piper joe-medium, 22,050 Hz → 48 kHz stereo frames)", ""]
        lines += await bench_speech(args.repeats)
    lines += ["", f"Load average at the end: {os.getloadavg()[0]:.2f}."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
