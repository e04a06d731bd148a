"""What a rollout costs beyond its waits, measured on the embedded local cloud.

`python -m benchmarks` (or `make bench`) starts its own LocalCloud, runs every section
and writes benchmarks/results/latest.{json,md}, copying the Markdown to
docs/benchmarks.md. Sections, one module each: cold starts and package sizes
(coldstart), strategies and their AWS cost (strategies, pricing), reaction time to a
failure (reaction), concurrent rollouts (scale). Every figure is measured in the same
run as its baseline (the waits it asked for), so ratios hold on a noisy machine.
"""
