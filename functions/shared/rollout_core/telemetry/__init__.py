"""Health telemetry pushed to the rollouts, so what a check reads costs the same whatever
the number of rollouts, functions and checks (docs/workflow.md, "Telemetry").

- reports: Lambda's report of each invocation, read from its log lines (shared with the
  logs signal's polling);
- table: the telemetry table's items, who writes and reads each;
- counts: each version's invocations, failures and samples, written per delivery, read
  per check;
- alarm_states: alarms' states pushed by their state change events, reconciled when stale;
- watches: who watches what; the wait's task token and the wake;
- subscriptions: the subscription filter on each watched log group, leased by rollouts;
- budget: token buckets for the reads every rollout of the account shares;
- lifecycle: what Start telemetry sets up and every ending takes down;
- receive: what the telemetry function does with a log payload or an alarm event.
"""
