"""`make bench`: measurements a reader can rerun, as ratios to baselines run in the same process."""
