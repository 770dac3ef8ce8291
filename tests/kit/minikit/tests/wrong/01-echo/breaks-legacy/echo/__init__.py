def shout(text: str) -> str:
    return (text or "EMPTY").upper()


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    return ""
