"""``voc train``: parse the config and overrides, then run training."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, add_data, add_override_arguments, load_config


def cmd_train(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    for key, value in vars(args).items():
        if key.startswith("opt_") and value is not None:
            overrides.append(f"{key[4:]}={value}")
    try:
        config = add_data(load_config(args.config, overrides), args.add_data)
    except ConfigError as e:
        print(f"voc train: config error: {e}", file=sys.stderr)
        return 2
    from models.data import DataError

    from .train import main

    try:
        main(config)
    except ConfigError as e:
        print(f"voc train: config error: {e}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"voc train: data error: {e}", file=sys.stderr)
        return 2
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="fine-tune the classifier from a config (training/configs/*.yaml)")
    p.add_argument("--config", default=None, help="YAML config; settings not given keep their defaults")
    add_override_arguments(p)
    p.set_defaults(func=cmd_train)
