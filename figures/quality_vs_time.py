"""Figure 9: Quality against generator iterations and wall-clock

Paper: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
Figure 3 (../shared/reference/papers.md): CIFAR-10 inception score against
generator iterations (left) and wall-clock time (right) for WGAN with weight
clipping (RMSProp), WGAN-GP with RMSProp, WGAN-GP with Adam, and DCGAN. There,
the gradient penalty converges faster and to a better score than weight
clipping (with either optimizer), and DCGAN is fastest in wall-clock time but
less stable.

Claims checked here, with classifier-FID (the Frechet distance in the feature
space of a Fashion-MNIST classifier, `classifiers/fashion_mnist.keras`; lower
is better) in place of the inception score:
  * WGAN-GP (Adam) ends with a lower FID than WGAN with clipping (mean of the
    last two evaluations, to damp evaluation noise);
  * WGAN-GP (RMSProp) ends with a lower FID than clipping too (the same
    optimizer and learning rate: the penalty, not the optimizer, makes the
    difference);
  * DCGAN is the fastest per second early on: at the wall-clock time of the
    first evaluation of the slowest run, DCGAN's FID (at its latest evaluation
    by then) is the lowest of the four.

Setting: all four runs use the DCGAN generator (dim below) on Fashion-MNIST
28x28, the same number of generator iterations, run one after another in one
process, each with its train step compiled by tf.function (no XLA).
  clipping      `train_loops.wgan --preset=wgan --authors_schedule=false
                --optimizer=rmsprop_tf1`: RMSProp 5e-5 (TensorFlow 1's, as
                the WGAN-GP authors' code runs it), c = 0.01, n_critic 5, batch 64, z 100-d N(0, 1),
                DCGAN discriminator (with BatchNorm) as critic; no 100-step
                critic schedule, as in the WGAN-GP authors' gan_cifar.py,
                which made the clipping baseline of this figure.
  GP (RMSProp)  `train_loops.wgan_gp --preset=wgan_gp --optimizer=rmsprop_tf1
                --learning_rate=5e-5`: the paper trains this model "with the
                same optimizer (RMSProp) and learning rate as WGAN with weight
                clipping"; lambda 10, n_critic 5, batch 64, z 128-d,
                BatchNorm-free critic.
  GP (Adam)     `train_loops.wgan_gp --preset=wgan_gp`: Adam(1e-4, 0, 0.9).
  DCGAN         `train_loops.gan --preset=dcgan`: Adam(2e-4, 0.5), batch 128,
                z 100-d U[-1, 1], one discriminator step per generator step.
Wall-clock is the run's own training time: `seconds` of image_metrics.csv
minus the time spent in its evaluations so far. Wall-clock comparisons hold
only for runs made on an otherwise quiet machine: these runs share 2 CPU
cores with whatever else runs, so their seconds carry that load too (in
the run behind docs/figures/quality_vs_time.png the clipping run met the
heaviest load and looks slower per iteration than WGAN-GP, which it is not on
a quiet machine).

Smaller than the paper, and why.
  * Data: Fashion-MNIST 28x28 instead of CIFAR-10 32x32 (not available
    offline here); classifier-FID instead of the inception score.
  * Length: 700 generator iterations per run instead of 200k, and width
    dim = 32 instead of the authors' 128 (CIFAR) / the runner's 64, so that
    the four runs fit in about 30-40 minutes on 2 CPU cores shared with other
    jobs (35 minutes at a load of ~20, beside figure 7). The curves are the
    first 0.35% of the paper's.
  * FID on 500 generated against 500 held-out images every 100 iterations
    (biased upwards against more samples; the ordering of the runs, not the
    level, is compared).
  Paper's scale (model side): --set iterations=200000 --set dim=64
  --set eval_every=2000 --set eval_samples=10000.
"""

import os

import numpy as np

from figures import common

FULL = dict(
    dataset="fashion_mnist",
    dim=32,
    iterations=700,         # generator iterations, for every run
    eval_every=100,
    eval_samples=500,
    wgan_batch_size=64,     # clipping and both GP runs (Algorithm 1 of both papers)
    gan_batch_size=128,     # DCGAN
    clip_learning_rate=5e-5,
    n_critic=5,             # critic updates per generator iteration (clipping and GP)
    run_eagerly=False,
)
QUICK = dict(FULL, dim=8, iterations=2, eval_every=2, eval_samples=32, wgan_batch_size=8,
             gan_batch_size=8, n_critic=1, run_eagerly=True)

# (name, label, command, its flags beyond the common ones)
RUNS = (
    ("clipping", "WGAN, weight clipping (RMSProp)", "wgan",
     dict(preset="wgan", authors_schedule=False, optimizer="rmsprop_tf1")),
    ("gp_rmsprop", "WGAN-GP (RMSProp)", "wgan_gp",
     dict(preset="wgan_gp", optimizer="rmsprop_tf1")),
    ("gp_adam", "WGAN-GP (Adam)", "wgan_gp", dict(preset="wgan_gp")),
    ("dcgan", "DCGAN", "gan", dict(preset="dcgan")),
)
COLORS = dict(clipping="tab:blue", gp_rmsprop="tab:green", gp_adam="tab:red",
              dcgan="tab:purple")


