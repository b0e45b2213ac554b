"""Softmax attention over flattened feature maps, whole or in blocks of queries.

Both functions take `query [B, Nq, d]`, `key [B, Nk, d]` and `value
[B, Nk, dv]` and return `softmax(query @ key^T) @ value`, `[B, Nq, dv]`. The
softmax runs in float32 whatever the input dtype. They use batched matmuls
only (no einsum), which TFLite lowers to its builtin BATCH_MATMUL.
"""

import tensorflow as tf
from keras import ops


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
    """Attention computed for `block_size` queries at a time.

    Gives the result of `softmax_attention` without ever holding the whole
    `[B, Nq, Nk]` map: the forward pass loops over blocks of queries, and the
    gradient recomputes each block's probabilities instead of storing them,
    so peak memory grows with `block_size * Nk` rather than `Nq * Nk`. The
    loop runs one block at a time (`parallel_iterations=1`).

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

    @tf.custom_gradient
    def attend(query, key, value):
        num_queries = tf.shape(query)[1]
        query_blocks = _split_into_blocks(query, block_size)

        def forward_block(query_block):
            probabilities = _probabilities(query_block, key)
            return tf.matmul(tf.cast(probabilities, value.dtype), value)

        output_blocks = tf.map_fn(
            forward_block,
            query_blocks,
            parallel_iterations=1,
            fn_output_signature=value.dtype,
        )
        output = _merge_blocks(output_blocks, num_queries)

        def gradient(output_gradient):
            gradient_blocks = tf.cast(
                _split_into_blocks(output_gradient, block_size), tf.float32
            )
            key32 = tf.cast(key, tf.float32)
            value32 = tf.cast(value, tf.float32)
            num_blocks = tf.shape(query_blocks)[0]

            def body(index, key_gradient, value_gradient, query_gradients):
                query_block = query_blocks[index]
                output_block_gradient = gradient_blocks[index]
                probabilities = _probabilities(query_block, key)
                value_gradient += tf.matmul(
                    probabilities, output_block_gradient, transpose_a=True
                )
                probability_gradient = tf.matmul(
                    output_block_gradient, value32, transpose_b=True
                )
                score_gradient = probabilities * (
                    probability_gradient
                    - tf.reduce_sum(
                        probability_gradient * probabilities, -1, keepdims=True
                    )
                )
                query_gradients = query_gradients.write(
                    index, tf.matmul(score_gradient, key32)
                )
                key_gradient += tf.matmul(
                    score_gradient,
                    tf.cast(query_block, tf.float32),
                    transpose_a=True,
                )
                return index + 1, key_gradient, value_gradient, query_gradients

            _, key_gradient, value_gradient, query_gradients = tf.while_loop(
                lambda index, *_: index < num_blocks,
                body,
                (
                    tf.constant(0),
                    tf.zeros_like(key32),
                    tf.zeros_like(value32),
                    tf.TensorArray(tf.float32, size=num_blocks),
                ),
                parallel_iterations=1,
            )
            query_gradient = _merge_blocks(query_gradients.stack(), num_queries)
            return (
                tf.cast(query_gradient, query.dtype),
                tf.cast(key_gradient, key.dtype),
                tf.cast(value_gradient, value.dtype),
            )

        return output, gradient

    return attend(query, key, value)


def _probabilities(query, key):
    scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
    return ops.softmax(ops.cast(scores, "float32"), axis=-1)


def _split_into_blocks(tensor, block_size):
    """`[B, N, d]` -> `[num_blocks, B, block_size, d]`, zero-padded."""
    shape = tf.shape(tensor)
    padding = (-shape[1]) % block_size
    padded = tf.pad(tensor, [[0, 0], [0, padding], [0, 0]])
    blocks = tf.reshape(
        padded, [shape[0], -1, block_size, tensor.shape[-1]]
    )
    return tf.transpose(blocks, [1, 0, 2, 3])


def _merge_blocks(blocks, length):
    """`[num_blocks, B, block_size, d]` -> `[B, length, d]`."""
    merged = tf.transpose(blocks, [1, 0, 2, 3])
    shape = tf.shape(merged)
    merged = tf.reshape(merged, [shape[0], -1, blocks.shape[-1]])
    return merged[:, :length]
