"""The token estimate agreed with the platform team."""

from oncall.tokens import estimate_chat_tokens, estimate_tokens


def test_four_characters_per_token_rounded_up() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_chat_request_counts_framing_per_message() -> None:
    messages = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "abcdefgh"}]
    assert estimate_chat_tokens(messages) == (4 + 1) + (4 + 2)
