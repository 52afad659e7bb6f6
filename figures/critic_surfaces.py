"""Figure 4: Critic value surfaces, weight clipping vs gradient penalty

Paper: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
Figure 1a. Claim: WGAN critics trained to optimality with weight clipping
(top row) learn very simple functions that fail to capture the data's shape
("capacity underuse"), while critics trained with the gradient penalty
(bottom row) model the distribution, and their gradient norm is about 1
where the penalty is applied (Section 3 / Proposition 1: the optimal critic
has gradient norm 1 on the lines between coupled points).

Setting, as in the authors' gan_toy.py with FIXED_GENERATOR: the "generator"
is held fixed at the real data plus N(0, 1) noise (each critic step takes a
fresh real batch x and uses x + N(0, I) as the generated batch), and only
the critic is trained. Critics are the authors' toy MLPs, 3 hidden ReLU
layers (`models.networks.toy_critic`), here of 128 units (see below), batch 256.
  - weight clipping: RMSProp(5e-5) (TensorFlow 1's, as gan_toy.py runs it:
    `models.wgan.rmsprop`), every critic weight (and bias) clipped to
    [-0.01, 0.01] after each update (WGAN Algorithm 1);
  - gradient penalty: Adam(1e-4, beta_1 0.5, beta_2 0.9), penalty
    lambda * E[(||grad D(x_hat)||_2 - 1)^2] on x_hat = eps x + (1 - eps) x~,
    with lambda = 10, the paper's value: its Section 4 says "All experiments
    in this paper use lambda = 10, which we found to work well across a
    variety of architectures and datasets ranging from toy tasks to large
    ImageNet CNNs". The authors' toy script uses 0.1 instead ("smaller
    lambda is faster on toy tasks"); `--set penalty_weight=0.1` runs that.
    With 0.1 the penalty is too weak to hold the norm near 1 against this
    fixed generator: measured once on 8gaussians (1,000 updates), the mean
    norm on the interpolates was 3.4 and the W estimate 1.7, twice the exact
    W1 of the samples (0.83).
Contours of each critic on the 128 x 128 grid over [-3, 3]^2
(`evaluation.plots.critic_surface`, rows = vertical axis), real samples on top.

Measured (on 4096 fresh real points x, fake points x~ = x + N(0, I) and
their interpolates x_hat): the negative critic loss E f(x) - E f(x~), i.e.
the critic's estimate of W1 (exact only for a 1-Lipschitz optimal critic),
and the gradient norms ||grad f(x_hat)|| on the interpolates; beside them the
exact W1 between 1000 of the real and fake points (optimal transport,
`evaluation.wasserstein`, biased upwards by the finite sample).

Reduced from the authors' setting: 3 x 128-unit critics instead of 3 x 512
(the width of the toy presets of train_loops; see the README) and 1,000
critic updates each instead of the authors' up to 100,000 x 5. On 2 CPU
cores shared with about ten other training jobs one 512-unit update took
0.5 s (clipping) to 1.2 s (gradient penalty, double backpropagation), so six
such critics would have taken most of an hour; the figure has a budget of
about 8 minutes. The W estimate and gradient norm are logged every 100
updates (`history_*`, `steps_*` in the NPZ) to show how near convergence
each critic is. `--set hidden_units=512 --set critic_steps=500000` is the
authors' setting.
"""

import numpy as np

from figures import common

FULL = dict(
    datasets=("8gaussians", "25gaussians", "swissroll"),
    critic_steps=1000,
    chunk=100,  # critic updates per compiled call; the W estimate is logged after each
    hidden_units=128,
    hidden_layers=3,
    batch_size=256,
    noise_std=1.0,  # the fixed generator: real data + N(0, noise_std^2)
    clip_value=0.01,
    clip_learning_rate=5e-5,
    penalty_weight=10.0,
    gp_learning_rate=1e-4,
    beta_1=0.5,
    beta_2=0.9,
    eval_samples=4096,
    plot_samples=1000,
    extent=3.0,
    resolution=128,
    graph=True,  # each chunk of updates is one tf.function (False: eager, for --quick)
    jit_compile=True,  # XLA for that tf.function
)
QUICK = dict(FULL, datasets=("25gaussians",), critic_steps=2, chunk=2,
             hidden_units=16, eval_samples=256, plot_samples=200, graph=False)

W1_SAMPLES = 1000  # exact optimal transport between this many real and fake points

