"""What the hall hears for a call: a chime, then the call in Vietnamese, as 16-bit mono PCM.

    sp = Speech(cfg)                              # DisplayConfig: template, reading, clips, volume …
    sp.text("1023", 2)   # 'Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số hai'
    sp.text_next("2017", 3)                       # 'số hai nghìn không trăm mười bảy đến quầy ba'
    sp.chime_sound() + sp.phrase("1023", 2)       # Sound: what a lone call starts with
    sound.write("call.wav")

The announcer (display/announcer.py) joins these pieces one at a time, deciding each next
piece when the one before ends, so calls that arrive meanwhile join the sentence.
The voice is espeak-ng (`-v vi`), run offline, one WAV per phrase cached by its text and
settings, with espeak-ng's half second of trailing silence cut to TAIL_S (the pause between
the calls of one sentence). A hall may instead record its own clips (see docs/display.md):
the phrase is then cut into the longest runs of words that have a clip, and the clips are
joined. The chime is two bell tones made here once, so nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import subprocess
import tempfile
import threading
import time
import unicodedata
import wave
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from display.config import DisplayConfig
from display.diskbound import keep_newest
from display.words import DIGITS, say_digits, say_number

log = logging.getLogger("motcua.display")

RATE = 22050           # espeak-ng's own rate: its WAVs are used as they are
PAUSE_S = 0.6          # between the repeats of a call, and before a new sentence in a burst
TAIL_S = 0.15          # silence kept after an espeak-ng phrase: the comma between calls of one sentence
SILENT = 64            # |sample| at or below this is silence (-54 dB) when trimming espeak-ng's tail
CACHE_VERSION = "t1"   # bumped when what is cached changes (t1: the tail is trimmed)
AFTER_CHIME_S = 0.25
COMMA_S = 0.15         # the pause a comma makes when clips are joined (digit by digit)
MAX_RUN = 8            # longest run of words one clip may cover
LOADED_MAX = 64        # WAVs kept in memory (~200 KB a phrase)
# The phrase cache on disk: a hall with 6 services × 1,000 numbers × 4 counters could make
# 24,000 phrases (~5 GB) over the years; the ones used least recently go beyond this.
CACHE_KEEP = 3000      # phrases (~600 MB at most; a busy day uses a few hundred)
CACHE_BYTES = 600 * 2**20
CACHE_PRUNE_EVERY = 50  # new phrases between two prunings
PHRASE_WAV = re.compile(r"[0-9a-f]{24}\.wav")


@dataclass
class Sound:
    pcm: bytes                                   # 16-bit signed mono at RATE
    parts: list[str] = field(default_factory=list)   # what was joined, in order (chime, clips, phrases)
    text: str = ""                               # the words, as said (empty for a chime or a pause)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE

    def __add__(self, other: Sound) -> Sound:
        return Sound(self.pcm + other.pcm, self.parts + other.parts, " ".join(filter(None, [self.text, other.text])))

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(self.pcm)
        return path


def silence(seconds: float) -> bytes:
    return bytes(2 * int(RATE * seconds))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Speech:
    def __init__(self, cfg: DisplayConfig, cache_dir: Path | None = None):
        self.cfg = cfg
        self.cache = Path(cache_dir or cfg.cache_dir())
        self.cache.mkdir(parents=True, exist_ok=True)
        self._made = 0   # phrases made by espeak-ng in this run; the cache is pruned at start and every 50
        keep_newest(self.cache, PHRASE_WAV, CACHE_KEEP, CACHE_BYTES, used=True)
        self.clips = _clip_index(Path(cfg.clips).expanduser()) if cfg.clips else {}
        # PCM of the phrases and clips last used: a recall or a repeat costs no disk read. Bounded,
        # since a display says thousands of different phrases over the months.
        self._loaded: OrderedDict[Path, bytes] = OrderedDict()

    # --- words -------------------------------------------------------------------------

    def number_words(self, ticket: str) -> str:
        """'1023' → 'một nghìn không trăm hai mươi ba' (or digit by digit); 'A007' → 'A bảy'."""
        m = re.fullmatch(r"(\D*)(\d+)", ticket)
        if self.cfg.number_reading == "digits" or not m:
            return say_digits(ticket)
        prefix, digits = m.groups()
        return " ".join(filter(None, [" ".join(prefix), say_number(int(digits), linh=self.cfg.linh)]))

    def text(self, ticket: str, counter: int) -> str:
        return nfc(self.cfg.template.format(number=self.number_words(ticket), counter=say_number(counter)))

    def text_next(self, ticket: str, counter: int) -> str:
        """A further call of the same sentence: 'số hai nghìn không trăm mười bảy đến quầy ba'."""
        return nfc(self.cfg.template_next.format(number=self.number_words(ticket), counter=say_number(counter)))

    def text_en(self, ticket: str, counter: int) -> str:
        spoken = " ".join(ticket) if self.cfg.number_reading == "digits" else ticket
        return self.cfg.template_en.format(number=spoken, counter=counter)

    # --- sound ---------------------------------------------------------------------------

    def chime_sound(self) -> Sound:
        """The chime (if on) and the short pause after it. Every part is already at the configured
        volume (espeak-ng's amplitude, the chime's level, clips scaled once when loaded), so
        joining is only copying bytes: the first sample goes out a few ms after the call arrives."""
        if not self.cfg.chime:
            return Sound(b"")
        chime = self.chime()
        return Sound(self._pcm(chime, own=chime.parent != self.cache) + silence(AFTER_CHIME_S), ["chime"])

    def phrase(self, ticket: str, counter: int) -> Sound:
        """The call in the hall's wording (`template`): a call alone, or the first of a sentence."""
        return self._say(self.text(ticket, counter))

    def next_phrase(self, ticket: str, counter: int) -> Sound:
        """A further call in the same sentence (`template_next`)."""
        return self._say(self.text_next(ticket, counter))

    def english(self, ticket: str, counter: int) -> Sound:
        """The call in English, after a short pause (only said for a call alone: docs/display.md)."""
        en = self.text_en(ticket, counter)
        return Sound(silence(PAUSE_S / 2) + self._pcm(self.synth(en, "en")), [f"espeak:{en}"], en)

    def prefetch(self, ticket: str, counter: int) -> None:
        """Make both phrases of a waiting call (espeak-ng, ~0.1 s each) while another is heard,
        so choosing it later costs nothing. Clips are joined at once and need no work ahead."""
        if not self.clips:
            self.synth(self.text(ticket, counter), self.cfg.voice)
            self.synth(self.text_next(ticket, counter), self.cfg.voice)

    def _say(self, text: str) -> Sound:
        """Words from the hall's clips when they cover them, else espeak-ng."""
        sound = self._from_clips(text) if self.clips else None
        if sound is None:
            sound = Sound(self._pcm(self.synth(text, self.cfg.voice)), [f"espeak:{text}"])
        sound.text = text
        return sound

    def synth(self, text: str, voice: str) -> Path:
        """The phrase's WAV from espeak-ng, made once per text, voice and speed (the cache)."""
        key = hashlib.sha256(f"{CACHE_VERSION}|{voice}|{self.cfg.speed}|{self.cfg.volume}|{text}".encode())
        path = self.cache / f"{key.hexdigest()[:24]}.wav"
        if path.exists():
            try:   # used now (access time only: the file itself is unchanged): pruning keeps it
                os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
            except OSError:
                pass
        else:
            tmp = _tmp_beside(path)
            try:
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(self.cfg.speed), "-a", str(self.cfg.volume),
                                "-w", str(tmp), text],
                               check=True, capture_output=True, timeout=30)
            except FileNotFoundError:
                raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)") from None
            _trim_tail(tmp)
            tmp.replace(path)    # a half-written WAV must never be taken from the cache
            self._made += 1
            if self._made % CACHE_PRUNE_EVERY == 0:
                keep_newest(self.cache, PHRASE_WAV, CACHE_KEEP, CACHE_BYTES, used=True)
        return path

    def chime(self) -> Path:
        """The hall's own chime.wav if its clips have one, else two bell tones made once."""
        own = self.clips.get("chime")
        if own:
            return own
        path = self.cache / f"chime-{self.cfg.volume}.wav"
        if not path.exists():
            tmp = _tmp_beside(path)
            level = 0.5 * self.cfg.volume / 100
            Sound(bell(659.3, 0.55, level) + bell(523.3, 0.9, level)).write(tmp)     # E5 then C5: "ding-dong"
            tmp.replace(path)
        return path

    def _from_clips(self, text: str) -> Sound | None:
        words = [w for w in re.split(r"\s+", text.lower()) if w]
        out, i, missing = Sound(b""), 0, []
        while i < len(words):
            for n in range(min(MAX_RUN, len(words) - i), 0, -1):
                run = [w.strip(",.;:!?") for w in words[i:i + n]]
                clip = self.clips.get("_".join(run))
                if clip:
                    out.pcm += self._pcm(clip, own=True)
                    out.parts.append(f"clip:{clip.name}")
                    if words[i + n - 1].endswith(","):
                        out.pcm += silence(COMMA_S)
                    i += n
                    break
            else:
                missing.append(words[i].strip(",.;:!?"))
                i += 1
        if missing:
            log.warning("recorded clips lack %s: using the synthetic voice for %r", missing, text)
            return None
        return out

    def _pcm(self, path: Path, own: bool = False) -> bytes:
        """16-bit mono PCM at RATE of a WAV; other formats are converted with sox, once.
        `own`: a hall's recorded clip, scaled to the volume here (espeak and the chime are made at it)."""
        if path in self._loaded:
            self._loaded.move_to_end(path)
        else:
            with wave.open(str(path), "rb") as w:
                ok = (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
                frames = w.readframes(w.getnframes()) if ok else None
            if frames is None:
                with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                    # -D: no dither; a clip is converted once and dither would only add hiss.
                    subprocess.run(["sox", "-D", str(path), "-r", str(RATE), "-c", "1", "-b", "16", "-e",
                                    "signed-integer", tmp.name], check=True, capture_output=True, timeout=30)
                    with wave.open(tmp.name, "rb") as w:
                        frames = w.readframes(w.getnframes())
            self._loaded[path] = scale(frames, self.cfg.volume / 100) if own else frames
            while len(self._loaded) > LOADED_MAX:
                self._loaded.popitem(last=False)
        return self._loaded[path]


def _trim_tail(path: Path) -> None:
    """Cut espeak-ng's trailing silence (~0.5 s) to TAIL_S: in a burst, four calls' tails would
    otherwise add 1.5 s of nothing before the last call is named (docs/display.md)."""
    with wave.open(str(path), "rb") as w:
        params, samples = w.getparams(), array("h", w.readframes(w.getnframes()))
    end = len(samples)
    while end and abs(samples[end - 1]) <= SILENT:
        end -= 1
    keep = min(len(samples), end + int(TAIL_S * params.framerate))
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(samples[:keep].tobytes())


def _tmp_beside(path: Path) -> Path:
    """A private temp name next to a cache file: several displays may share one cache folder."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")


def _clip_index(folder: Path) -> dict[str, Path]:
    """{'mời_công_dân': path, 'hai': path, 'chime': path …}: NFC lowercase names; 0.wav … 9.wav are digits."""
    index = {}
    for p in sorted(folder.glob("*.wav")):
        name = nfc(p.stem.lower()).replace(" ", "_")
        index[DIGITS[int(name)] if name.isdigit() and len(name) == 1 else name] = p
    return index


def bell(freq: float, seconds: float, level: float = 0.5) -> bytes:
    """One struck tone with two overtones and an exponential decay, as 16-bit PCM."""
    n = int(RATE * seconds)
    out = array("h")
    for i in range(n):
        t = i / RATE
        env = math.exp(-4.0 * t / seconds) * min(1.0, i / (0.005 * RATE))   # 5 ms attack: no click
        s = (math.sin(2 * math.pi * freq * t) + 0.4 * math.sin(4 * math.pi * freq * t)
             + 0.15 * math.sin(6 * math.pi * freq * t)) / 1.55
        out.append(int(32767 * level * env * s))
    return out.tobytes()


def scale(pcm: bytes, factor: float) -> bytes:
    """Volume: every sample times factor (0-1), so each backend plays the same loudness."""
    if factor >= 0.999:
        return pcm
    samples = array("h", pcm)
    return array("h", (int(s * factor) for s in samples)).tobytes()
