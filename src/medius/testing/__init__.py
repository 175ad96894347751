"""Generators of synthetic data with known answers, for tests, demos, benchmarks and validation.

* :mod:`medius.testing.synthetic`: single-leg squats and step-downs seen from the front
  (keypoints), ``medius synth``;
* :mod:`medius.testing.synthetic_gait`: walking and running (3D markers, C3D/TRC files, video
  keypoints from a pinhole camera), docs/synthetic-gait.md.

The library layers (io ... report, analysis, web, batch) never import this package
(``tests/test_events_pose_units.py::test_the_library_never_imports_testing``); only the edges
``cli`` (``medius synth``) and ``validation``, the tests, benchmarks and scripts do. A generated
input is recognised by its input metadata (:func:`medius.io.read_input_metadata`), not by code
from here.
"""
