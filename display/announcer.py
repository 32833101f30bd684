"""Speaks the queued calls, one after the other, on a worker thread (never the UI thread).

    announcer = Announcer(model.queue, Speech(cfg), pick_backend(cfg)).start()
    ...
    announcer.played     # [Played(seq, ticket, counter, started, ended, …)] in the order heard
    announcer.stop()

Backends: `aplay` (ALSA) or `paplay` (PulseAudio/PipeWire) when the machine has a sound
device, SDL through Kivy's SoundLoader on request, or `file`: each announcement is written as
a WAV (with a line in played.log) and, by default, takes as long as it would to hear, so a
burst of calls queues up exactly as on a loudspeaker. `auto` picks in that order.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from display.announce_queue import Announcement, AnnouncementQueue
from display.config import DisplayConfig
from display.speech import Sound, Speech

log = logging.getLogger("motcua.display")


@dataclass(frozen=True)
class Played:
    seq: int
    ticket: str
    counter: int
    recall: bool
    started: float       # time.monotonic() when the first sample went out
    ended: float
    seconds: float       # length of what was played
    backend: str
    parts: tuple[str, ...] = ()
    path: str = ""


class FileBackend:
    """No loudspeaker: write what would be heard, and (realtime) take as long as hearing it would."""
    name = "file"

    def __init__(self, folder: Path, realtime: bool = True):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.realtime = realtime
        self.stopping = threading.Event()
        self.last_path = ""

    def play(self, sound: Sound, label: str, started: Callable[[], None]) -> None:
        path = sound.write(self.folder / f"{label}.wav")
        self.last_path = str(path)
        started()
        with open(self.folder / "played.log", "a", encoding="utf-8") as f:
            f.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {label} {sound.seconds:.2f}s {path.name}\n")
        if self.realtime:
            self.stopping.wait(sound.seconds)


class CommandBackend:
    """aplay or paplay: the WAV goes to the sound device; returns when it has been heard."""

    def __init__(self, command: str):
        self.name = command
        self.stopping = threading.Event()
        self.last_path = ""

    def play(self, sound: Sound, label: str, started: Callable[[], None]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".wav", prefix="motcua-") as tmp:
            sound.write(tmp.name)
            cmd = ["aplay", "-q", tmp.name] if self.name == "aplay" else ["paplay", tmp.name]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started()
            try:
                _, err = proc.communicate(timeout=sound.seconds + 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise RuntimeError(f"{self.name} hung playing {label}") from None
            if proc.returncode:
                raise RuntimeError(f"{self.name} failed: {err.decode(errors='replace').strip()[:200]}")


class SdlBackend:
    """SDL audio through Kivy's SoundLoader (SDL_AUDIODRIVER picks the device; `disk` writes a file)."""
    name = "sdl"

    def __init__(self):
        from kivy.core.audio import SoundLoader      # only when asked for: tests of the rest need no Kivy
        self.loader = SoundLoader
        self.stopping = threading.Event()
        self.last_path = ""

    def play(self, sound: Sound, label: str, started: Callable[[], None]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".wav", prefix="motcua-") as tmp:
            sound.write(tmp.name)
            s = self.loader.load(tmp.name)
            if s is None:
                raise RuntimeError("SDL could not load the announcement")
            s.play()
            started()
            # Kivy updates a sound's state from its Clock; the length is what we wait for instead.
            self.stopping.wait(sound.seconds + 0.05)
            s.stop()
            s.unload()


class NullBackend:
    name = "none"

    def __init__(self):
        self.stopping = threading.Event()
        self.last_path = ""

    def play(self, sound: Sound, label: str, started: Callable[[], None]) -> None:
        started()


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


def pick_backend(cfg: DisplayConfig, realtime: bool = True):
    kind = detect() if cfg.audio == "auto" else cfg.audio
    if kind == "file":
        backend = FileBackend(cfg.audio_out(), realtime)
    elif kind in ("aplay", "paplay"):
        backend = CommandBackend(kind)
    elif kind == "sdl":
        backend = SdlBackend()
    else:
        backend = NullBackend()
    log.info("announcements: %s%s", kind, f" into {cfg.audio_out()}" if kind == "file" else "")
    return backend


class Announcer:
    def __init__(self, queue: AnnouncementQueue, speech: Speech, backend, clock: Callable[[], float] = time.time,
                 on_played: Callable[[Played], None] | None = None,
                 on_started: Callable[[Announcement, float], None] | None = None):
        self.queue, self.speech, self.backend, self.clock = queue, speech, backend, clock
        self.on_played, self.on_started = on_played, on_started
        self.played: list[Played] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)

    def start(self) -> "Announcer":
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self.queue.close()
        self.backend.stopping.set()
        self._thread.join(timeout)

    def history(self) -> list[Played]:
        with self._lock:
            return list(self.played)

    def _run(self) -> None:
        while self.queue.wait():
            a = self.queue.take(self.clock())
            if a is None:
                continue
            try:
                self._speak(a)
            except Exception:
                # A broken sound device must not stop the next calls from being tried (and shown).
                log.exception("could not announce call %d (ticket %s)", a.seq, a.ticket)
            finally:
                self.queue.done(a)

    def _speak(self, a: Announcement) -> None:
        sound = self.speech.render(a)
        mark: list[float] = []
        label = f"{a.seq:06d}-{a.ticket}-q{a.counter}{'-recall' if a.recall else ''}"

        def started() -> None:
            mark.append(time.monotonic())
            if self.on_started:
                self.on_started(a, mark[0])

        self.backend.play(sound, label, started)
        ended = time.monotonic()
        played = Played(a.seq, a.ticket, a.counter, a.recall, mark[0] if mark else ended, ended, sound.seconds,
                         self.backend.name, tuple(sound.parts), self.backend.last_path)
        with self._lock:
            self.played.append(played)
        if self.on_played:
            self.on_played(played)
