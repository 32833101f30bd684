"""Every citizen-facing string of the ticket kiosk, Vietnamese first, English second.

    tr("ahead", "vi", n=3)      # 'Có 3 người đang chờ trước bạn'
    tr("ahead", "en", n=1)      # '1 person is waiting before you'

Written for an elderly farmer: short, plain words, no jargon. Every string is NFC
(one precomposed character per Vietnamese letter), which a test checks, so the
font draws each letter with its own glyph and search/compare works on one form.
"""

from __future__ import annotations

import unicodedata

LANGS = ("vi", "en")

# key -> (Vietnamese, English). `{…}` fields are filled by tr().
TEXTS: dict[str, tuple[str, str]] = {
    # home
    "choose_service": ("Chọn dịch vụ", "Choose a service"),
    "waiting": ("{n} người chờ\n~{m} phút", "{n} waiting\n~{m} min"),
    "nobody_waiting": ("Không ai\nđang chờ", "No one\nwaiting"),
    "priority": ("Ưu tiên", "Priority"),
    "priority_who": ("Người cao tuổi, khuyết tật, mang thai…", "Elderly, disabled, pregnant…"),
    "lookup": ("Tra cứu thủ tục", "Look up procedures"),
    "other_lang": ("English", "Tiếng Việt"),
    "priority_banner": ("Số ưu tiên: {name}", "Priority number: {name}"),
    "cancel": ("Hủy", "Cancel"),
    "printer_trouble": ("Máy in tạm thời không in được. Bạn vẫn lấy được số — hãy ghi nhớ số trên màn hình.",
                        "The printer cannot print just now. You can still get a number — please remember it."),
    "paper_out_banner": ("Máy in hết giấy. Bạn vẫn lấy được số — hãy ghi nhớ số trên màn hình.",
                         "The printer is out of paper. You can still get a number — please remember it."),
    "no_printer_banner": ("Máy này chưa có máy in. Bạn vẫn lấy được số — hãy ghi nhớ số trên màn hình.",
                          "This kiosk has no printer. You can still get a number — please remember it."),
    "busy": ("Đang lấy số…", "Getting your number…"),
    # priority
    "priority_title": ("Bạn thuộc nhóm ưu tiên nào?", "Which priority group are you in?"),
    "back": ("Quay lại", "Back"),
    "home": ("Trang đầu", "Home"),
    # ticket
    "your_number": ("Số của bạn", "Your number"),
    "go_to": ("Mời đến {counters} khi được gọi số", "Go to {counters} when your number is called"),
    "or": ("hoặc", "or"),
    "ahead": ("Có {n} người đang chờ trước bạn", "{n} people are waiting before you"),
    "ahead_one": ("Có 1 người đang chờ trước bạn", "1 person is waiting before you"),
    "ahead_none": ("Không có người chờ trước bạn", "No one is waiting before you"),   # as the paper says
    "wait_min": ("Thời gian chờ khoảng {m} phút", "Waiting time about {m} min"),
    "priority_ticket": ("ƯU TIÊN — {name}", "PRIORITY — {name}"),
    "printing": ("Đang in phiếu…", "Printing your ticket…"),
    "printed": ("Đã in xong. Mời nhận phiếu.", "Printed. Please take your ticket."),
    "paper_out": ("Máy in hết giấy — vui lòng báo cán bộ, phiếu sẽ in khi có giấy",
                  "The printer is out of paper — please tell a staff member; your ticket prints when paper is in"),
    # the printer has the ticket and stopped without saying why (a clone that cannot report paper out)
    "printer_stopped": ("Máy in đang dừng — vui lòng báo cán bộ, phiếu sẽ in khi máy in chạy lại",
                        "The printer has stopped — please tell a staff member; your ticket prints when it runs again"),
    "cover_open": ("Nắp máy in đang mở — vui lòng ghi nhớ số của bạn",
                   "The printer cover is open — please remember your number"),
    "print_failed": ("Không in được phiếu — vui lòng ghi nhớ số của bạn",
                     "The ticket could not be printed — please remember your number"),
    "no_printer": ("Máy chưa có máy in — vui lòng ghi nhớ số của bạn",
                   "This kiosk has no printer — please remember your number"),
    "done": ("Xong", "Done"),
    # errors on taking a ticket
    "no_reply": ("Chưa lấy được số: mất kết nối với máy chủ. Vui lòng thử lại hoặc báo cán bộ.",
                 "No number was issued: the server did not answer. Please try again or ask a staff member."),
    "rate_limited": ("Máy vừa in phiếu. Vui lòng chờ một chút rồi thử lại.",
                     "This kiosk has just printed a ticket. Please wait a moment and try again."),
    "hall_closed": ("Bộ phận Một cửa đang ngoài giờ làm việc.", "The office is closed now."),
    "numbers_exhausted": ("Hôm nay đã hết số cho dịch vụ này.", "No more numbers for this service today."),
    "refused": ("Chưa lấy được số. Vui lòng báo cán bộ.", "No number was issued. Please ask a staff member."),
    # the hall server's disk is full (error code disk_full): nothing is issued until staff free space
    "disk_full": ("Hệ thống tạm ngưng cấp số, vui lòng báo cán bộ.",
                  "Tickets are paused for now. Please tell a member of staff."),
    "ok": ("Đồng ý", "OK"),
    # closed
    "closed": ("Ngoài giờ làm việc", "The office is closed"),
    "holiday": ("Hôm nay là ngày nghỉ.", "Today is a holiday."),
    "hours": ("Giờ làm việc", "Opening hours"),
    "opens": ("Mở cửa lại: {when}", "Opens again: {when}"),
    # offline
    "offline": ("Mất kết nối với máy chủ. Vui lòng chờ hoặc báo cán bộ.",
                "No connection to the server. Please wait or ask a staff member."),
    "offline_broker": ("Không liên lạc được với máy chủ (mạng hoặc máy chủ bị tắt).",
                       "The hall server cannot be reached (network or server down)."),
    "offline_server": ("Máy chủ đang tạm dừng hoặc đang khởi động lại.",
                       "The hall service is stopped or restarting."),
    "reconnects": ("Máy sẽ tự kết nối lại.", "The kiosk reconnects by itself."),
    "connecting": ("Đang kết nối với máy chủ…", "Connecting to the server…"),
    # the hall's Mosquitto refused this device's login: no reconnecting mends that, a technician must
    "not_registered_title": ("Máy lấy số chưa hoạt động. Vui lòng báo cán bộ.",
                             "This kiosk is not working yet. Please ask a staff member."),
    "not_registered": ("Thiết bị này chưa được đăng ký với máy chủ của Bộ phận Một cửa — "
                       "vui lòng báo cán bộ kỹ thuật.",
                       "This device is not registered on the one-stop office's server — "
                       "please tell the technical staff."),
    "not_registered_detail": ("Máy chủ từ chối mật khẩu của thiết bị: thêm thiết bị bằng “motcua device add” "
                              "rồi chép tệp device.toml mới sang máy này.",
                              "The hall server refused this device's password: add it with “motcua device add” "
                              "and copy the new device.toml to this kiosk."),
    # procedures
    "choose_field": ("Chọn lĩnh vực", "Choose a field"),
    "n_procedures": ("{n} thủ tục", "{n} procedures"),
    "search": ("Tìm theo tên", "Search by name"),
    "no_catalog": ("Chưa có danh mục thủ tục. Vui lòng hỏi cán bộ.",
                   "The list of procedures is not available. Please ask a staff member."),
    "take_for": ("Lấy số cho thủ tục này", "Get a number for this procedure"),
    "take_service": ("Dịch vụ: {service}", "Service: {service}"),
    "cannot_take_closed": ("Ngoài giờ làm việc — chưa lấy số được", "Closed — no numbers now"),
    "cannot_take_offline": ("Mất kết nối — chưa lấy số được", "No connection — no numbers now"),
    "find_title": ("Tìm thủ tục", "Find a procedure"),
    "find_hint": ("Bấm chữ để gõ tên, ví dụ: khai sinh", "Tap letters to type a name, e.g. khai sinh"),
    "found": ("{n} kết quả", "{n} results"),
    "not_found": ("Không tìm thấy", "Not found"),
    "not_here": ("Không tìm thấy thủ tục này tại Bộ phận Một cửa xã",
                 "This procedure was not found at the commune's one-stop office"),
    "try_other": ("Thử gõ ít chữ hơn, ví dụ: khai sinh, kết hôn, chứng thực",
                  "Try fewer words, e.g. khai sinh, ket hon, chung thuc"),
    "ask_staff": ("Hỏi cán bộ tại quầy", "Please ask the staff at the counter"),
    "query_full": ("Đã đủ {n} chữ", "Full ({n} letters)"),
    "key_space": ("Dấu cách", "Space"),
    "key_delete": ("Xóa", "Delete"),
    "key_clear": ("Xóa hết", "Clear"),
    # the posted items of a procedure (niêm yết công khai)
    "steps": ("Trình tự thực hiện", "Steps"),
    "how": ("Cách thức thực hiện", "How to apply"),
    "documents": ("Thành phần hồ sơ", "Documents"),
    "time_limit": ("Thời hạn giải quyết", "Time limit"),
    "fee": ("Phí, lệ phí", "Fees"),
    "who": ("Đối tượng thực hiện", "Who may apply"),
    "agency": ("Cơ quan thực hiện", "Handled by"),
    "result": ("Kết quả", "Result"),
    "conditions": ("Yêu cầu, điều kiện", "Requirements"),
    "legal_basis": ("Căn cứ pháp lý", "Legal basis"),
    "forms": ("Mẫu đơn, tờ khai", "Forms"),
    "source": ("Nguồn", "Source"),
    "unverified_item": ("chưa được kiểm chứng", "not yet verified"),
    "unverified": ("Mục ghi “chưa được kiểm chứng”: vui lòng hỏi lại cán bộ tại quầy.",
                   "Items marked “not yet verified”: please check with a staff member."),
}

# Weekday names are hall.config.weekday_names(lang): the screens, the tickets and the hours say them alike.


def tr(key: str, lang: str, **kw) -> str:
    """The text for `key` in `lang` ('vi' or 'en'), with its fields filled in."""
    text = TEXTS[key][LANGS.index(lang)]
    return text.format(**kw) if kw else text


def nfc(text: str) -> str:
    """NFC form: text from the network (config, catalog, error messages) may come decomposed."""
    return unicodedata.normalize("NFC", text)


def join_or(items: list[str], lang: str) -> str:
    """'Quầy 1', 'Quầy 1 hoặc Quầy 2', 'Quầy 1, Quầy 2 hoặc Quầy 3'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {tr('or', lang)} {items[-1]}"
