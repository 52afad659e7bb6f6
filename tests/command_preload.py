"""What the forkserver of tests/command_processes.py imports once, before any command runs.

In the order a command imports them: absl, whose logging handler `absl.app.run`
installs before the command loads TensorFlow (TensorFlow's logger then adds no
handler of its own), then TensorFlow, which reads TF_CPP_MIN_LOG_LEVEL as it
loads, and the libraries the commands use: SciPy's optimizers (a toy run's
exact W1) and TensorBoard's summaries are 0.4 and 0.2 s of CPU per command
otherwise.
"""

from absl import app, flags, logging  # pylint: disable=unused-import

logging.use_absl_handler()

import keras  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import matplotlib.pyplot  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import numpy  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import PIL.Image  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import tensorflow  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import tensorflow_datasets  # noqa: E402  pylint: disable=unused-import,wrong-import-position

# After TensorFlow, as a command imports them (SciPy brings its own BLAS).
import scipy.optimize  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import scipy.spatial.distance  # noqa: E402  pylint: disable=unused-import,wrong-import-position
import tensorboard.summary.v2  # noqa: E402  pylint: disable=unused-import,wrong-import-position
