"""The benchmark harness: its FLOP count against hand-computed closed forms, and its JSON.

No timing is asserted: the machines are shared and their speed varies.
"""

import json
import os
import tempfile

import tensorflow as tf

from benchmarks import flops


class FlopCountTest(tf.test.TestCase):

    def test_toy_mlp_closed_form(self):
        from models.networks import toy_critic, toy_generator

        # Width h = 8, batch b = 4. Generator 2 -> 8 -> 8 -> 8 -> 2:
        # multiply-adds per sample 2*8 + 8*8 + 8*8 + 8*2 = 160, so F_G = 2*160*4.
        # Critic 2 -> 8 -> 8 -> 8 -> 1: 16 + 64 + 64 + 8 = 152, so F_D = 2*152*4.
        generator, critic = toy_generator(hidden_units=8), toy_critic(hidden_units=8)
        self.assertEqual(flops.forward_flops(generator, 4), 1280)
        self.assertEqual(flops.forward_flops(critic, 4), 1216)
        # WGAN-GP, n_critic 5: 5 * (F_G + 12 F_D) + 3 F_G + 2 F_D
        #   = 5 * (1280 + 14592) + 3840 + 2432 = 85632.
        count = flops.model_iteration_flops("wgan_gp", generator, critic, 4, 5)
        self.assertEqual(count["per_generator_iteration"], 85632)
        # WGAN, n_critic 5: 5 * (1280 + 6 * 1216) + 6272 = 49152.
        self.assertEqual(flops.iteration_flops("wgan", 1280, 1216, 5), 49152)
        # GAN, k = 1: (1280 + 7296) + 6272 = 14848.
        self.assertEqual(flops.iteration_flops("gan", 1280, 1216, 1), 14848)

    def test_general_toy_formula(self):
        # Toy MLPs of width h on batch b: F_G = 2b(2h^2 + 4h), F_D = 2b(2h^2 + 3h).
        from models.networks import toy_critic, toy_generator

        for h, b in ((16, 3), (128, 256)):
            self.assertEqual(flops.forward_flops(toy_generator(hidden_units=h), b),
                             2 * b * (2 * h * h + 4 * h))
            self.assertEqual(flops.forward_flops(toy_critic(hidden_units=h), b),
                             2 * b * (2 * h * h + 3 * h))

    def test_convolutions_closed_form(self):
        from models.image_networks import wgan_gp_mnist_critic, wgan_gp_mnist_generator

        # Critic, dim 2, per sample: 5x5 convs 28 -> 14 (1 -> 2 channels),
        # 14 -> 7 (2 -> 4), 7 -> 4 (4 -> 8), then dense 4*4*8 -> 1:
        # 2*25*1*2*14*14 + 2*25*2*4*7*7 + 2*25*4*8*4*4 + 2*128
        #   = 19600 + 19600 + 25600 + 256 = 65056.
        self.assertEqual(flops.forward_flops(wgan_gp_mnist_critic(dim=2), 3), 3 * 65056)
        # Generator, dim 2, latent 128, per sample: dense 128 -> 4*4*8
        # (2*128*128 = 32768); transposed 5x5 convs count input pixels:
        # 4x4x8 -> 8x8x4: 2*25*8*4*16 = 25600; crop to 7x7;
        # 7x7x4 -> 14x14x2: 2*25*4*2*49 = 19600; 14x14x2 -> 28x28x1: 2*25*2*1*196 = 19600.
        self.assertEqual(flops.forward_flops(wgan_gp_mnist_generator(128, dim=2), 1),
                         32768 + 25600 + 19600 + 19600)

    def test_unknown_algorithm(self):
        with self.assertRaises(ValueError):
            flops.iteration_flops("vae", 1, 1, 1)


