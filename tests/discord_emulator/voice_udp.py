"""The voice server's UDP side: IP discovery, then RTP packets decrypted and decoded.

Transport mode `aead_xchacha20_poly1305_rtpsize`: the packet is the 12-byte RTP header,
the ciphertext (with its 16-byte tag) and a 4-byte big-endian counter; the nonce is that
counter padded to 24 bytes, the additional data is the header. The Opus payload is
decoded back to 48 kHz stereo s16le PCM with discord.py's own libopus decoder.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import struct
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nacl.exceptions
import nacl.secret
from discord import opus

OPUS_SILENCE = b"\xf8\xff\xfe"  # what discord.py sends after every playback
RTP_HEADER = 12
DISCOVERY_SIZE = 74
SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz


@dataclass(frozen=True)
class VoicePacket:
    """One RTP packet the bot sent, as received (times are `time.perf_counter()`)."""

    arrived: float
    ssrc: int
    sequence: int
    timestamp: int
    opus: bytes
    pcm: bytes  # 20 ms of 48 kHz stereo s16le (empty when the payload did not decode)

    @property
    def silence_marker(self) -> bool:
        """discord.py's end-of-playback silence frame."""
        return self.opus == OPUS_SILENCE


@dataclass
class UdpKeys:
    """What the websocket side tells the UDP side about one voice connection."""

    secret_key: bytes
    mode: str


class VoiceUdp(asyncio.DatagramProtocol):
    """Answers IP discovery and records every RTP packet it can decrypt."""

    def __init__(self, *, on_packet: Callable[[VoicePacket], None]) -> None:
        self.keys: dict[int, UdpKeys] = {}  # by ssrc
        self.undecryptable = 0
        self._on_packet = on_packet
        self._decoders: dict[int, opus.Decoder] = {}
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        arrived = time.perf_counter()
        if len(data) == DISCOVERY_SIZE and data[:2] == b"\x00\x01":
            self._discovery(data, addr)
        elif len(data) > RTP_HEADER + 4 and data[0] & 0xC0 == 0x80:
            self._rtp(data, arrived)

    def _discovery(self, data: bytes, addr: tuple[str, int]) -> None:
        ssrc = struct.unpack_from(">I", data, 4)[0]
        reply = bytearray(DISCOVERY_SIZE)
        struct.pack_into(">HHI", reply, 0, 2, 70, ssrc)
        host = addr[0].encode("ascii")
        reply[8 : 8 + len(host)] = host
        struct.pack_into(">H", reply, DISCOVERY_SIZE - 2, addr[1])
        if self._transport is not None:
            self._transport.sendto(bytes(reply), addr)

    def _rtp(self, data: bytes, arrived: float) -> None:
        header = data[:RTP_HEADER]
        sequence, timestamp, ssrc = struct.unpack_from(">HII", header, 2)
        keys = self.keys.get(ssrc)
        if keys is None or keys.mode != "aead_xchacha20_poly1305_rtpsize":
            self.undecryptable += 1
            return
        nonce = data[-4:] + bytes(20)
        try:
            payload = nacl.secret.Aead(keys.secret_key).decrypt(data[RTP_HEADER:-4], header, nonce)
        except nacl.exceptions.CryptoError:
            self.undecryptable += 1
            return
        decoder = self._decoders.get(ssrc)
        if decoder is None:
            decoder = self._decoders[ssrc] = opus.Decoder()  # type: ignore[no-untyped-call]
        try:
            pcm = decoder.decode(payload, fec=False)
        except opus.OpusError:
            pcm = b""
        self._on_packet(VoicePacket(arrived, ssrc, sequence, timestamp, payload, pcm))


def utterances(packets: Sequence[VoicePacket]) -> list[list[VoicePacket]]:
    """Packets split into playbacks: runs of audio between discord.py's silence frames."""
    runs: list[list[VoicePacket]] = []
    current: list[VoicePacket] = []
    for packet in packets:
        if packet.silence_marker:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(packet)
    if current:
        runs.append(current)
    return runs


def pcm_of(packets: Sequence[VoicePacket]) -> bytes:
    return b"".join(p.pcm for p in packets if not p.silence_marker)


def wav_of(packets: Sequence[VoicePacket]) -> bytes:
    """The decoded audio as a 48 kHz stereo WAV (what a listener heard)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(pcm_of(packets))
    return out.getvalue()


@dataclass(frozen=True)
class Cadence:
    """How evenly one utterance was sent."""

    packets: int
    sequence_ok: bool  # consecutive sequence numbers (mod 2**16)
    timestamps_ok: bool  # +960 per packet (mod 2**32)
    span: float  # seconds from the first to the last arrival
    expected_span: float  # (packets - 1) * 20 ms
    max_gap: float  # largest inter-arrival time, seconds
    median_gap: float


def cadence(run: Sequence[VoicePacket]) -> Cadence:
    gaps = sorted(b.arrived - a.arrived for a, b in itertools.pairwise(run))
    sequence_ok = all((b.sequence - a.sequence) % 65536 == 1 for a, b in itertools.pairwise(run))
    timestamps_ok = all(
        (b.timestamp - a.timestamp) % 2**32 == SAMPLES_PER_PACKET
        for a, b in itertools.pairwise(run)
    )
    return Cadence(
        packets=len(run),
        sequence_ok=sequence_ok,
        timestamps_ok=timestamps_ok,
        span=run[-1].arrived - run[0].arrived if run else 0.0,
        expected_span=max(0, len(run) - 1) * 0.02,
        max_gap=gaps[-1] if gaps else 0.0,
        median_gap=gaps[len(gaps) // 2] if gaps else 0.0,
    )
