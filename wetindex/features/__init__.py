"""Feature engineering: pure, Dask-safe grid functions."""
