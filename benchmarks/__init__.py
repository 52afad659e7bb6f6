"""Benchmarks of the training step (issue 6): `python -m benchmarks.train_step`.

`benchmarks.flops` counts the model FLOPs of one generator iteration from the
networks' layer shapes; `benchmarks.train_step` times the step through the
project's Keras path and its variants (no XLA, XLA forced, eager,
steps_per_execution) beside a minimal hand-written XLA loop of the same
algorithm, and a matmul / conv rate measured in the same process.
"""
