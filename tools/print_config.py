"""Print a config after ``_base_`` inheritance and ``--cfg-options`` overrides.

Example:
    python tools/print_config.py configs/quickstart/toy_market_bot_r18.py \
        --cfg-options train_cfg.max_epochs=1
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.utils.config import DictAction  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description='Print the full config')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    from reidkit.apis import load_config
    from reidkit.utils.config import set_code_formatting
    cfg = set_code_formatting(load_config(args.config, args.cfg_options),
                              True)
    print(cfg.pretty_text)


if __name__ == '__main__':
    main()
