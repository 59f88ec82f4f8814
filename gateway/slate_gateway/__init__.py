"""The HTTP edge: Zou's routes mapped to RPC calls on the owning services."""