METHODS = ("clipping", "gradient_penalty")
METHOD_TITLES = {"clipping": "clipping, c = {clip_value}",
                 "gradient_penalty": "gradient penalty, lambda = {penalty_weight:g}",
                 "spectral": "spectral normalization"}


def critic_values(critic, extent, resolution):
    """The critic on the plotting grid: `evaluation.plots.critic_surface` (rows = y)."""
    from evaluation.plots import critic_surface

    return critic_surface(critic, extent, resolution)


def gradient_norms(critic, points):
    """||grad_x f(x)||_2 per point (the same quantity the penalty constrains)."""
    import tensorflow as tf

    from models import losses

    _, norms = losses.gradient_penalty(critic, tf.convert_to_tensor(points, tf.float32))
    return norms.numpy()


def layer_spectral_norms(critic):
    """The largest singular value of each Dense layer's kernel as the layer computes with it.

    For a spectrally normalised layer that is W / sigma_estimate, not W.
    """
    import keras

    return np.array([np.linalg.svd(np.asarray(layer.kernel, np.float64), compute_uv=False)[0]
                     for layer in critic.layers if isinstance(layer, keras.layers.Dense)])


def critic_measures(critic, real, fake, eps):
    """W estimate E f(x) - E f(x~), and the gradient norms on the interpolates."""
    from models import losses

    w = -float(losses.wasserstein_critic_loss(critic(real, training=False),
                                              critic(fake, training=False)))
    x_hat = losses.interpolate(real, fake, eps)
    return w, gradient_norms(critic, x_hat)


def train_critic(run, dataset, method):
    """Train one critic against the fixed generator; returns the arrays of one panel.

    `method`: "clipping", "gradient_penalty" or "spectral" (spectral
    normalization of every layer, Miyato et al. 2018: one power iteration
    per update, the penalty's optimizer, no penalty). Besides the panel, the
    arrays hold each layer's spectral norm after every chunk of updates and
    the gradient norms at the real and fake points and over the whole grid.
    """
    import keras
    import tensorflow as tf

    from data.toy import toy_batches
    from evaluation.wasserstein import wasserstein1_estimate
    from models import losses, random
    from models.networks import toy_critic
    from models.spectral_normalization import spectral_layers
    from models.wgan import rmsprop

    keras.utils.set_random_seed(run.seed)
    critic = toy_critic(hidden_units=run.hidden_units, hidden_layers=run.hidden_layers,
                        spectral=method == "spectral")
    normalised = spectral_layers(critic)
    if method == "clipping":
        optimizer = rmsprop(run.clip_learning_rate, "tf1")  # gan_toy.py's TensorFlow 1 RMSProp
    else:
        optimizer = keras.optimizers.Adam(run.gp_learning_rate, beta_1=run.beta_1,
                                          beta_2=run.beta_2)
    optimizer.build(critic.trainable_variables)
    seeds = keras.random.SeedGenerator(run.seed)
    variables = critic.trainable_variables
    clip, lam, noise_std = run.clip_value, run.penalty_weight, run.noise_std

    def step(real):
        for layer in normalised:  # Algorithm 1 of Miyato et al.: once per update
            layer.power_iteration()
        fake = real + noise_std * random.normal(tf.shape(real), seeds)
        with tf.GradientTape() as tape:
            wasserstein = -losses.wasserstein_critic_loss(critic(real, training=True),
                                                          critic(fake, training=True))
            loss = -wasserstein
            if method == "gradient_penalty":
                eps = random.uniform(tf.stack([tf.shape(real)[0], 1]), seeds)
                penalty, _ = losses.gradient_penalty(critic, losses.interpolate(real, fake, eps))
                loss += lam * penalty
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        if method == "clipping":
            for v in variables:
                v.assign(tf.clip_by_value(v, -clip, clip))

    def train_chunk(batches):
        for i in tf.range(tf.shape(batches)[0]):
            step(batches[i])

    if run.graph:  # the whole chunk is one compiled loop
        train_chunk = tf.function(train_chunk, jit_compile=run.jit_compile)

    # Held-out evaluation points (another data seed): real, fixed-generator fakes, eps.
    eval_seeds = keras.random.SeedGenerator(run.seed + 1)
    real_eval = next(iter(toy_batches(dataset, run.eval_samples, run.seed + 1)))
    fake_eval = real_eval + noise_std * random.normal(tf.shape(real_eval), eval_seeds)
    eps_eval = random.uniform(tf.stack([run.eval_samples, 1]), eval_seeds)

    chunks = -(-run.critic_steps // run.chunk)
    data = iter(toy_batches(dataset, run.batch_size, run.seed).batch(run.chunk))
    steps, history_w, history_norm, history_layers = [], [], [], []
    progress = run.progress(chunks, f"{method} critic on {dataset}")
    done = 0
    for _ in range(chunks):
        batches = next(data)[:run.critic_steps - done]
        train_chunk(batches)
        done += int(batches.shape[0])
        w, norms = critic_measures(critic, real_eval, fake_eval, eps_eval)
        steps.append(done)
        history_w.append(w)
        history_norm.append(float(np.mean(norms)))
        history_layers.append(layer_spectral_norms(critic))
        progress.update()
    xs, values = critic_values(critic, run.extent, run.resolution)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2).astype(np.float32)
    n = min(run.eval_samples, W1_SAMPLES)
    exact = wasserstein1_estimate(real_eval.numpy()[:n], fake_eval.numpy()[:n])
    return dict(exact_w1=np.float64(exact), xs=xs, surface=values, steps=np.array(steps),
                history_wasserstein=np.array(history_w),
                history_grad_norm=np.array(history_norm),
                grad_norms=norms, wasserstein=np.float64(history_w[-1]),
                real=real_eval.numpy()[:run.plot_samples],
                history_layer_norms=np.array(history_layers),
                grad_norms_real=gradient_norms(critic, real_eval),
                grad_norms_fake=gradient_norms(critic, fake_eval),
                grad_norms_grid=gradient_norms(critic, grid))


