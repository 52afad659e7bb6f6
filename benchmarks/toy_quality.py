"""WGAN-GP's toy quality over seeds: each seed trained, sampled fresh, refined, and averaged.

    python -m benchmarks.toy_quality                    # the toy preset, seeds 0-4, ring and grid
    python -m benchmarks.toy_quality --output_dir=runs/toy512 -- --preset=toy_512_decay

The measurement behind the README's toy numbers (docs/mode_collapse.md §2).
Flags after `--` go to every `python -m train_loops.wgan_gp` run; the
benchmark gives each its --dataset, --seed and --output_dir
(<output_dir>/<dataset>-s<seed>). A run that was interrupted resumes from its
checkpoints, and a finished one is not trained again: rerun the same command
to continue. A folder whose runs were made with another recipe is refused.
Two invocations with different --datasets or --seeds may share a folder (one
per core); each tabulates its own runs, and `--report_only` with all of them
tabulates the lot.

Each finished run's final generator, and its weight average, are then sampled
fresh (--samples points from latent seed --sample_seed, so neither a training
seed nor the training evaluation's draw) and scored raw and refined by
--dot_steps of discriminator optimal transport with the run's critic, as
`train_loops.sample --seed=7 --output=F.npz [--critic --dot_steps]` and then
`train_loops.evaluate --generator=F.npz` score them:
<run>/<generator>-dot<steps>.json. The table gives each run's final
evaluation and these fresh numbers (with the share of the raw generator's
samples that lie between modes, more than 6 standard deviations from every
centre: `evaluation.toy.distance_profile`), the means over seeds, and the project's
goal: on the ring all 8 modes and at least 90 % high quality raw, on the
grid all 25 and 85 %; at least 97 % refined on both (means over the seeds).

--report_only tabulates the runs that have finished without training any.
JSON: <output_dir>/toy_quality.json.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys

from benchmarks.time_to_quality import default_interrupt
from benchmarks.train_step import names
from train_loops import cli

DATASETS = ("8gaussians", "25gaussians")
# The goal (docs/mode_collapse.md §2): modes and raw high-quality per cent per data set,
# and the refined per cent on both; published WGAN-GP reaches 59.6 and 28.7 % raw (GDPP,
# Elfeki et al. 2019, Table 1), PacGAN4 95.9 and 93.6 % (Lin et al. 2018, Table 1).
GOAL = {"8gaussians": (8, 90.0), "25gaussians": (25, 85.0)}
GOAL_REFINED = 97.0
GENERATORS = ("generator", "generator_ema")  # the raw generator and its weight average
SAMPLES, SAMPLE_SEED = 2500, 7  # the fresh samples' defaults (their files carry no suffix)
EVALUATION_SEED = 0  # train_loops.evaluate's default --seed: the real points of the W1 estimate
# Flags each run gets from the benchmark, not from the recipe.
OWN_FLAGS = ("dataset", "seed", "output_dir", "resume", "overwrite")
PROGRAM = "python -m benchmarks.toy_quality"


class BenchmarkError(Exception):
    """Why the benchmark cannot go on: one line on stderr."""


def flag_items(flags):
    """{name: value} of `--name=value` / `--name` / `--noname` flags (booleans as "true"/"false")."""
    items = {}
    for flag in flags:
        if not flag.startswith("--"):
            raise ValueError(f"{flag!r} is not a --flag")
        name, has_value, value = flag[2:].partition("=")
        if not has_value:
            name, value = (name[2:], "false") if name.startswith("no") else (name, "true")
        items[name] = value
    return items


def same_value(a, b):
    """Whether two flag values say the same (1e-4 and 0.0001 do)."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def same_recipe(a, b):
    """Whether two recipes set the same flags to the same values, in any order."""
    a, b = flag_items(a), flag_items(b)
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)


def as_flag(name, value):
    """A flag as written: --name=value, or --name / --noname for a boolean."""
    return {"true": f"--{name}", "false": f"--no{name}"}.get(value, f"--{name}={value}")


def read_flags(flags_txt):
    """A run's flags.txt as {name: value}."""
    with open(flags_txt) as f:
        return flag_items([line.strip() for line in f if line.strip()])


def recipe_conflict(flags, flags_txt):
    """The first flag of the recipe a run's flags.txt contradicts, as a message; None if none.

    flags.txt holds every flag of the runner and the command that has a value,
    so a recipe flag it lacks was not set on that run.
    """
    made_with = read_flags(flags_txt)
    for name, value in flag_items(flags).items():
        if name not in made_with:
            return f"{as_flag(name, value)}, where the run was made without --{name}"
        if not same_value(value, made_with[name]):
            return (f"{as_flag(name, value)}, where the run was made with "
                    f"{as_flag(name, made_with[name])}")
    return None


