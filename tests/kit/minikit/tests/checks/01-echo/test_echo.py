from kata.checks import check, expect


@check("shouts", "Text comes back upper-cased", points=2, hint="Use str.upper.")
def test_shouts(learner):
    echo = learner.load("echo")
    got = echo.shout("hi there")
    expect(got == "HI THERE", observed=repr(got), expected="'HI THERE'", hint="Upper-case the text.")


@check("greets", "The model's greeting is returned", cassette="greets", hint="Call chat.completions.create.")
def test_greets(learner, openai_client, sent_requests):
    echo = learner.load("echo")
    got = echo.greet(openai_client(), "REC-1")
    expect(len(sent_requests) == 1, observed=f"{len(sent_requests)} requests", expected="1 request",
           hint="Make exactly one call.")
    expect(got == "Hello, REC-1!", observed=repr(got), expected="the model's text", hint="Return the content.")


@check("model-configurable", "The model name is a parameter", cassette="model-configurable")
def test_model(learner, openai_client, sent_requests):
    echo = learner.load("echo")
    got = echo.greet(openai_client(), "REC-2", model="gpt-4.1-mini")
    models = [r.model for r in sent_requests]
    expect(models == ["gpt-4.1-mini"], observed=f"models {models}", expected="['gpt-4.1-mini']",
           hint="Pass the model parameter through.")
    expect(got == "Hi REC-2.", observed=repr(got), expected="the model's text", hint="Return the content.")
