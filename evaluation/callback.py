"""ImageMetricsCallback: FID / KID / IS of generated images every N generator iterations, to CSV.

Attach it to an adversarial model's ``fit`` (one ``fit`` step = one
generator iteration): every ``every`` iterations it draws ``num_samples``
images from ``generator_sample_fn``, runs the extractor
(``evaluation.features``) on them and appends a row

  iteration, seconds, eval_seconds, fid, kid, kid_std, is, is_std

to ``csv_path`` (only the columns of the metrics asked for), where
``seconds`` is the wall-clock time since training began (evaluations
included) and ``eval_seconds`` the time this evaluation itself took. With a
``summary_writer`` each number is also a TensorBoard scalar "eval/<name>" at
step = iteration. The real images' features are computed once, at the first
evaluation, and cached.
"""

import os
import time
from typing import Callable, Optional, Sequence

import numpy as np

from evaluation.features import METRICS, check_metrics, metric_columns, metrics_from_outputs
from train_loops import files
from train_loops.callbacks import IterationCallback, progress_line


class ImageMetricsCallback(IterationCallback):
    """Every ``every`` generator iterations: image metrics of ``num_samples`` generated images.

    Args:
      generator_sample_fn: f(n) -> n images [n, H, W, C] in [-1, 1] (array or
        tensor). Called in chunks of at most ``sample_batch_size``; with
        ``seed``, as f(n, seed_generator=stream).
      extractor: an ``evaluation.features.FeatureExtractor``.
      real_features_or_images: the real side: features [N, D] (used as is) or
        images [N, H, W, C] (their features are computed at the first
        evaluation and cached).
      every: evaluate when the generator iteration is a multiple of this.
      num_samples: generated images per evaluation.
      csv_path: the CSV file; written with its header now (appended to when
        ``start_iteration`` > 0 and it exists, for a resumed run).
      summary_writer: optional ``tf.summary`` writer for the scalars.
      metrics: a subset of ("fid", "kid", "is").
      start_iteration: generator iterations done before this ``fit`` (the
        iteration of batch b is start_iteration + b + 1).
      sample_batch_size: images per call of ``generator_sample_fn``.
      verbose: print one line per evaluation (with the time left, once `fit`
        has said how many iterations it runs).
      metric_kwargs: passed to ``metrics_from_outputs`` (kid_subsets,
        kid_subset_size, is_splits, seed).
      seed: if given, the evaluation at iteration t draws its latent codes
        from a stream of its own (a ``keras.random.SeedGenerator`` seeded by
        (seed, t)), handed to ``generator_sample_fn``: evaluating then leaves
        the model's own random draws, and so its training, as they are, and a
        resumed run evaluates as an unbroken one.
    """

    def __init__(self, generator_sample_fn: Callable, extractor, real_features_or_images,
                 every: int, num_samples: int, csv_path: str, summary_writer=None,
                 metrics: Sequence[str] = METRICS, start_iteration: int = 0,
                 sample_batch_size: int = 500, verbose: bool = True,
                 metric_kwargs: Optional[dict] = None, seed: Optional[int] = None):
        super().__init__(int(start_iteration))
        for name, value in (("every", every), ("num_samples", num_samples),
                            ("sample_batch_size", sample_batch_size)):
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if num_samples < 2:
            raise ValueError(f"num_samples must be at least 2, got {num_samples}.")
        if start_iteration < 0:
            raise ValueError(f"start_iteration must be non-negative, got {start_iteration}.")
        real = real_features_or_images
        if getattr(real, "ndim", None) not in (2, 4):
            real = np.asarray(real)
        if real.ndim not in (2, 4) or real.shape[0] < 2:
            raise ValueError("real_features_or_images must be features [N, D] or images "
                             f"[N, H, W, C] with N >= 2, got shape {tuple(real.shape)}.")
        self.sample_fn, self.seed = generator_sample_fn, seed
        self.extractor = extractor
        self.metrics = check_metrics(metrics)
        self.columns = metric_columns(self.metrics)
        self.every, self.num_samples = int(every), int(num_samples)
        self.csv_path, self.summary_writer = csv_path, summary_writer
        self.sample_batch_size = int(sample_batch_size)
        self.verbose = verbose
        self.metric_kwargs = dict(metric_kwargs or {})
        self._real = real
        self._real_features = np.asarray(real, np.float32) if real.ndim == 2 else None
        self.start = time.time()
        self.last = None  # (iteration, results) of the latest evaluation
        directory = os.path.dirname(csv_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        row = files.start_evaluation_log(
            csv_path, ["iteration", "seconds", "eval_seconds"] + self.columns,
            self.start_iteration, self.every)
        if row is not None and all(row.get(c, "") != "" for c in self.columns):
            self.last = (self.start_iteration, {c: float(row[c]) for c in self.columns})

    @property
    def real_features(self) -> np.ndarray:
        """The real side's features, computed on first use and cached."""
        if self._real_features is None:
            self._real_features = self.extractor.features(self._real)
            self._real = None  # the images are no longer needed
        return self._real_features

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        iteration = self.iteration(batch)
        self.note_iteration(iteration)
        if iteration % self.every == 0:
            self.evaluate(iteration)

    def sample(self, iteration: int = 0) -> np.ndarray:
        """``num_samples`` generated images as one float32 array (those of `iteration`'s
        evaluation when the callback has a ``seed``)."""
        sample_fn = self.sample_fn
        if self.seed is not None:
            from models.random import derived_stream

            stream = derived_stream(self.seed, iteration)
            sample_fn = lambda n: self.sample_fn(n, seed_generator=stream)  # noqa: E731
        chunks, remaining = [], self.num_samples
        while remaining > 0:
            n = min(remaining, self.sample_batch_size)
            images = sample_fn(n)
            images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
            if images.shape[0] != n:
                raise ValueError(f"generator_sample_fn({n}) returned {images.shape[0]} images.")
            chunks.append(images.astype(np.float32, copy=False))
            remaining -= n
        return np.concatenate(chunks)

    def evaluate(self, iteration: int) -> dict:
        """Evaluate now (once per iteration), write the row; returns {metric: value}."""
        if self.last is not None and self.last[0] == iteration:
            return self.last[1]
        began = time.time()
        real_features = self.real_features
        fake_features, fake_probabilities = self.extractor.outputs(self.sample(iteration))
        results = metrics_from_outputs(real_features, fake_features, fake_probabilities,
                                       metrics=self.metrics, **self.metric_kwargs)
        now = time.time()
        seconds, eval_seconds = now - self.start, now - began
        files.append_rows(self.csv_path, [[iteration, f"{seconds:.1f}", f"{eval_seconds:.1f}"]
                                          + [f"{results[c]:.6g}" for c in self.columns]])
        if self.summary_writer is not None:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel

            with self.summary_writer.as_default():
                for name in self.columns:
                    tf.summary.scalar(f"eval/{name}", results[name], step=iteration)
            self.summary_writer.flush()
        if self.verbose:
            numbers = "  ".join(f"{c} {results[c]:.4g}" for c in self.columns)
            print(progress_line(iteration, seconds, {},
                                f"{getattr(self.extractor, 'name', '')} {numbers}"
                                f"  ({eval_seconds:.1f}s)", self.time_left(iteration, seconds)),
                  flush=True)
        self.last = (iteration, results)
        return results
