"""Import/export benchmark: ``sciswift import``/``export`` of a gzip HDF5 file
against ``swift upload``/``download`` of the same file (``python -m bench.convert``)."""
