"""The Webex Connect side: the delivery engine, notifications, plans, the summary, replay and check."""
