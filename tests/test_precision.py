"""--mixed_precision=auto: what it resolves to on machines with and without native bfloat16."""

import contextlib
import io
import json
import os
from unittest import mock

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import flags

from train_loops import precision, runner, wgan_gp
from train_loops.tasks import make_task

FLAGS = flags.FLAGS

X86_BF16 = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
"""
X86_PLAIN = """processor\t: 0
flags\t\t: fpu sse2 avx2 avx512f
"""
ARM_BF16 = """processor\t: 0
Features\t: fp asimd sve bf16 i8mm
"""


class ResolveTest(tf.test.TestCase):

    def cpuinfo(self, text):
        path = os.path.join(self.get_temp_dir(), "cpuinfo")
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def test_cpu_flags_of_x86_and_arm(self):
        self.assertEqual(precision.native_bf16(precision.cpu_flags(self.cpuinfo(X86_BF16))),
                         "avx512_bf16")
        self.assertEqual(precision.native_bf16(precision.cpu_flags(self.cpuinfo(ARM_BF16))),
                         "bf16")
        self.assertIsNone(precision.native_bf16(precision.cpu_flags(self.cpuinfo(X86_PLAIN))))
        self.assertEqual(precision.cpu_flags(os.path.join(self.get_temp_dir(), "absent")),
                         set())

    def test_auto_is_bf16_only_for_images_on_a_cpu_with_native_bf16(self):
        bf16 = {"avx512f", "avx512_bf16"}
        plain = {"avx512f", "avx2"}
        machine = dict(accelerator=False, onednn=True)
        cases = [
            (dict(toy=False, flags=bf16, **machine), "mixed_bfloat16", "AVX512_BF16"),
            (dict(toy=False, flags={"amx_bf16"}, **machine), "mixed_bfloat16", "AMX_BF16"),
            (dict(toy=False, flags=plain, **machine), "float32", "no native bfloat16"),
            (dict(toy=True, flags=bf16, **machine), "float32", "toy data"),
            (dict(toy=False, flags=bf16, accelerator=True, onednn=True), "float32", "GPU"),
            (dict(toy=False, flags=bf16, accelerator=False, onednn=False), "float32",
             "TF_ENABLE_ONEDNN_OPTS=0"),
        ]
        for kwargs, policy, reason in cases:
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                chosen, why = precision.resolve("auto", **kwargs)
                self.assertEqual(chosen, policy)
                self.assertIn(reason, why)

    def test_an_explicit_policy_is_kept_whatever_the_machine(self):
        for choice, policy in (("none", "float32"), ("mixed_bfloat16", "mixed_bfloat16"),
                               ("mixed_float16", "mixed_float16")):
            for flags_ in (set(), {"avx512_bf16"}):
                self.assertEqual(precision.resolve(choice, toy=False, flags=flags_,
                                                   accelerator=False, onednn=True)[0], policy)
        with self.assertRaisesRegex(ValueError, "must be one of"):
            precision.resolve("bfloat16", toy=False)

    def test_onednn_switch_is_read_from_the_environment(self):
        for value, policy in (("0", "float32"), ("1", "mixed_bfloat16")):
            with mock.patch.dict(os.environ, {"TF_ENABLE_ONEDNN_OPTS": value}):
                self.assertEqual(precision.resolve("auto", toy=False, flags={"avx512_bf16"},
                                                   accelerator=False)[0], policy)


class AutoRunTest(tf.test.TestCase):
    """A run with --mixed_precision=auto on mock MNIST, on a machine with and without bf16."""

    def tearDown(self):
        FLAGS.unparse_flags()
        tf.keras.config.set_dtype_policy("float32")
        super().tearDown()

    def train(self, cpu_flags, *args):
        output_dir = os.path.join(self.get_temp_dir(), "-".join(sorted(cpu_flags)) or "plain")
        FLAGS.unparse_flags()
        wgan_gp.COMMAND.parse(["test", "--dataset=mnist", "--iterations=2", "--batch_size=8",
                               "--dim=8", "--n_critic=1", "--sample_every=2",
                               "--checkpoint_every=2", "--classifier=", "--mixed_precision=auto",
                               f"--output_dir={output_dir}", *args])
        out = io.StringIO()
        with (mock.patch.object(precision, "cpu_flags", return_value=set(cpu_flags)),
              mock.patch.object(precision, "has_accelerator", return_value=False),
              mock.patch.dict(os.environ, {"TF_ENABLE_ONEDNN_OPTS": "1"}),
              tfds.testing.mock_data(num_examples=16), contextlib.redirect_stdout(out)):
            runner.train(wgan_gp.COMMAND)
            model = runner.build_model(wgan_gp.COMMAND, make_task(FLAGS, "wgan_gp"))
        first = next(line for line in out.getvalue().splitlines() if "generator iterations" in line)
        with open(os.path.join(output_dir, "summary.json")) as fh:
            return first, model, json.load(fh)

    def test_bf16_machine_trains_images_in_bf16_and_says_so(self):
        first, model, summary = self.train({"avx512_bf16"})
        self.assertIn("computing in mixed_bfloat16 (--mixed_precision=auto: this CPU has "
                      "native bfloat16 (AVX512_BF16))", first)
        self.assertEqual(summary["mixed_precision"], "mixed_bfloat16")
        self.assertEqual(model.critic.layers[1].compute_dtype, "bfloat16")
        self.assertEqual(model.critic.layers[1].variable_dtype, "float32")
        # The generator hands out float32 whatever it computed in.
        self.assertEqual(model.generator(tf.zeros((2, FLAGS.latent_dim))).dtype, tf.float32)

    def test_machine_without_bf16_trains_in_float32(self):
        first, model, summary = self.train({"avx2"})
        self.assertIn("computing in float32 (--mixed_precision=auto: this CPU", first)
        self.assertEqual(summary["mixed_precision"], "float32")  # what auto chose
        self.assertTrue(all(layer.compute_dtype == "float32" for layer in model.critic.layers))
