"""Figure 6: Mode collapse and mode dropping

Sources: the lecture-notes picture of mode collapse / mode dropping on 2-D
Gaussian mixtures, measured with the metric of VEEGAN (Srivastava et al.
2017) and PacGAN (Lin et al. 2018): of 2,500 generated samples, a sample is
"high quality" if it lies within 3 standard deviations of its nearest mode
centre, and a mode is "captured" if at least one high-quality sample has it
as nearest centre (`evaluation.toy.mode_coverage`, `data.toy.mode_centers`,
`data.toy.mode_std`). Claim: the original GAN collapses onto few modes or
drops modes, most visibly on the 25-mode grid (VEEGAN's table: GAN 1 of 8
and 3.3 of 25 modes; PacGAN's: 6.3 of 8 and 17.3 of 25), while the
Wasserstein critics, WGAN-GP in particular, spread the generator over the
modes.

Setting: the three toy presets of `train_loops` (the same recipes as
`python -m train_loops.gan | wgan | wgan_gp`, read from their PRESETS["toy"]):
  - GAN: non-saturating generator loss, k = 1, Adam(1e-4, 0.5, 0.9);
  - WGAN: weight clipping c = 0.01, 5 critic updates, RMSProp(5e-5);
  - WGAN-GP: lambda = 0.1 (the authors' toy code), 5 critic updates,
    Adam(1e-4, 0.5, 0.9);
all with the toy MLPs (3 hidden ReLU layers) for generator and critic, z 2-d
N(0, I), batch 256, 3,000 generator iterations (the runner's default), on
8gaussians and 25gaussians, seeds run.seed, run.seed + 1 and run.seed + 2.
Every 50 generator iterations 2,500 samples (their own noise stream, so
evaluating does not change training) are scored; the curves are the mean
over seeds with the min-max band; the scatter grid shows run.seed's samples
at a few iterations.

Smaller than the authors' toy setting (512 hidden units, 100,000
iterations): hidden_units = 128, the toy presets' default, and 3,000
iterations, so that the 18 runs take about 10 minutes on 2 CPU cores
(measured: 9.5 minutes on a nearly idle machine). XLA is off
(jit_compile=False): compiling each of the 18 steps costs more than it saves
in 3,000 iterations. `--set hidden_units=512 --set iterations=100000` is the
authors' scale (days on this machine).

Reading the result: the metric rewards a sharp generator on few modes (high
HQ %, few modes) differently from a spread-out one (many modes, low HQ %);
read the modes and the HQ % curves together, with the scatter plots.
"""

import numpy as np

from figures import common

FULL = dict(
    algorithms=("gan", "wgan", "wgan_gp"),
    datasets=("8gaussians", "25gaussians"),
    seeds=3,
    iterations=3000,
    eval_every=50,
    eval_samples=2500,
    snapshots=(100, 500, 1000, 3000),  # generator iterations shown in the scatter grid
    hidden_units=128,
    batch_size=256,
    latent_dim=2,
    penalty_weight=0.1,  # the wgan_gp toy preset (the authors' gan_toy.py)
    clip_value=0.01,  # the wgan toy preset
    plot_samples=1000,
    # No XLA (the runner's toy default is XLA): the toy step runs at the same
    # speed either way (see the runner's --jit_compile help), and on the
    # loaded machine each run spent about 140 s before its first evaluation.
    jit_compile=False,
    run_eagerly=False,  # True: no tracing, for the few steps of --quick
)
QUICK = dict(FULL, seeds=1, iterations=1, eval_every=1, eval_samples=500, snapshots=(1,),
             hidden_units=8, batch_size=32, run_eagerly=True)

TITLES = {"gan": "GAN", "wgan": "WGAN (clipping)", "wgan_gp": "WGAN-GP"}
COLORS = {"gan": "tab:red", "wgan": "tab:blue", "wgan_gp": "tab:green"}


def toy_recipe(algorithm):
    """The toy preset of `python -m train_loops.<algorithm>`: optimizer and critic updates."""
    import importlib

    from train_loops import runner

    preset = importlib.import_module(f"train_loops.{algorithm}").PRESETS["toy"]
    recipe = {name: runner.FLAGS[name].default
              for name in ("optimizer", "learning_rate", "beta_1", "beta_2", "n_critic")}
    recipe.update(preset)
    return recipe


def make_optimizer(recipe):
    import keras

    if recipe["optimizer"] == "rmsprop":
        return keras.optimizers.RMSprop(recipe["learning_rate"])
    return keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"],
                                 beta_2=recipe["beta_2"])


