"""The grader side: runs the hidden checks under pytest, replays the model, keeps the clock; imports no submission."""
