"""The printed ticket: layout, ESC/POS bytes from python-escpos's Dummy printer, text mode, profiles.

Every job is decoded back (tests/escpos_decode.py) and compared with the rendered image pixel for
pixel; the QR code is read back with zbar. Sample tickets are saved in test-output/tickets/.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from hall.config import DEFAULT_FOOTER, load_hall
from printer.escpos_job import FRAGMENT_HEIGHT, encode_ticket, render_and_encode
from printer.fonts import BOLD, REGULAR, GlyphMissing, check_glyphs, covered, fit
from printer.layout import Sizes, render_ticket
from printer.profiles import (
    UnknownPrinterModel,
    UnsuitablePrinter,
    load_profile,
    model_names,
)
from printer.textmode import encode_text_ticket, encoding_for
from printer.ticket import TicketInfo, sample_ticket
from tests.conftest import EXAMPLE, ROOT, VN
from tests.escpos_decode import decode

CFG = load_hall(EXAMPLE)
# One printer per width: 58 mm clone (384 dots), Epson TM-T88V (512), Epson TM-T20II (576).
MODELS = ["POS-58", "TM-T88V", "TM-T20II"]
LONG_SERVICE = "Lĩnh vực khác (khiếu nại, tố cáo, thi đua khen thưởng, giáo dục và đào tạo)"
LOOKUP = "http://motcua.local:8080/tra-cuu"   # the example hall.toml's lookup_url
VIETNAMESE = ("aăâbcdđeêghiklmnoôơpqrstuưvxy àảãáạ ằẳẵắặ ầẩẫấậ èẻẽéẹ ềểễếệ ìỉĩíị òỏõóọ ồổỗốộ ờởỡớợ "
              "ùủũúụ ừửữứự ỳỷỹýỵ")


def ticket(**changes) -> TicketInfo:
    return replace(sample_ticket(CFG, "ho-tich"), **changes)


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the black dots."""
    return ImageOps.invert(image.convert("L")).getbbox()


def widest_block(image: Image.Image, rows: int = 6) -> int:
    """The widest run of black dots that stays black over `rows` consecutive rows."""
    img = image.convert("1")
    w, h = img.size
    px = img.load()
    black = [[px[x, y] == 0 for x in range(w)] for y in range(h)]
    best = 0
    for y in range(h - rows + 1):
        run = 0
        for x in range(w):
            run = run + 1 if all(black[y + k][x] for k in range(rows)) else 0
            best = max(best, run)
    return best


def zbar(image: Image.Image, tmp_path) -> str:
    """What zbarimg reads from the image (scaled ×2 with a white border, as a phone would see it)."""
    assert shutil.which("zbarimg"), "zbarimg is missing: install zbar-tools (./motcua does)"
    big = image.convert("L").resize((image.width * 2, image.height * 2), Image.NEAREST)
    path = tmp_path / "qr.png"
    ImageOps.expand(big, border=40, fill=255).save(path)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(path)], check=False, capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


# --- the ticket's data ------------------------------------------------------------------------

def test_from_reply_takes_names_from_the_config():
    from tests.engine_hall import KIOSK, Hall
    hall = Hall()
    hall.do(KIOSK, "take-ticket", service="ho-tich")
    data = hall.do(KIOSK, "take-ticket", service="ho-tich", priority="elderly").data
    info = TicketInfo.from_reply(data, CFG)
    assert (info.hall_name, info.service_name, info.label) == ("UBND xã Dang Kang", "Hộ tịch", "1002")
    assert info.counters == ("Quầy 1", "Quầy 2") and info.counters_text == "Mời đến quầy 1, 2"
    assert info.priority == "Người cao tuổi"
    assert info.issued_at == datetime(2026, 11, 25, 9, 0, tzinfo=VN)
    assert info.when_text == "09:00 · Thứ Tư, 25/11/2026"
    assert info.wait_text == "Có 1 người đang chờ trước bạn · khoảng 5 phút"
    assert info.qr_text == "http://motcua.local:8080/tra-cuu?t=20261125-1002"   # the example's [server] http_port
    assert info.footer == DEFAULT_FOOTER
    assert TicketInfo.from_reply(replace(data, priority=None), CFG, footer="Cảm ơn").priority is None


