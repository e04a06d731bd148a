"""The rollout domain core shared by the task Lambdas (deployed as a layer on /opt/python).

One concern per module: request (input), strategies (→ steps), plan (Prepare), progress
(the step cursor), aliases (weights with the drift check), health, checks, lock, notify.
"""
