"""Views of rollout executions: the run model (`run`) and the live terminal view (`watch`)."""