def test_wording_edge_cases():
    assert ticket(ahead=0, wait_min=0).wait_text == "Không có người chờ trước bạn"
    assert ticket(ahead=9, wait_min=95).wait_text == "Có 9 người đang chờ trước bạn · khoảng 1 giờ 35 phút"
    assert ticket(counters=("Quầy 4", "Quầy 3")).counters_text == "Mời đến quầy 3, 4"
    assert ticket(counters=("Bàn tiếp dân",)).counters_text == "Mời đến Bàn tiếp dân"
    assert ticket(lookup_url="").qr_text == "20261125-1023"
    assert ticket(lookup_url="https://x.vn/tra?hall=1").qr_text == "https://x.vn/tra?hall=1&t=20261125-1023"
    # Decomposed input (as some editors save it) becomes NFC: one character per Vietnamese letter.
    assert ticket(service_name="Ho\u0302\u0323 ti\u0323ch").service_name == "Hộ tịch"


# --- layout --------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("priority", [False, True], ids=["normal", "priority"])
def test_decoded_bytes_equal_the_rendered_image(model, priority):
    prof = load_profile(model)
    info = sample_ticket(CFG, "ho-tich", priority=priority)
    image = render_ticket(info, prof.width)
    assert image.mode == "1" and image.width == prof.width
    job = decode(encode_ticket(image, prof))
    assert job.image(prof.width).tobytes() == image.tobytes()
    assert job.commands[:2] == [("ESC @",), ("ESC a", 0)]
    rasters = [c for c in job.commands if c[0] == "GS v 0"]
    assert all(c[1] <= prof.width and c[2] <= FRAGMENT_HEIGHT < 256 for c in rasters)
    # The big number goes at 2×2 dots per pixel (m = 3): a quarter of its bytes; on 80 mm the service
    # name goes in 2-dot-wide pixels (m = 1): half of its bytes.
    assert any(c[3] == 3 and c[2] >= 40 for c in rasters)
    assert any(c[3] == 1 for c in rasters) == (prof.width >= 512)
    assert job.commands[-1] == (("GS V", 66, 0) if prof.partial_cut else ("ESC d", 4))


def test_cut_and_beep_bytes():
    image = render_ticket(ticket(), 576)
    t20 = load_profile("TM-T20II")
    assert encode_ticket(image, t20, cut="full").endswith(b"\x1dVA\x00")
    assert encode_ticket(image, t20, cut="partial").endswith(b"\x1dVB\x00")
    assert encode_ticket(image, t20, cut="none").endswith(b"\x1bd\x04")
    assert encode_ticket(image, t20, beep=True).endswith(b"\x1dVB\x00\x1bB\x02\x02")
    # The 58 mm clone has no cutter: it feeds past the tear bar, whatever the config says.
    assert encode_ticket(render_ticket(ticket(), 384), load_profile("POS-58"), cut="full").endswith(b"\x1bd\x04")
    with pytest.raises(ValueError, match="cut must be one of"):
        encode_ticket(image, t20, cut="half")
    with pytest.raises(ValueError, match="576 dots wide; POS-58 prints 384"):
        encode_ticket(image, load_profile("POS-58"))


def seamed(job, width: int) -> Image.Image:
    """The printed image with the first row of every band after the first left white: the faint line
    some printers leave between two raster commands, at its worst."""
    image = job.image(width)
    y = 0
    for band in job.bands[:-1]:
        y += band.height
        image.paste(1, (0, y, width, y + 1))
    return image


@pytest.mark.parametrize("model", MODELS)
def test_qr_code_reads_back_from_the_printed_bytes(model, tmp_path):
    prof = load_profile(model)
    job = decode(render_and_encode(ticket(), prof))
    assert zbar(job.image(prof.width), tmp_path) == f"{LOOKUP}?t=20261125-1023"
    # The QR rows with no text beside them go at 2×2 (a seam above and below the text): it still reads
    # with a white line at every seam.
    assert zbar(seamed(job, prof.width), tmp_path) == f"{LOOKUP}?t=20261125-1023"
    # No lookup address in hall.toml: the QR holds just the ticket id.
    printed = decode(render_and_encode(ticket(lookup_url=""), prof)).image(prof.width)
    assert zbar(printed, tmp_path) == "20261125-1023"


