"""A tiny legacy module."""


def shout(text: str) -> str:
    """Echo the text (the kata asks for it upper-cased)."""
    return text


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    """Ask the model to greet a record (the kata asks for it)."""
    return ""
