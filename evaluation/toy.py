"""Mode coverage of samples from a Gaussian mixture (VEEGAN / PacGAN definition).

Definition from Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs
using Implicit Variational Learning", reused by Lin et al. 2018,
"PacGAN: The power of two samples in generative adversarial networks", for the
2-D ring and grid mixtures: a sample is *high quality* if it lies within
``threshold`` (3) standard deviations of the mode centre nearest to it, and a
mode is *captured* if it is the nearest centre of at least one high-quality
sample.
"""

import dataclasses

import numpy as np


# eq=False: the generated __eq__ would compare the `counts` arrays with `==`,
# whose truth value is ambiguous.
@dataclasses.dataclass(frozen=True, eq=False)
class ModeCoverage:
    """Result of `mode_coverage`.

    Attributes:
      modes_captured: number of modes that are the nearest centre of at least
        one high-quality sample.
      num_modes: number of centres K.
      high_quality_fraction: fraction (0..1) of samples within the threshold
        of their nearest centre.
      counts: int64 [K], high-quality samples per mode (read-only).
      shares: float [K], the fraction of all samples whose nearest centre is
        each mode (sums to 1).
    """

    modes_captured: int
    num_modes: int
    high_quality_fraction: float
    counts: np.ndarray
    shares: np.ndarray

    @property
    def high_quality_shares(self):
        """The high-quality samples' fractions per mode (sum 1); NaN when there are none."""
        total = self.counts.sum()
        return self.counts / total if total else np.full(self.num_modes, np.nan)

    @property
    def reverse_kl(self):
        """KL(shares || uniform): how unevenly all samples fall among the modes."""
        return reverse_kl_to_uniform(self.shares)

    @property
    def high_quality_reverse_kl(self):
        """KL(high-quality shares || uniform), PacGAN's number; NaN with no high-quality sample."""
        return reverse_kl_to_uniform(self.high_quality_shares)


def reverse_kl_to_uniform(shares):
    """KL(p || U_K) = sum_k p_k log(K p_k), with 0 log 0 = 0 (PacGAN, Lin et al. 2018).

    NaN when `shares` holds NaN (no samples to share out).
    """
    p = np.asarray(shares, dtype=np.float64)
    if np.any(np.isnan(p)):
        return float("nan")
    positive = p[p > 0]
    return float(np.sum(positive * np.log(len(p) * positive)))


def nearest_centers(samples, centers):
    """(index [N] of each sample's nearest centre, its Euclidean distance [N]).

    A NaN sample gets index 0 and distance NaN.
    """
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    # One pass per centre keeps memory at N*K rather than N*K*D.
    sq_dist = np.stack([np.sum((samples - c) ** 2, axis=1) for c in centers], axis=1)
    nearest = np.argmin(sq_dist, axis=1)
    return nearest, np.sqrt(sq_dist[np.arange(len(samples)), nearest])


def _checked(samples, centers, std, threshold):
    """(samples, centers) as float64 arrays; ValueError on shapes or numbers that make no sense."""
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"samples must be a non-empty [N, D] array, got shape {samples.shape}.")
    if centers.ndim != 2 or centers.shape[0] == 0:
        raise ValueError(f"centers must be a non-empty [K, D] array, got shape {centers.shape}.")
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples {samples.shape} and centers {centers.shape} differ in dimension D."
        )
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive finite number, got {std}.")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold}.")
    return samples, centers