def read_summary(run_dir):
    """The run's summary.json, or None when it has none (or an unreadable one)."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_state(run_dir):
    """"finished", "failed" (stopped on non-finite values), "checkpointed" (resume it),
    "started" (flags but no checkpoint: start over) or "new"."""
    summary = read_summary(run_dir) or {}
    if "failure" in summary:
        return "failed"
    if summary.get("interrupted") is False:
        return "finished"
    checkpoints = os.path.join(run_dir, "checkpoints")
    if os.path.isdir(checkpoints) and any(n.endswith(".index") for n in os.listdir(checkpoints)):
        return "checkpointed"
    return "started" if os.path.exists(os.path.join(run_dir, "flags.txt")) else "new"


def train_command(dataset, seed, run_dir, state, recipe):
    """The training command of one run: the recipe, its own flags, and how to go on."""
    resume = {"checkpointed": ["--resume"], "started": ["--overwrite"]}.get(state, [])
    return [sys.executable, "-m", "train_loops.wgan_gp", *recipe, f"--dataset={dataset}",
            f"--seed={seed}", f"--output_dir={run_dir}", *resume]


def train(command):
    """Run one training command in the foreground; False if Ctrl-C stopped it."""
    process = subprocess.Popen(command, preexec_fn=default_interrupt)
    interrupted = False
    while True:
        try:
            returncode = process.wait()
            break
        except KeyboardInterrupt:  # the run got the Ctrl-C too: let it write its checkpoint
            interrupted = True
    if interrupted or returncode in (130, -signal.SIGINT):
        return False
    if returncode:
        raise BenchmarkError(f"{' '.join(command)} failed with exit status {returncode}")
    return True


def fresh_path(run_dir, generator_name, dot_steps, samples, sample_seed):
    """<run>/<generator>-dot<steps>.json; other than the default draw, -n<samples>-z<seed> too."""
    draw = "" if (samples, sample_seed) == (SAMPLES, SAMPLE_SEED) else f"-n{samples}-z{sample_seed}"
    return os.path.join(run_dir, f"{generator_name}-dot{dot_steps}{draw}.json")


def fresh_numbers(run_dir, dataset, generator_name, dot_steps, samples, sample_seed):
    """The toy evaluation of fresh samples of a finished run's generator, raw (0 steps) or
    refined by `dot_steps` with its critic; read from `fresh_path` when made before, else
    made and written there. None when the run kept no weight average."""
    path = fresh_path(run_dir, generator_name, dot_steps, samples, sample_seed)
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    keras_file = os.path.join(run_dir, f"{generator_name}.keras")
    if generator_name == "generator_ema" and not os.path.exists(keras_file):
        return None
    from models import random, transport
    from train_loops import evaluate, files

    latent_distribution = read_flags(os.path.join(run_dir, "flags.txt")).get(
        "latent_distribution", "normal")
    generator = cli.load_network(keras_file, "the generator")
    fake, _ = random.generator_samples(generator, samples, latent_distribution, 500, sample_seed)
    numbers = {"generator": keras_file, "dataset": dataset, "num_fake": samples,
               "latent_distribution": latent_distribution, "sample_seed": sample_seed,
               "dot_steps": dot_steps, "seed": EVALUATION_SEED}
    if dot_steps:  # as train_loops.sample --critic --dot_steps
        critic = cli.load_network(os.path.join(run_dir, "critic.keras"), "the critic")
        fake, lipschitz = transport.refine(critic, fake, dot_steps, sample_seed)
        numbers["lipschitz_estimate"] = round(float(lipschitz), 4)
    numbers.update(evaluate.toy_numbers(fake, dataset, EVALUATION_SEED))
    files.write_json(path, numbers)
    return numbers


def hours(seconds):
    return None if seconds is None else round(seconds / 3600, 2)


def run_row(run_dir, dataset, seed, args):
    """One finished run's final evaluation, fresh numbers and times (None where unrecorded)."""
    summary = read_summary(run_dir)
    row = {"dataset": dataset, "seed": seed, "iterations": summary["iterations"],
           "modes": summary["modes_captured"], "final": summary["high_quality_percent"],
           "final_average": summary.get("ema_high_quality_percent"),
           "wall_hours": hours(summary.get("total_wall_time_seconds")),
           "cpu_hours": hours(summary.get("total_cpu_time_seconds")),
           "commits": summary.get("commits")}
    for name, label in zip(GENERATORS, ("raw", "average")):
        for steps, suffix in ((0, ""), (args.dot_steps, "_refined")):
            numbers = fresh_numbers(run_dir, dataset, name, steps, args.samples,
                                    args.sample_seed)
            row[label + suffix] = None if numbers is None else numbers["high_quality_percent"]
            row[label + suffix + "_modes"] = None if numbers is None else numbers["modes_captured"]
            if label == "raw" and not steps:  # where the raw generator's misses lie
                row["raw_between"] = None if numbers is None else numbers.get(
                    "between_modes_percent")  # files made before it was measured lack it
    return row