class HarnessTest(tf.test.TestCase):

    def test_json_structure_with_tiny_repeats(self):
        from benchmarks import train_step

        with tempfile.TemporaryDirectory() as tmp:
            output = os.path.join(tmp, "out", "bench.json")
            train_step.main([
                "--networks=toy128", "--models=gan",
                "--paths=default,no_xla,eager,reference,reference_fused,ips,spe",
                "--iterations=2", "--repeats=2", "--warmup=1", "--eager_divisor=2",
                "--fused_iterations=2", "--steps_per_execution=2", "--iterations_per_step=2",
                "--no_rates",
                f"--output={output}"])
            with open(output) as f:
                results = json.load(f)
        self.assertEqual({"environment", "settings", "cases", "rates", "wall_seconds",
                          "steps_per_execution_logging"}, set(results))
        self.assertEqual([(c["network"], c["model"]) for c in results["cases"]],
                         [("toy128", "gan")])
        for case in results["cases"]:
            self.assertEqual(case["batch_size"], 256)
            self.assertEqual(case["n_critic"], 1)
            self.assertTrue(case["default_jit_compile"])  # the runner's auto: XLA on toy data
            self.assertEqual(set(case["paths"]), {"default", "no_xla", "eager", "reference",
                                                  "reference_fused", "ips2", "spe2"})
            f_g, f_d = case["flops"]["generator_forward"], case["flops"]["critic_forward"]
            self.assertEqual(case["flops"]["per_generator_iteration"],
                             flops.iteration_flops(case["model"], f_g, f_d, case["n_critic"]))
            for name, path in case["paths"].items():
                self.assertLen(path["block_seconds"], 2)
                self.assertGreater(path["iterations_per_second"], 0)
                self.assertLessEqual(path["min"], path["iterations_per_second"])
                self.assertLessEqual(path["iterations_per_second"], path["max"])
                self.assertGreater(path["cpu_ms_per_iteration"], 0)
                self.assertAllClose(
                    path["gflops_per_second"],
                    path["iterations_per_second"]
                    * case["flops"]["per_generator_iteration"] / 1e9)
            self.assertFalse(case["paths"]["no_xla"]["jit_compile"])
            self.assertTrue(case["paths"]["eager"]["run_eagerly"])
            self.assertEqual(case["paths"]["eager"]["iterations_per_block"], 1)
            self.assertEqual(case["paths"]["reference_fused"]["iterations_per_call"], 2)
            self.assertEqual(case["paths"]["spe2"]["steps_per_execution"], 2)
            self.assertEqual(case["paths"]["ips2"]["iterations_per_step"], 2)
            # The runner's auto on toy data: 10 iterations per step, so a block
            # of 2 is rounded up to one whole step of 10.
            self.assertEqual(case["paths"]["default"]["iterations_per_block"], 10)
        logging = results["steps_per_execution_logging"]
        self.assertEqual(logging["generator_optimizer_iterations"],
                         logging["generator_iterations"])
        # Keras calls callbacks once per execution: the log has one row per k iterations.
        self.assertFalse(logging["compatible"])
        self.assertLess(logging["rows_logged"], logging["generator_iterations"])

    def test_each_path_in_each_precision(self):
        from benchmarks import train_step

        with tempfile.TemporaryDirectory() as tmp:
            output = os.path.join(tmp, "bench.json")
            train_step.main(["--networks=toy128", "--models=gan", "--paths=default,jax",
                             "--precisions=float32,mixed_bfloat16", "--iterations=2",
                             "--repeats=1", "--warmup=1", "--fused_iterations=2", "--no_rates",
                             f"--output={output}"])
            with open(output) as f:
                case = json.load(f)["cases"][0]
        paths = case["paths"]
        self.assertEqual({name: path.get("dtype_policy") for name, path in paths.items()},
                         {"default": "float32", "jax": "float32",
                          "default_bf16": "mixed_bfloat16"})
        self.assertEqual(paths["jax"]["iterations_per_call"], 2)
        self.assertEqual(paths["jax"]["dtype_policy"], "float32")
        self.assertLess(case["jax_check"]["critic_gradients"], 1e-5)

    def test_rates_in_bfloat16(self):
        from benchmarks import train_step

        for rate in (train_step.matmul_rate(64, 32, 16, jit=False, chain=2, repeats=1,
                                            min_seconds=0.0, dtype="bfloat16"),
                     train_step.conv_rate(2, 8, 4, 8, repeats=1, min_seconds=0.0,
                                          dtype="bfloat16")):
            self.assertEqual(rate["dtype"], "bfloat16")
            self.assertGreater(rate["flops_per_second"], 0)
        # 2 * m * n * (k + (chain - 1) * n) for [64, 32] x [32, 16] then x [16, 16].
        self.assertEqual(train_step.matmul_rate(64, 32, 16, jit=False, chain=2, repeats=1,
                                                min_seconds=0.0)["flops_per_call"],
                         2 * 64 * 16 * (32 + 16))

    def test_jax_step_computes_the_keras_losses_and_gradients(self):
        from benchmarks import jax_step, train_step

        for name in ("gan", "wgan", "wgan_gp"):
            model, _ = train_step.build("toy128", name)
            check = jax_step.check_against_keras(model, batch_size=32)
            self.assertEqual(check["algorithm"], name)
            for key in ("critic_loss", "generator_loss", "critic_gradients",
                        "generator_gradients"):
                self.assertLess(check[key], 1e-5, msg=f"{name} {key}")

    def test_hand_written_optimizers_are_the_keras_ones(self):
        import keras
        import numpy as np

        from benchmarks import jax_step, train_step
        from models.wgan import rmsprop

        rng = np.random.default_rng(0)
        start = rng.normal(size=(3, 4)).astype("float32")
        # Gradients of 1e-4 too, where the place of epsilon (in or out of the root) shows.
        for scale in (1.0, 1e-4):
            grads = [scale * rng.normal(size=(3, 4)).astype("float32") for _ in range(3)]
            for make in (lambda: keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.9),
                         lambda: keras.optimizers.RMSprop(5e-3),
                         lambda: rmsprop(5e-3, "pytorch"), lambda: rmsprop(5e-3, "tf1")):
                keras_optimizer = make()
                variable = keras.Variable(start)
                init, update = jax_step.optimizer(keras_optimizer)
                params = [start]
                slots = init(params)
                twin_variable = tf.Variable(start)
                twin = train_step.reference_optimizer(keras_optimizer, [twin_variable])
                for g in grads:
                    keras_optimizer.apply([g], [variable])
                    params, slots = update(params, [g], slots)
                    twin.apply([tf.constant(g)])
                # It moved, by more than 10x the comparison's atol (TensorFlow
                # 1's RMSprop, starting at 1, moves 1e-4 gradients by ~2e-6).
                self.assertGreater(np.abs(variable.numpy() - start).max(), 1e-6)
                self.assertAllClose(params[0], variable.numpy(), rtol=1e-6, atol=1e-7)
                self.assertAllClose(twin_variable.numpy(), variable.numpy(), rtol=1e-6,
                                    atol=1e-7)

    def test_reference_step_updates_both_networks(self):
        # The hand-written WGAN-GP step runs and moves both networks' weights.
        from benchmarks import train_step

        import train_loops.wgan_gp  # noqa: F401  (defines the command's flags)

        model, f = train_step.build("toy128", "wgan_gp")
        # Every kernel of both networks (a critic's output bias gets no gradient
        # from a Wasserstein loss: it cancels between the real and fake means).
        kernels = [v for v in model.generator.trainable_variables
                   + model.critic.trainable_variables if "kernel" in v.path]
        before = [v.numpy().copy() for v in kernels]
        step = tf.function(train_step.reference_step(model, f.batch_size))
        d_loss, g_loss = step(tf.constant(0, tf.int64))
        self.assertTrue(bool(tf.math.is_finite(d_loss)) and bool(tf.math.is_finite(g_loss)))
        self.assertLen(kernels, 8)
        self.assertTrue(all((b != v.numpy()).any() for b, v in zip(before, kernels)))


