"""Figure 2: Optimal discriminator vs critic on two 1-D Gaussians far apart

Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Figure 2
("Optimal discriminator and critic when learning to differentiate two
Gaussians"). Claim: a GAN discriminator trained to optimality saturates, so
its gradient vanishes where the fake samples are; the WGAN critic (weight
clipping) is near linear between the two modes and gives clean gradients
everywhere, in particular at the fake samples.

Setting. Real data N(-2, 0.5^2), fake data N(+2, 0.5^2): the means are 8
standard deviations apart, so the two densities barely overlap (the paper
draws two such Gaussians and gives no numbers). The "generator" is held fixed
(a frozen affine map of z ~ N(0, 1)); only the discriminator / critic is
trained, against it, to (near) optimality:

- GAN discriminator: `models.GAN.critic_step` (sigmoid cross-entropy on
  logits, Goodfellow et al. 2014, Eq. 1), Adam(1e-4, beta 0.5, 0.9), the
  project's toy GAN optimizer (no paper gives a 1-D recipe), 5000 steps.
- WGAN critic: `models.WGAN.critic_step` (critic loss mean f(fake) -
  mean f(real), every weight clipped to [-0.01, 0.01] after each update),
  RMSProp(5e-5), c = 0.01 as in WGAN Algorithm 1, 5000 steps.
- Both are the project's toy MLP (3 hidden ReLU layers of 128, linear
  output; `models.networks.toy_mlp`) on 1-D inputs; batch 64 (WGAN
  Algorithm 1's m) of fresh real and fake samples per step.

What is measured: D(x) = sigmoid(logit(x)) and the critic f(x) on a grid;
their x-derivatives by automatic differentiation; the mean |dD/dx| over
10,000 fake samples relative to |dD/dx| at the midpoint between the means
(the optimal discriminator's decision boundary); the same ratio for the
critic; and R^2 of a least-squares line fitted to f over [-2, 2] (between
the means). The critic's values are on their own (right) axis: with
clipped weights their scale is arbitrary (only the shape matters).

This is the paper's setting, except that the paper gives neither the
Gaussians' parameters nor the training lengths. `--set steps=...`,
`--set real_mean=... --set fake_mean=... --set std=...` change them.
"""

import numpy as np

from figures import common

FULL = dict(
    real_mean=-2.0, fake_mean=2.0, std=0.5,
    hidden_units=128, hidden_layers=3,
    batch_size=64, steps=5000,
    gan_learning_rate=1e-4, gan_beta_1=0.5, gan_beta_2=0.9,
    wgan_learning_rate=5e-5, clip_value=0.01,
    grid_points=801, eval_samples=10000,
    jit_compile=True,
)
QUICK = dict(FULL, hidden_units=32, steps=100, grid_points=201, eval_samples=1000,
             jit_compile=False)


def fixed_gaussian_generator(mean, std):
    """A frozen affine map z -> mean + std * z: with z ~ N(0, 1), samples of N(mean, std^2)."""
    import keras

    generator = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name="generator")
    generator.set_weights([np.array([[std]], np.float32), np.array([mean], np.float32)])
    generator.trainable = False
    return generator


def train_critic_steps(model, sample_real, batch_size, jit_compile):
    """A compiled loop of `steps` critic updates (model.critic_step) on fresh real batches."""
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def train(steps):
        for _ in tf.range(steps):
            model.critic_step(sample_real(batch_size))

    return train


