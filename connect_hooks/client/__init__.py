"""The HTTP client side both senders and the relay use: clients, authorization, client certificates, credentials."""