def test_same_input_same_bytes_even_in_another_process():
    prof = load_profile("TM-T20II")
    a, b = render_and_encode(ticket(), prof), render_and_encode(ticket(), prof)
    assert a == b
    assert render_ticket(ticket(), 384).tobytes() == render_ticket(ticket(), 384).tobytes()
    code = ("import hashlib; from hall.config import load_hall; from printer.ticket import sample_ticket; "
            "from printer.profiles import load_profile; from printer.escpos_job import render_and_encode; "
            f"print(hashlib.sha256(render_and_encode(sample_ticket(load_hall({str(EXAMPLE)!r}), 'ho-tich'), "
            "load_profile('TM-T20II'))).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                           timeout=60, env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})
    assert other.stdout.strip() == hashlib.sha256(a).hexdigest(), other.stderr


@pytest.mark.parametrize("model", MODELS)
def test_every_ticket_of_the_example_hall_is_under_20_kb(model):
    """Issue 13: two-line service names and a wrapped waiting line took priority tickets to 22.8 KB."""
    prof = load_profile(model)
    sizes = {}
    for svc in CFG.services:
        for category in [None, *(c.name for c in CFG.priority.categories)]:
            # The longest waiting line a hall sees: it wraps to two lines on every paper.
            info = ticket(service_name=svc.name, label=svc.label(svc.first + 22), priority=category,
                          ahead=125, wait_min=195)
            assert info.wait_text == "Có 125 người đang chờ trước bạn · khoảng 3 giờ 15 phút"
            image = render_ticket(info, prof.width)
            job = encode_ticket(image, prof)
            assert decode(job).image(prof.width).tobytes() == image.tobytes(), (svc.id, category)
            sizes[svc.id, category] = len(job)
    worst = max(sizes, key=sizes.get)
    assert sizes[worst] < 20_000, (worst, sizes[worst])
    assert prof.mm(render_ticket(ticket(), prof.width).height) <= (60 if prof.width == 576 else 62)


@pytest.mark.parametrize("width", [384, 512, 576])
def test_long_texts_wrap_and_stay_on_the_paper(width):
    normal = render_ticket(ticket(), width)
    long = render_ticket(ticket(service_name=LONG_SERVICE, hall_name="Trung tâm Phục vụ hành chính công xã Dang Kang",
                                footer="Vui lòng giữ phiếu cẩn thận, chờ gọi số và đến đúng quầy được mời."), width)
    margin = Sizes.for_width(width).margin
    left, _, right, _ = ink_box(long)
    assert left >= margin and right <= width - margin
    assert long.height > normal.height
    # A footer far longer than anyone should write grows the ticket; nothing is cut off at the bottom.
    huge = render_ticket(ticket(footer=" ".join(["Vui lòng giữ phiếu và chờ gọi số."] * 40)), width)
    assert huge.height > 2 * width and ink_box(huge)[3] < huge.height
    # One word wider than the paper at any size: shrunk, then broken between letters — still inside.
    word = "Chứngthựcbảnsaotừbảnchínhgiấytờvănbảndocơquancóthẩmquyềncấp"
    left, _, right, _ = ink_box(render_ticket(ticket(service_name=word), width))
    assert left >= margin and right <= width - margin


@pytest.mark.parametrize("width", [384, 512, 576])
def test_names_break_after_a_dash_and_leave_no_word_alone(width):
    """Issue 13: on 80 mm 'Bảo trợ xã hội – Người có' / 'công' left a word alone on the last line."""
    sz = Sizes.for_width(width)
    inner = width - 2 * sz.margin
    service = dict(size=sz.service, min_size=sz.counters - 4, box=inner, max_lines=2)   # as render_ticket
    assert fit("Bảo trợ xã hội – Người có công", BOLD, **service)[1] == ["Bảo trợ xã hội –", "Người có công"]
    hall = dict(size=sz.hall, min_size=sz.small, box=inner, max_lines=2)
    texts = [s.name for s in CFG.services] + [LONG_SERVICE, "Trung tâm Phục vụ hành chính công xã Dang Kang",
                                              "Chứng thực bản sao từ bản chính"]   # 58 mm hall size: '… bản' / 'chính'
    for text in texts:
        for how in (service, hall):
            lines = fit(text, BOLD, **how)[1]
            assert " ".join(lines) == text
            assert len(lines) == 1 or len(lines[-1].split()) > 1, lines
            assert not any(line.startswith(("–", "-")) for line in lines), lines


def box_letters(image: Image.Image) -> list[set[tuple[int, int]]]:
    """The white dots of each letter in the ticket's first black box (left to right)."""
    img = image.convert("1")
    px = img.load()
    top = next(y for y in range(img.height) if any(px[x, y] == 0 for x in range(img.width)))
    bottom = next(y for y in range(top, img.height) if all(px[x, y] for x in range(img.width)))
    black = [x for x in range(img.width) if px[x, top] == 0]
    white = {(x, y) for y in range(top, bottom) for x in range(black[0], black[-1] + 1) if px[x, y]}
    letters: list[set[tuple[int, int]]] = []
    for x in sorted({x for x, _ in white}):
        if not letters or x - 1 not in {a for a, _ in letters[-1]}:
            letters.append(set())
        letters[-1] |= {(a, y) for a, y in white if a == x}
    return letters


@pytest.mark.parametrize("width", [384, 512, 576])
def test_the_priority_box_keeps_the_horn_and_the_circumflex(width):
    """Issue 13: in the 58 mm box the horn of Ư was a 2×2 dot block and OCR read 'ƯU TIỀN'."""
    u_horn, u, t, _, e, _ = box_letters(render_ticket(ticket(priority="Người cao tuổi"), width))
    # The horn: what Ư has right of a plain U's width. A hook, not a stub.
    left = min(x for x, _ in u_horn) + max(x for x, _ in u) - min(x for x, _ in u)
    horn = {(x, y) for x, y in u_horn if x > left}
    assert len(horn) >= 24 and len({x for x, _ in horn}) >= 3, sorted(horn)
    if width < 576:        # full dots below 576 (576 draws the box in 2×2 pixels, for the bytes)
        cap = min(y for _, y in t)
        rows: dict[int, list[int]] = {}
        for x, y in e:
            if y < cap - 1:
                rows.setdefault(y, []).append(x)
        apex, base = rows[min(rows)], rows[max(rows)]
        # A real ^: its legs spread to at least twice the apex, over five rows or more.
        assert len(rows) >= 5 and max(base) - min(base) + 1 >= 2 * len(apex), rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hall=st.text(alphabet=VIETNAMESE + "ABCĐƯ0123456789-,.()", min_size=1, max_size=90),
       service=st.text(alphabet=VIETNAMESE + "ĐƠ –", min_size=1, max_size=120),
       label=st.from_regex(r"[A-Z]{0,3}[0-9]{1,5}", fullmatch=True),
       width=st.sampled_from([384, 512, 576]))