def gradients(network, x):
    """network(x) and d network(x) / dx for a column of 1-D points."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x.reshape(-1, 1), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = network(x, training=False)
    return y.numpy().ravel(), tape.gradient(y, x).numpy().ravel()


def r_squared(x, y):
    """R^2 of the least-squares line through (x, y)."""
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    return 1.0 - np.sum(residual ** 2) / np.sum((y - np.mean(y)) ** 2)


def compute(run):
    import keras
    import tensorflow as tf
    from scipy.special import expit

    from models import GAN, WGAN, random
    from models.networks import toy_mlp
    from models.wgan import rmsprop

    grid = np.linspace(min(run.real_mean, run.fake_mean) - 6 * run.std,
                       max(run.real_mean, run.fake_mean) + 6 * run.std, run.grid_points)
    midpoint = np.array([0.5 * (run.real_mean + run.fake_mean)])
    progress = run.progress(2, "discriminator and critic")

    def train(kind):
        keras.utils.set_random_seed(run.seed)
        network = toy_mlp(1, 1, run.hidden_units, run.hidden_layers, name=kind)
        generator = fixed_gaussian_generator(run.fake_mean, run.std)
        if kind == "discriminator":
            model = GAN(generator, network, seed=run.seed)
            optimizer = keras.optimizers.Adam(run.gan_learning_rate, beta_1=run.gan_beta_1,
                                              beta_2=run.gan_beta_2)
        else:
            model = WGAN(generator, network, clip_value=run.clip_value, seed=run.seed)
            optimizer = rmsprop(run.wgan_learning_rate)
        model.compile(keras.optimizers.SGD(0.0), optimizer)  # the generator never moves
        real_seeds = keras.random.SeedGenerator(run.seed + 1)

        def sample_real(n):
            return run.real_mean + run.std * random.normal([n, 1], real_seeds)

        train_critic_steps(model, sample_real, run.batch_size, run.jit_compile)(
            tf.constant(run.steps))
        values, slopes = gradients(network, grid)
        _, slope_mid = gradients(network, midpoint)
        fake = run.fake_mean + run.std * np.random.default_rng(run.seed).standard_normal(
            run.eval_samples).astype(np.float32)
        _, slope_fake = gradients(network, fake)
        if kind == "discriminator":  # D = sigmoid(logit), dD/dx = D (1 - D) dlogit/dx
            values, slopes = expit(values), slopes * expit(values) * expit(-values)
            logit_mid, _ = gradients(network, midpoint)
            logit_fake, _ = gradients(network, fake)
            slope_mid = slope_mid * expit(logit_mid) * expit(-logit_mid)
            slope_fake = slope_fake * expit(logit_fake) * expit(-logit_fake)
        progress.update()
        return {"values": values, "slopes": slopes,
                "slope_at_midpoint": np.abs(slope_mid[0]),
                "mean_abs_slope_at_fake": np.mean(np.abs(slope_fake))}

    parts = {kind: run.cached(kind, lambda kind=kind: train(kind))
             for kind in ("discriminator", "critic")}
    z = lambda mean: np.exp(-0.5 * ((grid - mean) / run.std) ** 2) / (run.std * np.sqrt(2 * np.pi))
    data = {"x": grid, "real_density": z(run.real_mean), "fake_density": z(run.fake_mean)}
    for kind, part in parts.items():
        data.update({f"{kind}_{k}": v for k, v in part.items()})
    between = (grid >= min(run.real_mean, run.fake_mean)) & (grid <= max(run.real_mean,
                                                                           run.fake_mean))
    data["critic_r_squared"] = np.array(r_squared(grid[between], data["critic_values"][between]))
    for kind in ("discriminator", "critic"):
        data[f"{kind}_fake_to_midpoint_slope"] = np.array(
            data[f"{kind}_mean_abs_slope_at_fake"] / data[f"{kind}_slope_at_midpoint"])
    real = np.abs(grid - run.real_mean) <= run.std
    fake = np.abs(grid - run.fake_mean) <= run.std
    data["discriminator_on_real"] = np.array(np.mean(data["discriminator_values"][real]))
    data["discriminator_on_fake"] = np.array(np.mean(data["discriminator_values"][fake]))
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8), sharex=True,
                                         gridspec_kw=dict(height_ratios=(3, 2)))
    x = data["x"]
    top.plot(x, data["real_density"], color="tab:blue", label="density of real")
    top.plot(x, data["fake_density"], color="tab:green", label="density of fake")
    top.plot(x, data["discriminator_values"], color="tab:red", lw=2,
             label="GAN discriminator D(x)")
    top.set_ylabel("density, D(x)")
    top.set_ylim(-0.05, 1.35 * max(1.0, data["real_density"].max()))
    right = top.twinx()
    right.plot(x, data["critic_values"], color="tab:cyan", lw=2, label="WGAN critic f(x)")
    right.set_ylabel("WGAN critic f(x) (clipped weights: arbitrary scale)")
    handles = top.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    top.legend(handles=handles, loc="upper center", ncol=2, fontsize=9)
    top.set_title("Trained against a fixed fake distribution: the discriminator saturates,\n"
                  f"the clipped critic is near linear (R$^2$ = {float(data['critic_r_squared']):.3f}"
                  " between the means)")
    for kind, color, name in (("discriminator", "tab:red", "|dD/dx| (GAN discriminator)"),
                              ("critic", "tab:cyan", "|df/dx| (WGAN critic)")):
        relative = np.abs(data[f"{kind}_slopes"]) / data[f"{kind}_slope_at_midpoint"]
        ratio = float(data[f"{kind}_fake_to_midpoint_slope"])
        bottom.plot(x, np.maximum(relative, 1e-30), color=color,
                    label=f"{name}; at fake samples: {ratio:.1e} of midpoint")
    bottom.set_yscale("log")
    bottom.set_ylim(bottom=max(1e-30, bottom.get_ylim()[0]))
    bottom.axvspan(run.fake_mean - 2 * run.std, run.fake_mean + 2 * run.std, color="tab:green",
                   alpha=0.1, label="fake samples (mean $\\pm$ 2 std)")
    bottom.set_xlabel("x")
    bottom.set_ylabel("gradient magnitude / at midpoint")
    bottom.set_title("Gradient w.r.t. x, relative to its value at the midpoint (log scale;\n"
                     "values below 1e-30, where float32 underflows to 0, drawn at 1e-30)")
    bottom.legend(fontsize=9, loc="lower left")
    figure.tight_layout()
    return figure


def claims(data, run):
    return {
        "discriminator_saturates_d_above_0.99_on_real_below_0.01_on_fake":
            data["discriminator_on_real"] > 0.99 and data["discriminator_on_fake"] < 0.01,
        "discriminator_gradient_at_fake_below_1e-2_of_midpoint":
            data["discriminator_fake_to_midpoint_slope"] < 1e-2,
        "critic_linear_between_means_r2_above_0.95": data["critic_r_squared"] > 0.95,
        "critic_gradient_at_fake_at_least_0.5_of_midpoint":
            data["critic_fake_to_midpoint_slope"] >= 0.5,
    }


if __name__ == "__main__":
    common.main(__name__)
