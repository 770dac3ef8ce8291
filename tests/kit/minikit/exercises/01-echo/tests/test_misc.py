def test_arithmetic_still_works():
    assert 1 + 1 == 2
