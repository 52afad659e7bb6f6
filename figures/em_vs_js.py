"""Figure 1: EM vs JS on parallel lines

Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Figure 1 and
Example 1. P_0 is the law of (0, Z) and P_theta the law of (theta, Z), with
Z ~ U[0, 1]: two parallel segments in the plane. Claim: the Earth Mover
distance W(P_0, P_theta) = |theta| is continuous in theta (and gives a
gradient everywhere), while the JS divergence is log 2 for every theta != 0
and 0 at theta = 0, KL(P_theta || P_0) is +inf for theta != 0 and the total
variation is 1 for theta != 0: none of them tells how far apart the lines are.

Closed forms (exact, on 401 values of theta in [-1, 1], 0 included): W, JS,
KL (stored as inf in the NPZ, drawn as arrows at the top of its panel) and TV.

Estimates from samples, beside them (not in the paper, which plots only the
closed forms), at 11 values of theta in [-1, 1] (step 0.2). The fake
distribution is fixed (a frozen generator maps z ~ U[-1, 1] to
(theta, (z + 1) / 2)); only a critic / discriminator is trained against it,
from scratch at each theta, on fresh batches of 256 points from each side:

- W: a WGAN-GP critic (`models.WGANGP.critic_step`, penalty weight lambda = 10
  as in Gulrajani et al. 2017, Algorithm 1). A gradient-penalty critic is
  close to 1-Lipschitz, so E f(P_0) - E f(P_theta) estimates W on its own
  scale; a weight-clipped critic is K-Lipschitz for an unknown K, so its
  estimate is W up to a factor (the WGAN paper's "up to a constant"),
  which cannot be compared with |theta|. lambda = 10 and not the authors'
  toy-code 0.1: for a critic of slope k across the gap the objective is
  k |theta| - lambda (k - 1)^2, maximised at k = 1 + |theta| / (2 lambda), so
  the estimate is |theta| (1 + |theta| / (2 lambda)): at most 5% high with
  lambda = 10 but up to 6 times too high with lambda = 0.1.
- JS: a GAN discriminator (`models.GAN.critic_step`, sigmoid cross-entropy),
  and `models.losses.js_divergence_estimate` of its loss,
  JS = (log 4 - loss) / 2 (Goodfellow et al. 2014, Theorem 1).
- Both: the project's toy MLP (3 hidden ReLU layers of 128, linear output),
  Adam(1e-4, beta 0.5, 0.9) (the WGAN-GP authors' toy optimizer, also the
  project's toy GAN optimizer), 1000 steps per theta. The estimates are
  evaluated after training on 10,000 fresh points from each side.

Claims checked: closed-form JS is log 2 away from 0 (and 0 at 0); the
estimated JS is within 10% of log 2 for |theta| >= 0.3 and within 0.05 of 0
at theta = 0; the estimated W increases with |theta| (the mean of the +theta
and -theta estimates rises at every step of the grid) and is within 0.1 of |theta|
at every theta.

Scale: the paper has no estimates, so there is no paper scale to restore.
The grid (11 values) and the training length (1000 steps) are set by the
time budget: each theta trains two networks, about 7 s of CPU time (the
whole figure about 70 s of CPU; 9 minutes of wall time measured on 2 cores
shared with ~20 other busy processes).
`--set estimate_points=21 --set steps=2000` (theta step 0.1, twice the
training) takes about four times as long.
"""

import numpy as np

from figures import common

FULL = dict(
    closed_form_points=401, estimate_points=11,
    hidden_units=128, hidden_layers=3,
    batch_size=256, steps=1000,
    learning_rate=1e-4, beta_1=0.5, beta_2=0.9, penalty_weight=10.0,
    eval_samples=10000, js_min_abs_theta=0.3,
    jit_compile=True,
)
QUICK = dict(FULL, closed_form_points=41, estimate_points=3, hidden_units=32, steps=100,
             eval_samples=1000, jit_compile=False)

LOG2 = float(np.log(2.0))


def closed_forms(theta):
    """W, JS, KL(P_theta || P_0) and TV between P_0 and P_theta (WGAN paper, Example 1)."""
    theta = np.asarray(theta, dtype=np.float64)
    apart = theta != 0
    return {"w": np.abs(theta), "js": np.where(apart, LOG2, 0.0),
            "kl": np.where(apart, np.inf, 0.0), "tv": np.where(apart, 1.0, 0.0)}


