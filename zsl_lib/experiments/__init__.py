"""Experiment drivers that notebooks call (grids, evaluation loops), kept out of the notebooks."""
