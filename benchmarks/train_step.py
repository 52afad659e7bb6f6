"""Generator iterations per second of GAN, WGAN and WGAN-GP, path by path, side by side.

    python -m benchmarks.train_step                       # everything (~15-30 min on 2 cores)
    python -m benchmarks.train_step --networks=toy128 --models=wgan_gp \\
        --paths=default,no_xla,reference --iterations=20 --repeats=3   # < 1 min

Networks (`--networks`):
  toy128, toy512   the toy MLPs (2-D data, 3 hidden ReLU layers of 128 = the
                   runner's default / 512 = the authors'), batch 256
  dcgan28          DCGAN networks at 28x28x1 (dim 64, batch 64); WGAN-GP gets
                   the BatchNorm-free critic, as the runner gives it
  dcgan64          the same at 64x64x3 (CelebA's shape; no data is read)
  wgan_gp_mnist    the WGAN-GP authors' MNIST models (dim 64, batch 50);
                   WGAN-GP only
  sngan32          `gan --preset=sngan` at 32x32x1: Miyato et al.'s standard
                   CNN pair with spectral normalization, batch 64; GAN only
n_critic is 5 for WGAN and WGAN-GP and 1 for GAN; WGAN runs without the
authors' 100-critic-update schedule, so every iteration costs the same.

Paths (`--paths`):
  default     the project's path: the model built and compiled by
              `train_loops.runner.build_model` from the command's flags (so
              XLA on toy data, off on images), `model.fit` on
              `model.critic_batches(...)` of in-memory data
  no_xla      the same with --jit_compile=false
  xla         the same with --jit_compile=true
  eager       the same with --run_eagerly (fewer iterations: --eager_divisor)
  reference   a minimal hand-written step under tf.function(jit_compile=True):
              the same Keras networks, the same math and n_critic, a fresh
              real batch per critic update sliced from an in-memory tensor,
              stateless random draws, hand-written Adam / RMSprop on the
              variables; one call per generator iteration, no Keras fit
  reference_no_xla  the reference step as a plain tf.function (no XLA): the
              fair reference for the conv nets, which XLA slows down
  reference_fused  the same step, `--fused_iterations` iterations per call
              (a tf.while_loop inside one XLA computation): what is left
              once per-call dispatch is gone
  ips         the default path with --iterations_per_step= each of
              --iterations_per_step (toy networks only): k generator
              iterations per train step, every iteration's metrics kept
  spe         the default path recompiled with steps_per_execution = each of
              --steps_per_execution (toy networks only)
  jax         toy networks only: the same step written plainly in JAX
              (`benchmarks.jax_step`; `pip install -e ".[jax]"`), --fused_iterations
              iterations per jitted call in a lax.scan, after checking that with
              the Keras weights it computes the same losses and gradients (the
              check goes to the JSON)
  torch       wgan_gp_mnist only: the same step written plainly in PyTorch,
              eager (`benchmarks.torch_step`; needs `pip install torch==2.13.0`),
              after checking that with the Keras weights copied in it computes
              the same losses and gradients (the check goes to the JSON)

Precisions (`--precisions`): each path is timed in every listed Keras dtype
policy, float32 and / or mixed_bfloat16 (the runner's --mixed_precision;
a path's name gets `_bf16` in bfloat16). The jax and torch paths are float32
only, and are timed only when float32 is listed.
The matmul and conv rates are then measured in bfloat16 as well.

Each path warms up first (tracing and compilation are excluded). Then
--repeats rounds each time one block of --iterations generator iterations of
every path in turn (round-robin, so that a machine whose speed drifts slows
all paths alike and the ratios stay fair), and the median and min / max of
each path's blocks are reported. A fit path's block is one `fit` call, timed
from its first to its last batch end (a callback takes the time at each
batch end, which, as in the runner, also brings that step's logs to the
host). The model FLOPs of one generator iteration are counted by
`benchmarks.flops` (see its docstring), and achieved FLOP/s = FLOPs x
iterations per second. A dense matmul rate (and a conv rate) is
measured in the same process for comparison.

JSON goes to --output (default runs/benchmarks/train_step.json), a table to
stdout. --intra_op_threads / --inter_op_threads set TensorFlow's thread pools;
TF_ENABLE_ONEDNN_OPTS is read from the environment and recorded.
"""

import argparse
import importlib.util
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time

from train_loops.precision import native_bf16

