"""Measurements and annotations: geometry, calibration, ROI statistics, storage (no Qt, no torch)."""
