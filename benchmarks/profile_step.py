"""Where the time of one WGAN-GP generator iteration goes: timing its pieces.

    python -m benchmarks.profile_step --network=toy128
    python -m benchmarks.profile_step --network=dcgan28 --jit=false
    python -m benchmarks.profile_step --network=wgan_gp_mnist --mixed_precision=mixed_bfloat16
    TF_ENABLE_ONEDNN_OPTS=0 python -m benchmarks.profile_step --network=dcgan28 --pieces=penalty_grads

Each piece is a tf.function (XLA per --jit) on the model the runner builds
(`benchmarks.train_step.build`), called on fixed inputs:

  fit            model.fit on in-memory critic batches (the project's path)
  train_step     model.train_step on one fixed real-batch stack: fit without
                 the data pipeline, callbacks and per-step Python
  critic_step    one critic update (model.critic_step)
  generator_step one generator update (model.generator_step)
  penalty_grads  one critic update's forward, backward and penalty double
                 backward, returning the gradients (no optimizer update)
  penalty_grads_concat  the same with ONE critic call on
                 concat([real, fake, x_hat]) (valid for BN-free critics)
  no_penalty_grads  the critic gradients of the Wasserstein term alone
  optimizer      the critic optimizer's apply_gradients on fixed gradients
  random         the random draws of one critic update (latent + epsilon)
  generator_fwd  G(z) alone
  nchw_penalty_grads  (conv nets) penalty_grads of the same critic written
                 with tf.nn.conv2d in NCHW instead of NHWC

Pieces are timed in interleaved rounds (so a change in machine load hits all
of them alike); reported: median wall ms and process CPU ms per call, and the
model FLOPs per call with the rate they imply.
"""

import argparse
import json
import os
import statistics
import sys
import time

PIECES = ("fit", "train_step", "critic_step", "generator_step", "penalty_grads",
          "penalty_grads_concat", "no_penalty_grads", "optimizer", "random",
          "generator_fwd", "nchw_penalty_grads")


def make_pieces(model, batch_size, jit, names):
    import tensorflow as tf

    from benchmarks import flops as fl
    from benchmarks.train_step import in_memory_batches
    from models import losses

    critic, generator = model.critic, model.generator
    shape = tuple(critic.input_shape[1:])
    stack = next(iter(model.critic_batches(in_memory_batches(model, batch_size))))
    real = stack[0]
    f_g = fl.forward_flops(generator, batch_size)
    f_d = fl.forward_flops(critic, batch_size)
    d_vars = critic.trainable_variables
    fixed_grads = [tf.ones_like(v) * 1e-6 for v in d_vars]
    fake0 = generator(model.sample_latent(batch_size), training=True)
    function = lambda f: tf.function(f, jit_compile=jit)  # noqa: E731
    pieces = {}

    def grads_of(x_real, fake, concat):
        eps = model.interpolation_weights(x_real)
        x_hat = losses.interpolate(x_real, fake, eps)
        with tf.GradientTape() as tape:
            if concat:
                with tf.GradientTape() as inner:
                    inner.watch(x_hat)
                    scores = critic(tf.concat([x_real, fake, x_hat], 0), training=True)
                    real_s, fake_s, hat_s = tf.split(scores, 3)
                g = inner.gradient(hat_s, x_hat)
                norms = tf.sqrt(tf.reduce_sum(tf.square(g), axis=list(range(1, 1 + len(shape))))
                                + 1e-12)
                penalty = tf.reduce_mean(tf.square(norms - 1.0))
            else:
                real_s = critic(x_real, training=True)
                fake_s = critic(fake, training=True)
                penalty, _ = losses.gradient_penalty(critic, x_hat)
            d_loss = model.penalty_weight * penalty - (tf.reduce_mean(real_s)
                                                        - tf.reduce_mean(fake_s))
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(d_loss, d_vars)])

    if "train_step" in names:
        pieces["train_step"] = (function(lambda: model.train_step(stack)["d_loss"]),
                                fl.iteration_flops("wgan_gp", f_g, f_d, model.n_critic))
    if "critic_step" in names:
        pieces["critic_step"] = (function(lambda: model.critic_step(real)["d_loss"]),
                                 fl.critic_update_flops("wgan_gp", f_g, f_d))
    if "generator_step" in names:
        pieces["generator_step"] = (function(
            lambda: model.generator_step(batch_size)["g_loss"]),
            fl.generator_update_flops(f_g, f_d))
    if "penalty_grads" in names:
        pieces["penalty_grads"] = (function(lambda: grads_of(real, fake0, False)), 12 * f_d)
    if "penalty_grads_concat" in names:
        pieces["penalty_grads_concat"] = (function(lambda: grads_of(real, fake0, True)),
                                          12 * f_d)
    if "no_penalty_grads" in names:
        def plain():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(critic(fake0, training=True)) - tf.reduce_mean(
                    critic(real, training=True))
            return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, d_vars)])
        pieces["no_penalty_grads"] = (function(plain), 6 * f_d)
    if "optimizer" in names:
        def apply():
            model.critic_optimizer.apply_gradients(zip(fixed_grads, d_vars))
            return tf.constant(0.0)
        pieces["optimizer"] = (function(apply), 0)
    if "random" in names:
        pieces["random"] = (function(lambda: tf.reduce_sum(model.sample_latent(batch_size))
                                     + tf.reduce_sum(model.interpolation_weights(real))), 0)
    if "generator_fwd" in names:
        z = model.sample_latent(batch_size)
        pieces["generator_fwd"] = (function(
            lambda: tf.reduce_sum(generator(z, training=True))), f_g)
    if "nchw_penalty_grads" in names and len(shape) == 3:
        pieces["nchw_penalty_grads"] = (nchw_penalty_grads(critic, real, fake0, jit), 12 * f_d)
    return pieces


