"""Vietnamese number words for announcements: 1023 → "một nghìn không trăm hai mươi ba".

    say_number(1001)                 # 'một nghìn không trăm linh một'
    say_number(105, linh="lẻ")       # 'một trăm lẻ năm' (the southern reading)
    say_digits("1023")               # 'một, không, hai, ba'
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _tens_units(n: int, linh: str) -> list[str]:
    """0 < n < 100, read after a hundreds word (so 5 → 'linh năm')."""
    tens, units = divmod(n, 10)
    if tens == 0:
        return [linh, DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 4 and tens >= 2:
        words.append("tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _below_thousand(n: int, full: bool, linh: str) -> list[str]:
    """0 < n < 1000; `full` reads the hundreds even when zero (the 'không trăm' of 1023)."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if rest and (hundreds or full or rest >= 10):
        words += _tens_units(rest, linh)
    elif rest:
        words.append(DIGITS[rest])   # a bare 5 is 'năm', not 'linh năm'
    return words


def say_number(n: int, linh: str = "linh") -> str:
    """A whole number as Vietnamese words, the way a hall announces ticket numbers."""
    if n < 0:
        raise ValueError("ticket numbers are not negative")
    if n == 0:
        return DIGITS[0]
    groups = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    scales = ("", "nghìn", "triệu", "tỷ")
    words: list[str] = []
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        leading = i == len(groups) - 1
        words += _below_thousand(g, full=not leading, linh=linh)
        if scales[i]:
            words.append(scales[i])
    return " ".join(words)


def say_digits(label: str) -> str:
    """Digit by digit, as some halls read numbers: '1023' → 'một, không, hai, ba'."""
    return ", ".join(DIGITS[int(ch)] if ch.isdigit() else ch for ch in label)
