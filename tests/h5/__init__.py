"""Tests of sciswift.h5 / sciswift.h5py."""
