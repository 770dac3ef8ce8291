from kata.checks import check, expect


@check("counts", "Words are counted", points=1)
def test_counts(learner):
    got = learner.load("wc").count("a b  c")
    expect(got == 3, observed=str(got), expected="3", hint="Split on whitespace.")