def nchw_penalty_grads(critic, real, fake, jit):
    """The BN-free conv critic's penalty gradients written with tf.nn.conv2d in NCHW."""
    import keras
    import tensorflow as tf

    layers = []
    for layer in critic.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layers.append(("conv", layer.kernel, layer.bias, layer.strides[0]))
        elif isinstance(layer, keras.layers.LeakyReLU):
            layers.append(("lrelu", layer.negative_slope))
        elif isinstance(layer, keras.layers.Dense):
            layers.append(("dense", layer.kernel, layer.bias))
        elif isinstance(layer, keras.layers.Flatten):
            layers.append(("flatten",))
    variables = critic.trainable_variables

    def forward(x):  # x: NCHW
        for spec in layers:
            if spec[0] == "conv":
                x = tf.nn.conv2d(x, spec[1], spec[3], "SAME", data_format="NCHW")
                x = tf.nn.bias_add(x, spec[2], data_format="NCHW")
            elif spec[0] == "lrelu":
                x = tf.nn.leaky_relu(x, spec[1])
            elif spec[0] == "flatten":
                x = tf.reshape(tf.transpose(x, [0, 2, 3, 1]), [tf.shape(x)[0], -1])
            else:
                x = tf.matmul(x, spec[1]) + spec[2]
        return x

    real_t = tf.transpose(real, [0, 3, 1, 2])
    fake_t = tf.transpose(fake, [0, 3, 1, 2])

    def run():
        eps = tf.random.uniform([tf.shape(real_t)[0], 1, 1, 1])
        x_hat = eps * real_t + (1 - eps) * fake_t
        with tf.GradientTape() as tape:
            w = tf.reduce_mean(forward(real_t)) - tf.reduce_mean(forward(fake_t))
            with tf.GradientTape() as inner:
                inner.watch(x_hat)
                s = forward(x_hat)
            g = inner.gradient(s, x_hat)
            norms = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]) + 1e-12)
            loss = 10.0 * tf.reduce_mean(tf.square(norms - 1.0)) - w
        return tf.add_n([tf.reduce_sum(gr) for gr in tape.gradient(loss, variables)])

    return tf.function(run, jit_compile=jit)


