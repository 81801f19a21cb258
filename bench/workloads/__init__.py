"""VPIC-IO, BD-CATS-IO and H5Boss side by side: h5py on local files, the same
unmodified programs through ``sciswift run`` on LocalStore, and through
``sciswift run`` against ``sciswift serve``. Run ``python -m bench.workloads -h``."""
