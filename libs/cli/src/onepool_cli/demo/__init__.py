"""`onepool seed` and `onepool demo`: a sample brand and the brief's ten flows, told as a story.

world.py seeds the brand (locations, stock, a GOLD dealer with a shop, channels, listings, prices) under a run
id, so running twice never collides; story.py runs the ten flows and returns every number the story shows;
report.py prints it. The acceptance test (tests/demo/) runs the same story and asserts those numbers.
"""