def batch_size(run, name):
    return run.gan_batch_size if name == "dcgan" else run.wgan_batch_size


def n_critic(run, name):
    """Critic steps per generator iteration; None: the preset's (the DCGAN recipe's one step)."""
    return None if name == "dcgan" else run.n_critic


def run_flags(run, name, extra):
    flags = dict(dataset=run.dataset, dim=run.dim, iterations=run.iterations,
                 eval_every=run.eval_every, eval_samples=run.eval_samples,
                 classifier=run.classifier(run.dataset),
                 sample_every=max(2, run.iterations // 3), run_eagerly=run.run_eagerly,
                 batch_size=batch_size(run, name),
                 **extra)
    if name in ("clipping", "gp_rmsprop"):
        flags["learning_rate"] = run.clip_learning_rate
    if n_critic(run, name) is not None:
        flags["n_critic"] = n_critic(run, name)
    return flags


def training_seconds(images):
    """Wall-clock of training alone at each evaluation: `seconds` less the evaluations so far."""
    return images["seconds"] - np.cumsum(images["eval_seconds"])


def compute(run):
    run.classifier(run.dataset)  # trained first if missing: not a part of the first run's time
    progress = run.progress(len(RUNS), "training the four models", of_parts=True,
                            weights=[common.iteration_cost(command, batch_size(run, name),
                                                           n_critic(run, name))
                                     for name, _, command, _ in RUNS])
    data = {}
    for name, _, command, extra in RUNS:
        run_dir = run.train(command, name, **run_flags(run, name, extra))
        images = common.read_csv(os.path.join(run_dir, "image_metrics.csv"))
        data[f"{name}_iteration"] = images["iteration"]
        data[f"{name}_seconds"] = training_seconds(images)
        data[f"{name}_fid"] = images["fid"]
        progress.update()
    for name, *_ in RUNS:
        data[f"{name}_final_fid"] = np.array(final_fid(data[f"{name}_fid"]))
    data["early_seconds"] = np.array(max(data[f"{name}_seconds"][0] for name, *_ in RUNS))
    data["early_fid"] = np.array([fid_at(data[f"{name}_seconds"], data[f"{name}_fid"],
                                         float(data["early_seconds"])) for name, *_ in RUNS])
    run.log("final FID " + ", ".join(f"{name} {float(data[f'{name}_final_fid']):.2f}"
                                     for name, *_ in RUNS)
            + f"; FID at {float(data['early_seconds']):.0f} s " + ", ".join(
                f"{name} {fid:.2f}" for (name, *_), fid in zip(RUNS, data["early_fid"])))
    return data


def final_fid(fid):
    """Mean of the last two evaluations (the last one if there is only one)."""
    return float(np.mean(fid[-2:]))


def fid_at(seconds, fid, time):
    """FID at the latest evaluation made by `time` seconds of training."""
    done = np.flatnonzero(seconds <= time + 1e-9)
    return float(fid[done[-1]]) if done.size else np.nan


def plot(data, run):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for name, label, *_ in RUNS:
        style = dict(color=COLORS[name], marker="o", ms=3, lw=1.5, label=label)
        axes[0].plot(data[f"{name}_iteration"], data[f"{name}_fid"], **style)
        axes[1].plot(data[f"{name}_seconds"], data[f"{name}_fid"], **style)
    axes[0].set_xlabel("generator iterations")
    axes[1].set_xlabel("wall-clock training time (s, 2 shared CPU cores)")
    axes[0].set_ylabel("classifier-FID (lower is better)")
    axes[1].axvline(float(data["early_seconds"]), color="gray", ls=":", lw=1,
                    label="first evaluation of the slowest run")
    for ax in axes:  # linear, as the paper's inception-score axes
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("FID against generator iterations")
    axes[1].set_title("FID against wall-clock")
    figure.suptitle(f"Figure 9: quality against generator iterations and wall-clock "
                    f"({run.dataset}, DCGAN generator, dim {run.dim})")
    figure.tight_layout()
    return figure


def claims(data, run):
    final = {name: float(data[f"{name}_final_fid"]) for name, *_ in RUNS}
    early = dict(zip([name for name, *_ in RUNS], data["early_fid"]))
    others = [early[name] for name in early if name != "dcgan"]
    return {
        "gp_adam_ends_below_clipping": final["gp_adam"] < final["clipping"],
        "gp_rmsprop_ends_below_clipping": final["gp_rmsprop"] < final["clipping"],
        "dcgan_fastest_per_second_early": bool(np.isfinite(early["dcgan"])
                                                and all(early["dcgan"] < f for f in others
                                                        if np.isfinite(f))),
    }


if __name__ == "__main__":
    common.main(__name__)
