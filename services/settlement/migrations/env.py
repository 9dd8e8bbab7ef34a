from onepool_runtime.migrations import run_env
from onepool_settlement.adapters.orm import metadata

run_env(metadata)
