"""Wall-clock seconds until a recipe reaches a fixed quality: the speed a user feels.

    python -m benchmarks.time_to_quality                      # every case (~30-60 min, 2 cores)
    python -m benchmarks.time_to_quality --cases=toy_wgan_gp --repeats=1   # ~1 min

Each case is a training command of the project, run as a user runs it (its
preset, its defaults) with an evaluation every --eval_every iterations,
watched while it runs. At the first evaluation that meets the target the run
is stopped (SIGINT: the runner finishes the iteration and exits) and the
time is read from its CSV:

  toy_gan, toy_wgan, toy_wgan_gp   the toy preset on 8gaussians: --modes
                        (default all 8) modes captured and at least --high_quality per
                        cent of the samples within 3 standard deviations of
                        a mode (evaluation.csv)
  images_wgan_gp        the WGAN-GP authors' MNIST preset on Fashion-MNIST:
                        classifier-FID at most --fid (image_metrics.csv;
                        needs --classifier, made by train_loops.classifier)
  images_sngan          `gan --preset=sngan` on Fashion-MNIST at 32x32, same target

Image cases run once per --precisions entry (float32, mixed_bfloat16).
Reported per case and precision: the iteration the target was met at, the
training seconds to it (evaluations excluded: image_metrics.csv's `seconds`
minus every `eval_seconds` so far; the toy evaluation, the mode coverage of
2500 points, takes milliseconds and its `seconds` is taken as it is) and the
wall seconds with evaluations; no sample pictures are drawn (they would be
counted as training time). The median over --repeats runs with seeds 0, 1,
... A run that ends at --max_iterations without meeting the target reports
null and its best value.

Run it on an otherwise idle machine: it measures time. JSON goes to
--output, a table to stdout.
"""

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOY_CASES = ("toy_gan", "toy_wgan", "toy_wgan_gp")
IMAGE_CASES = ("images_wgan_gp", "images_sngan")
CASES = TOY_CASES + IMAGE_CASES


def command(case, precision, seed, output_dir, args):
    """The training command line of one case."""
    if case in TOY_CASES:
        algorithm = case[len("toy_"):]
        flags = ["--dataset=8gaussians", f"--eval_every={args.toy_eval_every}",
                 f"--iterations={args.toy_max_iterations}", "--mixed_precision=none",
                 "--sample_every=1000000", "--ema_decay=0"]  # the target is the generator's
    else:
        algorithm = "wgan_gp" if case == "images_wgan_gp" else "gan"
        preset = "--preset=wgan_gp_mnist" if case == "images_wgan_gp" else "--preset=sngan"
        flags = [preset, "--dataset=fashion_mnist", f"--eval_every={args.image_eval_every}",
                 f"--iterations={args.image_max_iterations}", f"--classifier={args.classifier}",
                 "--sample_every=1000000", f"--mixed_precision={precision}"]
        if case == "images_sngan":
            flags.append("--image_size=32")
        if args.data_dir:
            flags.append(f"--data_dir={args.data_dir}")
    return [sys.executable, "-m", f"train_loops.{algorithm}", *flags, f"--seed={seed}",
            f"--output_dir={output_dir}", "--checkpoint_every=1000000", "--overwrite"]


