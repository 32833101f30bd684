"""Where the announcer's sound goes: a sound device, or WAV files when there is none.

    backend = pick_backend(cfg)        # DisplayConfig: audio = auto | sdl | aplay | paplay | file | none
    backend.open("000012-1023-q2")     # one announcement (a burst of calls): one WAV in file mode
    backend.play(sound, started)       # blocks until it has been heard; started() at the first sample
    backend.close()
    backend.fallback                   # True: `auto` found no sound device, the hall hears nothing

`aplay` (ALSA) or `paplay` (PulseAudio/PipeWire) when the machine has a sound device, SDL
through Kivy's SoundLoader on request, or `file`: what would be heard is written as a WAV per
announcement and, by default, takes as long as hearing it would, so a burst of calls queues
up exactly as on a loudspeaker. The file output keeps only the newest KEEP_WAVS files and at
most KEEP_BYTES, so a display without a sound card does not fill its disk over the months.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

from display.config import DisplayConfig
from display.diskbound import keep_newest
from display.speech import RATE, Sound

log = logging.getLogger("motcua.display")

# The file output's bound (issue 8, item 13): a 13 s announcement is ~570 KB, a burst more.
KEEP_WAVS = 100
KEEP_BYTES = 64 * 2**20
OUR_WAV = re.compile(r"\d{6,}-.+\.wav")     # only the announcer's own files are ever deleted


class Backend:
    """The interface, and the no-op session of a device that plays each sound by itself."""
    name = "none"
    fallback = False

    def __init__(self):
        self.stopping = threading.Event()
        self.last_path = ""

    def open(self, label: str) -> None:
        pass

    def play(self, sound: Sound, started: Callable[[], None]) -> None:
        started()

    def close(self) -> None:
        pass


class FileBackend(Backend):
    """No loudspeaker: write what would be heard, and (realtime) take as long as hearing it would."""
    name = "file"

    def __init__(self, folder: Path, realtime: bool = True, fallback: bool = False,
                 keep_wavs: int = KEEP_WAVS, keep_bytes: int = KEEP_BYTES):
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.realtime, self.fallback = realtime, fallback
        self.keep_wavs, self.keep_bytes = keep_wavs, keep_bytes
        self._wav: wave.Wave_write | None = None

    def open(self, label: str) -> None:
        path = self.folder / f"{label}.wav"
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)
        self.last_path = str(path)

    def play(self, sound: Sound, started: Callable[[], None]) -> None:
        if self._wav is None:
            raise RuntimeError("FileBackend.play() outside open()/close()")
        self._wav.writeframes(sound.pcm)
        t0 = time.monotonic()
        started()
        if self.realtime:     # what started() took (the announcer prepares the next call) is part of it
            self.stopping.wait(max(0.0, sound.seconds - (time.monotonic() - t0)))

    def close(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None
            self.prune()

    def prune(self) -> None:
        """Delete the oldest of our WAVs beyond keep_wavs files or keep_bytes in all."""
        keep_newest(self.folder, OUR_WAV, self.keep_wavs, self.keep_bytes)


class CommandBackend(Backend):
    """aplay or paplay: the WAV goes to the sound device; returns when it has been heard."""

    def __init__(self, command: str):
        super().__init__()
        self.name = command

    def play(self, sound: Sound, started: Callable[[], None]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".wav", prefix="motcua-") as tmp:
            sound.write(tmp.name)
            cmd = ["aplay", "-q", tmp.name] if self.name == "aplay" else ["paplay", tmp.name]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started()
            try:
                _, err = proc.communicate(timeout=sound.seconds + 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise RuntimeError(f"{self.name} hung") from None
            if proc.returncode:
                raise RuntimeError(f"{self.name} failed: {err.decode(errors='replace').strip()[:200]}")


class SdlBackend(Backend):
    """SDL audio through Kivy's SoundLoader (SDL_AUDIODRIVER picks the device; `disk` writes a file)."""
    name = "sdl"

    def __init__(self):
        super().__init__()
        from kivy.core.audio import SoundLoader  # only when asked for: tests of the rest need no Kivy
        self.loader = SoundLoader

    def play(self, sound: Sound, started: Callable[[], None]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".wav", prefix="motcua-") as tmp:
            sound.write(tmp.name)
            s = self.loader.load(tmp.name)
            if s is None:
                raise RuntimeError("SDL could not load the announcement")
            s.play()
            t0 = time.monotonic()
            started()
            # Kivy updates a sound's state from its Clock; the length is what we wait for instead.
            self.stopping.wait(max(0.0, sound.seconds + 0.05 - (time.monotonic() - t0)))
            s.stop()
            s.unload()


def detect() -> str:
    """paplay when a sound server answers, aplay when ALSA has a card, else file."""
    if shutil.which("paplay") and shutil.which("pactl"):
        try:
            if subprocess.run(["pactl", "info"], capture_output=True, timeout=3).returncode == 0:
                return "paplay"
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        cards = ""
    if shutil.which("aplay") and cards.strip() and "no soundcards" not in cards:
        return "aplay"
    return "file"


def pick_backend(cfg: DisplayConfig, realtime: bool = True) -> Backend:
    kind = detect() if cfg.audio == "auto" else cfg.audio
    if kind == "file":
        fallback = cfg.audio == "auto"
        backend: Backend = FileBackend(cfg.audio_out(), realtime, fallback=fallback)
        if fallback:
            # The hall hears nothing: say so loudly, once (the screen shows "không có loa" too).
            log.warning("no sound device (no PulseAudio/PipeWire server, no ALSA card): the hall hears no "
                        "announcements; they are written as WAV files into %s", cfg.audio_out())
        else:
            log.info("announcements: written as WAV files into %s", cfg.audio_out())
        return backend
    backend = CommandBackend(kind) if kind in ("aplay", "paplay") else SdlBackend() if kind == "sdl" else Backend()
    log.info("announcements: %s", kind)
    return backend
