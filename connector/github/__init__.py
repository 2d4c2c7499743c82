"""GitHub, where the connector answers custom deployment protection rules: the gateway (the only module
here importing `requests`) and the actions the outbox dispatcher performs through it."""
