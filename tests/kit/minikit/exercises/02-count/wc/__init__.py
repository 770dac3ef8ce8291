def count(text: str) -> int:
    """Number of words (the kata asks for it)."""
    return 0 if not text else -1
