"""Test session set-up: quiet TensorFlow and two logical CPU devices.

External assets (data sets, Inception weights) are found through
`tests/assets.py`.

Two logical CPUs let the tests run a real `tf.distribute.MirroredStrategy`
with two replicas on a machine without accelerators. The split has to happen
before TensorFlow touches its devices, so it is done here, at import.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402

from tests.assets import require  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_assets(*paths): the test reads these external assets (tests/assets.py)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test marked `needs(...)` is skipped, or failed under CI, before its fixtures when an asset is missing."""
    for marker in item.iter_markers("needs_assets"):
        require(*marker.args)


@pytest.fixture(autouse=True)
def _float32_policy_and_seed():
    """Every test starts from the float32 policy and a fixed seed."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def two_replica_strategy():
    """A real MirroredStrategy over the two logical CPU devices.

    One instance serves the whole session: every new MirroredStrategy starts
    its collective keys from the same numbers, and TensorFlow caches a
    collective's shape by key, so a second strategy's synchronized batch norm
    would collide with the first one's.
    """
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
