"""Speaks the queued calls on a worker thread (never the UI thread): every call, never two at once.

    announcer = Announcer(model.queue, Speech(cfg), pick_backend(cfg), log_dir=cfg.audio_out()).start()
                                                # pick_backend: display/backends.py
    ...
    announcer.history()  # [Played(seq, ticket, counter, …, words=…, text=…)] in the order heard
    announcer.waiting()  # how many calls wait to be spoken (the one being said is not counted)
    announcer.sound      # "ok", "no-device" (no sound card: files only) or "failed": the screen's mark
    announcer.stop()

How calls are said (issue 8, item 12: a burst used to lose calls, 13 s each). The announcer
says one piece at a time and picks the next piece when one ends, from what waits then:

- a burst starts with the chime and the first call in the hall's wording (`template`);
- a call that waits by then joins the same sentence in a few words (`template_next`:
  "…, số 2017 đến quầy 2, số 3045 đến quầy 3"), up to `queue_max` calls a sentence; more
  start a new sentence after a short pause, with no new chime;
- only a call that is alone at its end is said again (`repeat`) and in English (`english`).

So nothing is dropped and the wait stays short: four counters calling in the same second
are all named within ~14 s of the first (docs/display.md has the measured figures). What
was said goes, as it starts, to played.log (display/played_log.py) for every backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from display.announce_queue import Announcement, AnnouncementQueue
from display.backends import Backend
from display.played_log import PlayedLog, Said
from display.speech import PAUSE_S, Sound, Speech, silence

log = logging.getLogger("motcua.display")

HISTORY = 200      # Played records kept: a display runs for months (issue 8, item 13)
SLOW_S = 30.0      # a call named later than this after it came is worth a warning


@dataclass(frozen=True)
class Played:
    seq: int
    ticket: str
    counter: int
    recall: bool
    started: float       # time.monotonic(): first sample of the sound naming it (the chime, for a burst's first)
    ended: float         # when that sound ended
    seconds: float       # its length
    backend: str
    parts: tuple[str, ...] = ()
    path: str = ""
    words: float = 0.0   # time.monotonic() when its own words began
    text: str = ""       # the words that named it


class Announcer:
    def __init__(self, queue: AnnouncementQueue, speech: Speech, backend: Backend,
                 clock: Callable[[], float] = time.time,
                 on_played: Callable[[Played], None] | None = None,
                 on_started: Callable[[Announcement, float], None] | None = None,
                 on_sound: Callable[[str], None] | None = None,
                 log_dir: Path | None = None):
        self.queue, self.speech, self.backend, self.clock = queue, speech, backend, clock
        self.on_played, self.on_started, self.on_sound = on_played, on_started, on_sound
        self.played: deque[Played] = deque(maxlen=HISTORY)
        self.sound = "no-device" if backend.fallback else "ok"
        self.log = PlayedLog(log_dir) if log_dir else None
        self._lock = threading.Lock()
        self._saying = threading.Event()       # set while a burst is being said
        self._naming: Announcement | None = None   # the call whose words are being played (for the log)
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)

    def start(self) -> Announcer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self.queue.close()
        self.backend.stopping.set()
        self._thread.join(timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until nothing waits and nothing is being said (tests, the benchmark); True if so."""
        deadline = time.monotonic() + timeout
        while len(self.queue) or self._saying.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def waiting(self) -> int:
        """How many calls are queued and not yet begun: the one being said has left the queue."""
        return len(self.queue)

    def history(self) -> list[Played]:
        with self._lock:
            return list(self.played)

    def _run(self) -> None:
        while self.queue.wait():
            self._saying.set()          # before take(): drain() must never see "nothing waits" in between
            first = self.queue.take(self.clock())
            try:
                if first is not None:
                    self._burst(first)
            except Exception:
                # A broken sound device must not stop the next calls from being tried (and shown).
                a = self._naming or first
                log.exception("could not announce call %d (ticket %s)", a.seq, a.ticket)
                self._set_sound("failed")
            finally:
                self._saying.clear()

    def _burst(self, first: Announcement) -> None:
        """The chime and the first call, then whatever waits, one piece at a time (see the top)."""
        sp, cfg = self.speech, self.speech.cfg
        self.backend.open(_label(first))
        try:
            self._say("call", first, sp.chime_sound(), sp.phrase(first.ticket, first.counter))
            sentence, repeats, english = [first], cfg.repeat - 1, cfg.english
            while not self.backend.stopping.is_set():
                a = self.queue.take(self.clock())
                if a is not None and len(sentence) < cfg.queue_max:
                    sentence.append(a)
                    self._say("next", a, Sound(b""), sp.next_phrase(a.ticket, a.counter))
                elif a is not None:
                    # A new sentence, a new WAV: when calls keep coming, a burst may last long,
                    # and a file must not grow for as long as it does.
                    self.backend.close()
                    self.backend.open(_label(a))
                    sentence, repeats, english = [a], cfg.repeat - 1, cfg.english
                    self._say("call", a, Sound(silence(PAUSE_S)), sp.phrase(a.ticket, a.counter))
                elif len(sentence) == 1 and english:
                    english, alone = False, sentence[0]
                    self._say("en", alone, Sound(b""), sp.english(alone.ticket, alone.counter))
                elif len(sentence) == 1 and repeats > 0:
                    repeats, english, alone = repeats - 1, cfg.english, sentence[0]
                    self._say("again", alone, Sound(silence(PAUSE_S)), sp.phrase(alone.ticket, alone.counter))
                else:
                    return
        finally:
            self.backend.close()

    def _say(self, kind: str, a: Announcement, lead: Sound, words: Sound) -> None:
        """Play lead + words (blocking); the first time a call is named, report it."""
        sound = lead + words
        mark: list[float] = []
        naming = kind in ("call", "next")

        def started() -> None:
            mark.append(time.monotonic())
            if self.log:
                wav = Path(self.backend.last_path).name
                self.log.write(Said(kind, self.backend.name, wav, ((a.ticket, a.counter),), sound.seconds, words.text))
            if naming:
                waited = self.clock() + lead.seconds - a.received
                if waited > SLOW_S:
                    log.warning("call %d (ticket %s) named %.0f s after it came: calls come faster than they "
                                "can be said", a.seq, a.ticket, waited)
                if self.on_started:
                    self.on_started(a, mark[0])
            try:
                for w in self.queue.snapshot():     # while this is heard, ready the calls that wait
                    self.speech.prefetch(w.ticket, w.counter)
            except Exception as err:      # only a head start: the real attempt reports any error
                log.debug("could not prepare the waiting calls: %s", err)

        self._naming = a
        self.backend.play(sound, started)
        ended = time.monotonic()
        if not self.backend.fallback:
            self._set_sound("ok")
        if not naming:
            return
        begun = mark[0] if mark else ended
        played = Played(a.seq, a.ticket, a.counter, a.recall, begun, ended, sound.seconds, self.backend.name,
                        tuple(sound.parts), self.backend.last_path, begun + lead.seconds, words.text)
        with self._lock:
            self.played.append(played)
        if self.on_played:
            self.on_played(played)

    def _set_sound(self, state: str) -> None:
        if state != self.sound:
            self.sound = state
            if state == "failed":
                log.warning("the sound device failed: the hall may hear no announcements until it works again")
            if self.on_sound:
                self.on_sound(state)


def _label(a: Announcement) -> str:
    """The WAV's name in file mode: 000012-1023-q2 (the first call it says), -recall for a recall."""
    return f"{a.seq:06d}-{a.ticket}-q{a.counter}{'-recall' if a.recall else ''}"