class TimeToQualityTest(tf.test.TestCase):

    def test_rows_leave_a_row_being_written(self):
        from benchmarks import time_to_quality

        path = os.path.join(self.get_temp_dir(), "evaluation.csv")
        with open(path, "w") as f:
            f.write("iteration,seconds,modes_captured\n10,1.5,3\n20,2.")
        self.assertEqual(time_to_quality.rows(path),
                         [{"iteration": "10", "seconds": "1.5", "modes_captured": "3"}])
        self.assertEqual(time_to_quality.rows(path + ".absent"), [])

    def test_targets(self):
        from benchmarks import time_to_quality

        args = time_to_quality.parse_args(["--cases=toy_gan", "--high_quality=30", "--fid=40"])
        row = {"modes_captured": "8", "high_quality_percent": "31.0"}
        self.assertEqual(time_to_quality.reached("toy_gan", row, args), (True, 31.0))
        self.assertFalse(time_to_quality.reached("toy_gan", dict(row, modes_captured="7"),
                                                 args)[0])
        self.assertFalse(time_to_quality.reached(
            "toy_gan", dict(row, high_quality_percent="29.9"), args)[0])
        self.assertEqual(time_to_quality.reached("images_sngan", {"fid": "39.5"}, args),
                         (True, 39.5))
        self.assertFalse(time_to_quality.reached("images_sngan", {"fid": "40.5"}, args)[0])

    # A stand-in for a training command: writes four evaluation rows, then
    # trains on (sleeps) until it is stopped. No TensorFlow: the runner's own
    # evaluation.csv and its SIGINT handling are tested with the runner.
    FAKE_RUN = """
import os, sys, time
path = os.path.join(sys.argv[1], "evaluation.csv")
os.makedirs(sys.argv[1])
with open(path, "w") as f:
    f.write("iteration,seconds,modes_captured,high_quality_percent\\n")
for i, (modes, hq) in enumerate([(5, 10.0), (8, 20.0), (8, 30.0), (8, 40.0)], 1):
    with open(path, "a") as f:
        f.write(f"{10 * i},{i}.5,{modes},{hq}\\n")
time.sleep(float(sys.argv[2]))
"""

    def time_fake_run(self, sleep, *flags):
        import sys
        from unittest import mock

        from benchmarks import time_to_quality

        args = time_to_quality.parse_args(["--cases=toy_gan", *flags])
        fake = (lambda case, precision, seed, output_dir, args:
                [sys.executable, "-c", self.FAKE_RUN, output_dir, str(sleep)])
        with mock.patch.object(time_to_quality, "command", fake):
            return time_to_quality.time_one("toy_gan", "none", 0, args)

    def test_a_run_stops_at_the_first_evaluation_that_meets_the_target(self):
        run = self.time_fake_run(600, "--high_quality=25")
        self.assertTrue(run["reached"])
        self.assertTrue(run["stopped_early"])  # it would have slept 600 s
        self.assertEqual((run["iteration"], run["train_seconds"], run["value"]), (30, 3.5, 30.0))
        self.assertEqual(run["evaluations"], 3)  # the 40 % row after it is not counted

    def test_a_run_that_never_meets_the_target_reports_its_best(self):
        run = self.time_fake_run(0, "--high_quality=50")
        self.assertFalse(run["reached"])
        self.assertFalse(run["stopped_early"])
        self.assertEqual((run["evaluations"], run["best_value"]), (4, 40.0))
        self.assertNotIn("iteration", run)

    def test_summary_counts_the_runs_that_met_the_target(self):
        from benchmarks import time_to_quality

        runs = [{"reached": True, "iteration": 500, "train_seconds": 10.0, "wall_seconds": 12.0},
                {"reached": False, "best_value": 20.0},
                {"reached": True, "iteration": 1500, "train_seconds": 30.0,
                 "wall_seconds": 33.0}]
        summary = time_to_quality.summarize(runs)
        self.assertEqual(summary["reached"], "2/3")
        self.assertEqual((summary["iteration"], summary["train_seconds"],
                          summary["wall_seconds"]), (1000, 20.0, 22.5))
        self.assertIsNone(time_to_quality.summarize(runs[1:2])["iteration"])


