"""`rollout console`: a web console for rollouts, live in the browser, with controls.

One room: access.py (the token and the same-origin check), budget.py (the console's share
of Step Functions' quotas), executions.py (one execution, read incrementally), live.py (the
one reader shared by every open page), views.py (what the pages show, from the run model),
actions.py (the buttons, by the CLI's own code), server.py (HTTP), static/ (the page: plain
ES modules, no build step, no library), and app.py, which puts them together.
"""
