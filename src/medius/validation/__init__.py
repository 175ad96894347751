"""Validation: how far medius' video metrics are from the truth.

Renders CC0 humans with known joint centres (:mod:`.render`, :mod:`.motion`), measures the truth
with medius' own metric engine (:mod:`.truth`), analyses each video as ``medius analyze`` does and
scores reps and stances (:mod:`.harness`, :mod:`.scoring`), and writes the report (:mod:`.report`).
:mod:`.paired` scores a real video against a marker trial filmed at the same time. The library
never imports this package; ``medius validate`` and ``make validate`` run it (docs/validation.md).
"""
