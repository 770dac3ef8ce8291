from echo import shout


def test_empty_stays_empty():
    assert shout("") == ""


def test_digits_unchanged():
    assert shout("123") == "123"
