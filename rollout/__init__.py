"""Safe AWS Lambda rollouts driven by AWS Step Functions, with an embedded local cloud."""

__version__ = "0.1.0"
