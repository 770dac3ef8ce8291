def count(text: str) -> int:
    """Number of words."""
    return len(text.split())
