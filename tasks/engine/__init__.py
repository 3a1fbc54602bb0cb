"""Plain Python under the tasks app (no Django): driving the Harbor harness and reading its files,
converting ATIF trajectories, and the measured-difficulty rule."""