def test_any_vietnamese_text_stays_on_the_paper(hall, service, label, width):
    image = render_ticket(ticket(hall_name=hall, service_name=service, label=label), width)
    margin = Sizes.for_width(width).margin
    left, _, right, _ = ink_box(image)
    assert left >= margin and right <= width - margin


def test_a_character_the_font_lacks_fails_loudly():
    with pytest.raises(GlyphMissing, match=r"hall name .*U\+6F22"):
        render_ticket(ticket(hall_name="UBND 漢字"), 576)
    with pytest.raises(GlyphMissing, match="footer"):
        render_ticket(ticket(footer="Xin cảm ơn 🛎︎ ก"), 576)
    # Every Vietnamese letter, upper and lower case, is in both ticket fonts.
    for path in (BOLD, REGULAR):
        check_glyphs(VIETNAMESE + VIETNAMESE.upper() + "·–", path)
    assert ord("ệ") in covered(BOLD) and 0x6F22 not in covered(BOLD)


def test_priority_tickets_carry_an_inverted_mark():
    for width in (384, 512, 576):
        assert widest_block(render_ticket(ticket(priority="Người cao tuổi"), width)) >= 140
        assert widest_block(render_ticket(ticket(), width)) < 120
    # A category the kiosk's config does not know still prints ƯU TIÊN.
    assert widest_block(render_ticket(ticket(priority=""), 576)) >= 140


def test_sample_tickets_are_saved(output_dir):
    folder = output_dir / "tickets"
    folder.mkdir(exist_ok=True)
    for width, paper in ((384, "58mm"), (512, "80mm-512"), (576, "80mm")):
        for name, info in (("normal", ticket()), ("priority", sample_ticket(CFG, "ho-tich", priority=True)),
                           ("long-service", sample_ticket(CFG, "khac", ahead=12)),
                           ("dash-priority", replace(sample_ticket(CFG, "xa-hoi", priority=True), ahead=125,
                                                     wait_min=195, priority="Người đưa theo trẻ nhỏ dưới 6 tuổi")),
                           ("printer-test", ticket(test=True, lookup_url="")),
                           ("very-long-names", ticket(service_name=LONG_SERVICE, ahead=27, wait_min=135,
                                                      hall_name="Trung tâm Phục vụ hành chính công xã Dang Kang"))):
            image = render_ticket(info, width)
            image.save(folder / f"ticket-{paper}-{name}.png")
            assert image.width == width and image.height < 2 * width
    assert len(list(folder.glob("ticket-*.png"))) >= 18


# --- text mode -------------------------------------------------------------------------------

def text_of(job, prof) -> str:
    """The text-mode bytes decoded back through the code pages the job selected."""
    from escpos.magicencode import Encoder
    names = {int(i): n for i, n in prof.data["codePages"].items()}
    out = []
    for page, data in job.text:
        if page is None or names[page] == "CP1258":
            out.append(data.decode("cp1258"))
        else:
            chars = Encoder._get_codepage_char_list(names[page])
            out.append("".join(chr(b) if b < 128 else chars[b - 128] for b in data))
    import unicodedata
    return unicodedata.normalize("NFC", "".join(out)).replace("Ð", "Đ")


