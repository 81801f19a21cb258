"""Bridges to other libraries: zarr-python stores."""
