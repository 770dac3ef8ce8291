"""Plain data between the grader and the learner host: framing (wire), tagged values (codec), the injected clock."""
