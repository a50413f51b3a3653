"""The wet-index model: datasets, training, prediction, evaluation, artifacts."""
