"""`make bench`: every path of issue 11 against a baseline measured in the same run (see `harness.py`)."""
