"""Figure 6: Mode collapse and mode dropping

Sources: the lecture's mode-collapse picture, Figure 1 of Metz et al. 2017
("Unrolled Generative Adversarial Networks"): a standard GAN on a ring of 8
Gaussians "rotates through the modes of the data distribution ... only ever
assigns significant mass to a single data mode at once". Mode dropping on the
5 x 5 grid, with the metric of VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018): of 2,500 samples, a sample is "high quality" within 3
standard deviations of its nearest centre, a mode "captured" if it is the
nearest centre of a high-quality sample; and PacGAN's reverse KL of the
per-mode shares to uniform (`evaluation.toy.mode_coverage`).

Claims checked:
  - the GAN of Metz et al.'s setting collapses and hops: at most snapshots
    two modes are nearest to 90 % or more of its samples, and the dominant
    mode changes between snapshots (in most seeds);
  - WGAN-GP on the same ring is nearest to every one of the 8 modes for at
    least 5 % of its samples, with all 8 captured, at the end of every seed:
    with Metz's networks, and with the WGAN-GP authors' toy networks;
  - on the grid the GAN drops modes that WGAN-GP keeps.

Setting, ring (rows): every run is a `train_loops` command, 25,000 generator
iterations (Metz et al.'s length, snapshots every 5,000), 5 seeds:
  - GAN: `python -m train_loops.gan --preset=metz`: their ring (radius 2,
    sd 0.02), generator z 256-d -> 2 x 128 ReLU -> 2, discriminator x / 4 ->
    128 ReLU -> logit, orthogonal init (gain 0.8), Adam(1e-4, 0.5) for both,
    batch 512, one D and one G update per iteration, the saturating minimax
    generator loss;
  - WGAN: `python -m train_loops.wgan --preset=metz`: the same data and
    networks, weight clipping c = 0.01, RMSProp 5e-5, 5 critic updates;
  - WGAN-GP: `python -m train_loops.wgan_gp --preset=metz`: the same data and
    networks, the preset's lambda, Adam(1e-4, 0.5, 0.9), 5 critic updates;
  - WGAN-GP with the WGAN-GP authors' toy recipe on the same ring:
    `python -m train_loops.wgan_gp --dataset=8gaussians_metz
    --hidden_units=512` (3 x 512 ReLU MLPs, z 2-d, batch 256, lambda 0.1);
  - the control, the GAN toy preset with the same networks on the same ring:
    `python -m train_loops.gan --dataset=8gaussians_metz --hidden_units=512`
    (non-saturating loss, Adam(1e-4, 0.5, 0.9), k = 1): does capacity alone,
    without the Wasserstein objective, prevent the collapse?
Each row shows run.seed's fixed-noise samples at the snapshots, coloured by
nearest mode, and the share of samples nearest to each mode over training.

Setting, grid: the three toy presets (`python -m train_loops.<algorithm>
--dataset=25gaussians`, 3 x 128 MLPs, z 2-d, batch 256) for 20,000
generator iterations (twice the runner's default), where the curves of all
three have flattened, 3 seeds.

The papers' scale: Metz et al. train 25k steps (their Figure 1), as here;
the WGAN-GP authors' toy code runs 100k iterations (`--set
grid_iterations=100000 --set grid_hidden_units=512`).
"""

import os

import numpy as np

from figures import common

# Ring rows: (command, flags over the runner's defaults, title).
RING_ROWS = {
    "gan": ("gan", dict(preset="metz"), "GAN (Metz et al.)"),
    "wgan": ("wgan", dict(preset="metz"), "WGAN, Metz's networks"),
    "wgan_gp": ("wgan_gp", dict(preset="metz"), "WGAN-GP, Metz's networks"),
    "wgan_gp_authors": ("wgan_gp", dict(preset="toy", dataset="8gaussians_metz"),
                        "WGAN-GP, authors' toy MLPs"),
    # The control: the same networks with the GAN objective.
    "gan_authors": ("gan", dict(preset="toy", dataset="8gaussians_metz"),
                    "GAN, authors' toy MLPs"),
}
AUTHORS_ROWS = ("wgan_gp_authors", "gan_authors")
GRID_TITLES = {"gan": "GAN", "wgan": "WGAN (clipping)", "wgan_gp": "WGAN-GP"}
COLORS = {"gan": "tab:red", "wgan": "tab:blue", "wgan_gp": "tab:green",
          "wgan_gp_authors": "tab:olive", "gan_authors": "tab:pink"}
