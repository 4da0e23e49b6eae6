"""Alerts: new findings, anomalies and drift summaries sent to webhooks.

signing.py   HMAC-SHA256 over "<timestamp>.<body>" (headers, verification; docs/ALERTS.md)
messages.py  what is sent: the signed JSON payload and the Slack-compatible message
state.py     what was sent and what waits (per destination), kept in the store's meta
delivery.py  one POST with retries and backoff
send.py      a run: queue what is new, deliver the outbox, report what is left
"""