def mean(values):
    """The mean of the values given (None left out), to 0.1; None if there are none."""
    values = [v for v in values if v is not None]
    return round(statistics.mean(values), 1) if values else None


def summarize(dataset, rows):
    """The means over a data set's runs and the goal's verdict on them."""
    modes, raw_goal = GOAL[dataset]
    means = {key: mean(r[key] for r in rows)
             for key in ("final", "final_average", "raw", "raw_between", "raw_refined",
                         "average", "average_refined")}
    all_modes = sum(r["raw_modes"] == modes for r in rows)
    refined = [v for v in (means["raw_refined"], means["average_refined"]) if v is not None]
    return {"dataset": dataset, "seeds": [r["seed"] for r in rows], "means": means,
            "raw_all_modes": f"{all_modes}/{len(rows)}",
            "raw_goal_met": bool(rows) and all_modes == len(rows) and means["raw"] >= raw_goal,
            "refined_goal_met": bool(refined) and max(refined) >= GOAL_REFINED}


def table(rows, summaries):
    """A Markdown table of the runs and their means, and a line per data set on the goal."""
    def cell(value):
        return "-" if value is None else f"{value:g}"

    keys = ("final", "final_average", "raw", "raw_between", "raw_refined", "average",
            "average_refined")
    lines = ["| data | seed | iterations | modes (fresh raw) | final eval raw | average "
             "| fresh raw | fresh raw: between modes | refined | average | refined | wall h "
             "| CPU h |",
             "| --- " * 13 + "|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['seed']} | {r['iterations']} | {cell(r['raw_modes'])} "
                     + "".join(f"| {cell(r[k])} " for k in keys)
                     + f"| {cell(r['wall_hours'])} | {cell(r['cpu_hours'])} |")
    for s in summaries:
        lines.append(f"| {s['dataset']} | mean of {len(s['seeds'])} | | {s['raw_all_modes']} "
                     + "".join(f"| {cell(s['means'][k])} " for k in keys) + "| | |")
    lines.append("")
    for s in summaries:
        modes, raw_goal = GOAL[s["dataset"]]
        seeds = f"{len(s['seeds'])} seed{'s' if len(s['seeds']) != 1 else ''}"
        lines.append(f"{s['dataset']} ({seeds}): {modes} modes in every run and "
                     f">= {raw_goal:g} % raw: {'met' if s['raw_goal_met'] else 'not met'}; "
                     f">= {GOAL_REFINED:g} % refined: "
                     f"{'met' if s['refined_goal_met'] else 'not met'}")
    return "\n".join(lines)


def seed_list(text):
    """An argparse type: distinct comma-separated non-negative integers."""
    try:
        seeds = [int(s) for s in text.split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds")
    if any(s < 0 for s in seeds) or len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f"seeds are distinct and 0 or more, got {text!r}")
    return seeds


def parse_args(argv):
    """The benchmark's own flags (before `--`) and the recipe (after it), checked."""
    p = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n")[0],
                                epilog="Flags after -- go to every training run.")
    p.add_argument("--output_dir", default=os.path.join("runs", "benchmarks", "toy_quality"))
    p.add_argument("--datasets", type=names(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3, 4],
                   help="comma-separated training seeds")
    p.add_argument("--samples", type=int, default=SAMPLES, help="fresh samples per generator")
    p.add_argument("--sample_seed", type=int, default=SAMPLE_SEED,
                   help="latent seed of the fresh samples (not one of the training seeds)")
    p.add_argument("--dot_steps", type=int, default=100,
                   help="transport steps of the refined samples (Tanaka's 2-D demo: 100)")
    p.add_argument("--report_only", action="store_true",
                   help="train nothing: tabulate the runs that have finished")
    own, recipe = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    args = p.parse_args(own)
    if args.samples < 1 or args.dot_steps < 1 or args.sample_seed < 0 or not args.seeds:
        p.error("--samples and --dot_steps must be positive, --sample_seed 0 or more and "
                "--seeds not empty")
    try:
        given = flag_items(recipe)
    except ValueError as error:
        p.error(f"after --: {error}")
    taken = sorted(set(given) & set(OWN_FLAGS))
    if taken:
        p.error(f"after --: --{taken[0]} is the benchmark's to set (it sets --dataset, --seed "
                f"and --output_dir, and --resume or --overwrite, per run)")
    args.recipe = recipe
    return args


