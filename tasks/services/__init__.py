"""Writes of the tasks app: materialize, review, catalogs, exports."""