def rows(path):
    """The CSV's whole rows so far (a row still being written is left for the next look)."""
    try:
        with open(path, newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        return []
    complete = text[:text.rfind("\n") + 1]
    return list(csv.DictReader(complete.splitlines()))


def reached(case, row, args):
    """(met?, the row's quality value) for one evaluation row."""
    if case in TOY_CASES:
        quality = float(row["high_quality_percent"])
        return int(row["modes_captured"]) >= args.modes and quality >= args.high_quality, quality
    fid = float(row["fid"])
    return fid <= args.fid, fid


def default_interrupt():
    """In a child before it starts: Ctrl-C (SIGINT) does what it does by default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def time_one(case, precision, seed, args):
    """Run one case until its target or --max_iterations; the time to the target."""
    name = "evaluation.csv" if case in TOY_CASES else "image_metrics.csv"
    result, values, done = None, [], False
    with tempfile.TemporaryDirectory(prefix="time_to_quality-") as tmp:
        output_dir = os.path.join(tmp, "run")
        argv = command(case, precision, seed, output_dir, args)
        started = time.perf_counter()
        with open(os.path.join(tmp, "log"), "w+") as log:
            # SIGINT back to its default in the run: a shell's background job (and a
            # pytest-xdist worker) ignores it, and the stop below relies on it.
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                       preexec_fn=default_interrupt)
            try:
                seen, eval_seconds = 0, 0.0
                while result is None and not done:
                    done = process.poll() is not None  # before reading: no row is missed
                    table = rows(os.path.join(output_dir, name))
                    for row in table[seen:]:
                        eval_seconds += float(row.get("eval_seconds") or 0.0)
                        met, value = reached(case, row, args)
                        values.append(value)
                        if met:
                            seconds = float(row["seconds"])
                            result = {"iteration": int(row["iteration"]),
                                      "train_seconds": seconds - eval_seconds,
                                      "wall_seconds": seconds, "value": value}
                            break
                    seen = len(table)
                    if result is None and not done:
                        time.sleep(0.5)
            finally:
                if process.poll() is None:  # met, or an error here: stop the run
                    process.send_signal(signal.SIGINT)  # the runner ends the iteration and exits
                    try:
                        process.wait(timeout=120)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            if result is None and process.returncode != 0:
                log.seek(0)
                raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n"
                                   f"{log.read()[-2000:]}")
    best = (max(values) if case in TOY_CASES else min(values)) if values else None
    return {"seed": seed, "reached": result is not None, "stopped_early": not done,
            **(result or {}), "best_value": best, "evaluations": len(values),
            "process_seconds": time.perf_counter() - started}


def summarize(runs):
    """Median iteration and seconds over the runs that reached the target."""
    hits = [r for r in runs if r["reached"]]
    out = {"runs": runs, "reached": f"{len(hits)}/{len(runs)}"}
    for key in ("iteration", "train_seconds", "wall_seconds"):
        out[key] = statistics.median(r[key] for r in hits) if hits else None
    return out


def table(results):
    lines = [f"{'case':16s} {'precision':15s} {'target':14s} {'reached':>7s} {'iteration':>9s} "
             f"{'train s':>8s} {'wall s':>8s}"]
    for entry in results["cases"]:
        fmt = (lambda v: f"{v:.0f}" if v is not None else "-")
        lines.append(f"{entry['case']:16s} {entry['precision']:15s} {entry['target']:14s} "
                     f"{entry['reached']:>7s} {fmt(entry['iteration']):>9s} "
                     f"{fmt(entry['train_seconds']):>8s} {fmt(entry['wall_seconds']):>8s}")
    return "\n".join(lines)


def parse_args(argv):
    from benchmarks.train_step import names

    p = argparse.ArgumentParser(prog="python -m benchmarks.time_to_quality",
                                description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=names(CASES), default=list(CASES))
    p.add_argument("--precisions", type=names(("none", "mixed_bfloat16")),
                   default=["none", "mixed_bfloat16"],
                   help="--mixed_precision values for the image cases (toy runs use float32)")
    p.add_argument("--repeats", type=int, default=3, help="runs per case, seeds 0, 1, ...")
    p.add_argument("--modes", type=int, default=8, help="toy target: modes captured")
    p.add_argument("--high_quality", type=float, default=25.0,
                   help="toy target: per cent of high-quality samples, with --modes modes")
    p.add_argument("--fid", type=float, default=40.0, help="image target: classifier-FID")
    p.add_argument("--toy_eval_every", type=int, default=250)
    p.add_argument("--toy_max_iterations", type=int, default=20000)
    p.add_argument("--image_eval_every", type=int, default=100)
    p.add_argument("--image_max_iterations", type=int, default=3000)
    p.add_argument("--classifier", default=os.path.join("classifiers", "fashion_mnist.keras"))
    p.add_argument("--data_dir", default=None)
    p.add_argument("--output", default=os.path.join("runs", "benchmarks",
                                                    "time_to_quality.json"))
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be positive")
    if any(c in IMAGE_CASES for c in args.cases) and not os.path.isfile(args.classifier):
        p.error(f"--classifier={args.classifier}: no such file (the image cases need a "
                f"classifier: python -m train_loops.classifier --dataset=fashion_mnist)")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = {"settings": vars(args), "load_average": list(os.getloadavg()), "cases": []}
    if os.path.dirname(args.output):
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
    for case in args.cases:
        precisions = ["none"] if case in TOY_CASES else args.precisions
        target = (f"{args.modes}/8, HQ>={args.high_quality:g}%" if case in TOY_CASES
                  else f"FID<={args.fid:g}")
        for precision in precisions:
            runs = []
            for seed in range(args.repeats):
                runs.append(time_one(case, precision, seed, args))
                r = runs[-1]
                print(f"  {case} {precision} seed {seed}: "
                      + (f"iteration {r['iteration']}, {r['train_seconds']:.1f} s training"
                         if r["reached"] else f"not reached (best {r['best_value']})"),
                      flush=True)
            results["cases"].append({"case": case, "target": target,
                                     "precision": "float32" if precision == "none" else precision,
                                     **summarize(runs)})
            with open(args.output, "w") as fh:
                json.dump(results, fh, indent=2)
    print()
    print(table(results))
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
