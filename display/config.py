"""The wall display's settings: the `[display]` table of its device.toml, checked once.

    dev = load_device("display-1.toml")
    cfg = display_config(dev.display, "display-1.toml")   # ConfigError names the file and the key
    cfg.template, cfg.repeat, cfg.quiet_hours ...

Every key is optional; a display without `[display]` announces with the defaults below.
docs/config.md lists the keys for operators, docs/display.md explains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hall.config import doc, time_spans
from hall.tomlcheck import Table

TEMPLATE = "Mời công dân có số thứ tự {number} đến quầy số {counter}"
TEMPLATE_NEXT = "số {number} đến quầy {counter}"
TEMPLATE_EN = "Ticket number {number}, please go to counter {counter}"
AUDIO = ("auto", "sdl", "aplay", "paplay", "file", "none")


@dataclass(frozen=True)
class DisplayConfig:
    template: str = doc("[display] template: the call's wording, with {number} and {counter}.", TEMPLATE)
    number_reading: str = doc("[display] number_reading: 'whole' (một nghìn không trăm hai mươi ba) "
                              "or 'digits' (một, không, hai, ba).", "whole")
    linh: str = doc("[display] linh: the word for a zero tens, 'linh' (north) or 'lẻ' (south).", "linh")
    template_next: str = doc("[display] template_next: the words for each further call said in the same "
                             "sentence when several calls wait, with {number} and {counter}.", TEMPLATE_NEXT)
    english: bool = doc("[display] english: also say the call in English after the Vietnamese.", False)
    template_en: str = doc("[display] template_en: the English wording.", TEMPLATE_EN)
    repeat: int = doc("[display] repeat: how many times a call is spoken after the chime when no other "
                      "call waits (when one does, each call is said once).", 2)
    queue_max: int = doc("[display] queue_max: the most calls one sentence names when calls wait; more "
                         "are said in the next sentence. No call is ever dropped from the sound.", 6)
    highlight_s: int = doc("[display] highlight_s: seconds the newest call blinks.", 15)
    volume: int = doc("[display] volume: loudness of announcements, 0-100 percent.", 90)
    quiet_hours: tuple[tuple[int, int], ...] = doc("[display] quiet_hours: spans of the day (hall time) "
                                                   "with no sound, e.g. ['12:00-13:00'].", ())
    voice: str = doc("[display] voice: espeak-ng voice for Vietnamese.", "vi")
    speed: int = doc("[display] speed: espeak-ng words per minute.", 130)
    clips: str = doc("[display] clips: folder of the hall's own recorded WAV clips; '' = synthetic voice.", "")
    chime: bool = doc("[display] chime: play a chime before each call.", True)
    audio: str = doc("[display] audio: auto, sdl, aplay, paplay, file or none.", "auto")
    audio_dir: str = doc("[display] audio_dir: where the 'file' output writes what it would have played.", "")
    cache: str = doc("[display] cache: folder for synthesised phrases and the chime.", "")
    last_calls: int = doc("[display] last_calls: how many earlier calls the screen lists.", 5)
    notice_page_s: int = doc("[display] notice_page_s: seconds each part of a long notice stays.", 8)

    def cache_dir(self) -> Path:
        return Path(self.cache).expanduser() if self.cache else Path.home() / ".cache" / "motcua" / "speech"

    def audio_out(self) -> Path:
        return Path(self.audio_dir).expanduser() if self.audio_dir else self.cache_dir().parent / "played"


def display_config(raw: dict | None, file: str | Path = "device.toml") -> DisplayConfig:
    """Check a device.toml's raw `[display]` table; errors name the file and `display.<key>`."""
    t = Table(file, "display", raw or {})
    d = DisplayConfig()
    template = t.text("template", d.template)
    _placeholders(t, "template", template)
    template_next = t.text("template_next", d.template_next)
    _placeholders(t, "template_next", template_next)
    template_en = t.text("template_en", d.template_en)
    _placeholders(t, "template_en", template_en)
    cfg = DisplayConfig(
        template=template,
        template_next=template_next,
        number_reading=t.choice("number_reading", ("whole", "digits"), d.number_reading),
        linh=t.choice("linh", ("linh", "lẻ"), d.linh),
        english=t.boolean("english", d.english),
        template_en=template_en,
        repeat=t.integer("repeat", d.repeat, low=1, high=3),
        queue_max=t.integer("queue_max", d.queue_max, low=1, high=20),
        highlight_s=t.integer("highlight_s", d.highlight_s, low=0, high=300),
        volume=t.integer("volume", d.volume, low=0, high=100),
        quiet_hours=time_spans(t, "quiet_hours"),
        voice=t.text("voice", d.voice, pattern=r"[a-z0-9+-]{1,32}"),
        speed=t.integer("speed", d.speed, low=80, high=300),
        clips=t.text("clips", d.clips, allow_empty=True, max_len=500),
        chime=t.boolean("chime", d.chime),
        audio=t.choice("audio", AUDIO, d.audio),
        audio_dir=t.text("audio_dir", d.audio_dir, allow_empty=True, max_len=500),
        cache=t.text("cache", d.cache, allow_empty=True, max_len=500),
        last_calls=t.integer("last_calls", d.last_calls, low=0, high=8),
        notice_page_s=t.integer("notice_page_s", d.notice_page_s, low=2, high=120),
    )
    t.done()
    if cfg.clips and not Path(cfg.clips).expanduser().is_dir():
        raise t.error("clips", f"folder {cfg.clips!r} does not exist")
    return cfg


def _placeholders(t: Table, name: str, template: str) -> None:
    # A typo like {numer} would otherwise fail at the first call, in front of the whole hall.
    try:
        template.format(number="1", counter="2")
    except (KeyError, IndexError, ValueError) as err:
        raise t.error(name, f"may only use {{number}} and {{counter}} ({err})") from None
    if "{number}" not in template or "{counter}" not in template:
        raise t.error(name, "must say both {number} and {counter}")
