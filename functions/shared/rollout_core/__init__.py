"""The rollout domain core shared by the task Lambdas (deployed as a layer on /opt/python),
and shipped with the CLI, which reads executions with the same contract.

The contract, read by the tasks, the CLI, the views and the benchmarks alike:
- names: the workflow's state names and named errors, defined once;
- models: the plan, the progress cursor, each health check's result, the hold, a control;
- results: a traffic check's result, the rollback record, the Finalize summary;
- errors: the named errors, their typed details and the one parser of both.

The workflow, one concern per module:
- request: the console / StartExecution input; validation: every check of it that needs no
  account (Prepare and the CLI run the same); eventbridge: the PublishVersion trigger
  and tags; resolve: names and versions against the account; scope: what the deployment
  may touch;
- strategies: presets and explicit strategies → steps; plan: Prepare (validate, plan,
  lock); traffic/: every way the function is invoked, read by Prepare (bypasses refused
  or listed); payloads: what the state machine passes each task; settings: the environment;
- progress: the step cursor; aliases: weights with the drift check; actions: Shift
  traffic, Promote; checking: Check health; checks and invoke: the pre- and post-traffic
  checks;
- health/: the signals (alarms, metrics, logs) and the judge that combines them;
  deadline: every read of a check within the task's own time; blind: the hold of a rollout
  that reads no signal; telemetry/: health pushed to the checks (log subscriptions, alarm
  state changes, the wake-up); waiting: Wait for next check, which evidence can end;
- channel: the rollout table's item (lock and control channel); lock: one rollout per
  alias; lifetime: how long a rollout's lock and telemetry items live; controls: what an
  operator's control does; holding: Wait for operator;
- release: several functions as one rollout;
- pipeline/: waves of rollouts across Regions and accounts (its own state machine):
  spec, plan, hold, blockers, windows, wave, targets, follow, controls, finish; remote:
  clients that act in a target's account and Region through its target role;
- outcome: Roll back and Finalize; notify: SNS and EventBridge; guard: the safety net for
  executions that ended without cleaning up; versions: clean-up of old versions;
  rolled_back: the versions an ending put the stable version back from, which Prepare
  doesn't roll out again on that alias unasked;
- clients, clock: AWS clients created lazily, UTC time; handled: a named error counted,
  logged and raised again by a task handler.
"""