@pytest.mark.parametrize("model, encoding", [("TM-T88V", "TCVN-3"), ("POS-58", "CP1258"), ("TM-T20II", "ASCII")])
def test_text_mode_keeps_the_number_and_the_service(model, encoding):
    prof = load_profile(model)
    service = "Đăng ký khai sinh – Ưu tiên người có công, ỷ ỹ ỵ Ỷ Ỹ Ỵ"
    info = ticket(service_name=service, priority="Người cao tuổi", label="A1023")
    forced = None if encoding != "ASCII" else "ASCII"
    if forced is None:
        assert encoding_for(prof) == encoding
    data = encode_text_ticket(info, prof, encoding=forced)
    job = decode(data)
    text = text_of(job, prof)
    assert "A1023" in text

    def letters(s: str) -> str:
        return "".join(ch for ch in s if ch.isalnum())
    # Every letter of the service name, accents included where the page has them (the dash may become '-').
    expected = service if encoding != "ASCII" else "Dang ky khai sinh - Uu tien nguoi co cong, y y y Y Y Y"
    assert letters(text).count(letters(expected)) == 1, text
    assert ("Mời đến quầy 1, 2" if encoding != "ASCII" else "Moi den quay 1, 2") in text
    # The number is printed big: a GS ! size of at least 2×2 is in force for it.
    sizes = [c[1] for c in job.commands if c[0] == "GS !"]
    assert max(sizes) >= 0x11
    assert len(data) < 1500


def test_text_mode_uses_the_printers_own_qr_code_when_it_has_one():
    t20 = decode(encode_text_ticket(ticket(), load_profile("TM-T20II")))
    # fn 80 (0x50) stores the data: m = '0', then the content.
    assert ("GS ( k", 0x50, b"0" + f"{LOOKUP}?t=20261125-1023".encode()) in t20.commands
    pos58 = decode(encode_text_ticket(ticket(), load_profile("POS-58")))
    assert not any(c[0] == "GS ( k" for c in pos58.commands)


# --- profiles -----------------------------------------------------------------------------------

def test_profiles_by_model_name():
    assert (load_profile("POS-58").width, load_profile("TM-T88V").width, load_profile("TM-T20II").width) == \
        (384, 512, 576)
    t20 = load_profile("tm-t20ii")
    assert t20.model == "TM-T20II" and t20.realtime_status and t20.partial_cut and "TCVN-3-1" in t20.code_pages
    pos = load_profile("POS-58")
    assert pos.paper_mm == 58 and not pos.full_cut and pos.code_page("CP1258") == 27
    assert load_profile("default").width == 576 and load_profile("default", width=512).width == 512
    assert not load_profile("TSP600").realtime_status          # Star line mode: no DLE EOT
    assert {"POS-58", "POS-80", "TM-T20II", "default"} <= set(model_names())


def test_unknown_or_unsuitable_models_say_what_to_check():
    with pytest.raises(UnknownPrinterModel) as err:
        load_profile("TM-T20")
    assert isinstance(err.value, ValueError)
    assert "'TM-T20'" in str(err.value) and "TM-T20II" in str(err.value) and "device.toml" in str(err.value)
    with pytest.raises(UnsuitablePrinter, match="raster"):
        load_profile("TM-U220")
    with pytest.raises(UnsuitablePrinter, match="width"):
        load_profile("TUP500")
    with pytest.raises(UnsuitablePrinter, match="multiple of 8"):
        load_profile("default", width=500)
    with pytest.raises(UnsuitablePrinter, match="at most 384"):
        load_profile("POS-58", width=576)


# --- CLI and bench -------------------------------------------------------------------------------

def test_printer_preview_writes_a_png(tmp_path, capsys):
    from motcua_cli.main import main
    out = tmp_path / "t.png"
    assert main(["printer", "preview", "--model", "POS-58", "--priority", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert Image.open(out).width == 384
    assert main(["printer", "preview", "--width", "512", "--service", "dat-dai", "--out", str(out)]) == 0
    assert Image.open(out).width == 512
    assert main(["printer", "preview", "--model", "TM-T20", "--out", str(out)]) == 2
    assert "TM-T20II" in capsys.readouterr().err


def test_bench_quick(capsys):
    from bench import ticket_print
    assert ticket_print.main(["--quick"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()[2:]]
    assert last.startswith("bench: ticket_print ") and keys == ["render_ms_80", "kb_80", "render_ms_58", "kb_58"]
