"""What the models need from `tf.distribute`: replicas, synchronised updates, the data split.

Under a distribution strategy every replica runs `train_step` on its share of
the global batch. Three things then need care, and live here:

- *Which replica am I?* `replicas()` gives (count, id) in a replica context
  and (1, 0) everywhere else, so the single-device code paths stay as they are.
- *Assigning a mirrored variable.* Network weights and the random state are
  `MirroredVariable`s (one copy per replica, kept equal). A replica may not
  assign its copy directly (TF refuses: which replica's value should win?);
  `update` does it the way the optimizers do, through `merge_call` and
  `strategy.extended.update`, which applies the same function to every copy.
- *Splitting the data.* `AdversarialModel.fit` consumes stacks of real
  batches shaped [n_critic, batch, ...]; Keras would split their *first* axis
  across replicas. `distribute_critic_batches` splits the batch axis instead.
- *Reporting.* `fit_logs` shapes the logs so that Keras can average them
  over several workers (a Keras bug otherwise stops every multi-worker fit).
"""

import keras
import tensorflow as tf


def in_replica_context():
    """True inside `strategy.run` of a (non-default) distribution strategy."""
    return tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()


def replicas():
    """(replicas in sync, this replica's id): (1, 0) outside a replica context."""
    if not in_replica_context():
        return 1, 0
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def _tf_variable(variable):
    """The `tf.Variable` (possibly mirrored) behind a Keras variable."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def update(variable, fn):
    """variable.assign(fn(variable)), on every replica's copy of a mirrored variable.

    In a replica context this is one `merge_call` (a synchronisation point,
    like an optimizer step), which applies `fn` to each copy on its device.
    Every copy holds the same value before, so every copy holds the same value
    after. Elsewhere it is a plain assignment.
    """
    variable = _tf_variable(variable)
    if not in_replica_context():
        return variable.assign(fn(variable))

    def merge(strategy, var):
        return strategy.extended.update(var, lambda v: v.assign(fn(v)), group=False)

    return tf.distribute.get_replica_context().merge_call(merge, args=(variable,))


def multi_worker():
    """True in a replica context of a MultiWorkerMirroredStrategy spanning several workers."""
    if not in_replica_context():
        return False
    strategy = tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())  # as Keras tells


def fit_logs(logs):
    """`train_step`'s logs in the form Keras' `fit` can reduce across replicas.

    On several workers Keras 3 averages each logged value with
    `strategy.reduce(MEAN, value, axis=0)` (keras.src.backend.tensorflow.
    trainer.reduce_per_replica), which fails on a scalar ("Invalid reduction
    dimension 0 for input with 0 dimensions"; tensorflow/tensorflow#72388), so
    no multi-worker `fit` could run. There each value goes out as a [1]
    vector, which that reduction turns into the scalar mean over all replicas,
    as on one machine. Elsewhere the logs are returned as they are.
    """
    if not multi_worker():
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def all_replicas_true(condition):
    """A boolean that is True only if `condition` is True on every replica (an all-reduce)."""
    count, _ = replicas()
    if count == 1:
        return condition
    agreed = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, tf.cast(condition, tf.float32))
    return agreed >= count - 0.5


def distribute_critic_batches(strategy, dataset):
    """A `tf.distribute.DistributedDataset` giving each replica its share of every batch.

    `dataset`'s elements are [n_critic, batch, ...] stacks with static
    n_critic and batch. Replica r of R receives rows r*b .. (r+1)*b - 1 of
    each batch (b = batch / R), so the replicas together see exactly the
    global batch a single device would, in the same order: replica r's rows
    are also the rows of the global latent and interpolation draws it takes
    (`models.random`). Each worker builds the whole global stream and keeps
    its own replicas' slices (the data sets here are cheap to make; it keeps
    every worker's stream identical to the single-device one).
    """
    replica_count = strategy.num_replicas_in_sync
    spec = dataset.element_spec
    n_critic, batch = spec.shape[0], spec.shape[1]
    if n_critic is None or batch is None:
        raise ValueError("a distribution strategy needs a fixed number of critic updates "
                         "per generator iteration and a fixed batch size")
    if batch % replica_count:
        raise ValueError(f"the batch size ({batch}) must be a multiple of the number of "
                         f"replicas ({replica_count})")
    local = batch // replica_count
    rest = spec.shape[2:].as_list()

    def dataset_fn(context):
        # Within one worker, consecutive elements go to its replicas in turn
        # (replica ids worker * k .. worker * k + k - 1).
        per_worker = replica_count // context.num_input_pipelines
        first = context.input_pipeline_id * per_worker

        def split(stack):
            parts = tf.reshape(stack, [n_critic, replica_count, local] + rest)
            parts = tf.transpose(parts, [1, 0] + list(range(2, 3 + len(rest))))
            return parts[first:first + per_worker]

        return dataset.map(split).unbatch()

    return strategy.distribute_datasets_from_function(dataset_fn)
