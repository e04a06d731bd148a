"""Health: what Check health, Check bake health and Wait for operator judge a rollout by.

Each signal is a peer behind one small interface (signal.py): it reads the whole check
(every function of a release, the window) and returns its findings, per function and
rollout-wide. judge.py asks every signal in signals() and combines their findings into the
check's result (models.CheckResult), or raises HealthCheckFailed with it.

- alarms.py: the rollout's CloudWatch alarms, once per check;
- metrics.py: the metric gate, each new version's own error rate from the AWS/Lambda
  metrics with ExecutedVersion bound to each version (so the stable version's errors never
  fail a healthy new version), every function's in one GetMetricData;
- logs.py: the logs signal, each new version's own log streams (seconds late, where the
  metrics are a minute late);
- error_rate.py: the rule both the metric gate and the logs signal judge a rate by;
- canary.py: the canary judge, each new version against its stable version on every
  invocation's sample (samples.py): errors by an exact test (exact_errors.py), latency and
  cold starts by a rank test (latency.py), memory near its limit (memory.py), each with a
  verdict and its numbers (verdict.py, statistics.py); inconclusive.py decides what an
  inconclusive step does.
- evidence.py: read over the signals' findings, after them: did the new version serve
  anything (`evidence`), and does its silence beside a busy stable version show that the
  traffic bypasses the alias.

A new signal is one module with a `read(check) -> Findings` and one entry in signals().
"""