NETWORKS = ("toy128", "toy512", "dcgan28", "dcgan64", "wgan_gp_mnist", "sngan32")
# Networks that belong to one algorithm's recipe.
ONLY_MODEL = {"wgan_gp_mnist": "wgan_gp", "sngan32": "gan"}
MODELS = ("gan", "wgan", "wgan_gp")
PATHS = ("default", "no_xla", "xla", "eager", "reference", "reference_fused",
         "reference_no_xla", "ips", "spe", "jax", "torch")
TOY_NETWORKS = ("toy128", "toy512")

# Per network: generator iterations per timed block and warm-up iterations
# when --iterations / --warmup are not given.
DEFAULT_ITERATIONS = {"toy128": 100, "toy512": 30, "dcgan28": 4, "dcgan64": 2,
                      "wgan_gp_mnist": 4, "sngan32": 8}
DEFAULT_WARMUP = {"toy128": 10, "toy512": 5, "dcgan28": 2, "dcgan64": 1, "wgan_gp_mnist": 2,
                  "sngan32": 2}
# Keras dtype policies a path can be timed in, and the suffix of their path names.
PRECISIONS = {"float32": "", "mixed_bfloat16": "_bf16"}


# --- building the model as the runner does ---------------------------------------


def command_argv(network, model_name, path_flags=()):
    """The command line that makes `train_loops.<model_name>` build this network."""
    argv = [f"train_loops.{model_name}"]
    if network in TOY_NETWORKS:
        # The training step alone, as every peer runs it: without the weight
        # average the WGAN-GP toy preset keeps.
        argv += ["--dataset=8gaussians", f"--hidden_units={network[3:]}", "--batch_size=256",
                 "--ema_decay=0"]
    elif network in ("dcgan28", "dcgan64"):
        preset = {"gan": "dcgan", "wgan": "wgan", "wgan_gp": "wgan_gp"}[model_name]
        dataset = "mnist" if network == "dcgan28" else "celeb_a"
        argv += [f"--preset={preset}", f"--dataset={dataset}", "--architecture=dcgan",
                 "--dim=64", "--batch_size=64"]
        if model_name == "wgan":
            argv += ["--noauthors_schedule"]
    elif network in ONLY_MODEL:
        if model_name != ONLY_MODEL[network]:
            raise ValueError(f"{network} is a {ONLY_MODEL[network]} network pair")
        argv += (["--preset=wgan_gp_mnist", "--dim=64", "--batch_size=50"]
                 if network == "wgan_gp_mnist" else
                 ["--preset=sngan", "--dataset=fashion_mnist", "--image_size=32"])
    else:
        raise ValueError(f"unknown network {network!r}")
    n_critic = 1 if model_name == "gan" else 5
    return argv + [f"--n_critic={n_critic}", *path_flags]


def build(network, model_name, path_flags=()):
    """(model, flags) built and compiled by `train_loops.runner.build_model`."""
    import importlib

    from absl import flags

    from train_loops import runner
    from train_loops.tasks import make_task

    command = importlib.import_module(f"train_loops.{model_name}").COMMAND
    flag_values = flags.FLAGS
    flag_values.unparse_flags()
    command.parse(command_argv(network, model_name, path_flags))
    model = runner.build_model(command, make_task(flag_values, model_name))
    return model, flag_values


def in_memory_batches(model, batch_size, num_batches=16, seed=0):
    """An endless tf.data stream of real batches cycled from a tensor in memory."""
    import numpy as np
    import tensorflow as tf

    shape = tuple(model.critic.input_shape[1:])
    rng = np.random.default_rng(seed)
    data = rng.uniform(-1.0, 1.0, (num_batches * batch_size,) + shape).astype("float32")
    return (tf.data.Dataset.from_tensor_slices(data)
            .batch(batch_size, drop_remainder=True).repeat())


# --- timing --------------------------------------------------------------------


def summarize(block_seconds, iterations, block_cpu_seconds):
    """Median and min / max generator iterations per second over the timed blocks.

    Also the process CPU time per iteration (all threads), which a shared,
    oversubscribed machine inflates far less than wall time.
    """
    rates = [iterations / s for s in block_seconds]
    cpu = [c / iterations * 1e3 for c in block_cpu_seconds]
    return {"iterations_per_block": iterations, "block_seconds": block_seconds,
            "iterations_per_second": statistics.median(rates),
            "min": min(rates), "max": max(rates),
            "block_cpu_seconds": block_cpu_seconds,
            "cpu_ms_per_iteration": statistics.median(cpu)}


