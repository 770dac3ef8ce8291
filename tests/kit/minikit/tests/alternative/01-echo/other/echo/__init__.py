def shout(text: str) -> str:
    return "".join(ch.upper() for ch in text)


def greet(client, ref: str, model: str = "gpt-4o-mini") -> str:
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Say hi to {ref}."}])
    return reply.choices[0].message.content