def compute(run, methods=METHODS):
    """Every method's critic on every data set (figure 11 adds spectral normalization)."""
    data = {}
    for dataset in run.datasets:
        for method in methods:
            part = run.cached(f"{method}-{dataset}",
                              lambda: train_critic(run, dataset, method))
            data["xs"] = part["xs"]
            for name, value in part.items():
                if name != "xs":
                    data[f"{name}_{method}_{dataset}"] = value
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    datasets, xs = run.datasets, data["xs"]
    fig, axes = plt.subplots(len(METHODS), len(datasets),
                             figsize=(3.9 * len(datasets), 4.0 * len(METHODS)),
                             squeeze=False)
    for row, method in enumerate(METHODS):
        for col, dataset in enumerate(datasets):
            ax = axes[row, col]
            key = f"{method}_{dataset}"
            values = data[f"surface_{key}"]
            contours = ax.contour(xs, xs, values, levels=15, cmap="viridis", linewidths=1)
            real = data[f"real_{key}"]
            ax.scatter(real[:, 0], real[:, 1], s=5, c="tab:orange", marker="+", linewidths=0.7,
                       label="real data", zorder=3)
            fig.colorbar(contours, ax=ax, shrink=0.8, format="%.2g")
            ax.set_xlim(-run.extent, run.extent)
            ax.set_ylim(-run.extent, run.extent)
            ax.set_aspect("equal")
            ax.set_title(f"{dataset}, {METHOD_TITLES[method].format(**run.settings)}\n"
                         f"W estimate {float(data[f'wasserstein_{key}']):.3g}, "
                         f"mean grad norm {np.mean(data[f'grad_norms_{key}']):.3g}\n"
                         f"(exact W1 of the samples {float(data[f'exact_w1_{key}']):.3g})",
                         fontsize=9)
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
            if row == 0 and col == 0:
                ax.legend(loc="upper right", fontsize=8, markerscale=2)
    fig.suptitle("Critic value contours (WGAN-GP Fig. 1a): weight clipping (top) vs gradient "
                 "penalty (bottom)\n"
                 f"{run.hidden_layers} x {run.hidden_units}-unit ReLU critics, "
                 f"{run.critic_steps} updates each against a fixed generator "
                 "(real data + N(0, I))", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def claims(data, run):
    result = {}
    clipped, penalised = [], []
    for dataset in run.datasets:
        clipped.append(float(np.mean(data[f"grad_norms_clipping_{dataset}"])))
        penalised.append(float(np.mean(data[f"grad_norms_gradient_penalty_{dataset}"])))
        result[f"gp_grad_norm_near_1_{dataset}"] = 0.5 <= penalised[-1] <= 1.5
        result[f"clipped_grad_norm_far_below_1_{dataset}"] = clipped[-1] < 0.1
        result[f"clipped_grad_norm_below_gp_{dataset}"] = clipped[-1] < penalised[-1]
    return result


if __name__ == "__main__":
    common.main(__name__)