def parallel_line_generator():
    """A frozen map z -> (theta, (z + 1) / 2): with z ~ U[-1, 1], P_theta; theta is its bias[0]."""
    import keras

    generator = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)], name="generator")
    generator.set_weights([np.array([[0.0, 0.5]], np.float32), np.array([0.0, 0.5], np.float32)])
    generator.trainable = False
    return generator


def sample_line(rng, theta, n):
    """n points of P_theta as a float32 array [n, 2]."""
    return np.stack([np.full(n, theta), rng.uniform(size=n)], axis=1).astype(np.float32)


class Estimator:
    """A WGAN-GP critic and a GAN discriminator, retrained from scratch at each theta.

    The networks, optimizers and compiled training loops are built once and
    reset (fresh initial weights, zeroed optimizer state, reseeded draws)
    before each theta, so the loops are traced and compiled only once.
    """

    def __init__(self, run):
        import keras
        import tensorflow as tf

        from models import GAN, WGANGP, random
        from models.networks import toy_mlp

        self.run = run
        self.network = lambda name: toy_mlp(2, 1, run.hidden_units, run.hidden_layers, name=name)
        keras.utils.set_random_seed(run.seed)
        self.generator = parallel_line_generator()
        optimizer = lambda: keras.optimizers.Adam(run.learning_rate, beta_1=run.beta_1,
                                                  beta_2=run.beta_2)
        self.models = {
            "w": WGANGP(self.generator, self.network("critic"),
                        penalty_weight=run.penalty_weight, seed=run.seed),
            "js": GAN(self.generator, self.network("discriminator"), seed=run.seed),
        }
        self.real_seeds = keras.random.SeedGenerator(run.seed)
        self.loops = {}
        for kind, model in self.models.items():
            model.compile(keras.optimizers.SGD(0.0), optimizer())  # the generator never moves

            def sample_real(n):  # P_0: (0, Z), Z ~ U[0, 1]
                z = random.uniform([n, 1], self.real_seeds)
                return tf.concat([tf.zeros_like(z), z], axis=1)

            @tf.function(jit_compile=run.jit_compile)
            def train(steps, model=model, sample_real=sample_real):
                for _ in tf.range(steps):
                    model.critic_step(sample_real(run.batch_size))

            self.loops[kind] = train

    def reset(self, seed):
        import keras

        keras.utils.set_random_seed(seed)
        for kind, model in self.models.items():
            model.critic.set_weights(self.network(kind).get_weights())
            for variable in model.critic_optimizer.variables:
                if "learning_rate" not in variable.path:
                    variable.assign(np.zeros(variable.shape, variable.dtype))
            model.seed_generator.state.assign(np.array([seed, 0], np.uint32))
        self.real_seeds.state.assign(np.array([seed + 1, 0], np.uint32))

    def estimate(self, theta, seed):
        """{"w": W estimate, "js": JS estimate} between P_0 and P_theta."""
        import tensorflow as tf

        from models import losses

        self.reset(seed)
        bias = self.generator.layers[-1].bias
        bias.assign(np.array([theta, 0.5], np.float32))
        for loop in self.loops.values():
            loop(tf.constant(self.run.steps))
        rng = np.random.default_rng(seed)
        real = sample_line(rng, 0.0, self.run.eval_samples)
        fake = sample_line(rng, theta, self.run.eval_samples)
        critic, discriminator = self.models["w"].critic, self.models["js"].critic
        w = -losses.wasserstein_critic_loss(critic(real), critic(fake))
        js = losses.js_divergence_estimate(
            losses.gan_discriminator_loss(discriminator(real), discriminator(fake)))
        return {"w": float(w), "js": float(js)}


