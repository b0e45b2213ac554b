"""Softmax attention over flattened feature maps, whole or in blocks of queries.

Both functions take `query [B, Nq, d]`, `key [B, Nk, d]` and `value
[B, Nk, dv]` and return `softmax(query @ key^T) @ value`, `[B, Nq, dv]`. The
softmax runs in float32 whatever the input dtype. They use batched matmuls
only (no einsum), which TFLite lowers to its builtin BATCH_MATMUL.
"""

import tensorflow as tf
from keras import ops

# An eager GradientTape records every op run inside a tf.custom_gradient
# function and keeps its outputs alive, which would keep every block's map.
# TensorFlow's own tf.recompute_grad stops recording with this context; there
# is no public spelling of it.
from tensorflow.python.eager.record import stop_recording


def softmax_attention(query, key, value):
    """Attention with the whole `[B, Nq, Nk]` probability map held at once.

    Args:
        query: `[B, Nq, d]` tensor.
        key: `[B, Nk, d]` tensor.
        value: `[B, Nk, dv]` tensor.

    Returns:
        `(output [B, Nq, dv], probabilities [B, Nq, Nk])`; the probabilities
        are float32.

    Example:

    >>> import numpy as np
    >>> q = np.zeros((1, 3, 2), "float32")
    >>> v = np.arange(4, dtype="float32").reshape(1, 2, 2)
    >>> out, probs = softmax_attention(q, np.ones((1, 2, 2), "float32"), v)
    >>> out.numpy().tolist()
    [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """
    probabilities = _probabilities(query, key)
    output = ops.matmul(ops.cast(probabilities, value.dtype), value)
    return output, probabilities


def blockwise_softmax_attention(query, key, value, block_size):
    """Attention computed for `block_size` queries at a time, in every derivative.

    Gives the result of `softmax_attention` without ever holding the whole
    `[B, Nq, Nk]` map, in the forward pass and in gradients of any order:
    the forward pass loops over blocks of queries, and each derivative is
    again a loop over the blocks that recomputes one block's probabilities
    at a time instead of storing them. So peak memory grows with
    `block_size * Nk` rather than `Nq * Nk` eagerly and inside `tf.function`,
    for the forward pass, its gradient, and the gradient of a gradient (a
    gradient penalty through a discriminator with attention). The loops run
    one block at a time (`parallel_iterations=1`).

    Args:
        query: `[B, Nq, d]` tensor.
        key: `[B, Nk, d]` tensor.
        value: `[B, Nk, dv]` tensor.
        block_size: int, queries per block; `Nq` need not be a multiple.

    Returns:
        `[B, Nq, dv]` tensor, equal to `softmax_attention(...)[0]`.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = (rng.normal(size=(2, 10, 4)).astype("float32") for _ in "qkv")
    >>> whole, _ = softmax_attention(q, k, v)
    >>> blocks = blockwise_softmax_attention(q, k, v, block_size=3)
    >>> bool(np.allclose(whole, blocks, atol=1e-6))
    True
    """
    block_size = int(block_size)
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size}.")
    query, key, value = (tf.convert_to_tensor(t) for t in (query, key, value))

    def attend_block(blocked, shared):
        (query_block,), (key, value) = blocked, shared
        probabilities = _probabilities(query_block, key)
        return [tf.matmul(tf.cast(probabilities, value.dtype), value)], []

    (output_blocks,), _ = _blockwise(
        attend_block, [_split_into_blocks(query, block_size)], [key, value], [value.dtype]
    )
    return _merge_blocks(output_blocks, tf.shape(query)[1])


