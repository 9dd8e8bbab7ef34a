from onepool_runtime.migrations import run_env

from onepool_inventory.adapters.orm import metadata

run_env(metadata)
