from setuptools import find_packages, setup

setup(
    name="wgan-reproduction",
    version="0.1.0",
    description="GAN, DCGAN, WGAN and WGAN-GP in TensorFlow 2 / Keras 3, faithful to the papers.",
    python_requires=">=3.10",
    packages=find_packages(include=["models", "models.*", "data", "data.*",
                                    "evaluation", "evaluation.*",
                                    "train_loops", "train_loops.*",
                                    "figures", "figures.*"]),
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "keras>=3.3,<4",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tfds imports it when it prepares a data set
        "numpy",
        "scipy",
        "matplotlib",
        "absl-py",
        "tensorboard",  # tf.summary needs it; TensorFlow no longer depends on it
        "pillow",  # sample grids
    ],
    # jax: the benchmark's plain-JAX reference step (benchmarks/jax_step.py),
    # which the tests check against the Keras models.
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3", "jax>=0.4.30"],
                    "jax": ["jax>=0.4.30"]},
)
