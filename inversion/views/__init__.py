"""Pages of the inversion app, one module per entity (`repositories`, `golds`, `episodes`)."""
