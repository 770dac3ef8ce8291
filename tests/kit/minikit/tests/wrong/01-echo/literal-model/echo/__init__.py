def shout(text: str) -> str:
    return text.upper()


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"Hi {ref}"}])
    return answer.choices[0].message.content or ""