RING, GRID = "8gaussians_metz", "25gaussians"

FULL = dict(
    ring_rows=tuple(RING_ROWS),
    ring_seeds=5,
    ring_iterations=25000,
    snapshots=(5000, 10000, 15000, 20000, 25000),  # Metz et al.'s Figure 1
    authors_hidden_units=512,  # the WGAN-GP authors' toy width
    grid_algorithms=("gan", "wgan", "wgan_gp"),
    grid_seeds=3,
    grid_iterations=20000,
    grid_hidden_units=128,  # the toy presets' default width
    eval_every=500,
    eval_samples=2500,  # VEEGAN / PacGAN
    batch_size=None,  # None: each preset's own
    run_eagerly=False,
)
QUICK = dict(FULL, ring_seeds=1, ring_iterations=4, snapshots=(2, 4), authors_hidden_units=8,
             grid_seeds=1, grid_iterations=4, grid_hidden_units=8, eval_every=2,
             eval_samples=200, batch_size=32, run_eagerly=True)

# The ring's modes' colours, shared by the scatter plots and the share plots.
MODE_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:cyan")


def train(run, row_or_algorithm, seed, grid=False):
    """One run of the ring (a RING_ROWS key) or of the grid (an algorithm); returns its folder."""
    shared = dict(seed=seed, eval_every=run.eval_every, eval_samples=run.eval_samples,
                  batch_size=run.batch_size, run_eagerly=str(run.run_eagerly).lower())
    if grid:
        flags = dict(shared, dataset=GRID, iterations=run.grid_iterations,
                     hidden_units=run.grid_hidden_units, sample_every=run.grid_iterations,
                     checkpoint_every=run.grid_iterations // 4 or 1)
        return run.train(row_or_algorithm, f"grid-{row_or_algorithm}-seed{seed}", **flags)
    algorithm, preset_flags, _ = RING_ROWS[row_or_algorithm]
    flags = dict(shared, **preset_flags, iterations=run.ring_iterations,
                 sample_every=run.snapshots[0], checkpoint_every=run.snapshots[0])
    if row_or_algorithm in AUTHORS_ROWS:
        flags["hidden_units"] = run.authors_hidden_units
    return run.train(algorithm, f"ring-{row_or_algorithm}-seed{seed}", **flags)


def read_run(run_dir, num_modes):
    """The evaluations of a finished run: {iterations, modes, quality, reverse_kl, shares}."""
    table = common.read_csv(os.path.join(run_dir, "evaluation.csv"))
    return dict(iterations=table["iteration"].astype(int),
                modes=table["modes_captured"], quality=table["high_quality_percent"],
                reverse_kl=table["reverse_kl"],
                shares=np.stack([table[f"share_{k}"] for k in range(num_modes)], axis=-1))


def read_snapshots(run_dir, iterations):
    """The fixed-noise samples [snapshot, N, 2] the run wrote at `iterations`."""
    return np.stack([np.load(os.path.join(run_dir, "samples", f"{i:06d}.npz"))["samples"]
                     for i in iterations])


def compute(run):
    from data.toy import mode_centers, toy_batches

    bad = [s for s in run.snapshots if s % run.eval_every or s > run.ring_iterations
           or s % run.snapshots[0]]
    if bad:
        raise common.UsageError(f"snapshots {bad} must be multiples of the first snapshot "
                                f"and of eval_every, up to ring_iterations")
    unknown = set(run.ring_rows) - set(RING_ROWS)
    if unknown:
        raise common.UsageError(f"ring_rows {sorted(unknown)}: choose from {', '.join(RING_ROWS)}")
    data = {"centers_ring": mode_centers(RING), "centers_grid": mode_centers(GRID),
            "real_ring": next(iter(toy_batches(RING, 1000, run.seed + 1))).numpy(),
            "snapshot_iterations": np.array(run.snapshots)}
    seeds = range(run.seed, run.seed + run.ring_seeds)
    progress = run.progress(len(run.ring_rows) * run.ring_seeds
                            + len(run.grid_algorithms) * run.grid_seeds,
                            "mode_collapse: training runs", of_parts=True)
    # Row by row, all seeds of a row before the next: an interrupted figure
    # has whole rows to show.
    for row in run.ring_rows:
        runs = []
        for seed in seeds:
            run_dir = train(run, row, seed)
            progress.update()
            runs.append(read_run(run_dir, 8))
            if seed == run.seed:
                data[f"snapshots_{row}"] = read_snapshots(run_dir, run.snapshots)
        data["iterations_ring"] = runs[0]["iterations"]
        for name in ("modes", "quality", "reverse_kl", "shares"):
            data[f"{name}_{row}"] = np.stack([r[name] for r in runs])  # [seed, eval, ...]
    for algorithm in run.grid_algorithms:
        runs, finals = [], []
        for seed in range(run.seed, run.seed + run.grid_seeds):
            run_dir = train(run, algorithm, seed, grid=True)
            progress.update()
            runs.append(read_run(run_dir, 25))
            finals.append(read_snapshots(run_dir, [run.grid_iterations])[0])
        data["iterations_grid"] = runs[0]["iterations"]
        for name in ("modes", "quality", "reverse_kl"):
            data[f"{name}_grid_{algorithm}"] = np.stack([r[name] for r in runs])
        data[f"final_grid_{algorithm}"] = finals[0]
    return data


def snapshot_rows(data, run):
    """The indices of the snapshot iterations among the ring's evaluations ([] with no ring rows)."""
    if not run.ring_rows:
        return []
    return [list(data["iterations_ring"]).index(i) for i in run.snapshots]


def hopping(shares):
    """For one seed's shares at the snapshots [S, K]: (snapshots where two modes hold >= 90 %,
    times the dominant mode changes from one snapshot to the next)."""
    top_two = np.sort(shares, axis=-1)[:, -2:].sum(axis=-1)
    dominant = np.argmax(shares, axis=-1)
    return int(np.sum(top_two >= 0.9)), int(np.sum(dominant[1:] != dominant[:-1]))


def numbers(data, run):
    """The figure's numbers, per ring row and grid algorithm (into the JSON record)."""
    result = {}
    index = snapshot_rows(data, run)
    for row in run.ring_rows:
        shares = data[f"shares_{row}"]
        final = shares[:, -1]
        collapsed, hops = zip(*(hopping(s[index]) for s in shares))
        result[f"ring_{row}"] = dict(
            final_modes=data[f"modes_{row}"][:, -1].tolist(),
            final_high_quality_percent=data[f"quality_{row}"][:, -1].tolist(),
            final_reverse_kl=np.round(data[f"reverse_kl_{row}"][:, -1], 3).tolist(),
            final_smallest_share=np.round(final.min(axis=-1), 4).tolist(),
            snapshots_two_modes_hold_90_percent=list(collapsed),
            dominant_mode_changes=list(hops))
    for algorithm in run.grid_algorithms:
        result[f"grid_{algorithm}"] = dict(
            final_modes=data[f"modes_grid_{algorithm}"][:, -1].tolist(),
            final_high_quality_percent=data[f"quality_grid_{algorithm}"][:, -1].tolist(),
            final_reverse_kl=np.round(data[f"reverse_kl_grid_{algorithm}"][:, -1], 3).tolist())
    return result


def claims(data, run):
    result = {}
    index = snapshot_rows(data, run)
    if "gan" in run.ring_rows:
        seeds = [hopping(s[index]) for s in data["shares_gan"]]
        hops = [collapsed > len(index) / 2 and changes > 0 for collapsed, changes in seeds]
        result["gan_collapses_and_hops_in_most_seeds"] = sum(hops) > len(hops) / 2
    for row in ("wgan_gp", "wgan_gp_authors"):
        if row in run.ring_rows:
            final = data[f"shares_{row}"][:, -1]
            result[f"{row}_covers_every_mode_in_every_seed"] = bool(
                np.all(data[f"modes_{row}"][:, -1] == 8) and np.all(final >= 0.05))
    if {"gan", "wgan_gp"} <= set(run.grid_algorithms):
        gan = data["modes_grid_gan"][:, -1].mean()
        result["gan_drops_grid_modes"] = gan < 25
        result["wgan_gp_keeps_more_grid_modes_than_gan"] = (
            data["modes_grid_wgan_gp"][:, -1].mean() > gan)
    return result


def _scatter(ax, samples, centers, extent, title):
    """Samples coloured by their nearest centre on the ring (grey on the grid), centres as x."""
    colors = "tab:gray"
    if len(centers) == len(MODE_COLORS):
        from evaluation.toy import nearest_centers

        colors = np.array(MODE_COLORS)[nearest_centers(samples, centers)[0]]
    ax.scatter(samples[:, 0], samples[:, 1], s=1.5, c=colors, alpha=0.5, rasterized=True)
    ax.scatter(centers[:, 0], centers[:, 1], s=14, c="black", marker="x", linewidths=0.8)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def plot(data, run):
    import matplotlib.pyplot as plt

    rows, snaps = list(run.ring_rows), list(run.snapshots)
    columns = len(snaps) + 1 + 3  # snapshots, the target, the shares (3 wide)
    fig = plt.figure(figsize=(2.2 * columns, 2.3 * (len(rows) + 2) + 0.6))
    grid = fig.add_gridspec(len(rows) + 2, columns)
    centers = data["centers_ring"]
    index = snapshot_rows(data, run)
    iterations = data.get("iterations_ring", np.zeros(0))
    for r, row in enumerate(rows):
        title = RING_ROWS[row][2]
        shares = data[f"shares_{row}"][0]  # run.seed's
        for c, iteration in enumerate(snaps):
            ax = fig.add_subplot(grid[r, c])
            share = shares[index[c]]
            _scatter(ax, data[f"snapshots_{row}"][c], centers, 3.0,
                     f"it. {iteration}: top mode {100 * share.max():.0f}%\n"
                     f"{int(data[f'modes_{row}'][0, index[c]])}/8 modes, "
                     f"{data[f'quality_{row}'][0, index[c]]:.0f}% HQ")
            if c == 0:
                ax.set_ylabel(title, fontsize=9)
        _scatter(fig.add_subplot(grid[r, len(snaps)]), data["real_ring"], centers, 3.0,
                 "target (real data)")
        ax = fig.add_subplot(grid[r, len(snaps) + 1:])
        ax.stackplot(iterations, shares.T, colors=MODE_COLORS, linewidth=0)
        ax.set_xlim(iterations[0], iterations[-1])
        ax.set_ylim(0, 1)
        ax.set_ylabel("share nearest\neach mode", fontsize=8)
        ax.set_title(f"{title}: per-mode shares (seed {run.seed})", fontsize=8)
    # Bottom rows: the ring's reverse KL over seeds, and the grid.
    ax = fig.add_subplot(grid[len(rows), :columns // 2])
    for row in rows:
        values = data[f"reverse_kl_{row}"]
        ax.plot(iterations, values.mean(0), color=COLORS[row], label=RING_ROWS[row][2])
        ax.fill_between(iterations, values.min(0), values.max(0), color=COLORS[row], alpha=0.2,
                        linewidth=0)
    ax.axhline(np.log(8), color="black", lw=0.8, ls="--")
    ax.set_ylabel("reverse KL to uniform\n(log 8: one mode)", fontsize=8)
    ax.set_xlabel("generator iteration")
    ax.set_title(f"ring: PacGAN's reverse KL, mean of {run.ring_seeds} seeds, band min-max",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(grid[len(rows), columns // 2:])
    if run.grid_algorithms:
        for algorithm in run.grid_algorithms:
            values = data[f"modes_grid_{algorithm}"]
            ax.plot(data["iterations_grid"], values.mean(0), color=COLORS[algorithm],
                    label=GRID_TITLES[algorithm])
            ax.fill_between(data["iterations_grid"], values.min(0), values.max(0),
                            color=COLORS[algorithm], alpha=0.2, linewidth=0)
        ax.axhline(25, color="black", lw=0.8, ls="--")
        ax.set_ylim(0, 26)
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("grid: modes captured")
    ax.set_title(f"5 x 5 grid, toy presets ({run.grid_hidden_units}-unit MLPs): modes captured,"
                 f" mean of {run.grid_seeds} seeds", fontsize=9)
    for a, algorithm in enumerate(run.grid_algorithms):
        ax = fig.add_subplot(grid[len(rows) + 1, 2 * a:2 * a + 2])
        _scatter(ax, data[f"final_grid_{algorithm}"], data["centers_grid"], 2.0,
                 f"{GRID_TITLES[algorithm]}, grid, it. {run.grid_iterations}: "
                 f"{int(data[f'modes_grid_{algorithm}'][0, -1])}/25 modes, "
                 f"{data[f'quality_grid_{algorithm}'][0, -1]:.0f}% HQ")
    fig.suptitle("Mode collapse on the ring of Metz et al. 2017 (Figure 1's setting) and mode "
                 f"dropping on the grid; samples of seed {run.seed}, coloured by nearest mode",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return fig


if __name__ == "__main__":
    common.main(__name__)
