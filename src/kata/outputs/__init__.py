"""Outputs: result formats (JSON, JUnit, Gradescope, Classroom), the console report and the cohort gradebook."""
