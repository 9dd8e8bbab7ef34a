"""The web door of OnePool: the five services' RPCs in the Connect protocol and gRPC-Web, and a reference
dealer portal (docs/gateway.md)."""
