"""A tiny legacy module, solved."""


def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    """Ask the model to greet a record."""
    answer = client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Greet {ref}"}]
    )
    return answer.choices[0].message.content or ""
