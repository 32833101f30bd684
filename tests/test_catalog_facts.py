"""The posted facts (issue 11): nothing is shown as verified without a source, and the fact-check's fixes hold."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import date

import pytest

from hall.catalog import ITEMS, Catalog, CatalogError, load_catalog
from motcua_cli.catalog_cmd import report, unverified_items
from tests.conftest import ROOT

CATALOG = ROOT / "examples" / "dang-kang" / "catalog.toml"
TEXT = CATALOG.read_text(encoding="utf-8")
# A citation names an article of a legal text, or a procedure page of the national or a provincial portal.
CITATION = re.compile(r"Điều \d+|Cổng Dịch vụ công quốc gia, thủ tục [\d.]+|"
                      r"(dichvucong|motcua|tthc)\.[a-z]+\.gov\.vn \(trang thủ tục")


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(CATALOG)


def shown_as_verified(raw: dict) -> list[str]:
    """What the kiosk shows without "chưa được kiểm chứng", read from the file itself (not via the loader)."""
    if raw.get("verified") is False and "unverified" not in raw:
        return []
    return [item for item in ITEMS if item not in raw.get("unverified", [])]


def test_every_item_shown_as_verified_has_a_source_with_its_article():
    procedures = tomllib.loads(TEXT)["procedures"]
    checked = 0
    for raw in procedures:
        sources = raw.get("sources", {})
        for item in shown_as_verified(raw):
            assert sources.get(item, "").strip(), f"{raw['id']}: {item} is shown as verified with no source"
            assert CITATION.search(sources[item]), f"{raw['id']}: the source of {item} names no article or page"
            checked += 1
    assert checked >= 50   # the catalog is not made safe by marking everything unverified


def test_every_procedure_records_the_day_it_was_checked(cat):
    for p in cat.procedures:
        assert p.checked is not None and isinstance(p.checked.verified_on, date), p.id
        # Not before NĐ 07/2025/NĐ-CP (09/01/2025) changed hộ tịch and chứng thực: an older check is stale.
        assert date(2025, 1, 9) <= p.checked.verified_on <= date.today(), p.id


def test_the_loaded_catalog_agrees_with_its_sources(cat):
    for p in cat.procedures:
        assert p.checked is not None
        for item in ITEMS:
            if p.is_verified(item):
                assert p.checked.source(item), (p.id, item)
        assert all(item in p.unverified for item, _ in p.checked.why), p.id


BAD = [
    # (text to replace once, replacement, key in the message, words of the problem)
    ('fee = "Luật Hộ tịch 2014, Điều 11 khoản 1 điểm a, b và khoản 2; Điều 15 khoản 1 (hạn 60 ngày)", ', "",
     "procedures[1].sources", "'fee' is shown as verified but has no source"),
    ("verified_on = 2026-12-02", 'verified_on = "2026-12-02"', "procedures[1].verified_on", "must be a date"),
    ("verified_on = 2026-12-02", "verified_on = 2026-12-02T08:00:00", "procedures[1].verified_on", "must be a date"),
    ("verified_on = 2026-12-02", "verified_on = 2999-01-01", "procedures[1].verified_on", "in the future"),
    ("verified_on = 2026-12-02\n", "", "procedures[1].verified_on", "required when items are shown as verified"),
    ("unverified_why = { agency", 'unverified_why = { fee = "x", agency', "procedures[1].unverified_why.fee",
     "a reason is only for an unverified item"),
    ("sources = { documents", 'sources = { fees = "Điều 11", documents', "procedures[1].sources.fees",
     "'fees' is not a posted item"),
]


@pytest.mark.parametrize("old, new, key, problem", BAD, ids=[f"{b[2]}:{b[3][:20]}" for b in BAD])
def test_a_claim_without_its_source_or_date_is_refused(tmp_path, old, new, key, problem):
    assert old in TEXT, old
    bad = tmp_path / "catalog.toml"
    bad.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(bad)
    assert info.value.key == key and problem in info.value.problem, str(info.value)
    assert str(info.value).startswith(f"{bad}:")   # with the line, for the clerk


def test_a_catalog_read_back_from_the_payload_has_no_record_of_sources(cat):
    back = Catalog.from_payload(cat.to_payload())
    assert back == cat and all(p.checked is None for p in back.procedures)
    assert all("không có hồ sơ nguồn" in u.why for p in back.procedures for u in unverified_items(p))


# --- the fact-check's findings (../shared/domain/catalog-factcheck.md), each a regression guard -------------

def test_ket_hon_does_not_ask_for_a_marital_status_certificate(cat):
    p = cat.procedure("dang-ky-ket-hon")
    assert not any("tình trạng hôn nhân" in d.name for d in p.documents)   # NĐ 07/2025, NĐ 87/2020 Điều 24(7)
    assert "không phải nộp Giấy xác nhận tình trạng hôn nhân" in p.requirements
    assert any("07/2025" in b for b in p.legal_basis)


def test_guardianship_and_its_end_are_free_and_the_end_takes_two_working_days(cat):
    assert cat.procedure("dang-ky-giam-ho").fee == "Miễn lệ phí."          # Luật Hộ tịch Điều 11(1)(b)
    end = cat.procedure("dang-ky-cham-dut-giam-ho")
    assert end.fee == "Miễn lệ phí." and not end.is_verified("fee")        # only a replaced circular says so
    assert end.time_limit.startswith("02 ngày làm việc") and end.is_verified("time_limit")   # Điều 22(2)


def test_worship_allowance_uses_form_18_of_decree_131_2021(cat):
    p = cat.procedure("tro-cap-tho-cung-liet-si")
    text = " ".join([d.name for d in p.documents] + list(p.forms))
    assert "LS7" not in text and "Mẫu số 18" in text and "131/2021/NĐ-CP" in text
    assert any("ủy quyền" in d.name for d in p.documents)
    assert any("Bằng Tổ quốc ghi công" in d.name and d.kind == "bản sao được chứng thực" for d in p.documents)
    assert not p.is_verified("time_limit")   # the district step is gone since 01/7/2025


def test_adoption_fee_states_the_exemptions(cat):
    p = cat.procedure("dang-ky-nuoi-con-nuoi-trong-nuoc")
    assert "400.000 đồng" in p.fee and "Miễn lệ phí" in p.fee and "con riêng" in p.fee and "có công" in p.fee
    assert any("114/2016" in b for b in p.legal_basis) and "114/2016" in p.checked.source("fee")


def test_death_registration_accepts_a_paper_in_place_of_the_death_notice(cat):
    p = cat.procedure("dang-ky-khai-tu")
    assert any(d.name == "Giấy báo tử hoặc giấy tờ khác thay giấy báo tử" for d in p.documents)  # Điều 34(1)


def test_combined_birth_residence_insurance_takes_three_working_days_and_the_birth_certificate(cat):
    p = cat.procedure("lien-thong-khai-sinh-thuong-tru-bhyt")
    assert "03 ngày làm việc" in p.time_limit and "15 ngày" not in p.time_limit
    assert any("Giấy chứng sinh" in d.name for d in p.documents)
    # A newspaper report is not a legal source: the kiosk says so.
    assert not p.is_verified("time_limit") and not p.is_verified("documents")


def test_every_civil_status_registration_fee_states_the_exemptions(cat):
    # Luật Hộ tịch Điều 11(1)(a); the copy fee (TT 281/2016) and the marital status certificate are not registrations.
    not_registrations = {"cap-ban-sao-trich-luc-ho-tich", "cap-giay-xac-nhan-tinh-trang-hon-nhan"}
    for p in cat.procedures_of("ho-tich"):
        if p.id in not_registrations or p.fee.startswith("Miễn"):   # free for everyone
            continue
        assert all(w in p.fee for w in ("có công với cách mạng", "hộ nghèo", "khuyết tật")), p.id
    # Only a provincial resolution could exempt ethnic minorities: not claimed.
    assert not any("dân tộc thiểu số" in p.fee for p in cat.procedures)


def test_the_copy_fee_is_the_national_rate_with_its_circular(cat):
    p = cat.procedure("cap-ban-sao-trich-luc-ho-tich")
    assert "8.000 đồng" in p.fee and p.is_verified("fee") and "281/2016" in p.checked.source("fee")


def test_every_agency_names_the_commune_after_the_2025_merger_and_says_it_is_unread(cat):
    # Cư Kty, Hòa Thành and Dang Kang became xã Dang Kang on 1/7/2025 per public datasets; the
    # resolution (NQ 1660/NQ-UBTVQH15) itself was not read, so no agency may claim to be verified.
    for p in cat.procedures:
        assert "Cư Kty" not in p.agency, p.id
        if "xã Dang Kang" in p.agency:
            assert not p.is_verified("agency"), p.id
            why = p.checked.reason("agency")   # a wholly unverified procedure may give no reasons
            assert not why or "1660/NQ-UBTVQH15" in why, p.id
    assert sum("1660/NQ-UBTVQH15" in p.checked.reason("agency") for p in cat.procedures) >= 20


# --- motcua catalog check --report -----------------------------------------------------------------------

def test_check_report_lists_every_unverified_item_with_why(cat):
    lines = report(cat)
    rows = [line for line in lines if line.startswith("  ")]
    assert len(rows) == sum(len(p.unverified) for p in cat.procedures)
    assert all(len(line.split(None, 1)) == 2 for line in rows), "an item without its reason"
    assert "dang-ky-lai-khai-sinh  (checked 2026-12-02)" in lines
    assert any(line.split()[0] == "agency" and "Dang Kang" in line for line in rows)


def test_check_report_from_the_command_line():
    res = subprocess.run([sys.executable, "-m", "motcua_cli.main", "catalog", "check", str(CATALOG), "--report"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "unverified: " in res.stdout and "each with its source" in res.stdout
    assert "\n  time_limit" in res.stdout and "cả thủ tục chưa được đối chiếu" in res.stdout


# --- the procedures added on 2026-12-02 (issue 11, part 1) ------------------------------------------------

def test_contract_certification_time_limit_is_decree_23_article_37(cat):
    p = cat.procedure("chung-thuc-hop-dong-giao-dich")
    # "không quá 02 (hai) ngày làm việc, kể từ ngày nhận đủ hồ sơ ... hoặc có thể kéo dài hơn theo thỏa thuận"
    assert p.time_limit.startswith("Không quá 02 ngày làm việc") and "chưa được kiểm chứng" not in p.time_limit
    assert p.is_verified("time_limit") and "23/2015/NĐ-CP, Điều 37" in p.checked.source("time_limit")


def test_foreign_element_birth_and_marriage_are_registered_at_the_commune(cat):
    ids = {p.id for p in cat.procedures_of("ho-tich")}
    assert {"dang-ky-khai-sinh-co-yeu-to-nuoc-ngoai", "dang-ky-ket-hon-co-yeu-to-nuoc-ngoai"} <= ids
    for pid in ("dang-ky-khai-sinh-co-yeu-to-nuoc-ngoai", "dang-ky-ket-hon-co-yeu-to-nuoc-ngoai"):
        p = cat.procedure(pid)
        assert "xã Dang Kang" in p.agency and not p.is_verified("agency")
        # The move from the district (NĐ 120/2025/NĐ-CP, Điều 4) was read only second-hand: said so.
        assert "120/2025/NĐ-CP" in p.checked.reason("agency")
        assert any("120/2025/NĐ-CP" in b for b in p.legal_basis)
        assert not p.is_verified("fee")                     # the province's rate was not found
    marriage = cat.procedure("dang-ky-ket-hon-co-yeu-to-nuoc-ngoai")
    assert marriage.time_limit.startswith("15 ngày") and "Điều 38 khoản 2" in marriage.checked.source("time_limit")
    assert any("tổ chức y tế" in d.name for d in marriage.documents)          # Luật Hộ tịch Điều 38(1)
    assert any("hộ chiếu" in d.name.lower() and d.kind == "bản sao" for d in marriage.documents)
    birth = cat.procedure("dang-ky-khai-sinh-co-yeu-to-nuoc-ngoai")
    assert any("chọn quốc tịch" in d.name for d in birth.documents)          # Luật Hộ tịch Điều 36(1)
    assert "Điều 36 khoản 1" in birth.checked.source("documents")


def test_monthly_social_allowance_is_decided_by_the_commune_chairman_and_claims_nothing_unread(cat):
    p = cat.procedure("tro-cap-xa-hoi-hang-thang")
    assert p.field == "bao-tro-xa-hoi" and p.agency == "Chủ tịch Ủy ban nhân dân xã Dang Kang."
    assert any(all(m in f for m in ("1a", "1b", "1c", "1d", "1đ", "20/2021/NĐ-CP")) for f in p.forms)
    assert "huyện" not in p.time_limit.replace("không còn bước của cấp huyện", "")
    # NĐ 76/2024 (mức chuẩn) and NĐ 147/2025 (the commune's power) could not be read: nothing is shown as
    # verified and no amount of money is posted.
    assert p.unverified == ITEMS
    assert "147/2025/NĐ-CP" in p.checked.reason("agency") and "147/2025/NĐ-CP" in p.checked.reason("time_limit")
    assert not re.search(r"\d{3}\.000", " ".join([p.result, p.requirements, p.fee]))


def test_first_land_registration_is_the_communes_and_transfers_stay_elsewhere(cat):
    from hall.search import SearchIndex
    p = cat.procedure("dang-ky-dat-dai-cap-giay-chung-nhan-lan-dau")
    assert p.field == "dat-dai" and p.unverified == ITEMS         # NĐ 151/2025 read only second-hand
    assert "151/2025/NĐ-CP" in p.checked.reason("steps")
    index = SearchIndex(cat)
    found = index.answer("cap so do")
    assert found.found and found.hits[0].procedure.id == p.id
    away = index.answer("sang ten so do")
    assert not away.found and "Văn phòng đăng ký đất đai" in away.where


# --- the forms (issue 11, last part): each names its instrument, or says why it cannot ----------------------

# An instrument with its number: "Thông tư 04/2020/TT-BTP", "Nghị định 124/2020/NĐ-CP", "Quyết định 24/2021/QĐ-TTg".
INSTRUMENT = re.compile(r"(Luật|Nghị định|Thông tư(?: liên tịch)?|Quyết định) \d+/\d{4}/[A-ZĐ][A-ZĐa-z0-9-]*")
# The wording this part replaced: a form "theo mẫu của Bộ Tư pháp", "theo mẫu do cơ quan…", "hỏi mẫu tại quầy".
GENERIC = re.compile(r"theo mẫu (của|do|\(|quy định)|hỏi mẫu|^Theo mẫu", re.IGNORECASE)
# Procedures whose form names no instrument, each with why (docs/catalog.md, "The forms"). Keep it exact: a
# procedure leaves the list when a source names its form.
NO_NAMED_FORM = {
    # No form: the citizen brings the paper to certify (Nghị định 23/2015/NĐ-CP); "Không có mẫu đơn".
    "chung-thuc-ban-sao-tu-ban-chinh": "không có mẫu đơn",
    "chung-thuc-chu-ky": "không có mẫu đơn",
    "chung-thuc-sua-doi-bo-sung-huy-bo-hop-dong": "không có mẫu đơn",
    "sua-loi-sai-sot-hop-dong-da-chung-thuc": "không có mẫu đơn",
    # The parties draft the contract themselves (Nghị định 23/2015/NĐ-CP, Điều 36 — not read here).
    "chung-thuc-hop-dong-giao-dich": "không có mẫu đơn",
    # The national procedure page 1.012812 lists no form (research notes; the page itself not read).
    "hoa-giai-tranh-chap-dat-dai": "không có mẫu đơn",
    # Luật Tố cáo 2018, Điều 23 khoản 1 says what the letter must state; no form was found.
    "giai-quyet-to-cao": "không có mẫu đơn",
    # No source read names the form of the combined birth – residence – health-insurance filing.
    "lien-thong-khai-sinh-thuong-tru-bhyt": "chưa xác định được văn bản ban hành mẫu",
    # Nghị định 152/2025/NĐ-CP or 98/2023/NĐ-CP: which holds the current báo cáo thành tích form was not read.
    "tang-giay-khen-chu-tich-ubnd-xa": "chưa xác định được văn bản ban hành mẫu",
    "danh-hieu-lao-dong-tien-tien": "chưa xác định được văn bản ban hành mẫu",
}


def test_every_form_names_its_instrument_or_is_listed_with_why(cat):
    for p in cat.procedures:
        for form in p.forms:
            assert not GENERIC.search(form), f"{p.id}: generic form wording left: {form!r}"
            assert len(form) <= 200, f"{p.id}: the kiosk shows this text; keep it short"
        named = any(INSTRUMENT.search(form) for form in p.forms)
        if p.id in NO_NAMED_FORM:
            assert not named, f"{p.id} names an instrument now: take it off NO_NAMED_FORM"
            assert all(NO_NAMED_FORM[p.id] in form.lower() for form in p.forms), p.id
            assert not p.is_verified("forms") and p.checked.reason("forms"), p.id   # the kiosk says so
        else:
            assert named, f"{p.id}: the form names no instrument ({p.forms})"
    assert len(NO_NAMED_FORM) <= 10 and set(NO_NAMED_FORM) <= {p.id for p in cat.procedures}


def test_a_form_is_verified_only_by_an_article_of_the_instrument_it_names(cat):
    verified = [p for p in cat.procedures if p.is_verified("forms")]
    assert len(verified) >= 5
    for p in verified:
        source = p.checked.source("forms")
        numbers = {m.group(0).split(" ")[-1] for form in p.forms for m in INSTRUMENT.finditer(form)}
        page = source.startswith("Cổng Dịch vụ công quốc gia, thủ tục")
        assert page or ("Điều" in source and all(n in source for n in numbers)), (p.id, source)


def test_every_unverified_form_says_why_and_no_form_number_is_made_up(cat):
    for p in cat.procedures:
        why = {u.item: u.why for u in unverified_items(p)}
        note = p.checked.source("forms") if p.is_verified("forms") else why["forms"]
        # A reason of its own, or the whole procedure is unchecked (its forms' source is then a comment in the file).
        assert p.checked.reason("forms") or note.startswith("cả thủ tục chưa được đối chiếu") or \
            p.is_verified("forms"), f"{p.id}: an unverified form must say why (a secondary source, or nothing found)"
        # Every "Mẫu số N" posted was read somewhere: it is in the source or the reason, or the source is the
        # national procedure page that lists the form.
        for number in re.findall(r"Mẫu số (\w+)", " ".join(p.forms)):
            assert f"Mẫu số {number}" in note or note.startswith("Cổng Dịch vụ công quốc gia"), (p.id, number)


def test_disability_forms_are_form_01_of_circular_01_2019_articles_4_and_9(cat):
    for pid, article in (("xac-dinh-muc-do-khuyet-tat", "Điều 4 khoản 1"),
                         ("doi-cap-lai-giay-xac-nhan-khuyet-tat", "Điều 9 khoản 1")):
        p = cat.procedure(pid)
        assert p.forms == ("Đơn đề nghị xác định, xác định lại mức độ khuyết tật và cấp, cấp đổi, cấp lại Giấy xác "
                           "nhận khuyết tật: Mẫu số 01 ban hành kèm theo Thông tư 01/2019/TT-BLĐTBXH",)
        assert p.is_verified("forms") and article in p.checked.source("forms"), pid


def test_civil_status_forms_name_their_circular_but_stay_unverified(cat):
    # Only secondary sources (Q&A pages, public code) name them: the kiosk marks them "chưa được kiểm chứng".
    for p in cat.procedures_of("ho-tich"):
        if p.id in NO_NAMED_FORM:
            continue
        assert any("04/2020/TT-BTP" in f or "04/2024/TT-BTP" in f for f in p.forms), p.id
        assert not p.is_verified("forms"), p.id
        # Its reason names the circular read second-hand, unless the whole procedure is unchecked (no reasons).
        assert "Thông tư" in p.checked.reason("forms") or (p.unverified == ITEMS and not p.checked.sources), p.id
    assert "04/2024/TT-BTP" in cat.procedure("dang-ky-khai-tu").forms[0]   # lawnet.vn: replaced in 2024
    # The poverty review's form was read only in a Q&A page: no longer shown as verified.
    assert not cat.procedure("ra-soat-cong-nhan-ho-ngheo-can-ngheo").is_verified("forms")
