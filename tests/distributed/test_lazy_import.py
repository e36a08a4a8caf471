"""byod never imports Ray unless a ``--backend ray`` command asks for it."""

import subprocess
import sys


def test_importing_byod_and_its_cli_does_not_import_ray():
    code = (
        "import sys, byod, byod.cli.main, byod.distributed;"
        "print('ray' in sys.modules, 'ray.data' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_backend_is_a_config_error():
    import pytest

    from byod.distributed import check_backend
    from byod.errors import ConfigError

    assert check_backend("ray") == "ray"
    with pytest.raises(ConfigError, match="polars"):
        check_backend("spark")
