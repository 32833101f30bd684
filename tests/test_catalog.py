"""The procedure catalog: the example is complete, bad files are named precisely, the payload round-trips."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata

import pytest

from hall.catalog import ITEMS, Catalog, CatalogError, Document, load_catalog, make_catalog
from hall.config import load_hall
from hall.protocol import ProtocolError
from tests.conftest import EXAMPLE, ROOT

CATALOG = ROOT / "examples" / "dang-kang" / "catalog.toml"
TEXT = CATALOG.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(CATALOG, load_hall(EXAMPLE))


def strings(value):
    """Every string inside a (nested) dataclass / tuple value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from strings(v)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))


def test_example_catalog_is_big_enough_and_every_posted_item_is_filled(cat):
    assert len(cat.procedures) >= 30 and len(cat.fields) >= 7
    for p in cat.procedures:
        for item in ITEMS:
            value = getattr(p, item)
            assert value, f"{p.id}: {item} is empty"
            # A document's kind may be empty (the source does not say); its name may not.
            texts = [d.name for d in value] if item == "documents" else list(strings(value))
            assert all(t.strip() for t in texts), f"{p.id}: {item} has an empty text"
        assert all(d.count >= 1 for d in p.documents), p.id
        assert p.source.strip() and p.name.strip() and p.name_en.strip(), p.id
        assert cat.field(p.field) is not None and p in cat.procedures_of(p.field)
    assert all(cat.procedures_of(f.id) for f in cat.fields), "a field without procedures"


def test_every_service_is_a_line_of_the_example_hall(cat):
    services = {s.id for s in load_hall(EXAMPLE).services}
    assert {p.service for p in cat.procedures} <= services
    assert {f.service for f in cat.fields} <= services
    # "Lấy số cho thủ tục này" must queue in the right line.
    expect = {"dang-ky-khai-sinh": "ho-tich", "dang-ky-ket-hon": "ho-tich",
              "chung-thuc-ban-sao-tu-ban-chinh": "chung-thuc", "hoa-giai-tranh-chap-dat-dai": "dat-dai",
              "tro-giup-khan-cap-chi-phi-mai-tang": "xa-hoi", "tro-cap-tho-cung-liet-si": "xa-hoi",
              "giai-quyet-khieu-nai-lan-dau": "khac", "dang-ky-nuoi-con-nuoi-trong-nuoc": "ho-tich"}
    assert {k: cat.procedure(k).service for k in expect} == expect


def test_text_is_nfc_vietnamese(cat):
    assert unicodedata.is_normalized("NFC", TEXT)
    assert all(unicodedata.is_normalized("NFC", s) for s in strings(cat))
    names = {p.name for p in cat.procedures}
    assert {"Đăng ký khai sinh", "Đăng ký kết hôn", "Chứng thực bản sao từ bản chính"} <= names


def test_facts_from_the_domain_file_and_their_unverified_marks(cat):
    birth = cat.procedure("dang-ky-khai-sinh")
    assert "15 giờ" in birth.time_limit and birth.is_verified("time_limit") and birth.is_verified("fee")
    assert "187805" in birth.source
    copy = cat.procedure("chung-thuc-ban-sao-tu-ban-chinh")
    assert "2.000 đồng" in copy.fee and "200.000 đồng" in copy.fee and copy.is_verified("fee")
    # What the domain file marks [unverified] is marked here too, unless the law was read since:
    # the contract certification time limit is Nghị định 23/2015/NĐ-CP, Điều 37 (read 12/2026).
    contract = cat.procedure("chung-thuc-hop-dong-giao-dich")
    assert contract.is_verified("time_limit") and "Điều 37" in contract.checked.source("time_limit")
    assert not cat.procedure("hoa-giai-tranh-chap-dat-dai").is_verified("time_limit")
    # Procedures the domain file does not list: nothing in them is claimed as verified.
    assert cat.procedure("dang-ky-lai-khai-sinh").unverified == ITEMS
    # A province's own hộ tịch fee (Yên Bái's) is not claimed for Đắk Lắk.
    assert not cat.procedure("dang-ky-lai-khai-tu").is_verified("fee")
    for p in cat.procedures:
        assert p.verified == (not p.unverified)


