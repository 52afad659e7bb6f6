"""Figure 0: The GAN game in one dimension

Paper: Goodfellow et al. 2014, "Generative Adversarial Nets", Figure 1 (a
sketch of the two-player game: the data density, the generator's density and
the discriminator D, which the game drives to p_g = p_data and D = 1/2, the
Nash equilibrium of Section 4, Theorem 1). Here the sketch is a real run: a
GAN trained on 1-D data, drawn at four stages of training, with the distance
between p_g and p_data and the distance of D from 1/2 over the whole run.

Claims checked on the final stage: D(x) is within [0.4, 0.6] over the bulk of
the data (mean +- 2 std), and p_g is close to p_data: the 1-D Wasserstein-1
distance between 10,000 generated and 10,000 real points is below 10% of its
initial value and below 0.1 data standard deviations.

Setting. Data N(2, 0.5^2) (the paper's sketch is a single bump and gives no
numbers); z ~ U[-1, 1], 1-d, "sampled uniformly" as in the paper's sketch.
`models.GAN` (Algorithm 1 with k = 1 discriminator step per generator step,
the paper's choice in its experiments; `--set discriminator_steps=k` for more;
the non-saturating generator loss of Section 3), both networks the
project's toy MLP (3 hidden ReLU layers of 128, linear output;
`models.networks.toy_mlp`), Adam(1e-4, beta 0.5, 0.9) (the project's toy GAN
optimizer: the paper's own experiments used SGD with momentum on other data
and give no 1-D recipe), batch 256, 10,000 generator iterations. The four
panels are iterations 0, 250, 1000 and 10,000; the curves below are
evaluated every 100 iterations on a fixed set of 10,000 latent codes and
10,000 data points. The densities are histograms (60 bins) over the range
the data and the four snapshots' samples occupy; D is recorded on 2000
points of a wider range and drawn over that one. Note: with 1-d inputs and
zero initial biases (the toy MLP's initialisation), every first-layer ReLU of
both networks starts with its kink at x = 0 (z = 0), so early on D is close to
linear on each side of 0 and can bend near the data only as its biases move.

The authors' own settings (github goodfeli/adversarial, its five configs):
plain SGD with momentum 0.5 (rising to 0.7 over 250 epochs), batch 100,
learning rate 0.1 (MNIST), 0.05 (TFD), 0.025 (CIFAR-10 fully connected) or
0.004 (CIFAR-10 convolutional), the non-saturating loss, one discriminator
and one generator update per batch; no 1-D experiment. `--set optimizer=sgd
--set learning_rate=... --set batch_size=100` runs them (constant momentum
0.5: 10,000 iterations are 1/25 of the ramp to 0.7). With these networks 0.1
and 0.05 diverge to NaN within 100 iterations; docs/figures.md gives the rest.

This is the paper's game at the scale of its sketch; nothing is reduced.
`--set iterations=...` (with `--set snapshots=...`) trains longer.
"""

import numpy as np

from figures import common

FULL = dict(
    data_mean=2.0, data_std=0.5,
    hidden_units=128, hidden_layers=3,
    batch_size=256, iterations=10000, snapshots=(0, 250, 1000, 10000), eval_every=100,
    optimizer="adam", learning_rate=1e-4, beta_1=0.5, beta_2=0.9, momentum=0.5,
    generator_loss="non_saturating", discriminator_steps=1,
    eval_samples=10000, grid_points=2000, bins=60,
    jit_compile=True,
)
QUICK = dict(FULL, hidden_units=16, hidden_layers=2, iterations=40, snapshots=(0, 10, 20, 40),
             eval_every=10, eval_samples=1000, grid_points=100, bins=20, jit_compile=False)


def wasserstein1_1d(a, b):
    """Exact W1 between two equal-size 1-D samples: the mean gap of their sorted values."""
    return float(np.mean(np.abs(np.sort(np.ravel(a)) - np.sort(np.ravel(b)))))