if __name__ == "__main__":
    tf.test.main()


class ToyQualityTest(tf.test.TestCase):
    """benchmarks.toy_quality: its recipe checks, resumption, fresh numbers and the goal's verdict."""

    RECIPE = ["--hidden_units=512", "--learning_rate=1e-4", "--nodeterministic"]

    def make_run(self, root, dataset, seed, hq=(93.0, 96.0, 94.0, 97.5), modes=8,
                 interrupted=False):
        """A finished (or interrupted) run's files as the runner and the benchmark write them."""
        run_dir = os.path.join(root, f"{dataset}-s{seed}")
        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, "flags.txt"), "w") as f:
            f.write("--hidden_units=512\n--learning_rate=0.0001\n--nodeterministic\n"
                    "--latent_distribution=normal\n")
        summary = {"interrupted": interrupted, "iterations": 25000, "modes_captured": modes,
                   "high_quality_percent": 92.0, "ema_high_quality_percent": 95.0,
                   "total_wall_time_seconds": 5400.0, "total_cpu_time_seconds": 3600.0,
                   "commits": ["abc1234"]}
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump(summary, f)
        names = ("generator-dot0", "generator-dot100", "generator_ema-dot0",
                 "generator_ema-dot100")
        for name, value in zip(names, hq):
            with open(os.path.join(run_dir, name + ".json"), "w") as f:
                json.dump({"high_quality_percent": value, "modes_captured": modes,
                           "between_modes_percent": 100.0 - value}, f)  # the rest between
        return run_dir

    def test_recipe_flags_compare_by_meaning(self):
        from benchmarks import toy_quality

        self.assertEqual(toy_quality.flag_items(["--a=1", "--flag", "--noother"]),
                         {"a": "1", "flag": "true", "other": "false"})
        flags_txt = os.path.join(self.make_run(self.get_temp_dir(), "8gaussians", 0), "flags.txt")
        self.assertIsNone(toy_quality.recipe_conflict(self.RECIPE, flags_txt))  # 1e-4 == 0.0001
        self.assertEqual(toy_quality.recipe_conflict(["--hidden_units=128"], flags_txt),
                         "--hidden_units=128, where the run was made with --hidden_units=512")
        self.assertIn("made with --nodeterministic",
                      toy_quality.recipe_conflict(["--deterministic"], flags_txt))
        # flags.txt holds every flag with a value: one it lacks was not set.
        self.assertEqual(toy_quality.recipe_conflict(["--critic_learning_rate=1e-4"], flags_txt),
                         "--critic_learning_rate=1e-4, where the run was made without "
                         "--critic_learning_rate")
        # Recipes compare by meaning, in any order.
        self.assertTrue(toy_quality.same_recipe(["--a=1e-4", "--b"], ["--b", "--a=0.0001"]))
        self.assertFalse(toy_quality.same_recipe(["--a=1e-4"], ["--a=1e-4", "--b"]))
        self.assertFalse(toy_quality.same_recipe(["--b"], ["--nob"]))

    def test_the_benchmark_sets_each_runs_own_flags(self):
        from benchmarks import toy_quality

        args = toy_quality.parse_args(["--seeds=3,4", "--", *self.RECIPE])
        self.assertEqual((args.seeds, args.recipe), ([3, 4], self.RECIPE))
        for bad in (["--", "--seed=3"], ["--", "--resume"], ["--seeds=0,0"], ["--seeds=a"],
                    ["--seeds=-1"], ["--samples=0"], ["--", "hidden_units=3"]):
            with self.assertRaises(SystemExit, msg=bad):
                toy_quality.parse_args(bad)
        command = toy_quality.train_command("8gaussians", 3, "out/8gaussians-s3", "checkpointed",
                                            self.RECIPE)
        self.assertEqual(command[1:], ["-m", "train_loops.wgan_gp", *self.RECIPE,
                                       "--dataset=8gaussians", "--seed=3",
                                       "--output_dir=out/8gaussians-s3", "--resume"])
        self.assertEqual(toy_quality.train_command("8gaussians", 3, "o", "started", [])[-1],
                         "--overwrite")  # flags but no checkpoint: start again

    def test_run_states(self):
        from benchmarks import toy_quality

        root = self.get_temp_dir()
        self.assertEqual(toy_quality.run_state(os.path.join(root, "none")), "new")
        finished = self.make_run(root, "8gaussians", 0)
        self.assertEqual(toy_quality.run_state(finished), "finished")
        stopped = self.make_run(root, "8gaussians", 1, interrupted=True)
        self.assertEqual(toy_quality.run_state(stopped), "started")
        os.makedirs(os.path.join(stopped, "checkpoints"))
        open(os.path.join(stopped, "checkpoints", "ckpt-3.index"), "w").close()
        self.assertEqual(toy_quality.run_state(stopped), "checkpointed")
        # Stopped on non-finite values: the runner's summary has a failure, and the
        # benchmark says so instead of tabulating a run without numbers.
        with open(os.path.join(stopped, "summary.json"), "w") as f:
            json.dump({"interrupted": False, "failure": "non-finite d_loss at iteration 9"}, f)
        self.assertEqual(toy_quality.run_state(stopped), "failed")
        with self.assertRaisesRegex(SystemExit, "training failed .non-finite d_loss"):
            toy_quality.main([f"--output_dir={root}", "--datasets=8gaussians", "--seeds=1",
                              "--", "--hidden_units=512"])
        with self.assertRaisesRegex(SystemExit, "no runs in"):
            toy_quality.main([f"--output_dir={os.path.join(root, 'absent')}", "--report_only"])

    def test_means_and_the_goals_verdict(self):
        from benchmarks import toy_quality

        def row(raw, modes=8, raw_refined=96.0, average_refined=97.0):
            return {"seed": 0, "raw": raw, "raw_modes": modes, "raw_between": None,
                    "raw_refined": raw_refined,
                    "average_refined": average_refined, "final": raw, "final_average": None,
                    "average": None}

        # Raw 92 and 88: mean 90, the ring's bar; the average refined: mean 97.0, met.
        summary = toy_quality.summarize("8gaussians", [row(92.0), row(88.0)])
        self.assertEqual(summary["means"]["raw"], 90.0)
        self.assertIsNone(summary["means"]["average"])
        self.assertTrue(summary["raw_goal_met"])
        self.assertTrue(summary["refined_goal_met"])
        # A run missing a mode fails the raw goal whatever the mean.
        summary = toy_quality.summarize("8gaussians", [row(99.0), row(99.0, modes=7)])
        self.assertEqual(summary["raw_all_modes"], "1/2")
        self.assertFalse(summary["raw_goal_met"])
        # The grid's bar is 85 % with 25 modes; 96.9 % refined falls short of 97.
        summary = toy_quality.summarize("25gaussians",
                                        [row(85.0, 25, 96.9, 96.8), row(85.0, 25, 96.9, 96.0)])
        self.assertTrue(summary["raw_goal_met"])
        self.assertFalse(summary["refined_goal_met"])

    def test_fresh_numbers_of_a_generator_on_one_mode(self):
        import keras

        from benchmarks import toy_quality
        from data import toy

        # A generator that puts every point on the first mode's centre: one mode, all
        # of the samples nearest to it, all of them high quality.
        run_dir = self.make_run(self.get_temp_dir(), "8gaussians", 0)
        centre = toy.mode_centers("8gaussians")[0]
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
            2, kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(centre))])
        generator.save(os.path.join(run_dir, "generator.keras"))
        for name in ("generator-dot0.json", "generator_ema-dot0.json"):
            os.remove(os.path.join(run_dir, name))
        numbers = toy_quality.fresh_numbers(run_dir, "8gaussians", "generator", 0, 100, 7)
        self.assertEqual((numbers["modes_captured"], numbers["high_quality_percent"]), (1, 100.0))
        self.assertEqual(numbers["shares"], [1.0] + [0.0] * 7)
        self.assertIsNone(toy_quality.fresh_numbers(run_dir, "8gaussians", "generator_ema", 0,
                                                    100, 7))  # no weight average, no row
        # Made once: the file is read back, not sampled again; another draw has a file
        # of its own.
        path = os.path.join(run_dir, "generator-dot0-n100-z7.json")
        with open(path, "w") as f:
            json.dump(dict(numbers, read_back=True), f)
        self.assertTrue(toy_quality.fresh_numbers(run_dir, "8gaussians", "generator", 0, 100,
                                                  7)["read_back"])
        self.assertEqual(toy_quality.fresh_path(run_dir, "generator", 0, 2500, 7),
                         os.path.join(run_dir, "generator-dot0.json"))  # the default draw

    def test_trains_what_is_not_finished_once_and_tabulates_the_means(self):
        from unittest import mock

        from benchmarks import toy_quality

        root = self.get_temp_dir()
        self.make_run(root, "8gaussians", 0, hq=(92.0, 96.0, 94.0, 98.0))
        commands = []

        def fake_train(command):  # a training run finishes seed 1
            commands.append(command)
            self.make_run(root, "8gaussians", 1, hq=(90.0, 96.0, 92.0, 96.0))
            return True

        argv = [f"--output_dir={root}", "--datasets=8gaussians", "--seeds=0,1", "--",
                *self.RECIPE]
        with mock.patch.object(toy_quality, "train", fake_train):
            results = toy_quality.main(argv)
            self.assertEqual(len(commands), 1)
            self.assertIn("--seed=1", commands[0])
            self.assertNotIn("--resume", commands[0])
            summary = results["summaries"][0]
            self.assertEqual(summary["means"], {
                "final": 92.0, "final_average": 95.0, "raw": 91.0, "raw_between": 9.0,
                "raw_refined": 96.0, "average": 93.0, "average_refined": 97.0})
            self.assertTrue(summary["raw_goal_met"] and summary["refined_goal_met"])
            toy_quality.main(argv)  # both finished: nothing trained again
            self.assertEqual(len(commands), 1)
        with open(os.path.join(root, "toy_quality.json")) as f:
            self.assertEqual(json.load(f)["recipe"], self.RECIPE)
        with self.assertRaisesRegex(SystemExit, "holds runs of the recipe"):
            toy_quality.main([f"--output_dir={root}", "--", "--hidden_units=128"])

    def test_a_failed_or_interrupted_run(self):
        import sys
        from unittest import mock

        from benchmarks import toy_quality

        self.assertTrue(toy_quality.train([sys.executable, "-c", "pass"]))
        with self.assertRaisesRegex(toy_quality.BenchmarkError, "failed with exit status 3"):
            toy_quality.train([sys.executable, "-c", "raise SystemExit(3)"])
        # A run stopped by SIGINT (exit status 130, as the runner's Ctrl-C) is interrupted.
        self.assertFalse(toy_quality.train([sys.executable, "-c", "raise SystemExit(130)"]))
        # Ctrl-C reaches the benchmark and the run alike: the benchmark waits for the
        # run to write its checkpoint and exit, then says it was interrupted.
        waits = iter([KeyboardInterrupt(), 130])

        def wait():
            value = next(waits)
            if isinstance(value, BaseException):
                raise value
            return value

        with mock.patch.object(toy_quality.subprocess, "Popen") as popen:
            popen.return_value.wait.side_effect = wait
            self.assertFalse(toy_quality.train(["run"]))
            self.assertEqual(popen.return_value.wait.call_count, 2)

    def test_fresh_numbers_are_those_of_sample_then_evaluate(self):
        import keras

        from benchmarks import toy_quality
        from command_processes import run

        # A made-up run: a linear generator and a small ReLU critic, seeded.
        run_dir = self.make_run(self.get_temp_dir(), "8gaussians", 0)
        for name in os.listdir(run_dir):
            if name.endswith(".json") and name != "summary.json":
                os.remove(os.path.join(run_dir, name))
        init = keras.initializers.GlorotUniform
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer=init(1))]
                         ).save(os.path.join(run_dir, "generator.keras"))
        keras.Sequential([keras.Input((2,)),
                          keras.layers.Dense(8, "relu", kernel_initializer=init(2)),
                          keras.layers.Dense(1, kernel_initializer=init(3))]
                         ).save(os.path.join(run_dir, "critic.keras"))
        numbers = toy_quality.fresh_numbers(run_dir, "8gaussians", "generator", 5, 300, 7)
        self.assertTrue(os.path.exists(os.path.join(run_dir, "generator-dot5-n300-z7.json")))
        # The same by hand: train_loops.sample refines, train_loops.evaluate scores.
        npz, scored = (os.path.join(run_dir, "by_hand" + e) for e in (".npz", ".json"))
        for command, *flags in (
                ("train_loops.sample", f"--generator={run_dir}/generator.keras",
                 f"--critic={run_dir}/critic.keras", "--dot_steps=5", "--num_samples=300",
                 "--seed=7", f"--output={npz}"),
                ("train_loops.evaluate", f"--generator={npz}", "--dataset=8gaussians",
                 f"--output={scored}")):
            result = run(command, *flags)
            self.assertEqual(result.returncode, 0, result.stderr)
        with open(scored) as f:
            by_hand = json.load(f)
        for key in ("modes_captured", "high_quality_percent", "shares", "reverse_kl",
                    "between_modes_percent", "median_distance_std", "wasserstein1_estimate"):
            self.assertEqual(numbers[key], by_hand[key], key)
        self.assertGreater(numbers["lipschitz_estimate"], 0.0)
