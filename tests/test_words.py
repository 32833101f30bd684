"""Vietnamese number words, as the wall display will announce them."""

import pytest

from display.words import say_digits, say_number


@pytest.mark.parametrize("n, words", [
    (0, "không"), (5, "năm"), (10, "mười"), (11, "mười một"), (15, "mười lăm"), (20, "hai mươi"),
    (21, "hai mươi mốt"), (24, "hai mươi tư"), (25, "hai mươi lăm"), (101, "một trăm linh một"),
    (110, "một trăm mười"), (1001, "một nghìn không trăm linh một"),
    (1023, "một nghìn không trăm hai mươi ba"), (1100, "một nghìn một trăm"), (2000, "hai nghìn"),
    (1999, "một nghìn chín trăm chín mươi chín"), (6015, "sáu nghìn không trăm mười lăm"),
    (21000, "hai mươi mốt nghìn"),
])
def test_say_number(n, words):
    assert say_number(n) == words


def test_southern_linh_and_digit_by_digit():
    assert say_number(105, linh="lẻ") == "một trăm lẻ năm"
    assert say_digits("1023") == "một, không, hai, ba"
