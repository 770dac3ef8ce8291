"""Instructor tools: cohort grading, student editions, the Gradescope bundle, proving and recording katas."""
