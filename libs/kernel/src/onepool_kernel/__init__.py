"""OnePool's shared kernel: the few domain ideas every service means the same way.

Pure Python and the standard library only (tests/contract/test_import_graph.py enforces it): no grpc, nats,
SQLAlchemy, protobuf or generated contracts. Every service's `domain` package imports this and nothing else
outside the standard library, so a domain can be read and tested without any infrastructure.
"""
