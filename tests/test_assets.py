"""A test whose external asset is missing is skipped with the way to get it, or failed under CI."""

import pytest

from tests import assets


def test_missing_asset_skips_with_its_reason_and_fails_when_required(monkeypatch, tmp_path):
    present, missing = tmp_path / "present", assets.ROOT / "no-such-asset"
    present.mkdir()
    (present / "a.gz").write_bytes(b"")
    for path in (present, missing):
        monkeypatch.setitem(assets._ASSETS, path, ("a test asset", ("a.gz",), "make it by hand"))
    monkeypatch.delenv(assets.REQUIRE_ENV, raising=False)
    assert assets.require(present) == present
    with pytest.raises(pytest.skip.Exception) as skipped:
        assets.require(present, missing)
    reason = str(skipped.value)
    assert reason.startswith(f"needs a test asset: no {missing / 'a.gz'}; set {assets.ROOT_ENV} to a folder holding")
    assert reason.endswith("to get it: make it by hand")
    monkeypatch.setenv(assets.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"needs a test asset: .*{assets.REQUIRE_ENV} is set"):
        assets.require(missing)
