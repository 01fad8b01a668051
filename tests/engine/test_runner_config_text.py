"""ReIDRunner writes its config text without yapf (seconds per call on large
configs) and the text still reads back as the same config."""
from mmengine.config import Config
from mmengine.runner import Runner

from reidkit.engine.runner import ReIDRunner


def test_from_cfg_turns_formatting_off_on_a_copy(monkeypatch, tmp_path):
    seen = {}

    def fake_from_cfg(cls, cfg):
        seen['cfg'] = cfg
        return 'runner'

    monkeypatch.setattr(Runner, 'from_cfg', classmethod(fake_from_cfg))
    cfg = Config(dict(model=dict(type='X', depth=[1, 2]), work_dir=str(tmp_path)))
    assert ReIDRunner.from_cfg(cfg) == 'runner'
    got = seen['cfg']
    assert got._format_python_code is False and cfg._format_python_code is True
    text = got.pretty_text
    assert text == ("model=dict(\n    depth=[\n        1,\n        2,\n"
                    "        ],\n    type='X')\nwork_dir='%s'" % tmp_path)
    path = tmp_path / 'dumped.py'
    path.write_text(text)
    assert Config.fromfile(str(path)).to_dict() == cfg.to_dict()
