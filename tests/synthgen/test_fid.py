"""FID through torchmetrics with a tiny random feature extractor, vs closed form."""
import os

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import linalg  # noqa: E402

from synthgen.metrics import FID, compute_fid, frechet_distance  # noqa: E402


class TinyFeatures(torch.nn.Module):
    """Random conv features of uint8 images: (N, 8)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.num_features = 8

    def forward(self, x):
        x = x.float() / 255.0
        return torch.tanh(self.conv(x)).mean(dim=(2, 3)).double()


def _sets(n=40, shift=0):
    rng = np.random.RandomState(0)
    a = [rng.randint(0, 200, (16, 16, 3)).astype(np.uint8) for _ in range(n)]
    b = [np.clip(im.astype(int) + shift, 0, 255).astype(np.uint8) for im in a]
    return a, b


def _closed_form(fe, real, fake):
    def stats(imgs):
        x = torch.stack([torch.from_numpy(i).permute(2, 0, 1) for i in imgs])
        f = fe(x).detach().numpy()
        return f.mean(0), np.cov(f, rowvar=False)
    (m1, s1), (m2, s2) = stats(real), stats(fake)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_identical_shifted_and_closed_form():
    fe = TinyFeatures()
    real, same = _sets()
    assert compute_fid(real, same, feature_extractor=fe,
                       device='cpu') == pytest.approx(0.0, abs=1e-5)
    _, shifted = _sets(shift=50)
    fid = FID(feature_extractor=fe, batch_size=16, device='cpu')
    fid.update(real, real=True)
    fid.update(shifted, real=False)
    value = fid.compute()
    assert value > 1e-3
    assert value == pytest.approx(_closed_form(fe, real, shifted), rel=1e-3)


def test_frechet_distance_closed_form():
    rng = np.random.RandomState(1)
    a = rng.randn(200, 3)
    b = rng.randn(200, 3) * 2 + 1
    m1, s1, m2, s2 = a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T)
    # diagonal covariances: (sqrt(s1) - sqrt(s2))^2 per dimension
    d1, d2 = np.diag(np.diag(s1)), np.diag(np.diag(s2))
    expect = ((m1 - m2) ** 2).sum() + ((np.sqrt(np.diag(s1)) -
                                        np.sqrt(np.diag(s2))) ** 2).sum()
    assert frechet_distance(m1, d1, m2, d2) == pytest.approx(expect)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0, abs=1e-6)


def test_missing_inception_weights_message(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        FID(inception_weights_path=str(tmp_path / 'inception.pth'))
    msg = str(err.value)
    assert 'inception_weights_path' in msg
    assert 'weights-inception-2015-12-05-6726825d.pth' in msg


def test_inception_from_weight_file(tmp_path):
    """The real Inception path, with random weights written to a file."""
    from synthgen.testing import random_fid_inception_state
    path = str(tmp_path / 'weights-inception-random.pth')
    torch.save(random_fid_inception_state(), path)
    real, fake = _sets(n=3, shift=60)
    value = compute_fid(real, fake, inception_weights_path=path, feature=64,
                        device='cpu')
    assert np.isfinite(value) and value > 0
