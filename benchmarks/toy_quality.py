"""WGAN-GP's toy quality over seeds: each seed trained, sampled fresh, refined, and averaged.

    python -m benchmarks.toy_quality                    # the toy preset, seeds 0-4, ring and grid
    python -m benchmarks.toy_quality --output_dir=runs/toy512 -- --hidden_units=512 \\
        --iterations=25000 --learning_rate_decay=linear --eval_every=1000 --checkpoint_every=1000

The measurement behind the README's toy numbers (docs/mode_collapse.md §2).
Flags after `--` go to every `python -m train_loops.wgan_gp` run; the
benchmark gives each its --dataset, --seed and --output_dir
(<output_dir>/<dataset>-s<seed>). A run that was interrupted resumes from its
checkpoints, and a finished one is not trained again: rerun the same command
to continue (a different recipe in the same --output_dir is refused). Two
invocations with different --datasets or --seeds may share a folder, one per
core.

Each finished run's final generator, and its weight average, are then sampled
fresh (--samples points from latent seed --sample_seed, so neither a training
seed nor the training evaluation's draw) and scored raw and refined by
--dot_steps of discriminator optimal transport with the run's critic
(`train_loops.sample --dot_steps`), as `train_loops.evaluate` scores them:
<run>/<generator>-dot<steps>.json. The table gives each run's final
evaluation and these fresh numbers, the means over seeds, and the project's
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

from benchmarks.train_step import names

DATASETS = ("8gaussians", "25gaussians")
# The goal (docs/mode_collapse.md §2): modes and raw high-quality per cent per data set,
# and the refined per cent on both; published WGAN-GP reaches 59.6 and 28.7 % raw (GDPP,
# Elfeki et al. 2019, Table 1), PacGAN4 95.9 and 93.6 % (Lin et al. 2018, Table 1).
GOAL = {"8gaussians": (8, 90.0), "25gaussians": (25, 85.0)}
GOAL_REFINED = 97.0
GENERATORS = ("generator", "generator_ema")  # the raw generator and its weight average
# Flags each run gets from the benchmark, not from the recipe.
OWN_FLAGS = ("dataset", "seed", "output_dir", "resume", "overwrite")


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


def as_flag(name, value):
    """A flag as written: --name=value, or --name / --noname for a boolean."""
    return {"true": f"--{name}", "false": f"--no{name}"}.get(value, f"--{name}={value}")


def recipe_conflict(flags, flags_txt):
    """The first flag of the recipe a run's flags.txt contradicts, as a message; None if none."""
    with open(flags_txt) as f:
        made_with = flag_items([line.strip() for line in f if line.strip()])
    for name, value in flag_items(flags).items():
        if name in made_with and not same_value(value, made_with[name]):
            return (f"{as_flag(name, value)}, where the run was made with "
                    f"{as_flag(name, made_with[name])}")
    return None


def run_state(run_dir):
    """"finished", "checkpointed" (resume it), "started" (no checkpoint: start over) or "new"."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            if not json.load(f)["interrupted"]:
                return "finished"
    except (OSError, ValueError, KeyError):
        pass
    checkpoints = os.path.join(run_dir, "checkpoints")
    if os.path.isdir(checkpoints) and any(n.endswith(".index") for n in os.listdir(checkpoints)):
        return "checkpointed"
    return "started" if os.path.exists(os.path.join(run_dir, "flags.txt")) else "new"


def train_command(dataset, seed, run_dir, state, recipe):
    resume = {"checkpointed": ["--resume"], "started": ["--overwrite"]}.get(state, [])
    return [sys.executable, "-m", "train_loops.wgan_gp", *recipe, f"--dataset={dataset}",
            f"--seed={seed}", f"--output_dir={run_dir}", *resume]


def default_interrupt():
    """In the child: Ctrl-C stops the run at the end of its iteration, as on a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def train(command):
    """Run one training command in the foreground; False if Ctrl-C stopped it."""
    process = subprocess.Popen(command, preexec_fn=default_interrupt)
    try:
        returncode = process.wait()
    except KeyboardInterrupt:  # the run got the Ctrl-C too: let it write its checkpoint
        process.wait()
        return False
    if returncode:
        raise RuntimeError(f"{' '.join(command)} failed with exit status {returncode}")
    return True


