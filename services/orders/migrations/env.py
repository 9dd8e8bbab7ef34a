from onepool_orders.adapters.orm import metadata
from onepool_runtime.migrations import run_env

run_env(metadata)