class FitTimer:
    """Times `model.fit` on `model.critic_batches` of in-memory data, one block per `block()`.

    Each block is one `fit` of one untimed execution and then `iterations`
    timed generator iterations, measured between the first and the last batch
    end (a callback takes the time there, which, as in the runner, also
    brings that step's logs to the host), so fit's own start-up is excluded.
    The first `fit` (tracing, compilation) is the warm-up. An execution is
    `steps_per_execution` steps of `model.iterations_per_step` iterations.
    """

    def __init__(self, model, batch_size, warmup, iterations, steps_per_execution=1):
        import keras

        self.model, self.batch_size = model, batch_size
        self.per_execution = steps_per_execution * model.iterations_per_step
        self.iterations = self._whole(iterations)
        self.stamps = stamps = {}

        class Stamp(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stamps[batch] = (time.perf_counter(), time.process_time())

        self.callback = Stamp()
        warmup = self._whole(warmup)
        start = time.perf_counter()
        self._fit(warmup)
        self.info = {"warmup_iterations": warmup,
                     "first_execution_seconds": time.perf_counter() - start}

    def _whole(self, iterations):
        """`iterations` rounded up to whole executions (at least one)."""
        return max(1, -(-iterations // self.per_execution)) * self.per_execution

    def _fit(self, iterations):
        self.stamps.clear()
        data = self.model.critic_batches(in_memory_batches(self.model, self.batch_size))
        self.model.fit(data, steps_per_epoch=iterations // self.model.iterations_per_step,
                       epochs=1, verbose=0, callbacks=[self.callback])

    def block(self):
        """(wall seconds, CPU seconds) of `iterations` generator iterations."""
        self._fit(self.per_execution + self.iterations)
        # stamps[s]: the end of the execution whose last step is s (0-based).
        ends = sorted(self.stamps)
        first, last = self.stamps[ends[0]], self.stamps[ends[-1]]
        self.info["callback_calls"] = len(self.stamps)
        return last[0] - first[0], last[1] - first[1]


# --- the hand-written reference step -----------------------------------------


class Adam:
    """Keras' Adam, written out: m, v, bias-corrected step, epsilon 1e-7."""

    def __init__(self, variables, learning_rate, beta_1, beta_2, epsilon=1e-7):
        import tensorflow as tf

        self.variables = variables
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta_1, beta_2, epsilon
        self.m = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.t = tf.Variable(0.0)

    def apply(self, grads):
        import tensorflow as tf

        self.t.assign_add(1.0)
        alpha = self.lr * tf.sqrt(1.0 - self.b2 ** self.t) / (1.0 - self.b1 ** self.t)
        for var, g, m, v in zip(self.variables, grads, self.m, self.v):
            m.assign_add((g - m) * (1.0 - self.b1))
            v.assign_add((tf.square(g) - v) * (1.0 - self.b2))
            var.assign_sub(alpha * m / (tf.sqrt(v) + self.eps))


class RMSprop:
    """Keras' RMSprop, written out: rho 0.9, no momentum, epsilon 1e-7 inside the root.

    start: the mean square's first value (1 for `models.wgan.RMSpropFromOnes`).
    """

    def __init__(self, variables, learning_rate, rho=0.9, epsilon=1e-7, start=0.0):
        import tensorflow as tf

        self.variables = variables
        self.lr, self.rho, self.eps = learning_rate, rho, epsilon
        self.v = [tf.Variable(tf.fill(tf.shape(v), start)) for v in variables]

    def apply(self, grads):
        import tensorflow as tf

        for var, g, v in zip(self.variables, grads, self.v):
            v.assign(self.rho * v + (1.0 - self.rho) * tf.square(g))
            var.assign_sub(self.lr * g / tf.sqrt(v + self.eps))


def rmsprop_start(optimizer):
    """The first value of a Keras RMSprop's mean square: 1 for TensorFlow 1's, else 0."""
    from models.wgan import RMSpropFromOnes

    return 1.0 if isinstance(optimizer, RMSpropFromOnes) else 0.0


def reference_optimizer(keras_optimizer, variables):
    """The hand-written twin of a Keras Adam or RMSprop (unwrapping loss scaling)."""
    import keras

    inner = getattr(keras_optimizer, "inner_optimizer", keras_optimizer)
    cfg = inner.get_config()
    lr = float(inner.learning_rate.numpy())
    if isinstance(inner, keras.optimizers.RMSprop):
        return RMSprop(variables, lr, cfg["rho"], cfg["epsilon"], rmsprop_start(inner))
    if isinstance(inner, keras.optimizers.Adam):
        return Adam(variables, lr, cfg["beta_1"], cfg["beta_2"], cfg["epsilon"])
    raise ValueError(f"no hand-written twin of {type(inner).__name__}")


def reference_step(model, batch_size, num_batches=16, seed=0):
    """step(iteration) -> (d_loss, g_loss): one generator iteration, hand-written.

    The networks are `model`'s (not trained by it); every number the Keras
    step computes is computed here the same way, with stateless random draws
    keyed by (iteration, draw) and real batches sliced from a tensor in memory.
    """
    import numpy as np
    import tensorflow as tf

    from models import WGAN, WGANGP

    generator, critic = model.generator, model.critic
    n_critic = model.n_critic
    penalty = isinstance(model, WGANGP)
    clip = model.clip_value if isinstance(model, WGAN) else None
    gan = not (penalty or clip)
    latent_shape = tuple(model.latent_shape)
    uniform_latent = model.latent_distribution == "uniform"
    shape = tuple(critic.input_shape[1:])
    rng = np.random.default_rng(seed)
    data = tf.constant(rng.uniform(-1.0, 1.0, (num_batches, batch_size) + shape)
                       .astype("float32"))
    g_vars, d_vars = generator.trainable_variables, critic.trainable_variables
    g_opt = reference_optimizer(model.generator_optimizer, g_vars)
    d_opt = reference_optimizer(model.critic_optimizer, d_vars)
    lam = getattr(model, "penalty_weight", 0.0)

    def latent(seed):
        shape = (batch_size,) + latent_shape
        if uniform_latent:
            return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
        return tf.random.stateless_normal(shape, seed)

    def critic_update(iteration, j):
        seed = tf.stack([iteration, 2 * j])
        # gather, not data[i]: XLA wants a slice's start to be a compile-time
        # constant, and would then recompile the step for every iteration.
        real = tf.gather(data, (iteration * n_critic + j) % num_batches)
        fake = generator(latent(seed), training=True)
        with tf.GradientTape() as tape:
            real_scores = critic(real, training=True)
            fake_scores = critic(fake, training=True)
            if gan:
                d_loss = (tf.reduce_mean(tf.nn.softplus(-real_scores))
                          + tf.reduce_mean(tf.nn.softplus(fake_scores)))
            else:
                d_loss = tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)
            if penalty:
                eps = tf.random.stateless_uniform(
                    (batch_size,) + (1,) * len(shape), seed + tf.constant([0, 1], tf.int64))
                x_hat = eps * real + (1.0 - eps) * fake
                with tf.GradientTape() as inner:
                    inner.watch(x_hat)
                    hat_scores = critic(x_hat, training=True)
                grads = inner.gradient(hat_scores, x_hat)
                norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(
                    range(1, 1 + len(shape)))) + 1e-12)
                d_loss += lam * tf.reduce_mean(tf.square(norms - 1.0))
        d_opt.apply(tape.gradient(d_loss, d_vars))
        if clip:
            for v in d_vars:
                v.assign(tf.clip_by_value(v, -clip, clip))
        return d_loss

    def step(iteration):
        iteration = tf.cast(iteration, tf.int64)
        # A loop, as the model's train_step has (unrolling it makes the graph
        # n_critic times larger and XLA's compile that much longer).
        def more(j, _):
            return j < n_critic

        def body(j, _):
            return j + 1, critic_update(iteration, j)

        _, d_loss = tf.while_loop(
            more, body,
            (tf.constant(1, tf.int64), critic_update(iteration, tf.constant(0, tf.int64))))
        seed = tf.stack([iteration, tf.constant(2 * n_critic, tf.int64)])
        with tf.GradientTape() as tape:
            scores = critic(generator(latent(seed), training=True), training=True)
            g_loss = (tf.reduce_mean(tf.nn.softplus(-scores)) if gan
                      else -tf.reduce_mean(scores))
        g_opt.apply(tape.gradient(g_loss, g_vars))
        return d_loss, g_loss

    return step