def mode_coverage(samples, centers, std, threshold=3.0) -> ModeCoverage:
    """Mode coverage of ``samples`` [N, D] w.r.t. mixture ``centers`` [K, D].

    VEEGAN (Srivastava et al. 2017) / PacGAN (Lin et al. 2018) definition: a
    sample is high quality if its Euclidean distance to its nearest centre is
    at most ``threshold * std``; a mode is captured if it is the nearest centre
    of at least one high-quality sample. ``std`` is the per-coordinate standard
    deviation of the mixture components. Samples containing NaN count as not
    high quality.
    """
    samples, centers = _checked(samples, centers, std, threshold)
    nearest, dist_to_nearest = nearest_centers(samples, centers)
    high_quality = dist_to_nearest <= threshold * std

    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    counts.flags.writeable = False
    # A NaN sample has no nearest centre (argmin puts it at 0): it is left out.
    finite = np.all(np.isfinite(samples), axis=1)
    shares = np.bincount(nearest[finite], minlength=len(centers)) / len(samples)
    shares.flags.writeable = False
    return ModeCoverage(
        modes_captured=int(np.count_nonzero(counts)),
        num_modes=len(centers),
        high_quality_fraction=float(np.mean(high_quality)),
        counts=counts,
        shares=shares,
    )


# Beyond this many standard deviations from every centre a point is not from any mode: a 2-D
# Gaussian puts exp(-6**2 / 2) = 1.5e-8 of its mass there.
BETWEEN_MODES_STD = 6.0


def distance_profile(samples, centers, std, threshold=3.0, far=BETWEEN_MODES_STD):
    """Where the samples that are not high quality lie: near a mode, or between modes.

    From the distance of each sample to its nearest centre, in units of `std`
    (the percentages are of all samples, each rounded on its own; a NaN sample
    counts as between modes):
      median_distance_std: the median distance, None when it is not finite.
        For the mixture's own 2-D points it is the Rayleigh median
        sqrt(2 ln 2) = 1.18; with few samples between modes, a generator below
        it draws narrower modes than the data, above it wider ones.
      near_miss_percent: farther than `threshold` and at most `far`: a mode's
        tail, or a mode drawn too wide (the data's 2-D points: exp(-4.5) = 1.1 %).
      between_modes_percent: farther than `far` from every centre: points on the
        paths a continuous generator of a connected latent draws between
        disconnected modes (Tanielian et al. 2020, "Learning disconnected
        manifolds: a no GAN's land", bound the precision this costs).
    A sample within `threshold` is high quality exactly as in `mode_coverage`.
    """
    samples, centers = _checked(samples, centers, std, threshold)
    if not (np.isfinite(far) and far >= threshold):
        raise ValueError(f"far must be finite and at least threshold, got {far}.")
    _, distance = nearest_centers(samples, centers)
    distance = np.where(np.isnan(distance), np.inf, distance)
    near = threshold * std < distance  # the complement of mode_coverage's high quality
    between = far * std < distance
    median = float(np.median(distance)) / std
    return dict(median_distance_std=round(median, 2) if np.isfinite(median) else None,
                near_miss_percent=round(100 * float(np.mean(near & ~between)), 1),
                between_modes_percent=round(100 * float(np.mean(between)), 1))


def coverage_numbers(samples, centers, std, prefix=""):
    """`mode_coverage` of `samples` as rounded numbers for a CSV row or JSON, names prefixed.

    modes_captured, high_quality_percent, reverse_kl and high_quality_reverse_kl
    (None when no sample is high quality); without a prefix also num_modes
    and the per-mode shares (all samples, and the high-quality ones).
    """
    coverage = mode_coverage(samples, centers, std)
    numbers = dict(modes_captured=coverage.modes_captured,
                   high_quality_percent=round(100 * coverage.high_quality_fraction, 1),
                   reverse_kl=round(coverage.reverse_kl, 4),
                   high_quality_reverse_kl=_rounded(coverage.high_quality_reverse_kl))
    if not prefix:
        numbers.update(num_modes=coverage.num_modes,
                       shares=[round(float(p), 4) for p in coverage.shares],
                       high_quality_shares=[_rounded(p) for p in coverage.high_quality_shares])
    return {prefix + name: value for name, value in numbers.items()}


def _rounded(value):
    """`value` to 4 places, or None (null in JSON, empty in CSV) when it is NaN."""
    return None if np.isnan(value) else round(float(value), 4)
