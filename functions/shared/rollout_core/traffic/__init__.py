"""Traffic sources: every way a function is invoked, and the qualifier each one invokes.

A rollout moves an alias; traffic that reaches the function through another qualifier (a
version, another alias, the unqualified function, i.e. $LATEST) never follows its weights.
Prepare reads the sources once (discover.py), before anything moves, and puts them in the
plan (`plan.traffic`); a source on another qualifier than the rolled alias is a bypass,
refused (input `bypass: "fail"`, the default) or listed (`"warn"`). What the roles can't
read, or a bound cuts short, is a note, never a silent pass.

One module per kind of source, each reading with as few calls as the API allows:
- mappings.py: event source mappings (ListEventSourceMappings, the account's, paginated);
- policies.py: resource-based policy statements (GetPolicy per qualifier), which name who
  may invoke: EventBridge rules, SNS topics, API Gateway APIs, S3, CloudWatch Logs, IoT,
  accounts, function URLs;
- urls.py: function URLs (ListFunctionUrlConfigs);
- rules.py: EventBridge rule targets (ListRuleNamesByTarget per qualifier ARN);
- schedules.py: EventBridge Scheduler schedules (ListSchedules, paginated);
- subscriptions.py: SNS subscriptions of the topics the policies name;
- apis.py: API Gateway REST and HTTP API integrations of the APIs the policies name.
subject.py says what is read about (function, alias, qualifiers) and how an ARN names a
qualifier; reading.py turns a read that failed into a note. moved.py explains a
PublishVersion rollout that finds its version already live with new code: no rollout moved
the alias (a template's AutoPublishAlias on it did).
"""
