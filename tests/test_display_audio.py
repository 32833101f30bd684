"""The announcer's sound: espeak-ng phrases, recorded clips joined in order, played one after the other.

Real espeak-ng, sox and SDL (in a child process, with SDL's `disk` audio driver): no sound card
is needed. Clips made here carry a marker (every sample of clip k has the value 1000·k), so the
joined PCM tells exactly which clips were played and in which order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import wave
from array import array
from pathlib import Path

import pytest

from display.announce_queue import Announcement, AnnouncementQueue
from display.announcer import Announcer
from display.backends import FileBackend
from display.config import display_config
from display.played_log import PlayedLog
from display.speech import AFTER_CHIME_S, PAUSE_S, RATE, Speech
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not all(os.path.exists(f"/usr/bin/{t}") for t in ("espeak-ng", "sox", "soxi")),
                                reason="espeak-ng and sox are installed by ./motcua (apt)")

CLIP_S = 0.05
WORDS = ["mời_công_dân_có_số_thứ_tự", "một", "nghìn", "không", "trăm", "hai", "mươi", "ba", "đến_quầy_số",
         "chime", "bốn", "năm", "số", "đến_quầy"]      # the last two: `template_next` ("số … đến quầy …")


def soxi_seconds(path: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout)


def make_clips(folder: Path, names=WORDS, stereo_44k: tuple[str, ...] = ()) -> dict[str, int]:
    """One short WAV per name, every sample = 1000 × its marker; some in another format for sox."""
    folder.mkdir(parents=True, exist_ok=True)
    marks = {}
    for k, name in enumerate(names, start=1):
        marks[name] = 1000 * k
        rate, channels = (44100, 2) if name in stereo_44k else (RATE, 1)
        with wave.open(str(folder / f"{name}.wav"), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(array("h", [1000 * k] * int(rate * CLIP_S) * channels).tobytes())
    return marks


def runs(pcm: bytes, min_len: int = 200) -> list[int]:
    """The constant non-zero stretches of PCM, in order (silence, and the ringing sox's resampler
    leaves at a converted clip's edges, are left out)."""
    out: list[int] = []
    value, length = None, 0
    for s in array("h", pcm) + array("h", [0]):
        if s == value:
            length += 1
            continue
        if value and length >= min_len and (not out or out[-1] != value):
            out.append(value)
        value, length = s, 1
    return out


def announcement(seq: int, ticket: str, counter: int, recall: bool = False) -> Announcement:
    return Announcement(seq, ticket, counter, recall, time.time())


def pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


def run_announcer(tmp_path: Path, cfg, calls, realtime: bool = True, spread: float = 0.0, backend=None,
                  timeout: float = 60.0):
    """Real Announcer, real Speech (espeak-ng or clips), FileBackend: put `calls` (ticket, counter)
    `spread` seconds apart and wait until each has been named. → (history, arrival per ticket)."""
    q = AnnouncementQueue(quiet=lambda now: False)
    backend = backend or FileBackend(tmp_path / "played", realtime=realtime)
    announcer = Announcer(q, Speech(cfg, tmp_path / "cache"), backend, log_dir=tmp_path / "played")
    arrived = {}
    if not realtime:        # nothing is heard in real time: queue all first, as in one instant
        for seq, (ticket, counter) in enumerate(calls, start=1):
            q.put(announcement(seq, ticket, counter), time.time())
        announcer.start()
    else:
        announcer.start()
        for seq, (ticket, counter) in enumerate(calls, start=1):
            arrived[ticket] = time.monotonic()
            q.put(announcement(seq, ticket, counter), time.time())
            time.sleep(spread / max(1, len(calls) - 1))
    try:
        assert announcer.drain(timeout), f"still saying after {timeout} s: {announcer.history()}"
    finally:
        announcer.stop()
    return announcer.history(), arrived


def test_the_phrase_for_a_call_is_spoken_by_espeak_lasts_a_plausible_time_and_is_cached(tmp_path):
    sp = Speech(display_config({}), tmp_path / "cache")
    text = sp.text("1023", 2)
    assert text == "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số hai"
    wav = sp.synth(text, "vi")
    assert wav.exists()
    # 18 syllables at 130 words a minute, with espeak-ng's pauses: a few seconds, not a blip, not a minute.
    seconds = soxi_seconds(wav)
    assert 3.0 < seconds < 10.0, seconds
    made = wav.stat().st_mtime_ns
    assert sp.synth(text, "vi") == wav and wav.stat().st_mtime_ns == made   # the cache, not espeak again

    # A call alone: chime, the phrase twice (repeat = 2), the pauses between — one WAV.
    played, _ = run_announcer(tmp_path, display_config({}), [("1023", 2)], realtime=False)
    assert [p.text for p in played] == [text]
    assert played[0].parts == ("chime", f"espeak:{text}")
    out = Path(played[0].path)
    assert abs(soxi_seconds(out) - (soxi_seconds(sp.chime()) + AFTER_CHIME_S + 2 * seconds + PAUSE_S)) < 0.05
    said = PlayedLog(tmp_path / "played").read()
    assert [(s.kind, s.text, s.wav) for s in said] == [("call", text, out.name), ("again", text, out.name)]


def test_numbers_are_read_whole_or_digit_by_digit_as_configured(tmp_path):
    whole = Speech(display_config({}), tmp_path)
    assert whole.number_words("1005") == "một nghìn không trăm linh năm"
    assert whole.number_words("A007") == "A bảy"
    assert Speech(display_config({"linh": "lẻ"}), tmp_path).number_words("1005") == "một nghìn không trăm lẻ năm"
    digits = Speech(display_config({"number_reading": "digits", "english": True}), tmp_path)
    assert digits.text("1023", 12) == "Mời công dân có số thứ tự một, không, hai, ba đến quầy số mười hai"
    assert digits.text_en("1023", 12) == "Ticket number 1 0 2 3, please go to counter 12"
    assert digits.english("1023", 12).parts == ["espeak:Ticket number 1 0 2 3, please go to counter 12"]
    assert whole.text_next("2017", 3) == "số hai nghìn không trăm mười bảy đến quầy ba"


def test_a_halls_recorded_clips_are_joined_in_order(tmp_path):
    marks = make_clips(tmp_path / "clips", stereo_44k=("ba",))      # ba.wav must be converted by sox
    sp = Speech(display_config({"clips": str(tmp_path / "clips"), "repeat": 1, "volume": 100}), tmp_path / "cache")
    sound = sp.chime_sound() + sp.phrase("1023", 2)
    order = ["chime", "mời_công_dân_có_số_thứ_tự", "một", "nghìn", "không", "trăm", "hai", "mươi", "ba",
             "đến_quầy_số", "hai"]
    assert runs(sound.pcm) == [marks[n] for n in order]
    assert sound.parts == ["chime"] + [f"clip:{n}.wav" for n in order[1:]]
    assert abs(sound.seconds - (len(order) * CLIP_S + 0.25)) < 0.01   # clips + the pause after the chime


def test_digit_clips_may_be_named_by_digit_and_commas_make_short_pauses(tmp_path):
    folder = tmp_path / "clips"
    marks = make_clips(folder, ["mời_công_dân_có_số_thứ_tự", "đến_quầy_số", "0", "1", "2", "3"])
    sp = Speech(display_config({"clips": str(folder), "number_reading": "digits", "chime": False, "repeat": 1,
                                "volume": 100}),
                tmp_path / "cache")
    sound = sp.phrase("1023", 2)
    assert runs(sound.pcm) == [marks[n] for n in ["mời_công_dân_có_số_thứ_tự", "1", "0", "2", "3", "đến_quầy_số",
                                                 "2"]]
    assert abs(sound.seconds - (7 * CLIP_S + 3 * 0.15)) < 0.01


def test_a_missing_clip_falls_back_to_the_synthetic_voice(tmp_path, caplog):
    make_clips(tmp_path / "clips", ["mời_công_dân_có_số_thứ_tự", "đến_quầy_số", "một"])
    sp = Speech(display_config({"clips": str(tmp_path / "clips")}), tmp_path / "cache")
    sound = sp.phrase("1023", 2)
    assert sound.parts == [f"espeak:{sp.text('1023', 2)}"]
    assert "recorded clips lack" in caplog.text and "nghìn" in caplog.text


def test_volume_scales_every_source(tmp_path):
    marks = make_clips(tmp_path / "clips")
    loud = Speech(display_config({"clips": str(tmp_path / "clips"), "volume": 100}), tmp_path / "a")
    soft = Speech(display_config({"clips": str(tmp_path / "clips"), "volume": 50}), tmp_path / "b")
    assert runs(loud.phrase("1023", 2).pcm)[0] == marks["mời_công_dân_có_số_thứ_tự"]
    assert runs(soft.phrase("1023", 2).pcm)[0] == marks["mời_công_dân_có_số_thứ_tự"] // 2
    peak = lambda p: max(abs(s) for s in array("h", p))  # noqa: E731
    syn_loud = Speech(display_config({"volume": 100}), tmp_path / "c")
    syn_soft = Speech(display_config({"volume": 40}), tmp_path / "d")
    call = lambda sp: sp.chime_sound() + sp.phrase("1023", 2)  # noqa: E731
    assert peak(call(syn_soft).pcm) < 0.6 * peak(call(syn_loud).pcm)


def test_the_announcer_plays_a_burst_in_order_one_after_the_other(tmp_path):
    make_clips(tmp_path / "clips")
    cfg = display_config({"clips": str(tmp_path / "clips"), "repeat": 1, "volume": 100})
    tickets = [("1023", 2), ("1022", 1), ("1032", 3), ("1033", 4), ("1030", 2)]
    played, _ = run_announcer(tmp_path, cfg, tickets, spread=0.2)
    assert [(p.seq, p.ticket, p.counter) for p in played] == [(i, t, c) for i, (t, c) in enumerate(tickets, 1)]
    for before, after in zip(played, played[1:], strict=False):
        assert after.started >= before.ended           # never two at once: none cut off
        assert before.ended - before.started >= before.seconds - 0.02    # each played to its end
    for p in played:
        assert not [part for part in p.parts if part.startswith("espeak")]    # all from the clips
    # One burst: one chime, one WAV holding everything said, one played.log line per call.
    assert sum(p.parts.count("chime") for p in played) == 1
    assert len({p.path for p in played}) == 1
    assert abs(soxi_seconds(Path(played[0].path)) - sum(p.seconds for p in played)) < 0.01
    said = PlayedLog(tmp_path / "played").read()
    assert [(s.kind, s.calls) for s in said] == [("call", (tickets[0],))] + [("next", (t,)) for t in tickets[1:]]


def test_a_burst_longer_than_queue_max_is_said_in_several_sentences_with_one_chime(tmp_path):
    make_clips(tmp_path / "clips")
    cfg = display_config({"clips": str(tmp_path / "clips"), "volume": 100, "queue_max": 3})
    tickets = [("1023", 1), ("1024", 2), ("1025", 3), ("1032", 4), ("1033", 1)]
    played, _ = run_announcer(tmp_path, cfg, tickets, realtime=False)
    assert [p.ticket for p in played] == [t for t, _ in tickets]
    said = PlayedLog(tmp_path / "played").read()
    # No repeat in a burst: "call" begins a sentence (the hall's template), "next" continues it.
    assert [s.kind for s in said] == ["call", "next", "next", "call", "next"]
    assert said[1].text == "số một nghìn không trăm hai mươi tư đến quầy hai"
    assert [p.parts.count("chime") for p in played] == [1, 0, 0, 0, 0]
    assert played[3].words - played[3].started >= PAUSE_S - 0.01     # a new sentence: a pause first
    # A WAV per sentence: a burst that goes on and on does not make one ever-growing file.
    assert [Path(p.path).name for p in played] == ["000001-1023-q1.wav"] * 3 + ["000004-1032-q4.wav"] * 2


SDL_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from display.announce_queue import Announcement, AnnouncementQueue
    from display.announcer import Announcer
    from display.backends import SdlBackend
    from display.config import display_config
    from display.speech import Speech
    tmp = Path(sys.argv[1])
    q = AnnouncementQueue(lambda now: False)
    a = Announcer(q, Speech(display_config({"clips": str(tmp / "clips"), "repeat": 1}), tmp / "cache"),
                  SdlBackend()).start()
    for seq, ticket in ((1, "1023"), (2, "1024")):
        q.put(Announcement(seq, ticket, 2, False, time.time()), time.time())
    deadline = time.monotonic() + 20
    while len(a.history()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    a.stop()
    print(json.dumps([[p.seq, p.ticket, p.backend, p.started, p.ended, p.seconds] for p in a.history()]))
""")


def test_the_sdl_backend_plays_through_sdl_audio(tmp_path):
    """Kivy's SoundLoader → SDL, with SDL's `disk` driver writing what the speaker would get."""
    make_clips(tmp_path / "clips")
    out = tmp_path / "sdl.raw"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(KIVY_HOME=str(tmp_path / "kivy"), KIVY_NO_ARGS="1", KIVY_LOG_MODE="PYTHON", KIVY_NO_FILELOG="1",
               SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(out))
    proc = subprocess.run([sys.executable, "-c", SDL_SCRIPT, str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    played = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [(p[0], p[1], p[2]) for p in played] == [(1, "1023", "sdl"), (2, "1024", "sdl")]
    assert played[1][3] >= played[0][4]
    data = out.read_bytes()
    assert len(data) > 10_000 and data.count(0) < len(data)     # SDL really mixed our samples out


def test_the_phrase_cache_keeps_the_phrases_in_use_and_no_more(tmp_path):
    # issue 8 item 13: nothing a display writes grows forever; here the espeak-ng phrase cache
    from display import speech
    cache = tmp_path / "cache"
    cache.mkdir()
    sp = Speech(display_config({}), cache)
    used = sp.synth(sp.text("1001", 1), "vi")                    # a phrase in use ...
    old = time.time_ns() - 10**12
    for i in range(speech.CACHE_KEEP + 5):                       # ... and years of other phrases
        f = cache / f"{i:024x}.wav"
        f.write_bytes(b"RIFF")
        os.utime(f, ns=(old + i, old + i))
    (cache / "notes.txt").write_text("not ours")
    sp.synth(sp.text("1001", 1), "vi")                            # used again: its access time moves
    Speech(display_config({}), cache)                             # the next start prunes the cache
    names = {p.name for p in cache.iterdir()}
    assert len([n for n in names if speech.PHRASE_WAV.fullmatch(n)]) == speech.CACHE_KEEP
    assert used.name in names and "notes.txt" in names
    assert f"{0:024x}.wav" not in names, "the least recently used went first"
