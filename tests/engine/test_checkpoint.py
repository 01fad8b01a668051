"""mmengine checkpoints load with torch.load(weights_only=True) after our set-up."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from reidkit.engine import register_checkpoint_safe_globals


def _message_hub_checkpoint(path):
    hub = MessageHub.get_instance('ckpt_probe')
    for i in range(5):
        hub.update_scalar('train/loss', float(i))
    hub.update_info('epoch', 3)
    torch.save({'meta': {'epoch': 3}, 'message_hub': hub.state_dict(),
                'state_dict': {'w': torch.ones(2)}}, path)


def test_weights_only_load_of_message_hub_state(tmp_path):
    register_checkpoint_safe_globals()
    path = tmp_path / 'ckpt.pth'
    _message_hub_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(2.0)
    assert buf.max() == 4.0           # statistics methods still work
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_arbitrary_objects_are_still_refused(tmp_path):
    register_checkpoint_safe_globals()
    path = tmp_path / 'evil.pth'
    torch.save({'x': pickle.loads(pickle.dumps(np.random.RandomState(0)))}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