def build_model(run, algorithm, seed):
    """The model `train_loops.<algorithm>` builds for its toy preset, compiled."""
    import keras

    from models import GAN, WGAN, WGANGP
    from models.networks import toy_critic, toy_generator

    recipe = toy_recipe(algorithm)
    keras.utils.set_random_seed(seed)
    size = dict(hidden_units=run.hidden_units)
    generator = toy_generator(latent_dim=run.latent_dim, **size)
    critic = toy_critic(**size)
    common_args = dict(latent_distribution="normal", seed=seed)
    if algorithm == "gan":
        model = GAN(generator, critic, generator_loss="non_saturating",
                    discriminator_steps=recipe["n_critic"], **common_args)
    elif algorithm == "wgan":
        model = WGAN(generator, critic, clip_value=run.clip_value,
                     n_critic=recipe["n_critic"], **common_args)
    else:
        model = WGANGP(generator, critic, penalty_weight=run.penalty_weight,
                       n_critic=recipe["n_critic"], **common_args)
    # steps_per_execution: the eval_every generator iterations between two
    # evaluations run as one compiled loop.
    compiled = dict(run_eagerly=True) if run.run_eagerly else dict(
        jit_compile=run.jit_compile, steps_per_execution=run.eval_every)
    model.compile(make_optimizer(recipe), make_optimizer(recipe), **compiled)
    return model


def train_one(run, algorithm, dataset, seed):
    """One training run: mode coverage every eval_every iterations, samples at the snapshots."""
    import keras

    from data.toy import mode_centers, mode_std, toy_batches
    from evaluation.toy import mode_coverage
    from models import random

    model = build_model(run, algorithm, seed)
    centers, std = mode_centers(dataset), mode_std(dataset)
    # Evaluation noise has its own seed: evaluating does not move the training draws.
    eval_seeds = keras.random.SeedGenerator(seed + 1000)
    iterations, modes, quality, snapshots = [], [], [], []
    progress = run.progress(run.iterations // run.eval_every,
                            f"{algorithm} on {dataset}, seed {seed}")

    def evaluate(iteration):
        latent = random.latent((run.eval_samples, run.latent_dim), "normal", eval_seeds)
        samples = model.generator(latent, training=False).numpy()
        coverage = mode_coverage(samples, centers, std)
        iterations.append(iteration)
        modes.append(coverage.modes_captured)
        quality.append(100.0 * coverage.high_quality_fraction)
        if iteration in run.snapshots:
            snapshots.append(samples[:run.plot_samples])

    class Evaluate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            evaluate((epoch + 1) * run.eval_every)
            progress.update()

    evaluate(0)
    data = model.critic_batches(toy_batches(dataset, run.batch_size, seed))
    model.fit(data, epochs=run.iterations // run.eval_every, steps_per_epoch=run.eval_every,
              verbose=0, callbacks=[Evaluate()])
    return dict(iterations=np.array(iterations), modes=np.array(modes),
                quality=np.array(quality), snapshots=np.array(snapshots, np.float32))


def compute(run):
    if run.iterations % run.eval_every:
        raise common.UsageError("iterations must be a multiple of eval_every")
    missing = [s for s in run.snapshots if s % run.eval_every or s > run.iterations]
    if missing:
        raise common.UsageError(f"snapshots {missing} are not evaluation iterations")
    data = {}
    for dataset in run.datasets:
        data[f"centers_{dataset}"] = _centers(dataset)
        for algorithm in run.algorithms:
            runs = [run.cached(f"{algorithm}-{dataset}-seed{seed}",
                               lambda: train_one(run, algorithm, dataset, seed))
                    for seed in range(run.seed, run.seed + run.seeds)]
            key = f"{algorithm}_{dataset}"
            data["iterations"] = runs[0]["iterations"]
            data[f"modes_{key}"] = np.stack([r["modes"] for r in runs])  # [seed, eval]
            data[f"quality_{key}"] = np.stack([r["quality"] for r in runs])
            data[f"snapshots_{key}"] = runs[0]["snapshots"]  # [snapshot, sample, 2]
    return data


def _centers(dataset):
    from data.toy import mode_centers

    return mode_centers(dataset)