class CallTimer:
    """Times a step function called once per `fused` generator iterations, one block per `block()`.

    A subclass defines `call(counter)`, which runs iterations counter ..
    counter + fused - 1 and returns the last critic loss; the host reads it
    after every call, as `fit` brings each step's logs to the host. The
    constructor runs the warm-up (tracing, compilation).
    """

    def __init__(self, warmup, iterations, fused):
        self.fused, self.counter = fused, 0
        self.calls = max(1, -(-iterations // fused))
        self.iterations = self.calls * fused
        start = time.perf_counter()
        self._calls(max(1, -(-warmup // fused)))
        self.info = {"warmup_seconds": time.perf_counter() - start,
                     "iterations_per_call": fused}

    def _calls(self, n):
        for _ in range(n):
            float(self.call(self.counter))
            self.counter += self.fused

    def block(self):
        return wall_and_cpu(self._calls, self.calls)


class ReferenceTimer(CallTimer):
    """Times the reference step: one tf.function(jit_compile=jit) call per `fused` iterations."""

    def __init__(self, model, batch_size, warmup, iterations, fused=1, jit=True):
        import tensorflow as tf

        step = reference_step(model, batch_size)
        if fused == 1:
            self.run = tf.function(step, jit_compile=jit, autograph=False)
        else:
            def many(i0):
                def body(i, *_):
                    return (i + 1, *step(i))

                _, d_loss, g_loss = tf.while_loop(
                    lambda i, *_: i < i0 + fused, body, (i0, 0.0, 0.0))
                return d_loss, g_loss
            self.run = tf.function(many, jit_compile=jit, autograph=False)
        super().__init__(warmup, iterations, fused)
        self.info["dtype_policy"] = model.critic.dtype_policy.name

    def call(self, counter):
        import tensorflow as tf

        return self.run(tf.constant(counter, tf.int64))[0]


def wall_and_cpu(fn, *args):
    """(wall seconds, process CPU seconds) that fn(*args) took."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0


def run_interleaved(timers, repeats):
    """Results per timer: `repeats` rounds, each timing one block of every timer in turn.

    Round-robin, so that a machine whose speed drifts (shared cores, other
    jobs, frequency changes) slows every path alike instead of whichever ran
    during the slow minutes: the ratios stay fair even when the rates do not.
    """
    times = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            times[name].append(timer.block())
    results = {}
    for name, timer in timers.items():
        result = summarize([w for w, _ in times[name]], timer.iterations,
                           [c for _, c in times[name]])
        results[name] = dict(result, **timer.info)
    return results


# --- matmul and conv rates ------------------------------------------------------


def matmul_rate(m, k, n, jit, chain=None, repeats=5, min_seconds=0.2, dtype="float32"):
    """FLOP/s of [m, k] x [k, n] matmuls in `dtype`, a chain of them per tf.function call."""
    import tensorflow as tf

    chain = chain or min(64, max(1, int(2e9 // (2 * m * k * n))))  # up to ~2 GFLOP per call
    a = tf.cast(tf.random.normal((m, k)), dtype)
    w = tf.cast(tf.random.normal((k, n)) / math.sqrt(k), dtype)
    ws = [tf.cast(tf.random.normal((n, n)) / math.sqrt(n), dtype) for _ in range(min(chain, 4))]

    @tf.function(jit_compile=jit)
    def run(x):
        x = tf.matmul(x, w)
        for i in range(chain - 1):
            x = tf.matmul(x, ws[i % len(ws)])
        return x

    flops = 2 * m * n * (k + (chain - 1) * n)
    return _rate(run, a, flops, repeats, min_seconds) | {
        "shape": [m, k, n], "chain": chain, "jit_compile": jit, "dtype": dtype}


CONV_PASSES = ("forward", "input_grad", "filter_grad")


def conv_rate(batch, size, c_in, c_out, kernel=5, stride=2, jit=False, repeats=5,
              min_seconds=0.2, dtype="float32", conv_pass="forward"):
    """FLOP/s of a 'same' conv (NHWC) in `dtype`, e.g. the DCGAN critic's 14x14x64 -> 7x7x128.

    `conv_pass`: the forward conv, or one of the two products of its backward
    pass: the gradient with respect to the input (also a transposed conv, as
    in the generators) or with respect to the kernel. Each has the forward's
    FLOPs.
    """
    import tensorflow as tf

    out = -(-size // stride)
    x = tf.cast(tf.random.normal((batch, size, size, c_in)), dtype)
    w = tf.cast(tf.random.normal((kernel, kernel, c_in, c_out)) * 0.02, dtype)
    dy = tf.cast(tf.random.normal((batch, out, out, c_out)), dtype)

    @tf.function(jit_compile=jit)
    def run(x):
        if conv_pass == "forward":
            return tf.nn.conv2d(x, w, stride, "SAME")
        if conv_pass == "input_grad":
            return tf.nn.conv2d_transpose(dy, w, tf.shape(x), stride, "SAME")
        return tf.compat.v1.nn.conv2d_backprop_filter(x, tf.shape(w), dy, [1, stride, stride, 1],
                                                      "SAME")

    flops = 2 * kernel * kernel * c_in * c_out * out * out * batch
    return _rate(run, x, flops, repeats, min_seconds) | {
        "shape": [batch, size, size, c_in, c_out, kernel, stride], "jit_compile": jit,
        "dtype": dtype, "pass": conv_pass}


def _rate(run, x, flops, repeats, min_seconds):
    run(x).numpy()  # trace / compile
    t0 = time.perf_counter()
    run(x).numpy()
    once = time.perf_counter() - t0
    calls = max(1, int(min_seconds / max(once, 1e-6)))
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            y = run(x)
        y.numpy()
        rates.append(flops * calls / (time.perf_counter() - t0))
        cpu_rates.append(flops * calls / max(time.process_time() - c0, 1e-9))
    # flops_per_cpu_second: per second of process CPU time (all threads), to
    # set beside the steps' cpu_ms_per_iteration on a shared machine.
    return {"flops_per_call": flops, "flops_per_second": statistics.median(rates),
            "min": min(rates), "max": max(rates),
            "flops_per_cpu_second": statistics.median(cpu_rates)}


def reference_rates(networks, precisions=("float32",)):
    """The matmul (and conv) rates the step rates are compared with, in each precision.

    A mixed policy computes in its 16-bit type, so its rates are that type's:
    `_bf16` names a bfloat16 rate.
    """
    rates = {}
    for policy in precisions:
        dtype = "bfloat16" if policy == "mixed_bfloat16" else "float32"
        kernels = {"matmul_1024": lambda jit: matmul_rate(1024, 1024, 1024, jit, dtype=dtype)}
        for h in sorted({int(n[3:]) for n in networks if n in TOY_NETWORKS}):
            kernels[f"matmul_256x{h}x{h}"] = (
                lambda jit, h=h: matmul_rate(256, h, h, jit, dtype=dtype))
        if any(n not in TOY_NETWORKS for n in networks):
            for conv_pass in CONV_PASSES:
                suffix = "" if conv_pass == "forward" else f"_{conv_pass}"
                kernels[f"conv_64x14x14x64_to_128{suffix}"] = (
                    lambda jit, p=conv_pass: conv_rate(64, 14, 64, 128, jit=jit, dtype=dtype,
                                                       conv_pass=p))
        for name, rate in kernels.items():
            for jit, xla in ((False, ""), (True, "_xla")):
                rates[f"{name}{PRECISIONS[policy]}{xla}"] = rate(jit)
    return rates


# --- the run --------------------------------------------------------------------

PATH_FLAGS = {"default": (), "no_xla": ("--jit_compile=false",),
              "xla": ("--jit_compile=true",), "eager": ("--run_eagerly",)}


def benchmark_case(network, model_name, paths, args):
    """All requested paths for one (network, model); a dict of results per path."""
    from benchmarks import flops as flop_count

    iterations = args.iterations or DEFAULT_ITERATIONS[network]
    warmup = args.warmup if args.warmup is not None else DEFAULT_WARMUP[network]
    model, f = build(network, model_name)
    batch_size, n_critic = f.batch_size, f.n_critic
    count = flop_count.model_iteration_flops(model_name, model.generator, model.critic,
                                             batch_size, n_critic)
    case = {"network": network, "model": model_name, "batch_size": batch_size,
            "n_critic": n_critic, "default_jit_compile": bool(model.jit_compile),
            "flops": count, "paths": {}}
    del model

    def record(name, result):
        result["gflops_per_second"] = (result["iterations_per_second"]
                                       * count["per_generator_iteration"] / 1e9)
        result["gflops_per_cpu_second"] = (count["per_generator_iteration"] / 1e6
                                           / result["cpu_ms_per_iteration"])
        case["paths"][name] = result
        print(f"  {network:14s} {model_name:8s} {name:18s} "
              f"{result['iterations_per_second']:9.2f} it/s "
              f"[{result['min']:.2f}, {result['max']:.2f}]  "
              f"{result['gflops_per_second']:7.2f} GFLOP/s  "
              f"{result['cpu_ms_per_iteration']:8.2f} CPU ms/it", flush=True)

    timers = {}

    def add(name, timer, model, **info):
        timers[name] = timer
        timer.info.update(info, jit_compile=bool(model.jit_compile),
                          dtype_policy=model.critic.dtype_policy.name)

    for policy, path in itertools.product(args.precisions, paths):
        # Stated either way: the runner's own default may differ (auto).
        precision = (f"--mixed_precision={'none' if policy == 'float32' else policy}",)
        suffix = PRECISIONS[policy]
        if path in PATH_FLAGS:
            n = iterations
            if path == "eager":
                n = max(1, iterations // args.eager_divisor)
            model, _ = build(network, model_name, PATH_FLAGS[path] + precision)
            add(path + suffix,
                FitTimer(model, batch_size, min(warmup, n) if path == "eager" else warmup, n),
                model, run_eagerly=bool(model.run_eagerly))
        elif path in ("reference", "reference_fused", "reference_no_xla"):
            model, _ = build(network, model_name, precision)
            fused = args.fused_iterations if path == "reference_fused" else 1
            timers[path + suffix] = ReferenceTimer(model, batch_size, warmup, iterations,
                                                   fused=fused, jit=path != "reference_no_xla")
        elif path == "ips" and network in TOY_NETWORKS:
            for k in args.iterations_per_step:
                model, _ = build(network, model_name, (f"--iterations_per_step={k}",) + precision)
                add(f"ips{k}{suffix}", FitTimer(model, batch_size, warmup, iterations), model,
                    iterations_per_step=k)
        elif path == "spe" and network in TOY_NETWORKS:
            for k in args.steps_per_execution:
                model, _ = build(network, model_name, precision)
                recompile_steps_per_execution(model, k)
                add(f"spe{k}{suffix}", FitTimer(model, batch_size, warmup, iterations,
                                                steps_per_execution=k), model,
                    steps_per_execution=k)
        elif path == "jax" and network in TOY_NETWORKS and policy == "float32":
            from benchmarks import jax_step

            model, _ = build(network, model_name, precision)
            case["jax_check"] = jax_step.check_against_keras(model)
            timers[path] = jax_step.JaxTimer(model, batch_size, warmup, iterations,
                                             fused=args.fused_iterations)
        elif path == "torch" and network == "wgan_gp_mnist" and policy == "float32":
            from benchmarks import torch_step

            case["torch_check"] = torch_step.check_against_keras()
            timers[path] = torch_step.TorchTimer(warmup, iterations, dim=64,
                                                 batch_size=batch_size)
    for name, result in run_interleaved(timers, args.repeats).items():
        record(name, result)
    return case


def recompile_steps_per_execution(model, k):
    """Compile `model` again as the runner does, with steps_per_execution=k."""
    from absl import flags

    from train_loops.runner import make_optimizer

    f = flags.FLAGS
    model.compile(make_optimizer(f.learning_rate),
                  make_optimizer(f.critic_learning_rate or f.learning_rate, f.n_critic),
                  jit_compile=model.jit_compile, steps_per_execution=k)


def steps_per_execution_logging(k=5, iterations=10, model_name="wgan_gp"):
    """How many per-iteration log rows the runner's StepLogger writes with steps_per_execution=k."""
    import tempfile

    from train_loops.callbacks import StepLogger

    model, f = build("toy128", model_name)
    recompile_steps_per_execution(model, k)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "metrics.csv")
        model.fit(model.critic_batches(in_memory_batches(model, f.batch_size)),
                  steps_per_epoch=iterations, epochs=1, verbose=0,
                  callbacks=[StepLogger(path)])
        with open(path) as fh:
            rows = fh.read().splitlines()[1:]
    logged = [int(r.split(",")[0]) for r in rows]
    return {"steps_per_execution": k, "generator_iterations": iterations,
            "rows_logged": len(logged), "iterations_logged": logged,
            "generator_optimizer_iterations": int(model.generator_optimizer.iterations),
            "compatible": logged == list(range(1, iterations + 1))}


def environment(args):
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
            "native_bf16_cpu_flag": native_bf16(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "command": " ".join(sys.argv)}


def table(results):
    """A readable table of the results: one row per (network, model), one column per path."""
    cases = results["cases"]
    paths = []
    for case in cases:
        paths += [p for p in case["paths"] if p not in paths]
    head = f"{'network':14s} {'model':8s} {'MFLOP/it':>9s}" + "".join(f" {p:>20s}" for p in paths)

    def section(title, cell):
        """A title, the header and one row per case; `cell(result)` is a 21-character string."""
        lines = [title, "", head]
        for case in cases:
            row = (f"{case['network']:14s} {case['model']:8s} "
                   f"{case['flops']['per_generator_iteration'] / 1e6:9.1f}")
            lines.append(row + "".join(cell(case["paths"][p]) if p in case["paths"]
                                       else " " * 21 for p in paths))
        return lines

    lines = section("generator iterations / second (median of blocks; [min, max])",
                    lambda r: f" {r['iterations_per_second']:.3g} "
                              f"[{r['min']:.3g}-{r['max']:.3g}]".rjust(21))
    lines += [""] + section("achieved GFLOP/s (model FLOPs x median rate)",
                            lambda r: f" {r['gflops_per_second']:20.2f}")
    lines += [""] + section("process CPU ms per generator iteration (all threads; "
                            "median of blocks)", lambda r: f" {r['cpu_ms_per_iteration']:20.2f}")
    lines += ["", "reference rates (GFLOP/s, median [min, max])"]
    for name, r in results["rates"].items():
        lines.append(f"  {name:32s} {r['flops_per_second'] / 1e9:8.1f} "
                     f"[{r['min'] / 1e9:.1f}, {r['max'] / 1e9:.1f}]  "
                     f"{r['flops_per_cpu_second'] / 1e9:8.1f} per CPU-second")
    if results.get("steps_per_execution_logging"):
        s = results["steps_per_execution_logging"]
        lines += ["", f"steps_per_execution={s['steps_per_execution']}: "
                      f"{s['rows_logged']} metric rows for {s['generator_iterations']} "
                      f"generator iterations (iterations {s['iterations_logged']}); "
                      f"compatible with per-iteration logs: {s['compatible']}"]
    return "\n".join(lines)


def names(allowed):
    """An argparse type: a comma-separated list of names from `allowed`."""
    def parse(text):
        values = [v for v in text.split(",") if v]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {allowed}")
        return values
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.train_step",
                                description=__doc__.split("\n")[0])
    p.add_argument("--models", type=names(MODELS), default=list(MODELS))
    p.add_argument("--networks", type=names(NETWORKS), default=list(NETWORKS))
    # torch and jax join the default paths only where installed (they are optional).
    p.add_argument("--paths", type=names(PATHS), default=[
        p for p in PATHS if p not in ("torch", "jax") or importlib.util.find_spec(p)])
    p.add_argument("--iterations", type=int, default=None,
                   help="generator iterations per timed block (default: per network)")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per path")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed iterations first (default: per network)")
    p.add_argument("--eager_divisor", type=int, default=10,
                   help="the eager path times iterations // this per block")
    p.add_argument("--fused_iterations", type=int, default=10,
                   help="iterations per call of the reference_fused path")
    p.add_argument("--iterations_per_step", type=lambda t: [int(v) for v in t.split(",")],
                   default=[1, 5, 10, 20], help="values for the ips path")
    p.add_argument("--steps_per_execution", type=lambda t: [int(v) for v in t.split(",")],
                   default=[5, 25], help="values for the spe path")
    p.add_argument("--precisions", type=names(tuple(PRECISIONS)), default=["float32"],
                   help="Keras dtype policies to time every path in, e.g. "
                        "float32,mixed_bfloat16")
    p.add_argument("--no_rates", action="store_true", help="skip the matmul / conv rates")
    p.add_argument("--intra_op_threads", type=int, default=None)
    p.add_argument("--inter_op_threads", type=int, default=None)
    p.add_argument("--output", default=os.path.join("runs", "benchmarks", "train_step.json"))
    args = p.parse_args(argv)
    for name in ("iterations", "repeats", "warmup", "eager_divisor", "fused_iterations"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            p.error(f"--{name} must be positive")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.intra_op_threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    if args.inter_op_threads is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    # The runner's modules define absl flags; make sure every command is loaded.
    import train_loops.gan  # noqa: F401
    import train_loops.wgan  # noqa: F401
    import train_loops.wgan_gp  # noqa: F401

    results = {"environment": environment(args), "settings": {
        k: v for k, v in vars(args).items() if k != "output"}, "cases": []}
    directory = os.path.dirname(args.output)
    if directory:
        os.makedirs(directory, exist_ok=True)

    def write():
        with open(args.output, "w") as fh:
            json.dump(results, fh, indent=2)

    start = time.perf_counter()
    for network in args.networks:
        for model_name in args.models:
            if ONLY_MODEL.get(network, model_name) != model_name:
                continue
            results["cases"].append(benchmark_case(network, model_name, args.paths, args))
            write()  # a long run stopped early keeps the cases done
    if "spe" in args.paths and any(n in TOY_NETWORKS for n in args.networks):
        k = max(args.steps_per_execution + [2])
        results["steps_per_execution_logging"] = steps_per_execution_logging(
            k, iterations=2 * k, model_name=args.models[-1])
    results["rates"] = {} if args.no_rates else reference_rates(args.networks, args.precisions)
    results["wall_seconds"] = time.perf_counter() - start
    write()
    print()
    print(table(results))
    print(f"\nwrote {args.output} ({results['wall_seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