def time_pieces(pieces, rounds, min_seconds):
    import numpy as np

    calls = {}
    for name, (fn, _) in pieces.items():
        t0 = time.perf_counter()
        np.asarray(fn())  # trace / compile
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        np.asarray(fn())
        once = time.perf_counter() - t0
        calls[name] = (max(1, int(min_seconds / max(once, 1e-6))), compile_s)
    wall = {n: [] for n in pieces}
    cpu = {n: [] for n in pieces}
    for _ in range(rounds):
        for name, (fn, _) in pieces.items():
            n = calls[name][0]
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                out = fn()
            np.asarray(out)
            wall[name].append((time.perf_counter() - t0) / n * 1e3)
            cpu[name].append((time.process_time() - c0) / n * 1e3)
    results = {}
    for name, (_, flops) in pieces.items():
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        results[name] = {"wall_ms": w, "wall_ms_min": min(wall[name]),
                         "cpu_ms": c, "calls_per_round": calls[name][0],
                         "first_call_seconds": calls[name][1], "model_flops": flops,
                         "gflops_per_second": flops / w / 1e6 if flops else None}
    return results


def time_fit_piece(model, batch_size, iterations, rounds):
    from benchmarks.train_step import FitTimer, run_interleaved

    timer = FitTimer(model, batch_size, warmup=max(2, iterations // 5), iterations=iterations)
    r = run_interleaved({"fit": timer}, rounds)["fit"]
    return {"wall_ms": 1e3 / r["iterations_per_second"],
            "wall_ms_min": 1e3 / r["max"], "cpu_ms": r["cpu_ms_per_iteration"]}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_step")
    p.add_argument("--network", default="toy128",
                   choices=("toy128", "toy512", "dcgan28", "wgan_gp_mnist"))
    p.add_argument("--jit", default="auto", choices=("auto", "true", "false"))
    p.add_argument("--mixed_precision", default="none", choices=("none", "mixed_bfloat16"),
                   help="the networks' Keras dtype policy (the runner's flag)")
    p.add_argument("--pieces", default=",".join(PIECES))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--min_seconds", type=float, default=0.5,
                   help="per piece per round")
    p.add_argument("--fit_iterations", type=int, default=20)
    p.add_argument("--intra_op_threads", type=int, default=None)
    p.add_argument("--inter_op_threads", type=int, default=None)
    p.add_argument("--grappler_off", default="",
                   help="comma-separated grappler passes to turn off, e.g. remapping")
    p.add_argument("--output", default=None)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.intra_op_threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    if args.inter_op_threads is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    off = [name for name in args.grappler_off.split(",") if name]
    if off:
        tf.config.optimizer.set_experimental_options({name: False for name in off})
    import train_loops.wgan_gp  # noqa: F401  (the command's flags)
    from benchmarks.train_step import build

    flags = (() if args.jit == "auto" else (f"--jit_compile={args.jit}",)) + (
        f"--mixed_precision={args.mixed_precision}",)
    model, f = build(args.network, "wgan_gp", flags)
    jit = bool(model.jit_compile)
    names = [n for n in args.pieces.split(",") if n]
    results = {"network": args.network, "jit_compile": jit, "batch_size": f.batch_size,
               "mixed_precision": args.mixed_precision,
               "n_critic": f.n_critic,
               "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
               "intra_op_threads": args.intra_op_threads,
               "inter_op_threads": args.inter_op_threads, "grappler_off": off,
               "load_average": list(os.getloadavg()), "pieces": {}}
    if "fit" in names:
        fit_model, _ = build(args.network, "wgan_gp", flags)
        results["pieces"]["fit"] = time_fit_piece(fit_model, f.batch_size,
                                                  args.fit_iterations, args.rounds)
    results["pieces"].update(time_pieces(
        make_pieces(model, f.batch_size, jit, [n for n in names if n != "fit"]),
        args.rounds, args.min_seconds))
    print(f"{args.network} WGAN-GP, jit_compile={jit}, {args.mixed_precision}, "
          f"batch {f.batch_size}, "
          f"TF_ENABLE_ONEDNN_OPTS={results['TF_ENABLE_ONEDNN_OPTS']}, threads "
          f"intra={args.intra_op_threads} inter={args.inter_op_threads}, grappler off "
          f"{off}, load "
          f"{results['load_average'][0]:.1f}")
    print(f"  {'piece':22s} {'wall ms':>9s} {'min':>9s} {'CPU ms':>9s} {'GFLOP/s':>8s}")
    for name, r in results["pieces"].items():
        rate = r.get("gflops_per_second")
        print(f"  {name:22s} {r['wall_ms']:9.2f} {r['wall_ms_min']:9.2f} {r['cpu_ms']:9.2f} "
              f"{rate if rate is None else round(rate, 1)!s:>8s}")
    if args.output:
        with open(args.output, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
