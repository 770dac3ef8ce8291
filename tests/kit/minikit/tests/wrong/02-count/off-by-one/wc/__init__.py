def count(text: str) -> int:
    return len(text.split()) + 1 if text else 0
