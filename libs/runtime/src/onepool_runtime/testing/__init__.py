"""Test support: real embedded PostgreSQL and NATS, service hosts on free ports, tokens. Never mocks."""
