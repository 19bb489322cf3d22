"""The real-data check: one epoch of the original tutorial's model on the real MNIST files, through the mirror.

Needs the MNIST mirror ($VAE_DATA_MIRROR or ../shared/data). When it is missing the test is
skipped with a loud banner: it never runs on made-up data.
"""

from __future__ import annotations

import hashlib
import sys

import pytest
from real_mirror import real_mirror

from vae_helpers import data
from vae_helpers.config import RunConfig
from vae_helpers.runs import train_run

#: md5 of the official test files (the mirror's train images are a documented reconstruction)
OFFICIAL_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
}

MIRROR = real_mirror()
BANNER = (
    "\n" + "!" * 78 + "\n!! REAL-DATA CHECK SKIPPED: no MNIST mirror found ($VAE_DATA_MIRROR or ../shared/data).\n"
    "!! Only the hermetic tests on generated data ran. Set VAE_DATA_MIRROR to run it.\n" + "!" * 78 + "\n"
)


@pytest.fixture
def mirror():
    if MIRROR is None:
        sys.stderr.write(BANNER)
        pytest.skip("REAL-DATA CHECK SKIPPED: no MNIST mirror ($VAE_DATA_MIRROR or ../shared/data)")
    return MIRROR


@pytest.mark.realdata
def test_official_test_files_in_the_mirror(mirror):
    files = data.find_mirror_files("mnist", mirror)
    for name, md5 in OFFICIAL_MD5.items():
        path = files[name.removesuffix(".gz")]
        if path.suffix == ".gz":
            assert hashlib.md5(path.read_bytes()).hexdigest() == md5, f"{path} is not the official file"


@pytest.mark.realdata
def test_one_epoch_on_real_mnist_beats_minus_130_nats(mirror, tmp_path, capsys):
    config = RunConfig(epochs=1, device="cpu", data_mirror=str(mirror), data_root=str(tmp_path / "root"))
    result = train_run(config, tmp_path / "run", progress=False, log=lambda m: None)
    final = result.final
    with capsys.disabled():
        print(
            f"\n[real data] MNIST, tutorial config 784-400-20, 1 epoch on CPU: test ELBO {final.test_elbo:.2f} "
            f"nats/image (reconstruction {final.test_recon:.2f}, KL {final.test_kl:.2f}), "
            f"{final.seconds:.1f} s/epoch, {final.images_per_second:.0f} images/s"
        )
    assert final.test_elbo > -130.0
    assert len(data.load_images("mnist", True, root=tmp_path / "root", download=False)[0]) == 60000