def fresh_numbers(run_dir, dataset, generator_name, dot_steps, samples, sample_seed):
    """The toy evaluation of fresh samples of a finished run's generator, raw (0 steps) or
    refined; read from <run>/<generator>-dot<steps>.json when made before, else made and
    written there. None when the run kept no such generator (no weight average)."""
    path = os.path.join(run_dir, f"{generator_name}-dot{dot_steps}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    keras_file = os.path.join(run_dir, f"{generator_name}.keras")
    if not os.path.exists(keras_file):
        return None
    import keras

    from models import random, transport
    from train_loops import evaluate, files

    with open(os.path.join(run_dir, "flags.txt")) as f:
        latent_distribution = flag_items([line.strip() for line in f if line.strip()]).get(
            "latent_distribution", "normal")
    generator = keras.saving.load_model(keras_file)
    fake, _ = random.generator_samples(generator, samples, latent_distribution, 500, sample_seed)
    numbers = {"generator": keras_file, "dataset": dataset, "num_fake": samples,
               "latent_distribution": latent_distribution, "sample_seed": sample_seed,
               "dot_steps": dot_steps}
    if dot_steps:
        critic = keras.saving.load_model(os.path.join(run_dir, "critic.keras"))
        lipschitz = transport.effective_lipschitz(critic, fake, seed=sample_seed)
        fake = transport.transport(critic, fake, lipschitz, dot_steps).numpy()
        numbers["lipschitz_estimate"] = round(float(lipschitz), 4)
    numbers.update(evaluate.toy_numbers(fake, dataset, seed=0))  # as train_loops.evaluate
    files.write_json(path, numbers)
    return numbers


def run_row(run_dir, dataset, seed, args):
    """One finished run's final evaluation, fresh numbers and times."""
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    row = {"dataset": dataset, "seed": seed, "iterations": summary["iterations"],
           "modes": summary["modes_captured"], "final": summary["high_quality_percent"],
           "final_average": summary.get("ema_high_quality_percent"),
           "wall_hours": round(summary["total_wall_time_seconds"] / 3600, 2),
           "cpu_hours": round(summary["total_cpu_time_seconds"] / 3600, 2),
           "commits": summary.get("commits", [])}
    for name, label in zip(GENERATORS, ("raw", "average")):
        for steps, suffix in ((0, ""), (args.dot_steps, "_refined")):
            numbers = fresh_numbers(run_dir, dataset, name, steps, args.samples,
                                    args.sample_seed)
            row[label + suffix] = None if numbers is None else numbers["high_quality_percent"]
            row[label + suffix + "_modes"] = None if numbers is None else numbers["modes_captured"]
    return row


def mean(values):
    values = [v for v in values if v is not None]
    return round(statistics.mean(values), 1) if values else None


def summarize(dataset, rows):
    """The means over a data set's runs and the goal's verdict on them."""
    modes, raw_goal = GOAL[dataset]
    means = {key: mean(r[key] for r in rows)
             for key in ("final", "final_average", "raw", "raw_refined", "average",
                         "average_refined")}
    all_modes = sum(r["raw_modes"] == modes for r in rows)
    refined = [v for v in (means["raw_refined"], means["average_refined"]) if v is not None]
    return {"dataset": dataset, "seeds": [r["seed"] for r in rows], "means": means,
            "raw_all_modes": f"{all_modes}/{len(rows)}",
            "raw_goal_met": bool(rows) and all_modes == len(rows) and means["raw"] >= raw_goal,
            "refined_goal_met": bool(refined) and max(refined) >= GOAL_REFINED}


def table(rows, summaries):
    def cell(value):
        return "-" if value is None else f"{value:g}"

    keys = ("final", "final_average", "raw", "raw_refined", "average", "average_refined")
    lines = ["| data | seed | iterations | modes (fresh raw) | final eval raw | average | fresh raw "
             "| refined | average | refined | wall h | CPU h |",
             "| --- " * 12 + "|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['seed']} | {r['iterations']} | {cell(r['raw_modes'])} "
                     + "".join(f"| {cell(r[k])} " for k in keys)
                     + f"| {r['wall_hours']:g} | {r['cpu_hours']:g} |")
    for s in summaries:
        lines.append(f"| {s['dataset']} | mean of {len(s['seeds'])} | | {s['raw_all_modes']} "
                     + "".join(f"| {cell(s['means'][k])} " for k in keys) + "| | |")
    lines.append("")
    for s in summaries:
        modes, raw_goal = GOAL[s["dataset"]]
        lines.append(f"{s['dataset']} ({len(s['seeds'])} seeds): {modes} modes in every run and "
                     f">= {raw_goal:g} % raw: {'met' if s['raw_goal_met'] else 'not met'}; "
                     f">= {GOAL_REFINED:g} % refined: "
                     f"{'met' if s['refined_goal_met'] else 'not met'}")
    return "\n".join(lines)


def seed_list(text):
    """An argparse type: comma-separated non-negative integers."""
    try:
        seeds = [int(s) for s in text.split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds")
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds are 0 or more, got {text!r}")
    return seeds


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.toy_quality",
                                description=__doc__.split("\n")[0],
                                epilog="Flags after -- go to every training run.")
    p.add_argument("--output_dir", default=os.path.join("runs", "benchmarks", "toy_quality"))
    p.add_argument("--datasets", type=names(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3, 4],
                   help="comma-separated training seeds")
    p.add_argument("--samples", type=int, default=2500, help="fresh samples per generator")
    p.add_argument("--sample_seed", type=int, default=7,
                   help="latent seed of the fresh samples (not one of the training seeds)")
    p.add_argument("--dot_steps", type=int, default=100,
                   help="transport steps of the refined samples (Tanaka's 2-D demo: 100)")
    p.add_argument("--report_only", action="store_true",
                   help="train nothing: tabulate the runs that have finished")
    own, recipe = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    args = p.parse_args(own)
    if args.samples < 1 or args.dot_steps < 1 or not args.seeds:
        p.error("--samples and --dot_steps must be positive and --seeds not empty")
    try:
        given = flag_items(recipe)
    except ValueError as error:
        p.error(f"after --: {error}")
    taken = sorted(set(given) & set(OWN_FLAGS))
    if taken:
        p.error(f"after --: --{taken[0]} is the benchmark's to set (it sets --dataset, --seed, "
                f"--output_dir and --resume per run)")
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
    if earlier is not None and earlier != args.recipe:
        sys.exit(f"python -m benchmarks.toy_quality: {args.output_dir} holds runs of the recipe "
                 f"{show(earlier)}; this is {show(args.recipe)}: choose another --output_dir")
    for dataset in args.datasets:
        for seed in args.seeds:
            flags_txt = os.path.join(args.output_dir, f"{dataset}-s{seed}", "flags.txt")
            conflict = os.path.exists(flags_txt) and recipe_conflict(args.recipe, flags_txt)
            if conflict:
                sys.exit(f"python -m benchmarks.toy_quality: {os.path.dirname(flags_txt)}: "
                         f"{conflict}: choose another --output_dir")


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


def main(argv=None):
    from train_loops.progress import Progress

    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.report_only and not args.recipe:
        args.recipe = stored_recipe(args.output_dir) or []
    check_recipe(args)
    os.makedirs(args.output_dir, exist_ok=True)
    runs = [(d, s, os.path.join(args.output_dir, f"{d}-s{s}"))
            for d in args.datasets for s in args.seeds]
    progress = Progress(len(runs), "toy runs")
    rows, interrupted = [], False
    write_results(args, rows)  # the recipe, before the first run is started
    for dataset, seed, run_dir in runs:
        state, trained = run_state(run_dir), False
        if state != "finished" and not args.report_only:
            print(f"training {dataset} seed {seed} in {run_dir}"
                  + (" (resumed)" if state == "checkpointed" else ""), flush=True)
            try:
                finished = train(train_command(dataset, seed, run_dir, state, args.recipe))
            except RuntimeError as error:  # the run printed why; one line here
                sys.exit(f"python -m benchmarks.toy_quality: {error}")
            if not finished:
                interrupted = True
                break
            state, trained = run_state(run_dir), True
        if state == "finished":
            rows.append(run_row(run_dir, dataset, seed, args))
            write_results(args, rows)
        progress.update(reused=not trained)  # the ETA: the pace of runs trained here
    summaries = write_results(args, rows)
    print(table(rows, summaries))
    if interrupted:
        sys.exit("interrupted: the same command resumes the run from its checkpoint")
    return {"runs": rows, "summaries": summaries}


if __name__ == "__main__":
    main()
