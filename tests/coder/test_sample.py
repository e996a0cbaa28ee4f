"""The bundled samples are what their generators write (written for this project, reproducible)."""

import pytest

from coder.sample import make_homepage, make_sample
from tests.conftest import SAMPLE


@pytest.mark.parametrize(("module", "name"), [(make_sample, "diagnoses.csv"), (make_homepage, "homepage.csv")])
def test_regenerating_a_sample_gives_the_bundled_file(tmp_path, module, name):
    module.make(tmp_path / name)
    assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes()
