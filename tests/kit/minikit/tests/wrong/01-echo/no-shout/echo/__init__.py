def shout(text: str) -> str:
    return text


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Greet {ref}"}])
    return answer.choices[0].message.content or ""