def compute(run):
    theta = np.linspace(-1.0, 1.0, run.closed_form_points)
    data = {"theta": theta, **{f"{k}_closed_form": v for k, v in closed_forms(theta).items()}}
    estimate_theta = np.round(np.linspace(-1.0, 1.0, run.estimate_points), 6)
    estimator = None
    progress = run.progress(len(estimate_theta), "critic and discriminator per theta",
                            of_parts=True)
    estimates = []
    for i, value in enumerate(estimate_theta):
        def part(value=value, i=i):
            nonlocal estimator
            estimator = estimator or Estimator(run)
            return estimator.estimate(value, run.seed * 1000 + i)

        estimates.append(run.cached(f"theta{i}", part, theta=float(value)))
        progress.update()
    data["estimate_theta"] = estimate_theta
    for k in ("w", "js"):
        data[f"{k}_estimate"] = np.array([float(e[k]) for e in estimates])
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    theta, apart = data["theta"], data["theta"] != 0
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    ax.plot(theta, data["w_closed_form"], color="tab:blue", lw=2, label="closed form |$\\theta$|")
    ax.plot(data["estimate_theta"], data["w_estimate"], "o", color="tab:orange", ms=7,
            zorder=1, label="WGAN-GP critic estimate")
    ax.set_title("Earth Mover (Wasserstein-1) distance")
    ax.set_ylabel("W(P$_0$, P$_\\theta$)")

    ax = axes[1]
    ax.plot(theta[theta < 0], data["js_closed_form"][theta < 0], color="tab:blue", lw=2,
            label="closed form")
    ax.plot(theta[theta > 0], data["js_closed_form"][theta > 0], color="tab:blue", lw=2)
    ax.plot(data["estimate_theta"], data["js_estimate"], "o", color="tab:orange", ms=7,
            zorder=1, label="GAN discriminator estimate")
    ax.plot([0], [0], "o", color="tab:blue", ms=4, zorder=3)
    ax.plot([0], [np.log(2)], "o", mfc="white", color="tab:blue", ms=6, zorder=3)
    ax.axhline(np.log(2), color="gray", lw=0.5, ls=":")
    ax.set_title("Jensen-Shannon divergence")
    ax.set_ylabel("JS(P$_0$, P$_\\theta$)")
    ax.set_ylim(-0.05, 0.8)

    ax = axes[2]
    ax.plot(theta[theta < 0], data["tv_closed_form"][theta < 0], color="tab:green", lw=2,
            label="total variation")
    ax.plot(theta[theta > 0], data["tv_closed_form"][theta > 0], color="tab:green", lw=2)
    ax.plot([0], [0], "o", color="tab:green", ms=6)
    ax.plot([0], [1], "o", mfc="white", color="tab:green", ms=6)
    kl_theta = theta[apart & np.isinf(data["kl_closed_form"])][::max(1, len(theta) // 20)]
    ax.plot(kl_theta, np.full(len(kl_theta), 1.35), "^", color="tab:red",
            label="KL(P$_\\theta$ || P$_0$) = +$\\infty$ (arrows)")
    ax.plot([0], [0], "s", mfc="none", color="tab:red", ms=9, label="KL = 0 at $\\theta$ = 0")
    ax.set_ylim(-0.05, 1.45)
    ax.set_title("Total variation and KL divergence (closed form)")
    ax.set_ylabel("divergence")
    for ax in axes:
        ax.set_xlabel("$\\theta$")
        ax.legend(loc="center right" if ax is not axes[0] else "upper center", fontsize=9)
    figure.suptitle("P$_0$ = (0, Z), P$_\\theta$ = ($\\theta$, Z), Z ~ U[0, 1]: only the EM "
                    "distance varies continuously with $\\theta$")
    figure.tight_layout()
    return figure


def claims(data, run):
    theta, estimate_theta = data["theta"], data["estimate_theta"]
    w, js = data["w_estimate"], data["js_estimate"]
    far = np.abs(estimate_theta) >= run.js_min_abs_theta - 1e-9
    at_zero = estimate_theta == 0
    by_abs = {}
    for t, value in zip(np.abs(estimate_theta), w):
        by_abs.setdefault(round(float(t), 6), []).append(value)
    w_by_abs = [np.mean(by_abs[t]) for t in sorted(by_abs)]
    return {
        "closed_form_js_is_log2_off_zero_and_0_at_zero":
            np.all(data["js_closed_form"][theta != 0] == LOG2)
            and np.all(data["js_closed_form"][theta == 0] == 0.0),
        f"estimated_js_within_10pct_of_log2_for_abs_theta_ge_{run.js_min_abs_theta}":
            bool(np.any(far)) and np.all(np.abs(js[far] - LOG2) <= 0.1 * LOG2),
        "estimated_js_within_0.05_of_0_at_theta_0":
            bool(np.any(at_zero)) and np.all(np.abs(js[at_zero]) <= 0.05),
        "estimated_w_increases_with_abs_theta": bool(np.all(np.diff(w_by_abs) > 0)),
        "estimated_w_within_0.1_of_abs_theta":
            np.all(np.abs(w - np.abs(estimate_theta)) <= 0.1),
    }


if __name__ == "__main__":
    common.main(__name__)
