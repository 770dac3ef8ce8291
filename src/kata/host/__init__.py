"""The learner host: the only process of a graded run that imports and runs the submission.

It starts isolated (`python -I`, a cwd outside the submission, an allow-listed environment), is
forked from a warm zygote that has imported the SDK, pydantic and pandas but nothing of the
submission, and serves the grader's requests (import, call, read) over an inherited socket. Only
plain data goes back (`kata.protocol.codec`); model requests and the clock are the grader's.
"""
