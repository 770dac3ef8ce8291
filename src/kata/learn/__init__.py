"""The learner loop: progress, hints, `kata watch`, `kata live`."""