def _blockwise(fn, blocked, shared, blocked_dtypes, summed_like=()):
    """Maps `fn` over blocks, with derivatives of every order also blockwise.

    `fn(blocked_slices, shared) -> (blocked_outputs, summed_outputs)` runs on
    slice `i` of every tensor in `blocked` (their leading axis counts blocks)
    and on the whole `shared` tensors. The result is the blocked outputs
    stacked over blocks (of `blocked_dtypes`) and the summed outputs added up
    over blocks (shaped and typed like the tensors of `summed_like`).

    Its gradient is the same kind of map over the same blocks: for each block
    it recomputes `fn` under a tape and returns that block's vector-Jacobian
    product (blocked for the blocked inputs, summed for the shared ones), so
    no derivative stores more than one block's intermediates, and the
    gradient's own gradient is built the same way.

    Returns:
        `(blocked_outputs, summed_outputs)`, two lists of tensors.
    """
    count, num_shared = len(blocked), len(shared)
    num_blocked_outputs = len(blocked_dtypes)

    @tf.custom_gradient
    def run(*tensors):
        blocked_inputs, shared_inputs = list(tensors[:count]), list(tensors[count:])
        # Copies that no outer tape watches: the loop's ops are not recorded
        # (their tensors are not kept), while tapes inside `fn` still work.
        with stop_recording():
            detached = [tf.identity(t) for t in tensors]
        outputs = _loop(fn, detached[:count], detached[count:], blocked_dtypes, summed_like)

        def gradient(*cotangents):
            cotangents = [tf.zeros_like(o) if c is None else c for o, c in zip(outputs, cotangents)]

            def block_vjp(slices, shared_values):
                primal_slices, slice_cotangents = slices[:count], slices[count:]
                primal_shared, shared_cotangents = shared_values[:num_shared], shared_values[num_shared:]
                with tf.GradientTape() as tape:
                    tape.watch(primal_slices + primal_shared)
                    block_outputs, block_sums = fn(primal_slices, primal_shared)
                gradients = tape.gradient(
                    list(block_outputs) + list(block_sums), primal_slices + primal_shared,
                    output_gradients=slice_cotangents + shared_cotangents,
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
                return gradients[:count], gradients[count:]

            blocked_gradients, shared_gradients = _blockwise(
                block_vjp,
                blocked_inputs + cotangents[:num_blocked_outputs],
                shared_inputs + cotangents[num_blocked_outputs:],
                [t.dtype for t in blocked_inputs],
                summed_like=shared_inputs,
            )
            return blocked_gradients + shared_gradients

        return outputs, gradient

    outputs = run(*blocked, *shared)
    return list(outputs[:num_blocked_outputs]), list(outputs[num_blocked_outputs:])


def _loop(fn, blocked, shared, blocked_dtypes, summed_like):
    """`fn` over the blocks one at a time; summed outputs accumulate in float32."""
    num_blocks = tf.shape(blocked[0])[0]

    def body(index, arrays, sums):
        outputs, summed = fn([tensor[index] for tensor in blocked], shared)
        arrays = [array.write(index, output) for array, output in zip(arrays, outputs)]
        sums = [total + tf.cast(value, tf.float32) for total, value in zip(sums, summed)]
        return index + 1, arrays, sums

    _, arrays, sums = tf.while_loop(
        lambda index, *_: index < num_blocks,
        body,
        (
            tf.constant(0),
            [tf.TensorArray(dtype, size=num_blocks) for dtype in blocked_dtypes],
            [tf.zeros(tf.shape(like), tf.float32) for like in summed_like],
        ),
        parallel_iterations=1,
    )
    return [array.stack() for array in arrays] + [tf.cast(total, like.dtype) for total, like in zip(sums, summed_like)]


def _probabilities(query, key):
    scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
    return ops.softmax(ops.cast(scores, "float32"), axis=-1)


def _split_into_blocks(tensor, block_size):
    """`[B, N, d]` -> `[num_blocks, B, block_size, d]`, zero-padded."""
    shape = tf.shape(tensor)
    padding = (-shape[1]) % block_size
    padded = tf.pad(tensor, [[0, 0], [0, padding], [0, 0]])
    blocks = tf.reshape(padded, [shape[0], -1, block_size, tensor.shape[-1]])
    return tf.transpose(blocks, [1, 0, 2, 3])


def _merge_blocks(blocks, length):
    """`[num_blocks, B, block_size, d]` -> `[B, length, d]`."""
    merged = tf.transpose(blocks, [1, 0, 2, 3])
    shape = tf.shape(merged)
    merged = tf.reshape(merged, [shape[0], -1, blocks.shape[-1]])
    return merged[:, :length]