def stored_recipe(output_dir):
    """The recipe recorded in the folder's toy_quality.json, or None."""
    try:
        with open(os.path.join(output_dir, "toy_quality.json")) as f:
            return json.load(f)["recipe"]
    except (OSError, ValueError, KeyError):
        return None


def check_recipe(args):
    """Refuse a recipe other than the one the folder's runs were made with."""
    def show(recipe):
        return " ".join(recipe) or "(the defaults)"

    earlier = stored_recipe(args.output_dir)
    has_runs = os.path.isdir(args.output_dir) and any(
        os.path.exists(os.path.join(args.output_dir, name, "flags.txt"))
        for name in os.listdir(args.output_dir))
    if has_runs and earlier is not None and not same_recipe(earlier, args.recipe):
        raise BenchmarkError(f"{args.output_dir} holds runs of the recipe {show(earlier)}; "
                             f"this is {show(args.recipe)}: choose another --output_dir")
    for dataset in args.datasets:
        for seed in args.seeds:
            flags_txt = os.path.join(args.output_dir, f"{dataset}-s{seed}", "flags.txt")
            conflict = os.path.exists(flags_txt) and recipe_conflict(args.recipe, flags_txt)
            if conflict:
                raise BenchmarkError(f"{os.path.dirname(flags_txt)}: {conflict}: choose "
                                     f"another --output_dir")


def write_results(args, rows):
    """<output_dir>/toy_quality.json: the recipe, the settings, each finished run and the means."""
    from train_loops import files

    summaries = [summarize(d, [r for r in rows if r["dataset"] == d])
                 for d in args.datasets if any(r["dataset"] == d for r in rows)]
    settings = {k: v for k, v in vars(args).items() if k not in ("recipe", "report_only")}
    files.write_json(os.path.join(args.output_dir, "toy_quality.json"),
                     {"recipe": args.recipe, "settings": settings, "runs": rows,
                      "summaries": summaries})
    return summaries


def measure(args):
    """Train what is not finished, then sample, refine and tabulate; True if interrupted."""
    from train_loops.progress import Progress

    if args.report_only:
        if not os.path.isdir(args.output_dir):
            raise BenchmarkError(f"--report_only: no runs in {args.output_dir}")
        args.recipe = args.recipe or stored_recipe(args.output_dir) or []
    check_recipe(args)
    os.makedirs(args.output_dir, exist_ok=True)
    runs = [(d, s, os.path.join(args.output_dir, f"{d}-s{s}"))
            for d in args.datasets for s in args.seeds]
    progress = Progress(len(runs), "toy runs")
    rows, interrupted = [], False
    write_results(args, rows)  # the recipe, before a run starts (held to once a run has flags)
    for dataset, seed, run_dir in runs:
        state, trained = run_state(run_dir), False
        if state == "failed":
            raise BenchmarkError(f"{run_dir}: training failed ({read_summary(run_dir)['failure']}); "
                                 f"resume it by hand from its last good checkpoint, or remove it")
        if state != "finished" and not args.report_only:
            print(f"training {dataset} seed {seed} in {run_dir}"
                  + (" (resumed)" if state == "checkpointed" else ""), flush=True)
            if not train(train_command(dataset, seed, run_dir, state, args.recipe)):
                interrupted = True
                break
            state, trained = run_state(run_dir), True
        if state == "finished":
            rows.append(run_row(run_dir, dataset, seed, args))
            write_results(args, rows)
        progress.update(reused=not trained)  # the ETA: the pace of runs trained here
    summaries = write_results(args, rows)
    print(table(rows, summaries))
    return {"runs": rows, "summaries": summaries, "interrupted": interrupted}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = measure(args)
    except (BenchmarkError, cli.UsageError) as error:  # UsageError: a network that cannot load
        sys.exit(f"{PROGRAM}: {error}")
    if results["interrupted"]:
        sys.exit("interrupted: the same command resumes the run from its checkpoint")
    return results


if __name__ == "__main__":
    main()