def final_numbers(data, run):
    """{(algorithm, dataset): (mean modes, std modes, mean HQ %, std HQ %)} at the last evaluation."""
    numbers = {}
    for dataset in run.datasets:
        for algorithm in run.algorithms:
            modes = data[f"modes_{algorithm}_{dataset}"][:, -1]
            quality = data[f"quality_{algorithm}_{dataset}"][:, -1]
            numbers[algorithm, dataset] = (modes.mean(), modes.std(), quality.mean(),
                                           quality.std())
    return numbers


def plot(data, run):
    import matplotlib.pyplot as plt

    extent = 2.0
    columns = len(run.snapshots)
    rows = len(run.datasets) * len(run.algorithms)
    fig = plt.figure(figsize=(2.5 * max(columns, 4), 2.5 * rows + 6.0))
    grid = fig.add_gridspec(rows + 2, max(columns, 4),
                            height_ratios=[1.0] * rows + [1.25, 1.25])
    for d, dataset in enumerate(run.datasets):
        centers = data[f"centers_{dataset}"]
        for a, algorithm in enumerate(run.algorithms):
            row = d * len(run.algorithms) + a
            key = f"{algorithm}_{dataset}"
            for c, iteration in enumerate(run.snapshots):
                ax = fig.add_subplot(grid[row, c])
                samples = data[f"snapshots_{key}"][c]
                ax.scatter(samples[:, 0], samples[:, 1], s=1.5, c=COLORS[algorithm],
                           alpha=0.5, rasterized=True)
                ax.scatter(centers[:, 0], centers[:, 1], s=12, c="black", marker="x",
                           linewidths=0.8)
                index = list(data["iterations"]).index(iteration)
                ax.set_title(f"{TITLES[algorithm]}, {dataset}, it. {iteration}\n"
                             f"{data[f'modes_{key}'][0, index]}/{len(centers)} modes, "
                             f"{data[f'quality_{key}'][0, index]:.0f}% HQ", fontsize=8)
                ax.set_xlim(-extent, extent)
                ax.set_ylim(-extent, extent)
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
    iterations = data["iterations"]
    half = max(columns, 4) // 2
    for d, dataset in enumerate(run.datasets):
        for m, (metric, label) in enumerate([("modes", "modes captured"),
                                             ("quality", "high-quality samples (%)")]):
            ax = fig.add_subplot(grid[rows + m, d * half:(d + 1) * half])
            for algorithm in run.algorithms:
                values = data[f"{metric}_{algorithm}_{dataset}"]
                ax.plot(iterations, values.mean(0), color=COLORS[algorithm],
                        label=TITLES[algorithm])
                ax.fill_between(iterations, values.min(0), values.max(0),
                                color=COLORS[algorithm], alpha=0.2, linewidth=0)
            if metric == "modes":
                ax.axhline(len(data[f"centers_{dataset}"]), color="black", lw=0.8, ls="--")
                ax.set_ylim(0, len(data[f"centers_{dataset}"]) + 1)
            else:  # the scale of the data: early in training the share is small
                top = max(float(np.max([data[f"quality_{a}_{dataset}"]
                                        for a in run.algorithms])), 1.0)
                ax.set_ylim(0, min(100.0, 1.15 * top))
            ax.set_xlabel("generator iteration")
            ax.set_ylabel(label)
            ax.set_title(f"{dataset}: {label}, {run.eval_samples} samples\n"
                         f"mean of {run.seeds} seeds, band: min to max", fontsize=9)
            ax.grid(alpha=0.3)
            if m == 0:
                ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Mode collapse and mode dropping on 2-D mixtures: GAN vs WGAN vs WGAN-GP "
                 f"(toy presets, {run.hidden_units}-unit MLPs)\n"
                 f"samples of seed {run.seed} (x: mode centres), modes captured and "
                 "high-quality % (VEEGAN/PacGAN metric)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def claims(data, run):
    numbers = final_numbers(data, run)
    result = {}
    for dataset in run.datasets:
        k = len(data[f"centers_{dataset}"])
        gan = numbers["gan", dataset][0]
        result[f"gan_misses_modes_{dataset}"] = gan < k
        for algorithm in ("wgan", "wgan_gp"):
            if algorithm in run.algorithms:
                result[f"{algorithm}_captures_at_least_gan_modes_{dataset}"] = (
                    numbers[algorithm, dataset][0] >= gan)
        if "wgan_gp" in run.algorithms:
            result[f"wgan_gp_captures_all_modes_{dataset}"] = numbers["wgan_gp", dataset][0] == k
    return result


if __name__ == "__main__":
    common.main(__name__)