def optimizer(run):
    """One network's optimizer: SGD with momentum (the authors' code) or Adam."""
    import keras

    if run.optimizer == "sgd":
        return keras.optimizers.SGD(run.learning_rate, momentum=run.momentum)
    if run.optimizer == "adam":
        return keras.optimizers.Adam(run.learning_rate, beta_1=run.beta_1, beta_2=run.beta_2)
    raise common.UsageError(f"optimizer must be sgd or adam, got {run.optimizer!r}")


def train_and_record(run):
    import keras
    import tensorflow as tf
    from scipy.special import expit

    from models import GAN, random
    from models.networks import toy_mlp

    keras.utils.set_random_seed(run.seed)
    generator = toy_mlp(1, 1, run.hidden_units, run.hidden_layers, name="generator")
    discriminator = toy_mlp(1, 1, run.hidden_units, run.hidden_layers, name="discriminator")
    model = GAN(generator, discriminator, generator_loss=run.generator_loss,
                discriminator_steps=run.discriminator_steps,
                latent_distribution="uniform", seed=run.seed)
    model.compile(optimizer(run), optimizer(run))
    data_seeds = keras.random.SeedGenerator(run.seed + 1)

    @tf.function(jit_compile=run.jit_compile)
    def train(steps):
        for _ in tf.range(steps):
            real = run.data_mean + run.data_std * random.normal(
                [run.discriminator_steps, run.batch_size, 1], data_seeds)
            model.train_step(real)

    rng = np.random.default_rng(run.seed)
    latent = rng.uniform(-1.0, 1.0, (run.eval_samples, 1)).astype(np.float32)
    real = (run.data_mean + run.data_std * rng.standard_normal(run.eval_samples))
    bulk = np.abs(real - run.data_mean) <= 2 * run.data_std
    # D is recorded on a wide grid (the data's +- 10 std and the initial samples);
    # the plot shows the part the data and the snapshots' samples occupy.
    initial = generator(latent, training=False).numpy().ravel()
    wide = np.linspace(min(run.data_mean - 10 * run.data_std, np.percentile(initial, 0.5)) - 1,
                       max(run.data_mean + 10 * run.data_std, np.percentile(initial, 99.5)) + 1,
                       run.grid_points)
    stops = sorted(set(range(0, run.iterations + 1, run.eval_every)) | set(run.snapshots))
    progress = run.progress(run.iterations, "GAN iterations")
    history = {k: [] for k in ("iteration", "w1", "d_deviation", "d_on_real", "d_on_fake")}
    samples, on_grid = [], []
    done = 0
    for stop in stops:
        if stop > done:
            train(tf.constant(stop - done))
            progress.update(stop - done)
            done = stop
        fake = generator(latent, training=False).numpy().ravel()
        d_real = expit(discriminator(real[:, None].astype(np.float32)).numpy().ravel())
        d_fake = expit(discriminator(fake[:, None]).numpy().ravel())
        history["iteration"].append(stop)
        history["w1"].append(wasserstein1_1d(fake, real))
        history["d_deviation"].append(float(np.max(np.abs(d_real[bulk] - 0.5))))
        history["d_on_real"].append(float(np.mean(d_real)))
        history["d_on_fake"].append(float(np.mean(d_fake)))
        if stop in run.snapshots:
            samples.append(fake)
            on_grid.append(expit(discriminator(wide[:, None].astype(np.float32)).numpy().ravel()))
    everything = np.concatenate(samples)
    lo = max(wide[0], min(run.data_mean - 4 * run.data_std, np.percentile(everything, 0.5)) - 0.25)
    hi = min(wide[-1], max(run.data_mean + 4 * run.data_std, np.percentile(everything, 99.5)) + 0.25)
    shown = (wide >= lo) & (wide <= hi)
    grid, on_grid = wide[shown], [d[shown] for d in on_grid]
    edges = np.linspace(grid[0], grid[-1], run.bins + 1)
    density = (np.exp(-0.5 * ((grid - run.data_mean) / run.data_std) ** 2)
               / (run.data_std * np.sqrt(2 * np.pi)))
    out = {"x": grid, "data_density": density, "bin_edges": edges,
           "generator_density": np.stack([np.histogram(s, edges, density=False)[0]
                                          / (len(s) * np.diff(edges)) for s in samples]),
           "generator_samples": np.stack(samples), "discriminator": np.stack(on_grid),
           "snapshot_iterations": np.array(run.snapshots)}
    out.update({f"history_{k}": np.array(v) for k, v in history.items()})
    return out


