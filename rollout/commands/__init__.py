"""Subcommands of `rollout`; each module has `register(subparsers)` and sets `run`."""