def test_verified_false_alone_marks_every_item(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text(TEXT.replace('unverified = ["steps", "channels", "applicants", "agency", "result", "forms", '
                                '"requirements"]\n', "", 1), encoding="utf-8")
    assert load_catalog(bad).procedure("dang-ky-khai-sinh").unverified == ITEMS


# --- bad files ------------------------------------------------------------------------

BAD = [
    # (text to replace once, replacement, key in the message, words of the problem, start of the named line)
    ('fee = "Miễn lệ phí."', 'fee = ""', "procedures[2].fee", "must not be empty", 'fee = ""'),
    ('fee = "Miễn lệ phí."', 'fees = "Miễn lệ phí."', "procedures[2].fees", "not a known setting", "fees ="),
    ('service = "dat-dai"', 'service = "dat"', "fields[4].service", "not in the hall's hall.toml", 'service = "dat"'),
    ('id = "dang-ky-ket-hon"', 'id = "dang-ky-khai-sinh"', "procedures[2].id", "entry 1 has the same id",
     'id = "dang-ky-khai-sinh"'),
    ('field = "dat-dai"', 'field = "nha-dat"', "procedures[20].field", "not a field id", 'field = "nha-dat"'),
    ('unverified = ["steps", "channels", "applicants", "agency", "result", "forms"]',
     'unverified = ["step", "channels"]', "procedures[2].unverified", "'step' is not a posted item", "unverified ="),
    ('verified = false\nunverified = ["steps", "channels", "applicants", "agency", "result", "forms", '
     '"requirements"]',
     'verified = true\nunverified = ["steps"]', "procedures[1].unverified", "verified = true", "unverified ="),
    ('{ name = "Giấy báo tử hoặc giấy tờ khác thay giấy báo tử", count = 1, kind = "bản chính" }',
     '{ name = "Giấy báo tử hoặc giấy tờ khác thay giấy báo tử", count = 0 }', "procedures[3].documents[2].count",
     "at least 1", '  { name = "Giấy báo tử hoặc giấy tờ khác thay giấy báo tử", count = 0 }'),
    ('source = "huyendienbien.gov.vn"\n', "", "procedures[15].source", "required but missing", "[[procedures]]"),
    ('legal_basis = ["Luật Tố cáo năm 2018", "Nghị định 31/2019/NĐ-CP"]', "legal_basis = []",
     "procedures[28].legal_basis",
     "at least one", "legal_basis = []"),
    ('\nverified = false', '\nverified = "no"', "procedures[1].verified", "true or false", 'verified = "no"'),
]


@pytest.mark.parametrize("old, new, key, problem, line_start", BAD, ids=[b[2] for b in BAD])
def test_bad_file_error_names_file_line_key_and_problem(tmp_path, old, new, key, problem, line_start):
    assert old in TEXT, old
    bad = tmp_path / "catalog.toml"
    bad.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(bad, load_hall(EXAMPLE))
    err = info.value
    assert err.file == str(bad) and err.key == key and problem in err.problem, str(err)
    assert str(err).startswith(f"{bad}:") and f"key '{key}'" in str(err)
    if line_start is not None:
        assert err.line, f"no line for {key}"
        line = bad.read_text(encoding="utf-8").splitlines()[err.line - 1]
        assert line.startswith(line_start), (err.line, line)
        assert str(err).startswith(f"{bad}:{err.line}: ")


def test_toml_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "catalog.toml"
    bad.write_text(TEXT.replace('fee = "Miễn lệ phí."', 'fee = "Miễn lệ phí.', 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"not valid TOML: .*line \d+"):
        load_catalog(bad)


def test_services_are_only_checked_against_a_hall_when_given(tmp_path):
    other = tmp_path / "catalog.toml"
    other.write_text(TEXT.replace('service = "khac"', 'service = "hanh-chinh"'), encoding="utf-8")
    assert load_catalog(other).field("giao-duc").service == "hanh-chinh"
    with pytest.raises(CatalogError, match="service 'hanh-chinh' is not in the hall's hall.toml"):
        load_catalog(other, load_hall(EXAMPLE))


def test_decomposed_text_is_stored_as_nfc_with_the_same_version(tmp_path, cat):
    nfd = tmp_path / "catalog.toml"
    nfd.write_text(unicodedata.normalize("NFD", TEXT), encoding="utf-8")
    assert load_catalog(nfd) == cat


def test_documents_may_be_plain_names(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(TEXT.replace('documents = [{ name = "Tờ khai cấp bản sao trích lục hộ tịch", count = 1, '
                                 'kind = "bản chính" }]', 'documents = ["Tờ khai", "Giấy tờ tùy thân"]'),
                    encoding="utf-8")
    docs = load_catalog(path).procedure("cap-ban-sao-trich-luc-ho-tich").documents
    assert docs == (Document("Tờ khai"), Document("Giấy tờ tùy thân"))


def test_too_big_for_one_mqtt_message_is_refused(tmp_path):
    # Mosquitto would cut it (max_packet_size): refuse it here, where the clerk can fix it.
    steps = ", ".join(f'"{"Bước rất dài của thủ tục. " * 70}{k}"' for k in range(150))
    path = tmp_path / "catalog.toml"
    path.write_text(TEXT.replace("steps = [", f"steps = [{steps},", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"KB as an MQTT message; at most 240 KB"):
        load_catalog(path)


# --- version and payload ------------------------------------------------------------------

def test_version_is_the_sha256_of_the_canonical_content_and_ignores_comments(tmp_path, cat):
    canonical = json.dumps(cat.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert cat.version == hashlib.sha256(canonical.encode()).hexdigest()
    assert load_catalog(CATALOG).version == cat.version   # stable across loads
    edited = tmp_path / "catalog.toml"
    edited.write_text("# a comment\n" + TEXT.replace("\n[[fields]]", "\n\n  [[fields]]"), encoding="utf-8")
    assert load_catalog(edited).version == cat.version    # layout is not content
    edited.write_text(TEXT.replace("400.000 đồng", "450.000 đồng"), encoding="utf-8")
    assert load_catalog(edited).version != cat.version
    moved = dataclasses.replace(cat, procedures=cat.procedures[::-1])
    assert make_catalog(moved.name, moved.note, moved.fields, moved.procedures).version != cat.version


def test_payload_round_trip(cat):
    payload = cat.to_payload()
    obj = json.loads(payload)
    assert obj["v"] == 1 and obj["version"] == cat.version and len(obj["procedures"]) == len(cat.procedures)
    assert obj["procedures"][0]["documents"][0] == {"name": "Tờ khai đăng ký khai sinh", "count": 1,
                                                    "kind": "bản chính"}
    assert Catalog.from_payload(payload) == cat
    # Later v1 fields are ignored, as docs/protocol.md promises.
    obj["extra"] = 1
    obj["procedures"][0]["qr"] = "x"
    assert Catalog.from_payload(json.dumps(obj).encode()) == cat


@pytest.mark.parametrize("payload, code", [
    (b"not json", "bad_json"), (b'{"v": 2, "version": "x"}', "bad_version"),
    (b'{"v": 1, "version": "x", "name": "n"}', "bad_json"),
    (b'{"v": 1, "version": "x", "name": "n", "fields": [], "procedures": [{"id": "a"}]}', "bad_json"),
    (b"x" * (241 * 1024), "too_large"),
])
def test_bad_payload_is_a_protocol_error(payload, code):
    with pytest.raises(ProtocolError) as info:
        Catalog.from_payload(payload)
    assert info.value.code == code


# --- the docs say what the code does ------------------------------------------------

def test_protocol_md_catalog_example_is_a_real_payload(cat):
    from tests.test_docs import doc, marked_blocks, shape
    example = json.loads(marked_blocks(doc("protocol.md"), "example")["catalog"][0])
    real = json.loads(cat.to_payload())
    assert shape(example) == shape(real), "docs/protocol.md's catalog example and the code differ"
    parsed = Catalog.from_payload(json.dumps(example, ensure_ascii=False).encode())
    # Its version is the real hash of its content, as the page says.
    assert make_catalog(parsed.name, parsed.note, parsed.fields, parsed.procedures,
                        parsed.search).version == example["version"]
    table = doc("protocol.md").split("### catalog")[1].split("<!-- example")[0]
    for path in shape(real):
        leaf = path.split(".")[-1].replace("[]", "")
        assert f"`{leaf}" in table or f"/ `{leaf}`" in table or f"`{path}`" in table, f"{path} not in the table"


def test_catalog_md_documents_every_key():
    import tomllib

    from tests.test_docs import doc, inline_codes
    codes = inline_codes(doc("catalog.md"))
    source = (ROOT / "hall" / "catalog.py").read_text(encoding="utf-8")
    read = set(re.findall(r"""\.(?:text|integer|boolean|texts|tables?|has|_long|_texts)\(\s*["']([a-z_]+)["']""",
                          source))
    read |= set(re.findall(r"""_(?:long|texts)\(\w+, ["']([a-z_]+)["']""", source))
    data = tomllib.loads(TEXT)
    used = set(data) | set(data["catalog"]) | {k for t in data["fields"] + data["procedures"] for k in t} \
        | {k for p in data["procedures"] for d in p["documents"] if isinstance(d, dict) for k in d}
    missing = sorted(k for k in read | used | set(ITEMS) if k not in codes and f"[[{k}]]" not in codes
                     and f"[{k}]" not in codes)
    assert not missing, f"docs/catalog.md does not name these keys: {missing}"
