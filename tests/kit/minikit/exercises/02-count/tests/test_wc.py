from wc import count


def test_empty():
    assert count("") == 0