def compute(run):
    """The whole run is one resumable part (about a minute)."""
    if list(run.snapshots) != sorted(run.snapshots) or run.snapshots[-1] != run.iterations:
        raise common.UsageError("snapshots must be increasing and end at iterations")
    return run.cached("training", lambda: train_and_record(run))


def plot(data, run):
    import matplotlib.pyplot as plt

    stages = len(data["snapshot_iterations"])
    figure = plt.figure(figsize=(4 * stages, 7.5))
    grid_spec = figure.add_gridspec(2, stages, height_ratios=(3, 2))
    x, edges = data["x"], data["bin_edges"]
    peak = max(1.0, data["data_density"].max())
    top = min(2.5 * peak, 1.15 * max(peak, data["generator_density"].max()))
    for i, iteration in enumerate(data["snapshot_iterations"]):
        ax = figure.add_subplot(grid_spec[0, i])
        ax.plot(x, data["data_density"], "k:", lw=2, label="data density p$_{data}$")
        ax.stairs(data["generator_density"][i], edges, color="tab:green", lw=1.5,
                  label="generator density p$_g$ (histogram)")
        ax.plot(x, data["discriminator"][i], "--", color="tab:blue", lw=2,
                label="discriminator D(x)")
        ax.axhline(0.5, color="gray", lw=0.5)
        ax.set_ylim(0, top)
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel("x")
        ax.set_title(f"({'abcdefgh'[i]}) iteration {iteration}")
        if i == 0:
            ax.set_ylabel("density, D(x)")
            ax.legend(loc="upper left", fontsize=8)
    ax = figure.add_subplot(grid_spec[1, :])
    iterations = np.maximum(data["history_iteration"], 1)
    ax.plot(iterations, data["history_w1"] / run.data_std, color="tab:green",
            label="W$_1$(p$_g$, p$_{data}$) / data std")
    ax.plot(iterations, data["history_d_deviation"], color="tab:blue",
            label="max |D(x) - 1/2| over the data bulk (mean $\\pm$ 2 std)")
    ax.axhline(0.1, color="gray", lw=0.5, ls="--", label="0.1 (the claims' tolerances)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generator iteration (log scale; 0 drawn at 1)")
    ax.set_ylabel("distance (log scale)")
    ax.legend(fontsize=9)
    ax.set_title("Towards the equilibrium p$_g$ = p$_{data}$, D = 1/2")
    figure.suptitle("The GAN game in one dimension: data N"
                    f"({run.data_mean:g}, {run.data_std:g}$^2$), z ~ U[-1, 1]")
    figure.tight_layout()
    return figure


def claims(data, run):
    w1 = data["history_w1"]
    bulk = np.abs(data["x"] - run.data_mean) <= 2 * run.data_std
    final_d = data["discriminator"][-1][bulk]
    return {
        "final_d_within_0.4_0.6_over_data_bulk": bool(np.all(np.abs(final_d - 0.5) <= 0.1)),
        "final_w1_below_10pct_of_initial": w1[-1] < 0.1 * w1[0],
        "final_w1_below_0.1_data_std": w1[-1] < 0.1 * run.data_std,
    }


if __name__ == "__main__":
    common.main(__name__)
